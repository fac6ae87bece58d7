// An iptables ruleset as `iptables-save` and `iptables-restore` speak it. A rule keeps its options in the
// order written, so printing gives back the exact text (parse(print(x)) == x); meaning is read from the
// options when a rule is evaluated.

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter' | 'security';

export interface Counters {
  packets: bigint;
  bytes: bigint;
}

/** One option of a rule: `-s 10.0.0.0/8`, `! --ctstate NEW`, `-m comment`, `-j DNAT`, `--to-destination 10.244.1.3:8080`. */
export interface RuleOption {
  readonly negated: boolean;
  /** The flag as written: `-s`, `-m`, `--dport`, `-j`, ... */
  readonly flag: string;
  readonly args: readonly string[];
  /** Per arg: whether it was written in double quotes (iptables-save quotes every comment). */
  readonly quoted?: readonly boolean[];
}

export interface Rule {
  readonly options: readonly RuleOption[];
  /** Per-rule counters, as `iptables-save -c` prints them (`[pkts:bytes] -A ...`). */
  readonly counters?: Counters;
}

export interface Chain {
  readonly name: string;
  /** Built-in chains have a policy; user chains print `-`. */
  readonly policy: 'ACCEPT' | 'DROP' | '-';
  readonly counters: Counters;
  readonly rules: readonly Rule[];
}

export interface Table {
  readonly name: TableName;
  readonly chains: readonly Chain[];
}

export interface Ruleset {
  readonly tables: readonly Table[];
}

export const BUILTIN_CHAINS: Record<TableName, readonly string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export const ZERO_COUNTERS: Counters = { packets: 0n, bytes: 0n };

/**
 * One `iptables` invocation as an agent makes it (kube-proxy's EnsureRule prepends with `-I CHAIN 1`,
 * flanneld appends with `-A`, kubelet creates chains with `-N`). `args` are the rule's words after the
 * chain name, unquoted (`['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES']`).
 */
export interface IptablesCommand {
  readonly table: TableName;
  readonly op: 'append' | 'insert' | 'new-chain' | 'policy';
  readonly chain: string;
  /** For `insert`: 1-based rule number (default 1). */
  readonly position?: number;
  readonly args?: readonly string[];
  /** For `policy`. */
  readonly policy?: 'ACCEPT' | 'DROP';
}

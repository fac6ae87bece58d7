// A rule's options read the way iptables reads them: base matches (-s -d -i -o -p -f), then module matches
// (each option belongs to the most recent `-m` module that defines it, or to the protocol module `-p` loads
// implicitly), then the target and its options.
import type { Rule, RuleOption } from '../../node/iptables/types.js';

export type BaseField = 'src' | 'dst' | 'in' | 'out' | 'proto' | 'fragment';

export interface BaseMatch {
  readonly field: BaseField;
  readonly negated: boolean;
  /** Empty for `-f`. */
  readonly value: string;
}

export interface ModuleMatch {
  readonly module: string;
  /** Loaded by `-p tcp` rather than `-m tcp`. */
  readonly implicit: boolean;
  readonly options: readonly RuleOption[];
}

export interface RuleTarget {
  /** `ACCEPT`, `DNAT`, ... or a user chain name. */
  readonly name: string;
  /** `-g` rather than `-j`. */
  readonly goto: boolean;
  /** A target extension or verdict, as opposed to a jump to a user chain. */
  readonly builtin: boolean;
  readonly options: readonly RuleOption[];
}

export interface StructuredRule {
  readonly base: readonly BaseMatch[];
  readonly modules: readonly ModuleMatch[];
  /** Absent for a rule without `-j`/`-g` (it only counts). */
  readonly target?: RuleTarget;
}

export type StructureResult = { ok: true; rule: StructuredRule } | { ok: false; reason: string };

/** The options each match module understands (long and short spellings). */
export const MODULE_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  comment: ['--comment'],
  tcp: ['--sport', '--source-port', '--dport', '--destination-port', '--tcp-flags', '--syn'],
  udp: ['--sport', '--source-port', '--dport', '--destination-port'],
  sctp: ['--sport', '--source-port', '--dport', '--destination-port'],
  icmp: ['--icmp-type'],
  icmp6: ['--icmpv6-type'],
  multiport: ['--sports', '--source-ports', '--dports', '--destination-ports', '--ports'],
  addrtype: ['--src-type', '--dst-type', '--limit-iface-in', '--limit-iface-out'],
  mark: ['--mark'],
  connmark: ['--mark'],
  conntrack: [
    '--ctstate',
    '--ctproto',
    '--ctorigsrc',
    '--ctorigdst',
    '--ctreplsrc',
    '--ctrepldst',
    '--ctorigsrcport',
    '--ctorigdstport',
    '--ctreplsrcport',
    '--ctrepldstport',
    '--ctstatus',
    '--ctdir',
  ],
  state: ['--state'],
  statistic: ['--mode', '--probability', '--every', '--packet'],
  recent: [
    '--name',
    '--set',
    '--rcheck',
    '--update',
    '--remove',
    '--seconds',
    '--hitcount',
    '--reap',
    '--rttl',
    '--rsource',
    '--rdest',
    '--mask',
  ],
  set: ['--match-set', '--set'],
  physdev: ['--physdev-in', '--physdev-out', '--physdev-is-in', '--physdev-is-out', '--physdev-is-bridged'],
  iprange: ['--src-range', '--dst-range'],
  mac: ['--mac-source'],
  nfacct: ['--nfacct-name'],
  limit: ['--limit', '--limit-burst'],
};

/** Target extensions and their options. Anything else after `-j` is a user chain. */
export const TARGET_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  ACCEPT: [],
  DROP: [],
  RETURN: [],
  REJECT: ['--reject-with'],
  DNAT: ['--to-destination', '--random', '--persistent'],
  SNAT: ['--to-source', '--random', '--random-fully', '--persistent'],
  MASQUERADE: ['--to-ports', '--random', '--random-fully'],
  MARK: ['--set-xmark', '--set-mark', '--or-mark', '--and-mark', '--xor-mark'],
  CONNMARK: [
    '--set-xmark',
    '--set-mark',
    '--or-mark',
    '--and-mark',
    '--xor-mark',
    '--save-mark',
    '--restore-mark',
    '--nfmask',
    '--ctmask',
    '--mask',
  ],
  LOG: [
    '--log-prefix',
    '--log-level',
    '--log-tcp-sequence',
    '--log-tcp-options',
    '--log-ip-options',
    '--log-uid',
  ],
  NFLOG: ['--nflog-group', '--nflog-prefix', '--nflog-range', '--nflog-size', '--nflog-threshold'],
  TRACE: [],
  NOTRACK: [],
  CT: ['--notrack'],
};

const BASE_FLAGS: Readonly<Record<string, BaseField>> = {
  '-s': 'src',
  '--source': 'src',
  '--src': 'src',
  '-d': 'dst',
  '--destination': 'dst',
  '--dst': 'dst',
  '-i': 'in',
  '--in-interface': 'in',
  '-o': 'out',
  '--out-interface': 'out',
  '-p': 'proto',
  '--protocol': 'proto',
  '-f': 'fragment',
  '--fragment': 'fragment',
};

const IMPLICIT_PROTO_MODULE: Readonly<Record<string, string>> = {
  tcp: 'tcp',
  udp: 'udp',
  sctp: 'sctp',
  icmp: 'icmp',
  icmpv6: 'icmp6',
  'ipv6-icmp': 'icmp6',
  '6': 'tcp',
  '17': 'udp',
  '132': 'sctp',
  '1': 'icmp',
  '58': 'icmp6',
};

/** Splits a rule into base matches, module matches and target; unknown modules or options are refused. */
export function structureRule(rule: Rule): StructureResult {
  const base: BaseMatch[] = [];
  const modules: { module: string; implicit: boolean; options: RuleOption[] }[] = [];
  let target: { name: string; goto: boolean; builtin: boolean; options: RuleOption[] } | undefined;
  let implicitProto: string | undefined;
  for (const opt of rule.options) {
    const field = BASE_FLAGS[opt.flag];
    if (field) {
      base.push({ field, negated: opt.negated, value: opt.args[0] ?? '' });
      if (field === 'proto' && !opt.negated)
        implicitProto = IMPLICIT_PROTO_MODULE[(opt.args[0] ?? '').toLowerCase()];
      continue;
    }
    if (opt.flag === '-m' || opt.flag === '--match') {
      const name = (opt.args[0] ?? '').toLowerCase();
      if (!(name in MODULE_OPTIONS))
        return { ok: false, reason: `match module "${opt.args[0] ?? ''}" is not modelled` };
      modules.push({ module: name, implicit: false, options: [] });
      continue;
    }
    if (opt.flag === '-j' || opt.flag === '--jump' || opt.flag === '-g' || opt.flag === '--goto') {
      if (target) return { ok: false, reason: 'more than one target' };
      const name = opt.args[0] ?? '';
      const goto = opt.flag === '-g' || opt.flag === '--goto';
      target = { name, goto, builtin: !goto && name in TARGET_OPTIONS, options: [] };
      continue;
    }
    if (opt.flag === '-c' || opt.flag === '--set-counters') continue;
    if (target?.builtin && (TARGET_OPTIONS[target.name] ?? []).includes(opt.flag)) {
      target.options.push(opt);
      continue;
    }
    let owner: { options: RuleOption[] } | undefined;
    for (let i = modules.length - 1; i >= 0; i--) {
      const m = modules[i];
      if (m && (MODULE_OPTIONS[m.module] ?? []).includes(opt.flag)) {
        owner = m;
        break;
      }
    }
    if (!owner && implicitProto && (MODULE_OPTIONS[implicitProto] ?? []).includes(opt.flag)) {
      // iptables loads the protocol's match on demand for an option no explicit module claims.
      owner = modules.find((m) => m.implicit && m.module === implicitProto);
      if (!owner) {
        const m = { module: implicitProto, implicit: true, options: [] as RuleOption[] };
        modules.push(m);
        owner = m;
      }
    }
    if (!owner) return { ok: false, reason: `option "${opt.flag}" is not modelled` };
    owner.options.push(opt);
  }
  return { ok: true, rule: { base, modules, ...(target ? { target } : {}) } };
}

function quoteArg(arg: string, quoted: boolean | undefined): string {
  if (quoted || arg === '' || /[\s"'\\]/.test(arg)) return `"${arg.replace(/(["\\])/g, '\\$1')}"`;
  return arg;
}

/** The rule as `iptables-save` lists it: `-A CHAIN <options>` (words in the order the rule holds them). */
export function formatRule(chain: string, rule: Rule): string {
  const words = [`-A ${chain}`];
  for (const o of rule.options) {
    const parts = [...(o.negated ? ['!'] : []), o.flag, ...o.args.map((a, i) => quoteArg(a, o.quoted?.[i]))];
    words.push(parts.join(' '));
  }
  return words.join(' ');
}

// The rules kube-proxy installs outside iptables-restore: EnsureChain + EnsureRule(Prepend) jumps
// from the built-in chains, and the KUBE-PROXY-CANARY chains of its iptables monitor.
import type { IptablesCommand, TableName } from '../../../node/iptables/types.js';

interface JumpChain {
  table: TableName;
  dst: string;
  src: string;
  comment: string;
  extra: readonly string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'] as const;

// Same order as proxier.go iptablesJumpChains, then iptablesKubeletJumpChains.
const JUMP_CHAINS: readonly JumpChain[] = [
  {
    table: 'filter',
    dst: 'KUBE-EXTERNAL-SERVICES',
    src: 'INPUT',
    comment: 'kubernetes externally-visible service portals',
    extra: NEW,
  },
  {
    table: 'filter',
    dst: 'KUBE-EXTERNAL-SERVICES',
    src: 'FORWARD',
    comment: 'kubernetes externally-visible service portals',
    extra: NEW,
  },
  {
    table: 'filter',
    dst: 'KUBE-NODEPORTS',
    src: 'INPUT',
    comment: 'kubernetes health check service ports',
    extra: [],
  },
  {
    table: 'filter',
    dst: 'KUBE-SERVICES',
    src: 'FORWARD',
    comment: 'kubernetes service portals',
    extra: NEW,
  },
  { table: 'filter', dst: 'KUBE-SERVICES', src: 'OUTPUT', comment: 'kubernetes service portals', extra: NEW },
  { table: 'filter', dst: 'KUBE-FORWARD', src: 'FORWARD', comment: 'kubernetes forwarding rules', extra: [] },
  {
    table: 'filter',
    dst: 'KUBE-PROXY-FIREWALL',
    src: 'INPUT',
    comment: 'kubernetes load balancer firewall',
    extra: NEW,
  },
  {
    table: 'filter',
    dst: 'KUBE-PROXY-FIREWALL',
    src: 'OUTPUT',
    comment: 'kubernetes load balancer firewall',
    extra: NEW,
  },
  {
    table: 'filter',
    dst: 'KUBE-PROXY-FIREWALL',
    src: 'FORWARD',
    comment: 'kubernetes load balancer firewall',
    extra: NEW,
  },
  { table: 'nat', dst: 'KUBE-SERVICES', src: 'OUTPUT', comment: 'kubernetes service portals', extra: [] },
  { table: 'nat', dst: 'KUBE-SERVICES', src: 'PREROUTING', comment: 'kubernetes service portals', extra: [] },
  {
    table: 'nat',
    dst: 'KUBE-POSTROUTING',
    src: 'POSTROUTING',
    comment: 'kubernetes postrouting rules',
    extra: [],
  },
  { table: 'filter', dst: 'KUBE-FIREWALL', src: 'INPUT', comment: '', extra: [] },
  { table: 'filter', dst: 'KUBE-FIREWALL', src: 'OUTPUT', comment: '', extra: [] },
];

export const CANARY_CHAIN = 'KUBE-PROXY-CANARY';

/**
 * The commands of a full sync's jump-rule step, in call order: the canary chains (mangle, nat, filter),
 * then per jump `EnsureChain` (as new-chain, once per chain) and `EnsureRule(Prepend)` (as insert at 1).
 * Applied to a fresh node this gives the order of reference §1.4.
 */
export function iptablesJumpCommands(): IptablesCommand[] {
  const out: IptablesCommand[] = [];
  for (const table of ['mangle', 'nat', 'filter'] as const)
    out.push({ table, op: 'new-chain', chain: CANARY_CHAIN });
  const made = new Set<string>();
  for (const j of JUMP_CHAINS) {
    const key = `${j.table}/${j.dst}`;
    if (!made.has(key)) {
      made.add(key);
      out.push({ table: j.table, op: 'new-chain', chain: j.dst });
    }
    const args = [...j.extra];
    if (j.comment !== '') args.push('-m', 'comment', '--comment', j.comment);
    args.push('-j', j.dst);
    out.push({ table: j.table, op: 'insert', chain: j.src, position: 1, args });
  }
  return out;
}

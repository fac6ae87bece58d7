// One node's (or one pod's) state for the web page: the same texts `kpath node` prints, and the netfilter
// tables as a graph of chains (KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-…) the page can navigate.
import { NotFoundError } from '../model/errors.js';
import { formatRule, printIptablesSave } from '../node/iptables/index.js';
import { BUILTIN_CHAINS, type Ruleset } from '../node/iptables/types.js';
import { bridgeFdb, ipAddr, ipLink, ipNeigh, ipRoute } from '../node/render/index.js';
import type { NetnsState, NodeState } from '../node/state.js';

export const NODE_TEXT_VIEWS = [
  'iptables-save',
  'ip-route',
  'ip-addr',
  'ip-link',
  'ip-neigh',
  'bridge-fdb',
] as const;
export type NodeTextView = (typeof NODE_TEXT_VIEWS)[number];

export interface NetfilterRuleJson {
  /** 1-based, as `iptables -L --line-numbers` counts. */
  n: number;
  /** The rule exactly as `iptables-save` prints it: `-A CHAIN …`. */
  text: string;
  /** The `-j`/`-g` target. */
  target: string | null;
  /** True when the target is a chain of the same table (a jump the graph draws). */
  jumpsToChain: boolean;
  goto: boolean;
}

export interface NetfilterChainJson {
  name: string;
  builtin: boolean;
  policy: string;
  rules: NetfilterRuleJson[];
}

export interface NetfilterTableJson {
  name: string;
  chains: NetfilterChainJson[];
}

/** The netns a view is about: the node's root namespace, or the sandbox of `ns/name` on that node. */
export function pickNetns(node: NodeState, pod: string | undefined): NetnsState {
  if (!pod) return node.host;
  const [ns, name] = pod.includes('/') ? (pod.split('/', 2) as [string, string]) : ['default', pod];
  const found = node.pods.find(
    (p) => p.owner.kind === 'pod' && p.owner.namespace === ns && p.owner.name === name,
  );
  if (!found) throw new NotFoundError(`pod ${ns}/${name} has no network namespace on node ${node.node}`);
  return found;
}

export function isNodeTextView(v: string): v is NodeTextView {
  return (NODE_TEXT_VIEWS as readonly string[]).includes(v);
}

/** The text the real tool prints for this view (same renderers as `kpath node NAME VIEW`). */
export function nodeText(
  ns: NetnsState,
  view: NodeTextView,
  table: 'main' | 'local' | 'all' = 'main',
): string {
  switch (view) {
    case 'iptables-save':
      return printIptablesSave(ns.iptables);
    case 'ip-route':
      return ipRoute(ns, { table });
    case 'ip-addr':
      return ipAddr(ns);
    case 'ip-link':
      return ipLink(ns);
    case 'ip-neigh':
      return ipNeigh(ns);
    case 'bridge-fdb':
      return bridgeFdb(ns);
  }
}

export function netfilterGraph(rs: Ruleset): NetfilterTableJson[] {
  return rs.tables.map((t) => {
    const builtin = new Set(BUILTIN_CHAINS[t.name]);
    const names = new Set(t.chains.map((c) => c.name));
    return {
      name: t.name,
      chains: t.chains.map((c) => ({
        name: c.name,
        builtin: builtin.has(c.name),
        policy: c.policy,
        rules: c.rules.map((r, i) => {
          const jump = r.options.find((o) => o.flag === '-j' || o.flag === '-g');
          const target = jump?.args[0] ?? null;
          return {
            n: i + 1,
            text: `-A ${c.name} ${formatRule(r)}`,
            target,
            jumpsToChain: target !== null && names.has(target),
            goto: jump?.flag === '-g',
          };
        }),
      })),
    };
  });
}

// One node's (or one pod's) state for the web page: the same texts `kpath node` prints, and the netfilter
// tables as a graph of chains (KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-…) the page can navigate.
import { formatRule } from '../node/iptables/index.js';
import { BUILTIN_CHAINS, type Ruleset } from '../node/iptables/types.js';
import type { NetnsState } from '../node/state.js';
import { type NodeView, renderNodeView } from '../node/views.js';

export {
  isNodeView as isNodeTextView,
  NODE_VIEWS as NODE_TEXT_VIEWS,
  type NodeView as NodeTextView,
  pickNetns,
} from '../node/views.js';

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

/** The text the real tool prints for this view (the same renderer as `kpath node NAME VIEW`). */
export function nodeText(ns: NetnsState, view: NodeView, table: 'main' | 'local' | 'all' = 'main'): string {
  return renderNodeView(ns, view, { table });
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

// The netfilter chains of one table as a directed graph (a rule's -j/-g to another chain is an edge), laid out
// left to right with dagre: PREROUTING → KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-…
import { Graph, layout } from '@dagrejs/dagre';
import type { NetfilterTableJson } from './api.js';

export interface ChainNode {
  name: string;
  builtin: boolean;
  rules: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ChainEdge {
  from: string;
  to: string;
  points: { x: number; y: number }[];
}

export interface ChainGraph {
  width: number;
  height: number;
  nodes: ChainNode[];
  edges: ChainEdge[];
  /** Chains left out (unreachable from the built-in chains, or beyond the limit). */
  omitted: number;
}

/** Lays out the chains reachable from the table's built-in chains, at most `limit` of them. */
export function chainGraph(table: NetfilterTableJson, limit = 250): ChainGraph {
  const byName = new Map(table.chains.map((c) => [c.name, c]));
  const keep: string[] = [];
  const seen = new Set<string>();
  const queue = table.chains.filter((c) => c.builtin).map((c) => c.name);
  while (queue.length && keep.length < limit) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    keep.push(name);
    for (const r of byName.get(name)?.rules ?? []) if (r.jumpsToChain && r.target) queue.push(r.target);
  }
  const g = new Graph({ multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 10, ranksep: 60, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const name of keep) g.setNode(name, { width: Math.max(90, name.length * 7.2 + 20), height: 30 });
  for (const name of keep) {
    for (const r of byName.get(name)?.rules ?? []) {
      if (r.jumpsToChain && r.target && seen.has(r.target) && keep.includes(r.target))
        g.setEdge(name, r.target);
    }
  }
  layout(g);
  const nodes = keep.map((name) => {
    const n = g.node(name);
    const c = byName.get(name)!;
    return {
      name,
      builtin: c.builtin,
      rules: c.rules.length,
      x: n.x - n.width / 2,
      y: n.y - n.height / 2,
      w: n.width,
      h: n.height,
    };
  });
  const edges = g.edges().map((e) => ({ from: e.v, to: e.w, points: g.edge(e).points ?? [] }));
  const gl = g.graph();
  return {
    width: gl.width ?? 400,
    height: gl.height ?? 200,
    nodes,
    edges,
    omitted: table.chains.length - keep.length,
  };
}

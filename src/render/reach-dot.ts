// `kpath reach -o dot`: a Graphviz digraph of the allowed connections, one edge per pair labelled
// with its allowed ports; pods are clustered by namespace.
import type { GroupedView, ReachView } from './reach-cells.js';
import { probeText, type ReachTableOptions } from './reach-table.js';

const quote = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

function graph(
  froms: readonly string[],
  tos: readonly string[],
  edges: { from: string; to: string; label: string }[],
  note?: string,
): string {
  const nodes = [...new Set([...froms, ...tos])];
  const byNs = new Map<string, string[]>();
  const plain: string[] = [];
  for (const n of nodes) {
    const slash = n.indexOf('/');
    if (slash < 0) plain.push(n);
    else byNs.set(n.slice(0, slash), [...(byNs.get(n.slice(0, slash)) ?? []), n]);
  }
  const lines = ['digraph reachability {', '  rankdir=LR;', '  node [shape=box];'];
  if (note) lines.push(`  label=${quote(note)};`);
  let c = 0;
  for (const [ns, members] of byNs) {
    lines.push(`  subgraph cluster_${c++} {`, `    label=${quote(ns)};`);
    for (const m of members) lines.push(`    ${quote(m)};`);
    lines.push('  }');
  }
  for (const n of plain) lines.push(`  ${quote(n)} [shape=ellipse];`);
  for (const e of edges) lines.push(`  ${quote(e.from)} -> ${quote(e.to)} [label=${quote(e.label)}];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function reachDot(view: ReachView, opts: ReachTableOptions = {}): string {
  const edges: { from: string; to: string; label: string }[] = [];
  view.froms.forEach((f, i) => {
    view.tos.forEach((t, j) => {
      if (f.name === t.name) return;
      const ok = view.toProbes[j]!.filter((k) => view.allowed(i, j, k)).map((k) =>
        probeText(view.probes[k]!),
      );
      if (ok.length) edges.push({ from: f.name, to: t.name, label: ok.join(', ') });
    });
  });
  return graph(
    view.froms.map((f) => f.name),
    view.tos.map((t) => t.name),
    edges,
    opts.note,
  );
}

export function groupedDot(view: GroupedView, opts: ReachTableOptions = {}): string {
  const edges: { from: string; to: string; label: string }[] = [];
  view.froms.forEach((f, i) => {
    view.tos.forEach((t, j) => {
      const ok = view.probes.flatMap((p, k) => {
        const v = view.value(i, j, k);
        return v === 'allow' ? [probeText(p)] : v === 'mixed' ? [`${probeText(p)} (some pods)`] : [];
      });
      if (ok.length) edges.push({ from: f, to: t, label: ok.join(', ') });
    });
  });
  return graph(view.froms, view.tos, edges, opts.note);
}

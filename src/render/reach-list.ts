// `kpath reach -o list`: one line per probed cell, `allow x/a → y/b 80/TCP`, with the deciding
// sentence after a colon when explained.
import type { GroupedView, ReachView } from './reach-cells.js';
import { decidingReason } from './reach-cells.js';
import { probeText, type ReachTableOptions } from './reach-table.js';

export function reachList(view: ReachView, opts: ReachTableOptions = {}): string {
  const lines: string[] = opts.note ? [`# ${opts.note}`] : [];
  view.froms.forEach((f, i) => {
    view.tos.forEach((t, j) => {
      for (const k of view.toProbes[j]!) {
        const p = view.probes[k]!;
        if (opts.explain) {
          const v = view.verdict(i, j, k)!;
          lines.push(`${v.verdict.padEnd(5)} ${f.name} → ${t.name} ${probeText(p)}: ${decidingReason(v)}`);
        } else {
          lines.push(`${view.allowed(i, j, k) ? 'allow' : 'deny '} ${f.name} → ${t.name} ${probeText(p)}`);
        }
      }
    });
  });
  return `${lines.join('\n')}\n`;
}

export function groupedList(view: GroupedView, opts: ReachTableOptions = {}): string {
  const lines: string[] = opts.note ? [`# ${opts.note}`] : [];
  view.froms.forEach((f, i) => {
    view.tos.forEach((t, j) => {
      view.probes.forEach((p, k) => {
        const v = view.value(i, j, k);
        if (v !== 'not-probed') lines.push(`${v.padEnd(5)} ${f} → ${t} ${probeText(p)}`);
      });
    });
  });
  return `${lines.join('\n')}\n`;
}

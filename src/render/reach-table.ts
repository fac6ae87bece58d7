// `kpath reach -o table`: one truth table per probe, laid out exactly as the Kubernetes e2e netpol suite
// prints them (test/e2e/network/netpol/truthtable.go PrettyPrint): `.` reachable, `X` blocked, `?` not
// probed; grouped views add `~` for a workload pair whose pods disagree.
import type { Probe } from '../policy/matrix.js';
import { printTruthTable } from '../policy/truth-table.js';
import { decidingReason, type GroupedView, type ReachView } from './reach-cells.js';

export const probeText = (p: Probe) => `${p.port}/${p.protocol}`;

export interface ReachTableOptions {
  explain?: boolean;
  /** A first line saying the verdicts are not enforced (e.g. `as the policies specify; not enforced by flannel`). */
  note?: string;
}

export function reachTable(view: ReachView, opts: ReachTableOptions = {}): string {
  const blocks = view.probes.map((p, k) => {
    const head = view.probes.length > 1 ? `${probeText(p)}:\n` : '';
    const table = printTruthTable(
      view.froms.map((f) => f.name),
      view.tos.map((t) => t.name),
      (i, j) => view.allowed(i, j, k),
    );
    if (!opts.explain) return `${head}${table}\n`;
    const lines: string[] = [];
    view.froms.forEach((f, i) => {
      view.tos.forEach((t, j) => {
        const v = view.verdict(i, j, k);
        if (v) lines.push(`${f.name} → ${t.name} ${probeText(p)} ${v.verdict}: ${decidingReason(v)}`);
      });
    });
    return `${head}${table}\n\n${lines.join('\n')}\n`;
  });
  return (opts.note ? `# ${opts.note}\n` : '') + blocks.join('\n');
}

const GROUP_MARK = { allow: '.', deny: 'X', mixed: '~', 'not-probed': '?' } as const;

export function groupedTable(view: GroupedView, opts: ReachTableOptions = {}): string {
  const blocks = view.probes.map((p, k) => {
    const head = view.probes.length > 1 ? `${probeText(p)}:\n` : '';
    const lines = [['-', ...view.tos].join('\t')];
    view.froms.forEach((f, i) => {
      lines.push([f, ...view.tos.map((_, j) => GROUP_MARK[view.value(i, j, k)])].join('\t'));
    });
    return `${head}${lines.join('\n')}\n`;
  });
  return (opts.note ? `# ${opts.note}\n` : '') + blocks.join('\n');
}

// `kpath reach -o md`: one GitHub-flavoured Markdown table per probe (✓ allowed, ✗ denied, – not
// probed, ~ a workload pair whose pods disagree), ready for a pull-request comment.
import type { GroupedView, ReachView } from './reach-cells.js';
import { probeText, type ReachTableOptions } from './reach-table.js';

const esc = (s: string) => s.replaceAll('|', '\\|');

function table(
  title: string,
  froms: readonly string[],
  tos: readonly string[],
  mark: (i: number, j: number) => string,
): string {
  const lines = [
    `**${title}**`,
    '',
    `| from \\ to | ${tos.map(esc).join(' | ')} |`,
    `| --- | ${tos.map(() => ':---:').join(' | ')} |`,
    ...froms.map((f, i) => `| ${esc(f)} | ${tos.map((_, j) => mark(i, j)).join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function reachMarkdown(view: ReachView, opts: ReachTableOptions = {}): string {
  const blocks = view.probes.map((p, k) =>
    table(
      probeText(p),
      view.froms.map((f) => f.name),
      view.tos.map((t) => t.name),
      (i, j) => {
        const v = view.allowed(i, j, k);
        return v === undefined ? '–' : v ? '✓' : '✗';
      },
    ),
  );
  return `${opts.note ? `> ${opts.note}\n\n` : ''}${blocks.join('\n\n')}\n`;
}

export function groupedMarkdown(view: GroupedView, opts: ReachTableOptions = {}): string {
  const mark = { allow: '✓', deny: '✗', mixed: '~', 'not-probed': '–' } as const;
  const blocks = view.probes.map((p, k) =>
    table(probeText(p), view.froms, view.tos, (i, j) => mark[view.value(i, j, k)]),
  );
  return `${opts.note ? `> ${opts.note}\n\n` : ''}${blocks.join('\n\n')}\n`;
}

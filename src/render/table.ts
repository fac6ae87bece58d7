// Column layout as kubectl prints tables: Go's text/tabwriter with minwidth 6, tabwidth 4, padding 3,
// padding with spaces; the last column is not padded.
export function formatTable(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const cols = Math.max(...rows.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < cols - 1; c++) {
    let w = 0;
    for (const r of rows) w = Math.max(w, (r[c] ?? '').length);
    widths.push(Math.max(6, w + 3));
  }
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c < r.length - 1 ? cell.padEnd(widths[c]!) : cell))
        .join('')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

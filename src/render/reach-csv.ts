// `kpath reach -o csv`: RFC 4180 (CRLF line ends, fields quoted when they hold a comma, quote or line
// break), one row per probed cell.
import { type ReachView, reachCells } from './reach-cells.js';

const HEADER = ['from', 'to', 'port', 'protocol', 'verdict', 'ingress', 'egress', 'reason'];

function field(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function reachCsv(view: ReachView): string {
  const rows = [HEADER.join(',')];
  for (const c of reachCells(view)) {
    rows.push(
      [c.from, c.to, c.port, c.protocol, c.verdict, c.ingress, c.egress, c.reason].map(field).join(','),
    );
  }
  return `${rows.join('\r\n')}\r\n`;
}

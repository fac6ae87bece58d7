// The truth table as upstream's e2e netpol suite prints it (test/e2e/network/netpol/truthtable.go
// PrettyPrint): a `-` corner, tab-separated, `.` reachable, `X` blocked, `?` not probed.
import { cellAllowed, type Probe, probeIndex, type ReachabilityMatrix } from './matrix.js';

export function printTruthTable(
  froms: readonly string[],
  tos: readonly string[],
  value: (from: number, to: number) => boolean | undefined,
  indent = '',
): string {
  const lines = [indent + ['-', ...tos].join('\t')];
  froms.forEach((f, i) => {
    const cells = tos.map((_, j) => {
      const v = value(i, j);
      return v === undefined ? '?' : v ? '.' : 'X';
    });
    lines.push(indent + [f, ...cells].join('\t'));
  });
  return lines.join('\n');
}

/** The truth table of one probe (port/protocol) of a matrix. */
export function matrixTruthTable(m: ReachabilityMatrix, probe: Probe, indent = ''): string {
  const k = probeIndex(m, probe);
  return printTruthTable(m.froms, m.tos, (i, j) => (k < 0 ? undefined : cellAllowed(m, i, j, k)), indent);
}

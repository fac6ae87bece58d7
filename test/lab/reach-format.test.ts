// The `lab verify --reach` report: upstream's e2e layout (test/e2e/network/netpol/reachability.go
// PrintSummary and truthtable.go PrettyPrint: `-` corner, tab-separated, `.` reachable or agreeing, `X`
// blocked or differing, `?` not probed) and its counts. Pure: a hand-made report, no kernel.
import { describe, expect, test } from 'vitest';
import {
  formatReachVerifyReport,
  type ReachCellCheck,
  type ReachVerifyReport,
} from '../../src/lab/verify-reach.js';

function cell(from: number, to: number, over: Partial<ReachCellCheck>): ReachCellCheck {
  const pods = ['x/a', 'x/b'];
  return {
    kind: 'pod',
    from: pods[from] ?? '',
    to: pods[to] ?? '',
    ip: `10.244.0.${10 + to}`,
    port: 80,
    protocol: 'TCP',
    scope: from === to ? 'self' : 'same-node',
    at: { from, to, probe: 0 },
    expected: 'allowed',
    twin: 'allowed',
    twinDetail: '1 endpoint',
    kernel: 'allowed',
    kernelDetail: 'x/b',
    status: 'ok',
    differences: [],
    explained: [],
    ...over,
  };
}

function report(cells: ReachCellCheck[]): ReachVerifyReport {
  const count = (p: (c: ReachCellCheck) => boolean) => cells.filter(p).length;
  return {
    lab: 't',
    froms: ['x/a', 'x/b'],
    tos: ['x/a', 'x/b'],
    probes: [{ port: 80, protocol: 'TCP' }],
    cells,
    counts: {
      cells: cells.length,
      podCells: cells.length,
      serviceCells: 0,
      allowed: count((c) => c.expected === 'allowed'),
      denied: count((c) => c.expected === 'denied'),
      kernelChecked: count((c) => c.kernel !== 'simulated only'),
      simulatedOnly: count((c) => c.kernel === 'simulated only'),
      notSampled: 0,
      agree: count((c) => c.status === 'ok'),
      different: count((c) => c.status === 'different'),
      explained: count((c) => c.status === 'explained'),
    },
    connections: cells.length,
    elapsedMs: 1200,
  };
}

describe('formatReachVerifyReport', () => {
  test('all agree: the expected table, one line for the observation, upstream summary with result=true', () => {
    const r = report([
      cell(0, 0, {}),
      cell(0, 1, { expected: 'denied', twin: 'denied', kernel: 'denied' }),
      cell(1, 0, {}),
    ]);
    expect(formatReachVerifyReport(r)).toBe(
      [
        '80/TCP',
        'expected (kpath reach):',
        '',
        '-\tx/a\tx/b',
        'x/a\t.\tX',
        'x/b\t.\t?',
        '',
        'observed: as expected on all 3 cells dialled; the twin agrees on all 3',
        '',
        'reachability: correct:3, incorrect:0, result=true',
        '3 cells — 3 pod → pod, 0 pod → Service; 2 allowed, 1 denied by kpath reach; all traced by the twin; 3 dialled in the kernel (3 connections in 1.2 s), 0 simulated only; 0 differ, 0 explained',
        '',
      ].join('\n'),
    );
  });

  test('a differing cell: twin, observed and comparison tables, the cell named, result=false', () => {
    const r = report([
      cell(0, 0, {}),
      cell(0, 1, {
        expected: 'denied',
        twin: 'denied',
        kernel: 'allowed',
        status: 'different',
        differences: ['kpath reach: denied; the kernel: allowed (x/b)'],
      }),
      cell(1, 0, { kernel: 'simulated only', simulatedOnly: 'kernel-sctp: no sctp module' }),
    ]);
    const out = formatReachVerifyReport(r, { onlyDifferences: true });
    expect(out).toContain(
      "twin (trace through the policy agent's rules):\n\n-\tx/a\tx/b\nx/a\t.\tX\nx/b\t.\t?\n",
    );
    expect(out).toContain('observed (kernel):\n\n-\tx/a\tx/b\nx/a\t.\t.\nx/b\t?\t?\n');
    // Comparison: `.` agrees, `X` differs, `?` neither dialled nor different.
    expect(out).toContain('comparison:\n\n-\tx/a\tx/b\nx/a\t.\tX\nx/b\t?\t?\n');
    expect(out).toContain('DIFFERENT x/a → x/b 80/TCP: kpath reach: denied; the kernel: allowed (x/b)');
    expect(out).toContain('reachability: correct:2, incorrect:1, result=false');
    expect(out).toContain('1 simulated only (kernel-sctp: no sctp module)');
  });

  test('onlyDifferences leaves out the probes where everything agrees', () => {
    const r = report([cell(0, 1, {})]);
    expect(formatReachVerifyReport(r, { onlyDifferences: true })).not.toContain('80/TCP');
  });
});

// The truth-table printer against upstream's printed sample, and the matrix over declared ports.
import { describe, expect, it } from 'vitest';
import { cellAllowed, probeIndex, reachabilityMatrix } from '../../src/policy/matrix.js';
import { buildPolicyIndex } from '../../src/policy/policy-index.js';
import { matrixTruthTable, printTruthTable } from '../../src/policy/truth-table.js';
import { netpol, ns, pod, state, xyzState } from './fixtures.js';

describe('truth table', () => {
  it('matches the sample printed in upstream network_policy.go (policy: x/a accepts only namespace y)', () => {
    // Quoted from kubernetes/kubernetes test/e2e/network/netpol/network_policy.go (the "expected:" table
    // in the file comment); upstream probes the loopback cell too, so selfTraffic=evaluate here.
    const upstream = [
      '-\tx/a\tx/b\tx/c\ty/a\ty/b\ty/c\tz/a\tz/b\tz/c',
      'x/a\tX\t.\t.\t.\t.\t.\t.\t.\t.',
      'x/b\tX\t.\t.\t.\t.\t.\t.\t.\t.',
      'x/c\tX\t.\t.\t.\t.\t.\t.\t.\t.',
      'y/a\t.\t.\t.\t.\t.\t.\t.\t.\t.',
      'y/b\t.\t.\t.\t.\t.\t.\t.\t.\t.',
      'y/c\t.\t.\t.\t.\t.\t.\t.\t.\t.',
      'z/a\tX\t.\t.\t.\t.\t.\t.\t.\t.',
      'z/b\tX\t.\t.\t.\t.\t.\t.\t.\t.',
      'z/c\tX\t.\t.\t.\t.\t.\t.\t.\t.',
    ].join('\n');
    const policy = netpol('x', 'allow-client-a-via-ns-selector', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }],
    });
    const index = buildPolicyIndex(xyzState([policy]), { selfTraffic: 'evaluate' });
    const m = reachabilityMatrix(index, { ports: [{ port: 80, protocol: 'TCP' }] });
    expect(matrixTruthTable(m, { port: 80, protocol: 'TCP' })).toBe(upstream);
  });

  it('prints ? for unknown cells and honours the indent on every line', () => {
    expect(printTruthTable(['a'], ['a', 'b'], (_, j) => (j === 0 ? undefined : false), '  ')).toBe(
      '  -\ta\tb\n  a\t?\tX',
    );
  });
});

describe('reachability matrix', () => {
  const st = state({
    namespaces: [ns('x'), ns('y')],
    pods: [
      pod({
        ns: 'x',
        name: 'web',
        labels: { app: 'web' },
        ip: '10.244.0.10',
        ports: [{ name: 'http', containerPort: 80 }],
      }),
      pod({
        ns: 'x',
        name: 'dns',
        labels: { app: 'dns' },
        ip: '10.244.0.11',
        ports: [{ containerPort: 53, protocol: 'UDP' }, { containerPort: 53 }],
      }),
      pod({ ns: 'y', name: 'client', ip: '10.244.1.10' }),
    ],
    policies: [
      netpol('x', 'web-only-http', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ ports: [{ port: 'http' }] }],
      }),
    ],
  });

  it("probes each destination on its own declared ports; '?' where a destination has no such port", () => {
    const m = reachabilityMatrix(buildPolicyIndex(st));
    expect(m.probes).toEqual([
      { port: 53, protocol: 'TCP' },
      { port: 80, protocol: 'TCP' },
      { port: 53, protocol: 'UDP' },
    ]);
    expect(m.toProbes).toEqual([[1], [2, 0], []]);
    expect(matrixTruthTable(m, { port: 80, protocol: 'TCP' })).toBe(
      ['-\tx/web\tx/dns\ty/client', 'x/web\t.\t?\t?', 'x/dns\t.\t?\t?', 'y/client\t.\t?\t?'].join('\n'),
    );
    expect(cellAllowed(m, 2, 1, probeIndex(m, { port: 53, protocol: 'UDP' }))).toBe(true);
  });

  it('explicit ports probe every destination; from/to accept namespaces', () => {
    const m = reachabilityMatrix(buildPolicyIndex(st), {
      from: ['y'],
      to: ['x'],
      ports: [{ port: 8080, protocol: 'TCP' }],
    });
    expect(matrixTruthTable(m, { port: 8080, protocol: 'TCP' })).toBe(
      ['-\tx/web\tx/dns', 'y/client\tX\t.'].join('\n'),
    );
  });

  it('groups replicas into one class', () => {
    const replicas = state({
      namespaces: [ns('x')],
      pods: [1, 2, 3].map((i) =>
        pod({
          ns: 'x',
          name: `web-${i}`,
          labels: { app: 'web' },
          ip: `10.244.0.${i}`,
          node: `node-${(i % 2) + 1}`,
        }),
      ),
    });
    expect(buildPolicyIndex(replicas).classes.map((c) => c.pods.length)).toEqual([3]);
  });
});

// Property tests against brute-force models of kube-proxy's endpoint selection (endpointslicecache.go,
// topology.go) and of the statistic cascade, checked through the generated rules with upstream's tracer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildEndpointsMap } from '../../../src/agents/kube-proxy/endpoints.js';
import { computeProbability, syncIptablesRules } from '../../../src/agents/kube-proxy/iptables/proxier.js';
import { servicePortKey } from '../../../src/agents/kube-proxy/service-port.js';
import type { Endpoint } from '../../../src/model/k8s.js';
import { fakeProxierInput, makeService, makeSlice, nodeDump, tracePacket } from './helpers.js';

const arbEndpoint = fc.record({
  host: fc.integer({ min: 1, max: 12 }),
  ready: fc.option(fc.boolean(), { nil: undefined }),
  serving: fc.option(fc.boolean(), { nil: undefined }),
  terminating: fc.option(fc.boolean(), { nil: undefined }),
  node: fc.constantFrom('test-node', 'node-a', undefined),
});
type ArbEp = { host: number; ready?: boolean; serving?: boolean; terminating?: boolean; node?: string };

const toEndpoint = (e: ArbEp): Endpoint => ({
  addresses: [`10.1.${e.host}.${e.host * 7}`],
  conditions: {
    ...(e.ready !== undefined ? { ready: e.ready } : {}),
    ...(e.serving !== undefined ? { serving: e.serving } : {}),
    ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
  },
  ...(e.node !== undefined ? { nodeName: e.node } : {}),
});

interface ModelEp {
  key: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  local: boolean;
}

/** Brute force of endpointslicecache.go addEndpoints: `if !exists || !terminating { set }`. */
function modelEndpoints(slices: ArbEp[][], port: number): ModelEp[] {
  const byKey = new Map<string, ModelEp>();
  for (const slice of slices) {
    for (const e of slice) {
      const m: ModelEp = {
        key: `10.1.${e.host}.${e.host * 7}:${port}`,
        ready: e.ready ?? true,
        serving: e.serving ?? true,
        terminating: e.terminating ?? false,
        local: e.node === 'test-node',
      };
      if (!byKey.has(m.key) || !m.terminating) byKey.set(m.key, m);
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const slicesOf = (slices: ArbEp[][]) =>
  slices.map((eps, i) =>
    makeSlice('ns1', 'svc1', i + 1, {
      addressType: 'IPv4',
      endpoints: eps.map(toEndpoint),
      ports: [{ name: 'p', port: 8080, protocol: 'TCP' }],
    }),
  );

describe('endpoint map', () => {
  it('dedupes by "ip:port" and sorts by the string, like the brute-force model', () => {
    fc.assert(
      fc.property(fc.array(fc.array(arbEndpoint, { maxLength: 8 }), { maxLength: 3 }), (slices) => {
        const got =
          buildEndpointsMap(slicesOf(slices), 4, 'test-node').get(
            servicePortKey('ns1', 'svc1', 'p', 'TCP'),
          ) ?? [];
        const want = modelEndpoints(slices, 8080);
        expect(got.map((e) => [e.endpoint, e.ready, e.serving, e.terminating, e.isLocal])).toEqual(
          want.map((m) => [m.key, m.ready, m.serving, m.terminating, m.local]),
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('ClusterIP traffic through the generated rules', () => {
  it('reaches exactly the endpoints CategorizeEndpoints would pick (Cluster and Local iTP)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(arbEndpoint, { maxLength: 6 }), { maxLength: 2 }),
        fc.constantFrom<'Cluster' | 'Local'>('Cluster', 'Local'),
        (slices, itp) => {
          const svc = makeService('ns1', 'svc1', {
            clusterIP: '172.30.0.41',
            internalTrafficPolicy: itp,
            ports: [{ name: 'p', port: 80, protocol: 'TCP' }],
          });
          const dump = nodeDump(syncIptablesRules(fakeProxierInput([svc], slicesOf(slices))));
          const got = tracePacket(dump, '10.0.0.2', 'TCP', '172.30.0.41', 80).output;
          const eps = modelEndpoints(slices, 8080);
          const usable = (e: ModelEp) => e.ready || (e.serving && e.terminating);
          let want: string;
          if (itp === 'Cluster') {
            const ready = eps.filter((e) => e.ready);
            const chosen = ready.length > 0 ? ready : eps.filter((e) => e.serving && e.terminating);
            want = chosen.length > 0 ? chosen.map((e) => e.key).join(', ') : 'REJECT';
          } else {
            const localReady = eps.filter((e) => e.local && e.ready);
            const chosen =
              localReady.length > 0 ? localReady : eps.filter((e) => e.local && e.serving && e.terminating);
            want =
              chosen.length > 0 ? chosen.map((e) => e.key).join(', ') : eps.some(usable) ? 'DROP' : 'REJECT';
          }
          expect(got).toBe(want);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('statistic cascade', () => {
  it('gives every endpoint 1/n overall (within the 10-decimal rounding)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), (n) => {
        let remaining = 1;
        const shares: number[] = [];
        for (let i = 0; i < n; i++) {
          const p = i < n - 1 ? Number.parseFloat(computeProbability(n - i)) : 1;
          shares.push(remaining * p);
          remaining *= 1 - p;
        }
        expect(Math.max(...shares.map((s) => Math.abs(s - 1 / n)))).toBeLessThan(1e-7);
      }),
    );
  });
});

describe('topology hints (pkg/proxy/topology.go)', () => {
  const svc = makeService('ns1', 'svc1', {
    clusterIP: '172.30.0.41',
    ports: [{ name: 'p', port: 80, protocol: 'TCP' }],
  });
  const hinted = (zones: (string | undefined)[]) =>
    makeSlice('ns1', 'svc1', 1, {
      addressType: 'IPv4',
      ports: [{ name: 'p', port: 80, protocol: 'TCP' }],
      endpoints: zones.map((z, i) => ({
        addresses: [`10.1.0.${i + 1}`],
        ...(z ? { hints: { forZones: [{ name: z }] } } : {}),
      })),
    });
  const trace = (zones: (string | undefined)[], zone?: string) => {
    const input = { ...fakeProxierInput([svc], [hinted(zones)]), ...(zone ? { topology: { zone } } : {}) };
    return tracePacket(nodeDump(syncIptablesRules(input)), '10.0.0.2', 'TCP', '172.30.0.41', 80).output;
  };
  it('PreferSameZone: only endpoints hinted for this zone', () => {
    expect(trace(['a', 'b', 'a'], 'a')).toBe('10.1.0.1:80, 10.1.0.3:80');
  });
  it('ignores hints when one ready endpoint has none, when no hint names the zone, or when the zone is unknown', () => {
    expect(trace(['a', undefined, 'a'], 'a')).toBe('10.1.0.1:80, 10.1.0.2:80, 10.1.0.3:80');
    expect(trace(['b', 'b'], 'a')).toBe('10.1.0.1:80, 10.1.0.2:80');
    expect(trace(['a', 'b'])).toBe('10.1.0.1:80, 10.1.0.2:80');
  });
});

// A 10,000-service cluster: the index is built once and every query reads it (no per-query scans).
// Correctness only here; speed belongs to benchmarks.
import { describe, expect, it } from 'vitest';
import { answerQuery, buildCoreDns } from '../../src/dns/coredns.js';
import { serverQueryJson } from '../../src/dns/json.js';
import { buildDnsIndex } from '../../src/dns/kube-index.js';
import { ep, ns, slice, state, svc } from './fixture.js';

function big(n: number) {
  const services = [];
  const slices = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.${96 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;
    services.push(svc(`ns${i % 50}`, `svc${i}`, { clusterIP: ip, ports: [{ name: 'http', port: 80 }] }));
    slices.push(
      slice(
        `ns${i % 50}`,
        `svc${i}`,
        [ep(`10.244.${Math.floor(i / 256) % 256}.${i % 256}`)],
        [{ name: 'http', port: 8080, protocol: 'TCP' }],
      ),
    );
  }
  return state({
    namespaces: Array.from({ length: 50 }, (_, i) => ns(`ns${i}`)),
    services,
    endpointSlices: slices,
  });
}

describe('10,000 services', () => {
  const st = big(10_000);
  const index = buildDnsIndex(st);
  const model = buildCoreDns(st, { index, corefile: '.:53 {\n kubernetes cluster.local in-addr.arpa\n}\n' });
  it('indexes every service and endpoint', () => {
    expect(index.services.size).toBe(10_000);
    expect(index.byEndpointIP.size).toBe(10_000);
  });
  it('answers names, SRV and PTR from the index', () => {
    expect(serverQueryJson(answerQuery(model, 'svc9999.ns49.svc.cluster.local', 'A')).answer).toEqual([
      'svc9999.ns49.svc.cluster.local. 5 IN A 10.96.39.15',
    ]);
    expect(
      serverQueryJson(answerQuery(model, '_http._tcp.svc1234.ns34.svc.cluster.local', 'SRV')).answer,
    ).toEqual([
      '_http._tcp.svc1234.ns34.svc.cluster.local. 5 IN SRV 0 100 80 svc1234.ns34.svc.cluster.local.',
    ]);
    expect(serverQueryJson(answerQuery(model, '15.39.96.10.in-addr.arpa', 'PTR')).answer).toEqual([
      '15.39.96.10.in-addr.arpa. 5 IN PTR svc9999.ns49.svc.cluster.local.',
    ]);
    expect(answerQuery(model, 'svc9999.ns48.svc.cluster.local', 'A').reply.rcode).toBe('NXDOMAIN');
  });
});

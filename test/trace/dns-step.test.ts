// The DNS step of a trace to a name, on the demo cluster: every query the pod's resolver sends is a UDP
// packet walked to the kube-dns ClusterIP, DNATed by kube-proxy to a CoreDNS pod, and back.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SourceText } from '../../src/load/sources.js';
import { dnsStep, unresolvedTrace } from '../../src/trace/dns-step.js';
import { buildTwin, type Twin } from '../../src/twin.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const POD = 'default/my-app-6d8f7b9c5d-x7k2p'; // node-1, 10.244.0.5

function demo(replace: Record<string, string> = {}, extra: SourceText[] = []): Twin {
  const dir = join(ROOT, 'examples/demo');
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      let text = readFileSync(join(dir, f), 'utf8');
      for (const [a, b] of Object.entries(replace)) text = text.replace(a, b);
      return { file: `examples/demo/${f}`, text };
    });
  return buildTwin([...sources, ...extra]);
}

const twin = demo();
const corednsPods = new Map(
  twin.state.pods
    .filter((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns')
    .map((p) => [p.status!.podIP!, `${p.metadata.namespace}/${p.metadata.name}`]),
);

describe('dnsStep on the demo cluster', () => {
  it('resolves a service name: the queries, the names tried, the address the connection goes to', () => {
    const s = dnsStep(twin, POD, 'web.shop', { seed: 1 });
    const web = twin.state.services.find((x) => x.metadata.name === 'web')!.spec.clusterIP!;
    expect(s.dns.tried).toEqual(['web.shop.default.svc.cluster.local.', 'web.shop.svc.cluster.local.']);
    expect(s.dns.queries.map((q) => `${q.name} ${q.type} ${q.rcode} ${q.via}`)).toEqual([
      'web.shop.default.svc.cluster.local. A NXDOMAIN coredns',
      'web.shop.default.svc.cluster.local. AAAA NXDOMAIN coredns',
      'web.shop.svc.cluster.local. A NOERROR coredns',
      'web.shop.svc.cluster.local. AAAA NOERROR coredns',
    ]);
    expect(s.dns.queries[2]!.coredns?.[0]).toBe('kubernetes: NOERROR');
    expect(s.dns.result).toEqual({ status: 'OK', addresses: [web] });
    expect(s.address).toBe(web);
    expect(s.failure).toBeUndefined();
  });

  it('each query is a UDP packet to 10.96.0.10:53, DNATed to a CoreDNS pod, and the reply comes back from 10.96.0.10:53', () => {
    const s = dnsStep(twin, POD, 'web.shop', { seed: 1 });
    for (const q of s.dns.queries) {
      const j = q.journey!;
      expect(j.request.protocol).toBe('udp');
      expect(j.request.from.ip).toBe('10.244.0.5');
      expect(j.request.to).toMatchObject({ kind: 'service', ip: '10.96.0.10', port: 53 });
      expect(j.disposition).toBe('DELIVERED');
      expect(corednsPods.get(j.delivered!.ip)).toBeDefined();
      expect(j.delivered!.port).toBe(53);
      // kube-proxy's KUBE-SVC chain for kube-system/kube-dns:dns chose the CoreDNS pod.
      expect(
        j.hops.some((h) => h.action === 'DNAT' && h.decidedBy?.text.includes('kube-system/kube-dns:dns')),
      ).toBe(true);
      expect(j.return?.disposition).toBe('DELIVERED');
      // conntrack's reverse NAT: the pod sees the reply from the address it asked.
      expect(j.return?.observedSource).toBe('10.96.0.10:53');
    }
  });

  it('A and AAAA of one name share a socket and so one journey; the next name opens a new socket', () => {
    const s = dnsStep(twin, POD, 'web.shop', { seed: 7 });
    const [a1, aaaa1, a2, aaaa2] = s.dns.queries;
    expect(a1!.journey).toBe(aaaa1!.journey);
    expect(a2!.journey).toBe(aaaa2!.journey);
    expect(a1!.journey!.request.from.port).not.toBe(a2!.journey!.request.from.port);
  });

  it('with options single-request-reopen, glibc sends AAAA from a new socket: a journey of its own', () => {
    const t = demo({}, [
      {
        file: 'p.yaml',
        text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: reopen, namespace: default}\nspec:\n  dnsConfig: {options: [{name: single-request-reopen}]}\n  containers: [{name: c, image: busybox}]\n',
      },
    ]);
    const s = dnsStep(t, 'default/reopen', 'web.shop', { seed: 7 });
    expect(s.dns.resolvConf).toContain('options ndots:5 single-request-reopen\n');
    const [a1, aaaa1] = s.dns.queries;
    expect(a1!.journey).not.toBe(aaaa1!.journey);
    expect(a1!.journey!.request.from.port).not.toBe(aaaa1!.journey!.request.from.port);
  });

  it('is deterministic: the same seed gives the same journeys', () => {
    const a = dnsStep(twin, POD, 'web.shop', { seed: 3 });
    const b = dnsStep(twin, POD, 'web.shop', { seed: 3 });
    expect(a).toEqual(b);
    expect(a.dns.queries[0]!.journey!.hops.length).toBeGreaterThan(3);
  });

  it('a name that resolves nowhere ends as DNS_NXDOMAIN with the list of names tried', () => {
    const s = dnsStep(twin, POD, 'google.com', { seed: 1 });
    expect(s.address).toBeUndefined();
    expect(s.dns.tried).toEqual([
      'google.com.default.svc.cluster.local.',
      'google.com.svc.cluster.local.',
      'google.com.cluster.local.',
      'google.com.',
    ]);
    expect(s.dns.queries).toHaveLength(8);
    expect(s.failure).toEqual({
      disposition: 'DNS_NXDOMAIN',
      reason:
        'google.com does not exist (NXDOMAIN for every name tried: google.com.default.svc.cluster.local., google.com.svc.cluster.local., google.com.cluster.local., google.com.)',
    });
    const t = unresolvedTrace(s, { spec: POD, kind: 'pod', ip: '10.244.0.5' }, 'tcp', 1, 443);
    expect(t).toMatchObject({
      disposition: 'DNS_NXDOMAIN',
      hops: [],
      request: { to: { spec: 'google.com', port: 443 } },
      dns: { tried: s.dns.tried },
    });
  });

  it('an existing name without an address is DNS_NODATA', () => {
    expect(dnsStep(twin, POD, 'shop', { seed: 1, noJourney: true }).failure?.disposition).toBe('DNS_NODATA');
  });

  it('CoreDNS answering SERVFAIL (its upstream is dead) is DNS_SERVFAIL; the packets still reached CoreDNS', () => {
    const dead = demo({
      '  externalHosts:':
        '  dns:\n    upstreams: [{name: dead, ip: 192.168.1.1, behaviour: timeout}]\n  externalHosts:',
    });
    const s = dnsStep(dead, POD, 'google.com', { seed: 1 });
    expect(s.failure?.disposition).toBe('DNS_SERVFAIL');
    expect(s.dns.queries.every((q) => q.journey?.disposition === 'DELIVERED')).toBe(true);
    expect(s.dns.result.status).toBe('EAI_AGAIN');
  });

  it('a nameserver that never replies is DNS_TIMEOUT; a server outside the modelled network gets no packet walk', () => {
    const t = demo({}, [
      {
        file: 'p.yaml',
        text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: lonely, namespace: default}\nspec:\n  dnsPolicy: None\n  dnsConfig: {nameservers: [192.0.2.53]}\n  containers: [{name: c, image: busybox}]\n',
      },
    ]);
    const s = dnsStep(t, 'default/lonely', 'google.com', { seed: 1 });
    expect(s.failure?.disposition).toBe('DNS_TIMEOUT');
    expect(s.failure?.reason).toBe('no reply from 192.0.2.53 after 10s; names tried: google.com.');
    expect(s.dns.queries.map((q) => q.rcode)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
    expect(s.dns.queries[0]!.journey).toBeUndefined();
    expect(s.dns.queries[0]!.note).toMatch(/^no packet walk to 192\.0\.2\.53: /);
  });

  it('a dnsPolicy Default pod (CoreDNS itself) asks the node resolver directly: the default upstream, NXDOMAIN', () => {
    const cd = twin.state.pods.find((p) => p.metadata.name.startsWith('coredns-'))!;
    const s = dnsStep(twin, `kube-system/${cd.metadata.name}`, 'google.com', { seed: 1 });
    expect(s.dns.resolvConf).toBe('nameserver 192.168.1.1\n');
    expect(s.dns.queries.map((q) => `${q.name} ${q.type} ${q.server} ${q.rcode} ${q.via}`)).toEqual([
      'google.com. A 192.168.1.1 NXDOMAIN upstream',
      'google.com. AAAA 192.168.1.1 NXDOMAIN upstream',
    ]);
    expect(s.failure?.disposition).toBe('DNS_NXDOMAIN');
    // The walk toward a server outside the model is kept, and explained when it does not arrive.
    for (const q of s.dns.queries) {
      expect(q.journey?.request.to).toMatchObject({ ip: '192.168.1.1', port: 53 });
      expect(q.note === undefined).toBe(q.journey?.disposition === 'DELIVERED');
    }
  });

  it("node/NAME resolves with the node's own resolv.conf: straight to the upstream, no search list", () => {
    const t = demo({
      '  externalHosts:':
        '  dns:\n    upstreams: [{name: corp, ip: 192.168.1.1, records: ["web.corp.example. 60 IN A 10.20.0.5"]}]\n    nodeResolvConf: "search corp.example\\nnameserver 192.168.1.1\\n"\n  externalHosts:',
    });
    const s = dnsStep(t, 'node/node-2', 'web', { seed: 1 });
    expect(s.dns.resolvConf).toBe('search corp.example\nnameserver 192.168.1.1\n');
    expect(s.dns.tried).toEqual(['web.corp.example.']);
    expect(s.address).toBe('10.20.0.5');
    expect(s.dns.queries[0]!.journey?.request.from).toMatchObject({ kind: 'node', ip: '192.168.1.11' });
    expect(() => dnsStep(t, 'node/node-9', 'web', { seed: 1 })).toThrow(/node "node-9" not found/);
  });
});

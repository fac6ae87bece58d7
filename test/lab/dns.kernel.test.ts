// DNS in lab mode against the real kernel and real glibc: the demo, and the demo with a DNS world
// outside it (spec.dns: a resolver with records, one that never answers, one that SERVFAILs, one
// routed beyond the underlay), built in namespaces; every pod resolves names with `getent ahosts`
// through its kubelet resolv.conf, and each lookup — addresses or failure, and the names and types
// the servers really received — must equal the glibc resolver model's prediction. Clean-up proven:
// no namespace, /etc/netns entry, server, journal or lab file is left.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectFrom } from '../../src/lab/client.js';
import type { DnsLogEntry } from '../../src/lab/dns-server.js';
import { detectFeatures, type Features } from '../../src/lab/features.js';
import { journalPath, labDir } from '../../src/lab/journal.js';
import { dnsLogPath, labDown, labUp } from '../../src/lab/lifecycle.js';
import { labPlan } from '../../src/lab/plan.js';
import { formatDnsReport, verifyDns } from '../../src/lab/verify-dns.js';
import { withDnsWorld } from './dns-fixture.js';
import { demoTwin, kernelPrerequisite, netnsEtcWithPrefix, netnsWithPrefix, serversOf } from './fixture.js';

const missing = kernelPrerequisite();
process.env.KPATH_LAB_DIR ??= mkdtempSync(join(tmpdir(), 'kpath-t-labdir-'));
const TAG = `t-dns${process.pid % 100000}`;
const DEMO = `${TAG}d`;
const WORLD = `${TAG}w`;

function nothingLeft(lab: string): void {
  expect(netnsWithPrefix(`kpath-${lab}-`), 'namespaces').toEqual([]);
  expect(netnsEtcWithPrefix(`kpath-${lab}-`), '/etc/netns entries').toEqual([]);
  expect(existsSync(journalPath(lab)), 'journal').toBe(false);
  expect(
    readdirSync(labDir()).filter((f) => f.startsWith(`lab-${lab}@`)),
    'lab files',
  ).toEqual([]);
  expect(serversOf(lab), 'server processes').toEqual([]);
}

function log(lab: string, netns: string): DnsLogEntry[] {
  const p = dnsLogPath(lab, netns);
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DnsLogEntry);
}

describe.skipIf(missing !== undefined)(`DNS in lab mode (${missing ?? 'kernel available'})`, () => {
  let features: Features;
  beforeAll(() => {
    features = detectFeatures(TAG);
  });
  afterAll(() => {
    for (const lab of [DEMO, WORLD]) labDown(lab);
  });

  test('demo: every pod resolves every kind of name as the glibc model predicts', async () => {
    const twin = await demoTwin();
    try {
      const up = await labUp(twin, { lab: DEMO, features });
      // The resolv.conf kubelet writes is what the pod sees at /etc/resolv.conf (ip netns exec's bind mount).
      const web = up.plan.namespaces.find((n) => n.pod?.startsWith('shop/web-'))!;
      expect(
        execFileSync('ip', ['netns', 'exec', web.name, 'cat', '/etc/resolv.conf'], { encoding: 'utf8' }),
      ).toBe(
        'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
      );
      const report = await verifyDns(twin, { lab: DEMO });
      const text = formatDnsReport(report, { onlyDifferences: true });
      expect(report.differ, text).toBe(0);
      expect(report.verdicts.length).toBeGreaterThanOrEqual(60);
      // Both successes and failures, and queries really seen by the servers (not two empty lists).
      expect(report.verdicts.some((v) => v.real.ok && v.real.addresses.length > 0)).toBe(true);
      expect(report.verdicts.some((v) => !v.real.ok)).toBe(true);
      expect(report.verdicts.every((v) => v.real.queries.length > 0)).toBe(true);
      // The raw answers dig printed (service FQDN, headless) equal the model's records, TTLs included.
      const digged = report.verdicts.filter((v) => v.dig);
      expect(digged.length).toBeGreaterThan(10);
      expect(
        digged.find((v) => v.case.kind === 'service-fqdn' && v.case.pod.startsWith('shop/'))?.dig?.real,
      ).toEqual([
        `web.shop.svc.cluster.local. 30 IN A ${twin.state.services.find((s) => s.metadata.name === 'web')!.spec.clusterIP}`,
      ]);
      const headless = report.verdicts.find(
        (v) => v.case.kind === 'headless' && v.case.pod.startsWith('shop/'),
      )!;
      expect(headless.real.addresses).toEqual(['10.244.1.4', '10.244.2.4']);
      // ndots:5 and the search list, seen on the wire: svc.ns is tried under every search domain first.
      const fewDots = report.verdicts.find(
        (v) => v.case.kind === 'service-ns' && v.case.pod.startsWith('shop/'),
      )!;
      expect(fewDots.real.queries[0]).toBe('kubernetes.default.shop.svc.cluster.local. A,AAAA');

      // DNS over TCP through the kube-dns ClusterIP (kube-proxy's DNAT to a CoreDNS pod's TCP 53).
      const tcp = execFileSync(
        'ip',
        ['netns', 'exec', web.name, 'dig', '+tcp', '+short', '+tries=1', 'web.shop.svc.cluster.local'],
        { encoding: 'utf8' },
      );
      const webIP = twin.state.services.find((s) => s.metadata.name === 'web')!.spec.clusterIP;
      expect(tcp.trim()).toBe(webIP);
      // The lab's own probes still get their line from port 53 (TCP without a query, UDP with a text line).
      const coredns = up.plan.servers.find((s) => s.dns?.kind === 'coredns')!;
      const corednsIP = twin.state.pods.find((p) => `kube-system/${p.metadata.name}` === coredns.label)!
        .status!.podIP!;
      const probes = await connectFrom(web.name, [
        { id: 't', ip: corednsIP, port: 53, protocol: 'tcp', count: 1 },
        { id: 'u', ip: corednsIP, port: 53, protocol: 'udp', count: 1 },
      ]);
      for (const p of probes) expect(p.reply?.startsWith(`${coredns.label} `), JSON.stringify(p)).toBe(true);

      // A wrong twin is caught: CoreDNS configured with `ttl 7` predicts other TTLs than the lab's CoreDNS
      // (built from the plain demo) answers.
      const wrong = await demoTwin((t) =>
        t.includes('my-app-6d8f7b9c5d-p2w8h')
          ? `${t.trimEnd()}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: coredns, namespace: kube-system}\ndata:\n  Corefile: |\n    .:53 {\n        kubernetes cluster.local in-addr.arpa ip6.arpa {\n           pods insecure\n           ttl 7\n        }\n        forward . /etc/resolv.conf\n    }\n`
          : t,
      );
      const caught = await verifyDns(wrong, { lab: DEMO });
      const ttl = caught.verdicts.filter((v) =>
        v.differences.some((d) => d.startsWith('dig ') && d.includes(' 7 IN A ')),
      );
      expect(ttl.length).toBeGreaterThan(0);
    } finally {
      labDown(DEMO);
    }
    nothingLeft(DEMO);
  }, 180_000);

  test('spec.dns world: forwarding, Default and None policies, SERVFAIL and silent servers agree with the model', async () => {
    const twin = await demoTwin(withDnsWorld);
    try {
      await labUp(twin, { lab: WORLD, features });
      const report = await verifyDns(twin, { lab: WORLD });
      expect(report.differ, formatDnsReport(report, { onlyDifferences: true })).toBe(0);
      const by = (pod: string, kind: string) =>
        report.verdicts.find((v) => v.case.pod === pod && v.case.kind === kind)!;
      // Forwarded through CoreDNS to corp-dns, for real: the upstream's log has CoreDNS's queries.
      const g = by('shop/db-0', 'external');
      expect(g.real.addresses).toEqual(['142.250.80.46', '2607:f8b0:4004:c1b::71']);
      // The ExternalName's CNAME target resolved through the forward as well.
      expect(by('shop/db-0', 'externalname').real.addresses).toEqual(['93.184.215.14']);
      // …and dig shows the chain CoreDNS built: the CNAME, the target's CNAME and A from corp-dns (cache 30 caps TTLs).
      expect(by('shop/db-0', 'externalname').dig?.real).toEqual([
        'legacy.default.svc.cluster.local. 30 IN CNAME www.example.com.',
        'www.example.com. 30 IN CNAME example.com.',
        'example.com. 30 IN A 93.184.215.14',
      ]);
      // SERVFAIL from the first nameserver: glibc asks the next one (both servers' logs show the name);
      // ndots:2 puts the search domain first.
      expect(by('default/servfail-first', 'external').real.queries).toEqual([
        'google.com.corp.example. A,A,AAAA,AAAA',
        'google.com. A,A,AAAA,AAAA',
      ]);
      // A silent nameserver: the model says EAI_AGAIN; getent fails after the timeout.
      expect(by('default/dead-only', 'service-short').predicted.status).toBe('EAI_AGAIN');
      expect(by('default/dead-only', 'service-short').real.ok).toBe(false);
      // The routed upstream beyond the underlay answers (its namespace is reached through the router).
      expect(by('default/far-only', 'external').real.queries).toEqual(['google.com. A,AAAA']);

      const plan = labPlan(twin, WORLD);
      const netnsOf = (label: string) => plan.servers.find((s) => s.label === label)!.netns;
      const corp = log(WORLD, netnsOf('upstream/corp-dns'));
      const nodeIPs = twin.state.nodeInfo.map((n) => n.internalIP.toString());
      expect(corp.some((e) => e.name === 'google.com.' && nodeIPs.includes(e.client.split(':')[0]!))).toBe(
        true,
      );
      expect(log(WORLD, netnsOf('upstream/dead-dns')).every((e) => e.rcode === 'none')).toBe(true);
      expect(log(WORLD, netnsOf('upstream/broken-dns')).every((e) => e.rcode === 'SERVFAIL')).toBe(true);
      // Every real forward agreed with the model (no reply was made up from the model instead).
      const coredns = plan.servers
        .filter((s) => s.dns?.kind === 'coredns')
        .flatMap((s) => log(WORLD, s.netns));
      expect(coredns.filter((e) => e.forward).length).toBeGreaterThan(0);
      expect(coredns.filter((e) => e.note)).toEqual([]);
    } finally {
      labDown(WORLD);
    }
    nothingLeft(WORLD);
  }, 240_000);
});

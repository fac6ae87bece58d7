// Lab mode against the real kernel: the demo cluster (Flannel VXLAN) and its host-gw variant built in
// network namespaces, real connections checked against the facts and against the twin's predictions,
// and clean-up proven: nothing left behind (namespaces, /run/netns entries, processes, journal) and the
// host's own iptables-save, links and routes unchanged — also after kill -9 of `lab up` mid-setup.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectFrom, parseReply } from '../../src/lab/client.js';
import { detectFeatures, type Features } from '../../src/lab/features.js';
import { journalPath, readJournal } from '../../src/lab/journal.js';
import { labDown, labUp } from '../../src/lab/lifecycle.js';
import { podNetns } from '../../src/lab/names.js';
import { formatVerifyReport, labVerify } from '../../src/lab/verify.js';
import type { Twin } from '../../src/twin.js';
import {
  demoTwin,
  hostGw,
  hostSnapshot,
  kernelPrerequisite,
  netnsEtcWithPrefix,
  netnsWithPrefix,
  serversOf,
  withPolicies,
} from './fixture.js';

const missing = kernelPrerequisite();
process.env.KPATH_LAB_DIR ??= mkdtempSync(join(tmpdir(), 'kpath-t-labdir-'));
const TAG = `t-l${process.pid % 100000}`;
const VX = `${TAG}vx`;
const HG = `${TAG}hg`;
const KILL = `${TAG}k9`;
const CYCLE = `${TAG}cy`;
const POL = `${TAG}np`;
const ALL = [VX, HG, KILL, CYCLE, POL];

function nothingLeft(lab: string): void {
  expect(netnsWithPrefix(`kpath-${lab}-`), 'namespaces').toEqual([]);
  expect(netnsEtcWithPrefix(`kpath-${lab}-`), '/etc/netns files').toEqual([]);
  expect(existsSync(journalPath(lab)), 'journal').toBe(false);
  expect(serversOf(lab), 'server processes').toEqual([]);
}

describe.skipIf(missing !== undefined)(`lab mode (${missing ?? 'kernel available'})`, () => {
  let host: ReturnType<typeof hostSnapshot>;
  let twin: Twin;
  let features: Features;

  beforeAll(async () => {
    host = hostSnapshot();
    twin = await demoTwin();
    features = detectFeatures(VX);
    await labUp(twin, { lab: VX, features });
  }, 60_000);

  afterAll(() => {
    for (const lab of ALL) {
      try {
        labDown(lab);
      } catch {}
    }
  });

  const pod = (name: string) => podNetns(VX, name.split('/')[0] ?? '', name.split('/')[1] ?? '');

  test('lab up reports the kernel features it must leave simulated', () => {
    const j = readJournal(VX);
    expect(j?.status).toBe('up');
    expect(j?.namespaces).toHaveLength(14);
    // One server per pod, and the default upstream DNS server at the underlay gateway (spec.dns).
    expect(j?.processes).toHaveLength(10);
    expect(j?.simulatedOnly).toEqual(
      (Object.keys(features) as (keyof Features)[]).filter((k) => !features[k]),
    );
  });

  test('pod → pod on another node over VXLAN: the server sees the client pod IP', async () => {
    // db-0 (node-2, 10.244.1.4) → my-app on node-3 (10.244.2.2:8080).
    const [a] = await connectFrom(pod('shop/db-0'), [
      { id: 'x', protocol: 'tcp', ip: '10.244.2.2', port: 8080, count: 1 },
    ]);
    expect(parseReply(a?.reply ?? '')).toMatchObject({
      endpoint: 'default/my-app-6d8f7b9c5d-p2w8h',
      observedIp: '10.244.1.4',
    });
  });

  test('pod → ClusterIP reaches one of the endpoints, each over repeated connections, without SNAT', async () => {
    const got = await connectFrom(pod('shop/db-0'), [
      { id: 'x', protocol: 'tcp', ip: '10.96.0.15', port: 80, count: 40 },
    ]);
    const replies = got.map((a) => parseReply(a.reply ?? ''));
    expect(new Set(replies.map((r) => r?.endpoint))).toEqual(
      new Set([
        'default/my-app-6d8f7b9c5d-x7k2p',
        'default/my-app-6d8f7b9c5d-m4q9z',
        'default/my-app-6d8f7b9c5d-p2w8h',
      ]),
    );
    expect(new Set(replies.map((r) => r?.observedIp))).toEqual(new Set(['10.244.1.4']));
  });

  test('UDP to the DNS ClusterIP is answered by a CoreDNS pod', async () => {
    const [a] = await connectFrom(pod('shop/db-0'), [
      { id: 'x', protocol: 'udp', ip: '10.96.0.10', port: 53, count: 1 },
    ]);
    expect(parseReply(a?.reply ?? '')?.endpoint).toMatch(/^kube-system\/coredns-/);
  });

  test("external → NodePort: a remote endpoint sees node-1's flannel.1 address (MASQUERADE), a local one cni0's", async () => {
    const ext = `kpath-${VX}-ext-client`;
    const got = await connectFrom(ext, [
      { id: 'x', protocol: 'tcp', ip: '192.168.1.10', port: 30080, count: 40 },
    ]);
    const seen = new Map<string, Set<string>>();
    for (const a of got) {
      const r = parseReply(a.reply ?? '');
      if (!r) throw new Error(`no answer: ${JSON.stringify(a)}`);
      seen.set(r.endpoint, (seen.get(r.endpoint) ?? new Set()).add(r.observedIp));
    }
    // The kernel's MASQUERADE picks the outgoing device's address: flannel.1 (10.244.0.0/32) toward
    // other nodes, cni0 (10.244.0.1) toward node-1's own pod — not the node IP the seeds show.
    expect(seen.get('default/my-app-6d8f7b9c5d-m4q9z')).toEqual(new Set(['10.244.0.0']));
    expect(seen.get('default/my-app-6d8f7b9c5d-p2w8h')).toEqual(new Set(['10.244.0.0']));
    expect(seen.get('default/my-app-6d8f7b9c5d-x7k2p')).toEqual(new Set(['10.244.0.1']));
  });

  test('verify: every probe of the demo matches the twin (zero unexplained differences)', async () => {
    const report = await labVerify(twin, { lab: VX, hops: 12, seed: 5 });
    expect(report.verdicts.length).toBeGreaterThan(200);
    // Every iptables rule the traces of 12 probes name had a non-zero packet counter in the kernel.
    expect(report.hopChecks.probes).toBe(12);
    expect(report.hopChecks.rules).toBeGreaterThan(200);
    expect(report.unexplained, formatVerifyReport(report, { onlyDifferences: true })).toBe(0);
    expect(report.simulatedOnly).toBe(0);
    expect(report.conntrackEvidence).toBe(true);
  }, 120_000);

  test('verify catches a wrong twin: host-gw predictions against the VXLAN lab differ in the SNAT source', async () => {
    const wrong = await demoTwin(hostGw);
    const report = await labVerify(wrong, { lab: VX, categories: ['external-nodeport'] });
    expect(report.unexplained).toBeGreaterThan(0);
    const kinds = new Set(report.verdicts.flatMap((v) => v.differences.map((d) => d.kind)));
    expect(kinds).toContain('source');
  }, 60_000);

  test('host-gw variant of the demo: up, verify with zero unexplained differences, down', async () => {
    const hg = await demoTwin(hostGw);
    expect(hg.node('node-1').host.links.some((l) => l.kind === 'vxlan')).toBe(false);
    await labUp(hg, { lab: HG, features });
    try {
      const report = await labVerify(hg, { lab: HG, sample: 80, seed: 7 });
      expect(report.unexplained, formatVerifyReport(report, { onlyDifferences: true })).toBe(0);
      // host-gw has no flannel.1: a NodePort hop to another node is masqueraded to the node's eth0 IP.
      const got = await connectFrom(`kpath-${HG}-ext-client`, [
        { id: 'x', protocol: 'tcp', ip: '192.168.1.10', port: 30080, count: 40 },
      ]);
      const remote = got
        .map((a) => parseReply(a.reply ?? ''))
        .filter((r) => r && r.endpoint !== 'default/my-app-6d8f7b9c5d-x7k2p');
      expect(remote.length).toBeGreaterThan(0);
      expect(new Set(remote.map((r) => r?.observedIp))).toEqual(new Set(['192.168.1.10']));
    } finally {
      labDown(HG);
    }
    nothingLeft(HG);
  }, 120_000);

  test('NetworkPolicy enforced by kube-router: verify agrees with the kernel, denials included', async () => {
    const np = await demoTwin(withPolicies);
    await labUp(np, { lab: POL, features });
    try {
      const report = await labVerify(np, { lab: POL, seed: 3, categories: ['pod-pod', 'pod-clusterip'] });
      expect(report.unexplained, formatVerifyReport(report, { onlyDifferences: true })).toBe(0);
      // Not trivial: some probes are predicted refused by the policy rules, and the kernel refused them too.
      const denied = report.verdicts.filter(
        (v) =>
          v.probe.toLabel.includes('shop/web') &&
          v.prediction.outcomes.every((o) => o.disposition !== 'DELIVERED'),
      );
      expect(denied.length).toBeGreaterThan(0);
      for (const v of denied) expect(v.attempts.every((a) => a.reply === undefined)).toBe(true);
      const allowed = report.verdicts.filter(
        (v) => v.probe.from.startsWith('default/my-app') && v.probe.toLabel.includes('shop/web-'),
      );
      expect(allowed.some((v) => v.attempts.some((a) => a.reply !== undefined))).toBe(true);
    } finally {
      labDown(POL);
    }
    nothingLeft(POL);
  }, 120_000);

  test('kill -9 of `lab up` mid-setup, then down: nothing is left behind', async () => {
    const viteNode = join(process.cwd(), 'node_modules', 'vite-node', 'vite-node.mjs');
    const child = spawn(process.execPath, [viteNode, join(__dirname, 'up-child.ts'), KILL], {
      stdio: 'ignore',
      env: process.env,
    });
    const deadline = Date.now() + 60_000;
    while ((readJournal(KILL)?.namespaces.length ?? 0) < 6) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('lab up never got halfway');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(readJournal(KILL)?.status).toBe('creating');
    expect(netnsWithPrefix(`kpath-${KILL}-`).length).toBeGreaterThan(0);
    labDown(KILL);
    nothingLeft(KILL);
  }, 90_000);

  test('10 up/down cycles leave nothing behind', async () => {
    for (let i = 0; i < 10; i++) {
      await labUp(twin, { lab: CYCLE, features });
      labDown(CYCLE);
      nothingLeft(CYCLE);
    }
  }, 150_000);

  test('down removes the lab; the host namespace is exactly as before', () => {
    labDown(VX);
    nothingLeft(VX);
    expect(hostSnapshot()).toEqual(host);
  });
});

// The lab plan, probes, comparison and divergence list: pure, no root needed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { packageRoot } from '../../src/cli/input.js';
import type { Attempt } from '../../src/lab/client.js';
import { parseReply } from '../../src/lab/client.js';
import { attemptsFor, compareProbe, type Prediction } from '../../src/lab/compare.js';
import { explain, parseDivergences } from '../../src/lab/divergences.js';
import { batchSteps, labPlan, loadBalancerRules } from '../../src/lab/plan.js';
import { labProbes, type Probe, sampleProbes } from '../../src/lab/probes.js';
import type { Twin } from '../../src/twin.js';
import { demoTwin } from './fixture.js';

let twin: Twin;
beforeAll(async () => {
  twin = await demoTwin();
});

describe('lab plan', () => {
  test('every namespace carries the lab prefix and pods get hashed names', () => {
    const plan = labPlan(twin, 'x1');
    expect(plan.namespaces.every((n) => n.name.startsWith('kpath-x1-'))).toBe(true);
    expect(plan.namespaces.map((n) => n.name).slice(0, 3)).toEqual([
      'kpath-x1-underlay',
      'kpath-x1-ext-client',
      'kpath-x1-node-1',
    ]);
    expect(plan.namespaces.filter((n) => n.role === 'pod')).toHaveLength(9);
    expect(plan.namespaces.find((n) => n.pod === 'shop/db-0')?.name).toMatch(/^kpath-x1-pod-[0-9a-f]{10}$/);
    // Each namespace is created by exactly one step, so the journal can record it first.
    const created = plan.steps
      .filter((s) => s.kind === 'netns')
      .map((s) => (s.kind === 'netns' ? s.name : ''));
    expect(created.sort()).toEqual(plan.namespaces.map((n) => n.name).sort());
  });

  test('nothing is done in the root namespace: every command names a kpath namespace', () => {
    const plan = labPlan(twin, 'x1');
    for (const s of plan.steps) {
      if (s.kind !== 'run') continue;
      const ns =
        s.argv[1] === '-n'
          ? s.argv[2]
          : s.argv[1] === 'netns' && s.argv[2] === 'exec'
            ? s.argv[3]
            : undefined;
      expect(ns, s.argv.join(' ')).toMatch(/^kpath-x1-/);
    }
  });

  test('servers listen on every declared container port, per protocol', () => {
    const plan = labPlan(twin, 'x1');
    const dns = plan.servers.find((s) => s.label === 'kube-system/coredns-55d49d4679-nj9lf');
    expect(dns?.tcp).toEqual([53, 9153, 8080, 8181]);
    expect(dns?.udp).toEqual([53]);
    expect(plan.servers.find((s) => s.label === 'default/my-app-6d8f7b9c5d-x7k2p')?.tcp).toEqual([8080]);
  });

  test('batched steps run the same commands in the same order', () => {
    const plan = labPlan(twin, 'x1');
    const unbatch = (steps: ReturnType<typeof batchSteps>) =>
      steps.flatMap((s) => {
        if (s.kind !== 'run') return [JSON.stringify(s)];
        if (s.input !== undefined)
          return s.input
            .trim()
            .split('\n')
            .map((l) => [...s.argv.slice(0, 3), ...l.split(' ')].join(' '));
        if (s.argv[4] === 'sysctl') return s.argv.slice(6).map((kv) => [...s.argv.slice(0, 6), kv].join(' '));
        return [s.argv.join(' ')];
      });
    const batched = batchSteps(plan.steps);
    expect(batched.length).toBeLessThan(plan.steps.length / 2);
    expect(unbatch(batched)).toEqual(unbatch(plan.steps));
  });

  test('the cloud load balancer: DNAT to each ready node with kube-proxy-style cascading probabilities', () => {
    expect(loadBalancerRules(twin.state)).toBe(
      [
        '*nat',
        '-A PREROUTING -d 203.0.113.50/32 -p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.3333333333 -j DNAT --to-destination 192.168.1.10:30080',
        '-A PREROUTING -d 203.0.113.50/32 -p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.5000000000 -j DNAT --to-destination 192.168.1.11:30080',
        '-A PREROUTING -d 203.0.113.50/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 192.168.1.12:30080',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });
});

describe('probes', () => {
  test('the demo has every category, same node and cross node, TCP and UDP', () => {
    const probes = labProbes(twin.state, 'x1');
    const cats = new Set(probes.map((p) => p.category));
    expect([...cats].sort()).toEqual([
      'external-lb',
      'external-nodeport',
      'pod-clusterip',
      'pod-nodeport',
      'pod-pod',
    ]);
    expect(probes.some((p) => p.scope === 'same-node')).toBe(true);
    expect(probes.some((p) => p.scope === 'cross-node')).toBe(true);
    expect(probes.some((p) => p.protocol === 'udp' && p.category === 'pod-clusterip')).toBe(true);
    expect(new Set(probes.map((p) => p.id)).size).toBe(probes.length);
  });

  test('sampling is seeded, keeps order and never repeats a probe', () => {
    const probes = labProbes(twin.state, 'x1');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: probes.length + 5 }), fc.integer(), (n, seed) => {
        const a = sampleProbes(probes, n, seed);
        expect(a).toEqual(sampleProbes(probes, n, seed));
        expect(a).toHaveLength(Math.min(n, probes.length));
        const idx = a.map((p) => probes.indexOf(p));
        expect(idx).toEqual([...new Set(idx)].sort((x, y) => x - y));
      }),
    );
  });
});

const probe: Probe = {
  id: 'pod-clusterip:a/x->10.96.0.15:80/tcp',
  category: 'pod-clusterip',
  scope: 'service',
  from: 'a/x',
  fromNetns: 'kpath-x1-pod-0',
  ip: '10.96.0.15',
  port: 80,
  protocol: 'tcp',
  toLabel: 'svc/default/my-app',
};

const twoEndpoints: Prediction = {
  outcomes: [
    { disposition: 'DELIVERED', endpoint: 'default/a', observedIp: '10.244.0.5', reason: '' },
    { disposition: 'DELIVERED', endpoint: 'default/b', observedIp: '10.244.0.5', reason: '' },
  ],
  endpoints: ['default/a', 'default/b'],
};

const answered = (endpoint: string, ip: string): Attempt => ({
  id: probe.id,
  outcome: 'answered',
  reply: `${endpoint} ${ip}:40000`,
  localPort: 40000,
});

describe('expected versus actual', () => {
  test('matching answers that cover every endpoint are no difference', () => {
    const attempts = Array.from({ length: 21 }, (_, i) =>
      answered(i % 2 ? 'default/a' : 'default/b', '10.244.0.5'),
    );
    expect(compareProbe(twoEndpoints, attempts)).toEqual([]);
  });

  test('an unpredicted endpoint, an unpredicted SNAT source, a wrong outcome and a missed branch are each caught', () => {
    const kinds = (attempts: Attempt[]) => compareProbe(twoEndpoints, attempts).map((d) => d.kind);
    expect(kinds([answered('default/c', '10.244.0.5')])).toEqual(['endpoint']);
    expect(kinds([answered('default/a', '10.244.0.0')])).toEqual(['source']);
    expect(kinds([{ id: probe.id, outcome: 'timeout' }])).toEqual(['outcome']);
    expect(kinds(Array.from({ length: 21 }, () => answered('default/a', '10.244.0.5')))).toEqual([
      'coverage',
    ]);
    // Too few connections to expect every branch: no coverage claim.
    expect(kinds(Array.from({ length: 5 }, () => answered('default/a', '10.244.0.5')))).toEqual([]);
  });

  test('a refusal matches NOT_LISTENING, not DELIVERED', () => {
    const refused: Attempt = { id: probe.id, outcome: 'refused', error: 'ECONNREFUSED' };
    const notListening: Prediction = {
      outcomes: [{ disposition: 'NOT_LISTENING', reason: 'nothing listens on tcp/6443' }],
      endpoints: [],
    };
    expect(compareProbe(notListening, [refused])).toEqual([]);
    expect(compareProbe(twoEndpoints, [refused]).map((d) => d.kind)).toEqual(['outcome']);
  });

  test('attemptsFor: enough connections that missing an endpoint is below one in a million', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), (k) => {
        const n = attemptsFor(k);
        expect(k * (1 - 1 / k) ** n).toBeLessThan(1e-6);
        expect(k * (1 - 1 / k) ** (n - 1)).toBeGreaterThanOrEqual(1e-6);
      }),
    );
    expect(attemptsFor(1)).toBe(1);
  });

  test('server answers parse into endpoint and observed client', () => {
    expect(parseReply('default/my-app-6d8f7b9c5d-m4q9z 10.244.2.0:17730')).toEqual({
      endpoint: 'default/my-app-6d8f7b9c5d-m4q9z',
      observedIp: '10.244.2.0',
      observedPort: 17730,
    });
    expect(parseReply('garbage')).toBeUndefined();
  });
});

describe('docs/divergences.md', () => {
  const divs = parseDivergences(readFileSync(join(packageRoot(), 'docs', 'divergences.md'), 'utf8'));

  test('lists the kernel features this machine lacks, each with a reason', () => {
    const ids = divs.map((d) => d.id);
    for (const id of ['kernel-ipip', 'kernel-wireguard', 'kernel-ipvs', 'kernel-dummy'])
      expect(ids).toContain(id);
    for (const d of divs) expect(d.why.length).toBeGreaterThan(10);
  });

  test('a row with a verify match explains only the differences it names', () => {
    const rows = parseDivergences(
      '| id | feature | what | why | verify match |\n|--|--|--|--|--|\n| x | f | w | a reason here | `pod-clusterip:source:/observed client 10\\.244\\.\\d+\\.0/` |\n',
    );
    expect(rows[0]?.match?.kind).toBe('source');
    expect(
      explain(rows, probe, { kind: 'source', text: 'default/a observed client 10.244.1.0; predicted x' })?.id,
    ).toBe('x');
    expect(
      explain(rows, probe, { kind: 'endpoint', text: 'default/a observed client 10.244.1.0' }),
    ).toBeUndefined();
    expect(
      explain(
        rows,
        { ...probe, category: 'pod-pod' },
        { kind: 'source', text: 'observed client 10.244.1.0' },
      ),
    ).toBeUndefined();
  });
});

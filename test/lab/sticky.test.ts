// ClientIP affinity and hairpin in `lab verify`, without root: the probes' tags, the twin's prediction of
// a sticky domain, and the stickiness check against a model of xt_recent (the kernel side is
// random.kernel.test.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  domainOf,
  type Prediction,
  type StickyDomain,
  type StickyObservation,
  stickinessDifferences,
} from '../../src/lab/compare.js';
import { predictProbe } from '../../src/lab/predict.js';
import { labProbes, probeService, sampleWithTags } from '../../src/lab/probes.js';
import { buildTwin } from '../../src/twin.js';
import { HAIRPIN_AFFINITY, HAIRPIN_OFF, manifests, type RandomCluster } from './random-cluster.js';

const twinOf = (c: RandomCluster) => buildTwin([{ file: 'random.yaml', text: manifests(c) }]);
const TWIN = twinOf(HAIRPIN_AFFINITY);
const PROBES = labProbes(TWIN.state, 'x');
const probe = (id: string) => {
  const p = PROBES.find((x) => x.id.startsWith(id));
  if (!p) throw new Error(`no probe ${id}`);
  return p;
};
const ip = (svc: string) => TWIN.state.services.find((s) => s.metadata.name === svc)?.spec.clusterIP ?? '';
const nodePort = (svc: string) =>
  TWIN.state.services.find((s) => s.metadata.name === svc)?.spec.ports?.[0]?.nodePort ?? 0;

describe('probe tags', () => {
  it('tags hairpin exactly where the source pod is the only endpoint: ClusterIP and every NodePort', () => {
    const hairpin = PROBES.filter((p) => p.tags?.includes('hairpin')).map((p) => p.id);
    expect(hairpin).toEqual([
      `pod-clusterip:default/app0-0->${ip('app0')}:80/tcp`,
      `pod-nodeport:default/app0-0->192.168.1.10:${nodePort('app0')}/tcp`,
      `pod-nodeport:default/app0-0->192.168.1.11:${nodePort('app0')}/tcp`,
      `pod-clusterip:default/app1-0->${ip('app1')}:5353/udp`,
      // CoreDNS pods reach kube-dns; with two replicas neither is the only endpoint.
    ]);
  });

  it('tags affinity on every probe of a ClientIP service, from pods and from outside', () => {
    const svcs = new Set(PROBES.filter((p) => p.tags?.includes('affinity')).map((p) => probeService(p)));
    expect([...svcs].sort()).toEqual(['default/app1', 'default/app2', 'default/app3']);
    expect(PROBES.filter((p) => p.category === 'pod-pod' && p.tags)).toEqual([]);
  });

  it('a sample is topped up to the asked number of each tag, in the original order', () => {
    const s = sampleWithTags(PROBES, 5, 3, { hairpin: 4, affinity: 2 });
    expect(s.filter((p) => p.tags?.includes('hairpin'))).toHaveLength(4);
    expect(s.filter((p) => p.tags?.includes('affinity')).length).toBeGreaterThanOrEqual(2);
    expect(s.map((p) => PROBES.indexOf(p))).toEqual(
      [...s.map((p) => PROBES.indexOf(p))].sort((a, b) => a - b),
    );
    expect(sampleWithTags(PROBES, 5, 3)).toHaveLength(5);
  });
});

describe('the twin predicts hairpin and affinity', () => {
  it('hairpin: the only endpoint reaching itself sees the node bridge address (KUBE-MARK-MASQ on -s <pod IP>)', () => {
    // kube-proxy's KUBE-SEP chain masquerades its own endpoint; MASQUERADE picks cni0's 10.244.0.1.
    const p = predictProbe(TWIN, probe(`pod-clusterip:default/app0-0->${ip('app0')}`));
    expect(p.outcomes.map((o) => [o.disposition, o.endpoint, o.observedIp])).toEqual([
      ['DELIVERED', 'default/app0-0', '10.244.0.1'],
    ]);
    const viaOtherNode = predictProbe(TWIN, probe(`pod-nodeport:default/app0-0->192.168.1.11:`));
    expect(viaOtherNode.outcomes.map((o) => [o.endpoint, o.observedIp])).toEqual([
      ['default/app0-0', '10.244.1.0'],
    ]);
  });

  it('hairpin mode off: the bridge will not send the frame back out of its port', () => {
    const off = twinOf(HAIRPIN_OFF);
    const cip = off.state.services.find((s) => s.metadata.name === 'app0')?.spec.clusterIP;
    const p = labProbes(off.state, 'x').find((x) => x.id === `pod-clusterip:default/app0-0->${cip}:80/tcp`);
    if (!p) throw new Error('no hairpin probe');
    const o = predictProbe(off, p).outcomes;
    expect(o.map((x) => x.disposition)).toEqual(['DROPPED']);
    expect(o[0]?.reason).toMatch(/hairpin mode is off/);
  });

  it('affinity: one sticky domain per client and node, with the rcheck timeout; none without affinity', () => {
    const p = predictProbe(TWIN, probe(`pod-clusterip:default/app0-0->${ip('app2')}`));
    expect(p.endpoints).toEqual(['default/app2-0', 'default/app2-1', 'default/app2-2']);
    expect(p.affinity?.timeoutSeconds).toBe(10800); // the API default (timeoutSeconds left out)
    expect(p.affinity?.domains).toHaveLength(1);
    const d = p.affinity?.domains[0];
    expect(d?.node).toBe('node-1');
    expect(d?.src).toBe('10.244.0.3');
    expect(d?.chain).toMatch(/^KUBE-SVC-/);
    expect(d?.lists).toHaveLength(3);
    expect(p.outcomes.every((o) => o.domain === d?.key)).toBe(true);
    expect(
      predictProbe(TWIN, probe(`pod-clusterip:default/app0-0->${ip('app3')}`)).affinity?.timeoutSeconds,
    ).toBe(60);
    expect(predictProbe(TWIN, probe(`pod-clusterip:default/app1-0->${ip('app0')}`)).affinity).toBeUndefined();
  });

  it('affinity through another node: the client address there is the masqueraded node IP', () => {
    const p = predictProbe(TWIN, probe(`pod-nodeport:default/app0-0->192.168.1.11:${nodePort('app2')}`));
    expect(p.affinity?.domains.map((d) => [d.node, d.src])).toEqual([['node-2', '192.168.1.10']]);
  });

  it('affinity behind the load balancer: one sticky domain per node the LB may pick', () => {
    const lb = PROBES.find((x) => x.category === 'external-lb' && probeService(x) === 'default/app2');
    if (!lb) throw new Error('no LB probe');
    const p = predictProbe(TWIN, lb);
    expect(p.affinity?.domains.map((d) => [d.node, d.src])).toEqual([
      ['node-1', '198.51.100.5'],
      ['node-2', '198.51.100.5'],
    ]);
    // eTP Cluster masquerades on the entry node, so endpoint and observed source name the domain.
    for (const o of p.outcomes) expect(domainOf(p, o.endpoint ?? '', o.observedIp ?? '')).toBe(o.domain);
  });
});

describe('stickinessDifferences', () => {
  const dom = (node: string, src: string, chain: string, lists: string[]): StickyDomain => ({
    key: `${node} ${src} ${chain}`,
    node,
    src,
    chain,
    lists,
  });
  const SVC = dom('node-1', '10.244.0.3', 'KUBE-SVC-A', ['SEP-a', 'SEP-b', 'SEP-c']);
  const SVL = dom('node-1', '10.244.0.3', 'KUBE-SVL-A', ['SEP-b']);
  const obs = (domain: StickyDomain, endpoint: string, first = false, probeId = 'p'): StickyObservation => ({
    probeId,
    domain: domain.key,
    endpoint,
    first,
  });

  it('accepts every connection on the endpoint the first one chose', () => {
    expect(stickinessDifferences([obs(SVC, 'a', true), obs(SVC, 'a'), obs(SVC, 'a')], [SVC]).size).toBe(0);
  });

  it('reports later connections on two endpoints, to every probe of the domain', () => {
    const d = stickinessDifferences(
      [obs(SVC, 'a', true, 'p1'), obs(SVC, 'a', false, 'p1'), obs(SVC, 'b', false, 'p2')],
      [SVC],
    );
    expect([...d.keys()].sort()).toEqual(['p1', 'p2']);
    expect(d.get('p2')?.[0]).toEqual({
      kind: 'affinity',
      text: 'ClientIP affinity: connections from 10.244.0.3 on node-1 (KUBE-SVC-A) landed on a, b; expected one endpoint',
    });
  });

  it('reports later connections that left the first one`s endpoint, unless another domain shares the lists', () => {
    expect(stickinessDifferences([obs(SVC, 'c', true), obs(SVC, 'b')], [SVC]).get('p')?.[0]?.text).toBe(
      'ClientIP affinity: the first connection from 10.244.0.3 on node-1 (KUBE-SVC-A) landed on c, later ones on b',
    );
    expect(stickinessDifferences([obs(SVC, 'c', true), obs(SVC, 'b')], [SVC, SVL]).size).toBe(0);
  });

  // A model of xt_recent for one node and client: the chain's `--rcheck` rules in endpoint order, the
  // first list holding the client wins; otherwise a random endpoint is picked and `--set`.
  const kernel = (picks: number[]) => {
    const recorded = new Set<string>();
    let i = 0;
    return (d: StickyDomain): string => {
      const hit = d.lists.find((l) => recorded.has(l));
      if (hit) return hit;
      const pick = d.lists[(picks[i++ % picks.length] ?? 0) % d.lists.length] ?? '';
      recorded.add(pick);
      return pick;
    };
  };

  it('never reports the real kernel: primers one at a time, then any mix of connections (property)', () => {
    const domains = [SVC, SVL, dom('node-1', '10.244.0.3', 'KUBE-SVC-B', ['SEP-x', 'SEP-y'])];
    fc.assert(
      fc.property(
        fc.array(fc.nat(10), { minLength: 1, maxLength: 8 }),
        fc.shuffledSubarray(domains, { minLength: 1 }),
        fc.array(fc.integer({ min: 0, max: domains.length - 1 }), { maxLength: 30 }),
        (picks, primed, later) => {
          const k = kernel(picks);
          const seen: StickyObservation[] = primed.map((d) => obs(d, k(d), true, d.key));
          for (const i of later) {
            const d = domains[i] as StickyDomain;
            if (primed.includes(d)) seen.push(obs(d, k(d), false, d.key));
          }
          expect(stickinessDifferences(seen, domains).size).toBe(0);
        },
      ),
    );
  });

  it('always reports a kernel without affinity once a domain`s later connections differ (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('SEP-a', 'SEP-b', 'SEP-c'), { minLength: 2, maxLength: 20 }),
        (eps) => {
          const [first, ...later] = eps;
          const seen = [obs(SVC, first ?? '', true), ...later.map((e) => obs(SVC, e))];
          const expected = new Set(later).size > 1 || (later.length > 0 && later[0] !== first);
          expect(stickinessDifferences(seen, [SVC]).size > 0).toBe(expected);
        },
      ),
    );
  });
});

describe('domainOf', () => {
  it('names a domain only when endpoint and source point at one', () => {
    const p: Prediction = {
      endpoints: ['e1'],
      outcomes: [
        { disposition: 'DELIVERED', reason: '', endpoint: 'e1', observedIp: '10.244.0.0', domain: 'A' },
        { disposition: 'DELIVERED', reason: '', endpoint: 'e1', observedIp: '10.244.1.0', domain: 'B' },
        { disposition: 'DELIVERED', reason: '', endpoint: 'e2', observedIp: '198.51.100.5', domain: 'A' },
        { disposition: 'DELIVERED', reason: '', endpoint: 'e2', observedIp: '198.51.100.5', domain: 'B' },
      ],
    };
    expect(domainOf(p, 'e1', '10.244.1.0')).toBe('B');
    expect(domainOf(p, 'e2', '198.51.100.5')).toBeUndefined();
    expect(domainOf(p, 'e3', '198.51.100.5')).toBeUndefined();
  });
});

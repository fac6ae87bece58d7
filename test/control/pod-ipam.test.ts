import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runControlPlane } from '../../src/control/index.js';
import { HostLocalRange } from '../../src/control/pod-ipam.js';
import type { InputError } from '../../src/model/errors.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import { cluster, declaredNodes, kubeadmConfig, pod } from './fixture.js';

const oneNode = () => kubeadmConfig({ nodes: declaredNodes(1) });
const user = (s: ReturnType<typeof runControlPlane>) =>
  s.pods.filter((p) => p.metadata.namespace === 'default');

describe('host-local range', () => {
  it('starts at .2 (gateway .1), skips reserved addresses and never hands out the broadcast', () => {
    const r = new HostLocalRange(Prefix.parse('10.244.0.0/29'));
    expect(r.gateway.toString()).toBe('10.244.0.1');
    r.reserve(IPAddr.parse('10.244.0.3'));
    const got: string[] = [];
    for (let ip = r.next(); ip; ip = r.next()) got.push(ip.toString());
    expect(got).toEqual(['10.244.0.2', '10.244.0.4', '10.244.0.5', '10.244.0.6']);
  });

  it('never repeats an address and stays inside .2..broadcast-1 (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 24, max: 30 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 255 })),
        (len, reserved) => {
          const subnet = Prefix.parse(`10.244.7.0/${len}`);
          const r = new HostLocalRange(subnet);
          const res = new Set(reserved.filter((i) => BigInt(i) < subnet.size).map((i) => i));
          for (const i of res) r.reserve(subnet.nth(i));
          const seen = new Set<bigint>();
          for (let ip = r.next(); ip; ip = r.next()) {
            const off = Number(ip.value - subnet.addr.value);
            expect(off).toBeGreaterThanOrEqual(2);
            expect(BigInt(off)).toBeLessThan(subnet.size - 1n);
            expect(res.has(off)).toBe(false);
            expect(seen.has(ip.value)).toBe(false);
            seen.add(ip.value);
          }
          // Brute-force model: exactly the addresses .2..broadcast-1 that were not reserved.
          let expected = 0;
          for (let i = 2n; i < subnet.size - 1n; i++) if (!res.has(Number(i))) expected++;
          expect(seen.size).toBe(expected);
        },
      ),
    );
  });
});

describe('pod addresses', () => {
  it('allocates from .2 upward per node, skipping stated addresses, and fills kubelet status', () => {
    const s = runControlPlane(
      cluster({
        config: oneNode(),
        pods: [pod('a-1', {}, { status: { podIP: '10.244.0.4' } }), pod('b-1'), pod('b-2')],
      }),
    );
    // CoreDNS (created at bootstrap) takes .2 and .3; b-1 skips the stated .4.
    expect(s.pods.map((p) => [p.metadata.name.split('-')[0], p.status?.podIP]).sort()).toEqual([
      ['a', '10.244.0.4'],
      ['b', '10.244.0.5'],
      ['b', '10.244.0.6'],
      ['coredns', '10.244.0.2'],
      ['coredns', '10.244.0.3'],
    ]);
    const b = user(s)[1]!;
    expect(b.status).toEqual({
      phase: 'Running',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True' },
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
        { type: 'PodScheduled', status: 'True' },
      ],
      hostIP: '192.168.1.10',
      hostIPs: [{ ip: '192.168.1.10' }],
      podIP: '10.244.0.5',
      podIPs: [{ ip: '10.244.0.5' }],
    });
  });

  it('gives hostNetwork pods the node IP, and keeps stated conditions', () => {
    const notReady = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' as const }] };
    const s = runControlPlane(
      cluster({
        config: oneNode(),
        pods: [pod('h-1', { hostNetwork: true }), pod('n-1', {}, { status: notReady })],
      }),
    );
    expect(user(s)[0]!.status?.podIP).toBe('192.168.1.10');
    expect(user(s)[1]!.status?.conditions).toEqual([{ type: 'Ready', status: 'False' }]);
  });

  it('rejects a stated IP outside the node podCIDR, at status.podIP', () => {
    try {
      runControlPlane(
        cluster({ pods: [pod('a-1', { nodeName: 'node-1' }, { status: { podIP: '10.244.1.5' } })] }),
      );
      expect.unreachable();
    } catch (e) {
      const p = (e as InputError).problems;
      expect(p).toHaveLength(1);
      expect(p[0]).toMatchObject({ line: 13, field: 'status.podIP', object: 'Pod default/a-1' });
      expect(p[0]!.message).toBe('pod IP 10.244.1.5 is outside the podCIDR 10.244.0.0/24 of node node-1');
    }
  });

  it('rejects duplicate pod IPs, pointing at both pods', () => {
    try {
      runControlPlane(
        cluster({
          pods: [
            pod('a-1', { nodeName: 'node-1' }, { status: { podIP: '10.244.0.7' } }),
            pod('b-1', { nodeName: 'node-1' }, { status: { podIP: '10.244.0.7' } }),
          ],
        }),
      );
      expect.unreachable();
    } catch (e) {
      const p = (e as InputError).problems;
      expect(p.map((x) => [x.object, x.line, x.message])).toEqual([
        ['Pod default/b-1', 33, 'pod IP 10.244.0.7 is also used by Pod default/a-1'],
        ['Pod default/a-1', 13, 'pod IP 10.244.0.7 is also used by Pod default/b-1'],
      ]);
    }
  });

  it('never assigns one address twice across many pods and nodes (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.record({
            node: fc.integer({ min: 0, max: 3 }),
            ip: fc.option(fc.integer({ min: 2, max: 40 }), { nil: undefined }),
          }),
          { maxLength: 60 },
        ),
        (n, specs) => {
          const used = new Set<string>();
          const pods = specs.flatMap((sp, i) => {
            const nodeIx = sp.node % n;
            const ip = sp.ip === undefined ? undefined : `10.244.${nodeIx}.${sp.ip}`;
            if (ip && used.has(ip)) return [];
            if (ip) used.add(ip);
            return [pod(`p-${i}`, { nodeName: `node-${nodeIx + 1}` }, ip ? { status: { podIP: ip } } : {})];
          });
          const s = runControlPlane(cluster({ config: kubeadmConfig({ nodes: declaredNodes(n) }), pods }));
          const seen = new Set<string>();
          for (const p of s.pods) {
            const ip = p.status!.podIP!;
            expect(seen.has(ip)).toBe(false);
            seen.add(ip);
            const cidr = s.nodeInfo.find((x) => x.name === p.spec.nodeName)!.podCIDR;
            expect(cidr.contains(IPAddr.parse(ip))).toBe(true);
          }
          for (const p of pods) {
            const out = s.pods.find((q) => q.metadata.name === p.metadata.name)!;
            if (p.status?.podIP) expect(out.status?.podIP).toBe(p.status.podIP);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

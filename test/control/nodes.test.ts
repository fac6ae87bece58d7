import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runControlPlane } from '../../src/control/index.js';
import { allocateNodeCIDRs } from '../../src/control/nodes.js';
import { InputError } from '../../src/model/errors.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import { cluster, declaredNodes, kubeadmConfig, node } from './fixture.js';

function problems(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e.problems;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('range allocator (allocateNodeCIDRs)', () => {
  const pods = Prefix.parse('10.244.0.0/16');

  it('hands out the lowest free /24 in node order, skipping stated CIDRs', () => {
    const got = allocateNodeCIDRs(pods, 24, [
      [],
      [Prefix.parse('10.244.0.0/24')],
      [],
      [Prefix.parse('10.244.2.0/23')],
      [],
    ]);
    expect(got.map(String)).toEqual([
      '10.244.1.0/24',
      'undefined',
      '10.244.4.0/24',
      'undefined',
      '10.244.5.0/24',
    ]);
  });

  it('returns nothing once the cluster CIDR is full', () => {
    const got = allocateNodeCIDRs(Prefix.parse('10.244.0.0/23'), 24, [[], [], []]);
    expect(got.map(String)).toEqual(['10.244.0.0/24', '10.244.1.0/24', 'undefined']);
  });

  it('never collides with stated CIDRs or itself, stays in range, and equals a brute-force model', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 0, max: 63 }), { nil: undefined }), { maxLength: 80 }),
        (spec) => {
          const cidr = Prefix.parse('10.244.0.0/18'); // 64 × /24
          const stated = spec.map((i) => (i === undefined ? [] : [cidr.subnet(24, i)]));
          const got = allocateNodeCIDRs(cidr, 24, stated);
          // Model: walk slots 0..63 in order, skipping every stated one and every one already given.
          const used = new Set(spec.filter((i) => i !== undefined));
          let next = 0;
          spec.forEach((i, k) => {
            if (i !== undefined) {
              expect(got[k]).toBeUndefined();
              return;
            }
            while (next < 64 && used.has(next)) next++;
            if (next >= 64) {
              expect(got[k]).toBeUndefined();
              return;
            }
            used.add(next);
            expect(got[k]?.toString()).toBe(cidr.subnet(24, next).toString());
          });
        },
      ),
    );
  });
});

describe('node registration', () => {
  it('registers declared nodes as kubelet would, the first with the control-plane role', () => {
    const s = runControlPlane(cluster({ config: kubeadmConfig({ nodes: declaredNodes(2) }) }));
    expect(s.nodes[0]!.metadata.labels).toEqual({
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': 'node-1',
      'kubernetes.io/os': 'linux',
      'node-role.kubernetes.io/control-plane': '',
    });
    expect(s.nodes[1]!.metadata.labels?.['node-role.kubernetes.io/control-plane']).toBeUndefined();
    expect(s.nodes[1]!.status.addresses).toEqual([
      { type: 'InternalIP', address: '192.168.1.11' },
      { type: 'Hostname', address: 'node-2' },
    ]);
    expect(s.nodes.map((n) => n.spec.podCIDRs)).toEqual([['10.244.0.0/24'], ['10.244.1.0/24']]);
    const k8sSlice = s.endpointSlices.find((e) => e.metadata.name === 'kubernetes')!;
    expect(k8sSlice.endpoints).toEqual([{ addresses: ['192.168.1.10'], conditions: { ready: true } }]);
  });

  it('reads Node objects: InternalIP, podCIDR, Ready, labels; allocates missing CIDRs around stated ones', () => {
    const notReady = node('b', '192.168.1.21');
    notReady.status.conditions = [{ type: 'Ready', status: 'False' }];
    const s = runControlPlane(
      cluster({ nodes: [node('a', '192.168.1.20'), notReady, node('c', '192.168.1.22', '10.244.0.0/24')] }),
    );
    expect(s.nodeInfo.map((n) => [n.name, n.internalIP.toString(), n.podCIDR.toString(), n.ready])).toEqual([
      ['a', '192.168.1.20', '10.244.1.0/24', true],
      ['b', '192.168.1.21', '10.244.2.0/24', false],
      ['c', '192.168.1.22', '10.244.0.0/24', true],
    ]);
    expect(s.nodeInfo[0]!.labels['kubernetes.io/os']).toBe('linux');
  });

  it('rejects overlapping stated podCIDRs, naming both nodes', () => {
    const ps = problems(() =>
      runControlPlane(
        cluster({
          nodes: [node('a', '192.168.1.20', '10.244.0.0/23'), node('b', '192.168.1.21', '10.244.1.0/24')],
        }),
      ),
    );
    expect(ps.map((p) => [p.object, p.field, p.line])).toEqual([
      ['Node b', 'spec.podCIDR', 29],
      ['Node a', 'spec.podCIDR', 9],
    ]);
    expect(ps[0]!.message).toContain('10.244.0.0/23 of Node a');
  });

  it('rejects a node outside every underlay subnet', () => {
    const ps = problems(() => runControlPlane(cluster({ nodes: [node('a', '10.0.0.5')] })));
    expect(ps[0]).toMatchObject({ file: 'input.yaml', object: 'Node a', field: 'status.addresses' });
    const config = kubeadmConfig({
      nodes: [{ name: 'x', ip: IPAddr.parse('172.16.0.1'), labels: {}, ready: true }],
    });
    const ps2 = problems(() => runControlPlane(cluster({ config })));
    expect(ps2[0]).toMatchObject({ file: 'cluster.yaml', field: 'spec.nodes[0].ip', object: 'Node x' });
  });

  it('puts each node on the underlay segment holding its IP', () => {
    const config = kubeadmConfig({
      underlay: [{ cidr: Prefix.parse('192.168.1.0/24') }, { cidr: Prefix.parse('192.168.2.0/24') }],
      nodes: [
        { name: 'a', ip: IPAddr.parse('192.168.2.7'), labels: {}, ready: true },
        { name: 'b', ip: IPAddr.parse('192.168.1.7'), labels: {}, ready: true },
      ],
    });
    const s = runControlPlane(cluster({ config }));
    expect(s.nodeInfo.map((n) => n.underlay.cidr.toString())).toEqual(['192.168.2.0/24', '192.168.1.0/24']);
  });
});

describe('node edge cases', () => {
  it('warns about a stated podCIDR outside the cluster pod CIDR', () => {
    const s = runControlPlane(cluster({ nodes: [node('a', '192.168.1.20', '10.50.0.0/24')] }));
    expect(s.warnings).toContain(
      'Node a: podCIDR 10.50.0.0/24 is outside the cluster pod CIDR 10.244.0.0/16',
    );
  });

  it('runs a single-stack IPv6 cluster', () => {
    const config = kubeadmConfig({
      podCIDR: Prefix.parse('fd00:10:244::/56'),
      serviceCIDR: Prefix.parse('fd00:10:96::/108'),
      dnsServiceIP: IPAddr.parse('fd00:10:96::a'),
      nodeCIDRMaskSize: 64,
      underlay: [{ cidr: Prefix.parse('fd00:1::/64') }],
      nodes: [{ name: 'v6', ip: IPAddr.parse('fd00:1::10'), labels: {}, ready: true }],
    });
    const s = runControlPlane(cluster({ config }));
    expect(s.nodeInfo[0]!.podCIDR.toString()).toBe('fd00:10:244::/64');
    expect(s.services.find((x) => x.metadata.name === 'kubernetes')!.spec.clusterIP).toBe('fd00:10:96::1');
    expect(s.services.find((x) => x.metadata.name === 'kube-dns')!.spec.ipFamilies).toEqual(['IPv6']);
    expect(s.pods.map((p) => p.status?.podIP).sort()).toEqual(['fd00:10:244::2', 'fd00:10:244::3']);
    const dns = s.endpointSlices.find(
      (x) => x.metadata.labels?.['kubernetes.io/service-name'] === 'kube-dns',
    )!;
    expect(dns.addressType).toBe('IPv6');
    expect(s.endpointSlices.find((x) => x.metadata.name === 'kubernetes')!.addressType).toBe('IPv6');
  });
});

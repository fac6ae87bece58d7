import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rangeToPrefixes } from '../../src/load/cluster-config.js';
import { deriveUnderlay } from '../../src/load/underlay.js';
import { IPAddr } from '../../src/net/ip.js';
import { load, problems } from './problems.js';

const doc = (spec: string) =>
  `apiVersion: kpath.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: t\nspec:\n${spec}`;

describe('defaults (kubeadm + Flannel + kube-proxy)', () => {
  it('gives every field its default with no cluster document at all', () => {
    const { config } = load('');
    expect({
      name: config.name,
      podCIDR: config.podCIDR.toString(),
      serviceCIDR: config.serviceCIDR.toString(),
      nodeCIDRMaskSize: config.nodeCIDRMaskSize,
      clusterDomain: config.clusterDomain,
      dnsServiceIP: config.dnsServiceIP.toString(),
      nodePortRange: config.nodePortRange,
      cni: config.cni,
      lb: config.loadBalancer,
      underlay: config.underlay,
      nodes: config.nodes,
      externalHosts: config.externalHosts,
    }).toEqual({
      name: 'kpath',
      podCIDR: '10.244.0.0/16',
      serviceCIDR: '10.96.0.0/12',
      nodeCIDRMaskSize: 24,
      clusterDomain: 'cluster.local',
      dnsServiceIP: '10.96.0.10',
      nodePortRange: { from: 30000, to: 32767 },
      cni: {
        plugin: 'flannel',
        backend: 'vxlan',
        mtu: 1500,
        vxlanVNI: 1,
        vxlanPort: 8472,
        bridgeName: 'cni0',
        hairpinMode: true,
        policyAgent: 'none',
      },
      lb: { pool: [], sourceMode: 'preserve' },
      underlay: [],
      nodes: [],
      externalHosts: [],
    });
    expect({ ...config.kubeProxy, clusterCIDRs: config.kubeProxy.clusterCIDRs.map(String) }).toEqual({
      mode: 'iptables',
      clusterCIDRs: ['10.244.0.0/16'],
      masqueradeAll: false,
      masqueradeBit: 14,
      detectLocalMode: 'ClusterCIDR',
      bridgeInterface: undefined,
      interfaceNamePrefix: undefined,
      nodePortAddresses: [],
      localhostNodePorts: true,
      masqueradeRandomFully: true,
      conntrackTCPBeLiberal: false,
    });
  });

  it('derives the DNS address (10th of the service CIDR) and kube-proxy clusterCIDR from stated CIDRs', () => {
    const { config } = load(doc('  podCIDR: 172.16.0.0/16\n  serviceCIDR: 10.100.0.0/16\n'));
    expect(config.dnsServiceIP.toString()).toBe('10.100.0.10');
    expect(config.kubeProxy.clusterCIDRs.map(String)).toEqual(['172.16.0.0/16']);
  });

  it('reads every field of the cluster document', () => {
    const { config } = load(
      doc(
        [
          '  nodeCIDRMaskSize: 26',
          '  clusterDomain: corp.internal.',
          '  dnsServiceIP: 10.96.0.53',
          '  nodePortRange: 30000+100',
          '  cni: {plugin: flannel, backend: host-gw, mtu: 9000, vni: 4096, port: 4789, bridge: br-pods, hairpinMode: false, policyAgent: kube-router}',
          '  kubeProxy:',
          '    mode: nftables',
          '    clusterCIDR: "10.244.0.0/16,fd00:10:244::/56"',
          '    nftables: {masqueradeAll: true, masqueradeBit: 13}',
          '    detectLocalMode: InterfaceNamePrefix',
          '    detectLocal: {interfaceNamePrefix: veth}',
          '    conntrack: {tcpBeLiberal: true}',
          '    masqueradeRandomFully: false',
          '  loadBalancer: {pool: [203.0.113.10-203.0.113.20, 198.51.100.0/30, 192.0.2.9], sourceMode: snat}',
          '  underlay: [{cidr: 192.168.1.0/24, gateway: 192.168.1.254}]',
          '  nodes: [{name: n1, ip: 192.168.1.10, podCIDR: 10.244.0.0/26, labels: {zone: a}, ready: false}]',
          '  externalHosts: [{name: client, ip: 198.51.100.5}]',
          '',
        ].join('\n'),
      ),
    );
    expect(config.nodeCIDRMaskSize).toBe(26);
    expect(config.clusterDomain).toBe('corp.internal');
    expect(config.dnsServiceIP.toString()).toBe('10.96.0.53');
    expect(config.nodePortRange).toEqual({ from: 30000, to: 30100 });
    expect(config.cni).toEqual({
      plugin: 'flannel',
      backend: 'host-gw',
      mtu: 9000,
      vxlanVNI: 4096,
      vxlanPort: 4789,
      bridgeName: 'br-pods',
      hairpinMode: false,
      policyAgent: 'kube-router',
    });
    expect(config.kubeProxy).toMatchObject({
      mode: 'nftables',
      masqueradeAll: true,
      masqueradeBit: 13,
      detectLocalMode: 'InterfaceNamePrefix',
      interfaceNamePrefix: 'veth',
      nodePortAddresses: ['primary'],
      conntrackTCPBeLiberal: true,
      masqueradeRandomFully: false,
    });
    expect(config.kubeProxy.clusterCIDRs.map(String)).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
    expect(config.loadBalancer.pool.map(String)).toEqual([
      '203.0.113.10/31',
      '203.0.113.12/30',
      '203.0.113.16/30',
      '203.0.113.20/32',
      '198.51.100.0/30',
      '192.0.2.9/32',
    ]);
    expect(config.loadBalancer.sourceMode).toBe('snat');
    expect(config.underlay.map((u) => [u.cidr.toString(), u.gateway?.toString()])).toEqual([
      ['192.168.1.0/24', '192.168.1.254'],
    ]);
    expect(config.nodes).toMatchObject([{ name: 'n1', labels: { zone: 'a' }, ready: false }]);
    expect(config.nodes[0]!.podCIDR!.toString()).toBe('10.244.0.0/26');
    expect(config.nodes[0]!.source).toEqual({ file: 'in.yaml', line: 21, col: 11 });
    expect(config.externalHosts.map((h) => [h.name, h.ip.toString()])).toEqual([['client', '198.51.100.5']]);
  });
});

describe('KubeProxyConfiguration', () => {
  const kpc = (body: string) =>
    `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n${body}`;

  it('honours a real kube-proxy config file as kubeadm writes it', () => {
    const text = kpc(
      [
        'bindAddress: 0.0.0.0',
        'clientConnection:',
        '  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf',
        'clusterCIDR: 10.244.0.0/16',
        'configSyncPeriod: 0s',
        'conntrack:',
        '  maxPerCore: null',
        '  tcpBeLiberal: true',
        'detectLocalMode: ""',
        'iptables:',
        '  localhostNodePorts: false',
        '  masqueradeAll: true',
        '  masqueradeBit: null',
        '  minSyncPeriod: 0s',
        '  syncPeriod: 0s',
        'ipvs: {scheduler: ""}',
        'mode: ""',
        'nodePortAddresses: [192.168.1.0/24]',
        'oomScoreAdj: null',
        'portRange: ""',
        '',
      ].join('\n'),
    );
    const kp = load(text).config.kubeProxy;
    expect(kp).toMatchObject({
      mode: 'iptables',
      masqueradeAll: true,
      masqueradeBit: 14,
      localhostNodePorts: false,
      detectLocalMode: 'ClusterCIDR',
      nodePortAddresses: ['192.168.1.0/24'],
      conntrackTCPBeLiberal: true,
    });
  });

  it('overrides the cluster document, field by field; an empty clusterCIDR means no detector', () => {
    const text = `${doc('  kubeProxy: {mode: ipvs, iptables: {masqueradeBit: 12}}\n')}---\n${kpc('clusterCIDR: ""\niptables: {masqueradeAll: true}\n')}`;
    const kp = load(text).config.kubeProxy;
    expect(kp).toMatchObject({ mode: 'ipvs', masqueradeBit: 12, masqueradeAll: true, clusterCIDRs: [] });
  });

  it('reports unknown top-level fields with a hint, and bad values at their position', () => {
    const text = kpc('mode: userspace\nclusterCIDRs: 10.244.0.0/16\niptables:\n  masqueradeBit: 32\n');
    expect(problems(text)).toEqual([
      'in.yaml:3:7: KubeProxyConfiguration mode: unsupported value "userspace": must be one of iptables, ipvs, nftables',
      expect.stringMatching(
        /^in\.yaml:4:1: KubeProxyConfiguration clusterCIDRs: unknown field; did you mean "clusterCIDR"\?/,
      ),
      'in.yaml:6:18: KubeProxyConfiguration iptables.masqueradeBit: must be between 0 and 31, found 32',
    ]);
  });

  it('requires the interface for BridgeInterface detection', () => {
    expect(problems(kpc('detectLocalMode: BridgeInterface\n'))).toEqual([
      'in.yaml:1:1: KubeProxyConfiguration detectLocal.bridgeInterface: is required when detectLocalMode is BridgeInterface',
    ]);
  });
});

describe('validation of the cluster document', () => {
  it('rejects unknown keys with a did-you-mean', () => {
    const ps = problems(
      doc('  podCidr: 10.244.0.0/16\n  cni: {plugin: flannel, vxlanPort: 4789}\n  sevices: 1\n'),
    );
    expect(ps.map((p) => p.replace(/ \(known: .*\)$/, ''))).toEqual([
      'in.yaml:6:3: Cluster t spec.podCidr: unknown field; did you mean "podCIDR"?',
      'in.yaml:7:26: Cluster t spec.cni.vxlanPort: unknown field; did you mean "port"?',
      'in.yaml:8:3: Cluster t spec.sevices: unknown field',
    ]);
  });

  it('checks addresses, ranges and enums at their positions', () => {
    const text = doc(
      [
        '  podCIDR: 10.244.0.0/33', // 6
        '  serviceCIDR: 10.244.128.0/17', // 7
        '  dnsServiceIP: 10.97.0.10', // 8
        '  nodePortRange: 32767-30000', // 9
        '  cni: {plugin: weave, mtu: 100, bridge: a-very-long-bridge-name}', // 10
        '  loadBalancer: {pool: [203.0.113.20-203.0.113.10, 203.0.113.0/24x]}', // 11
        '  underlay: [{cidr: 192.168.1.0/24, gateway: 192.168.2.1}]', // 12
        '  nodes:', // 13
        '  - {name: n1, ip: 192.168.9.10, podCIDR: 10.0.0.0/24}', // 14
        '  - {name: n1, ip: 192.168.1.300}', // 15
        '  externalHosts: [{name: c}]', // 16
        '',
      ].join('\n'),
    );
    expect(problems(text)).toEqual([
      'in.yaml:6:12: Cluster t spec.podCIDR: invalid CIDR "10.244.0.0/33" (expected address/length, e.g. 10.244.0.0/16)',
      'in.yaml:7:16: Cluster t spec.serviceCIDR: service CIDR 10.244.128.0/17 overlaps pod CIDR 10.244.0.0/16',
      'in.yaml:8:17: Cluster t spec.dnsServiceIP: 10.97.0.10 is outside the service CIDR 10.244.128.0/17',
      'in.yaml:9:18: Cluster t spec.nodePortRange: invalid port range "32767-30000": ports must be 1-65535 and from ≤ to',
      'in.yaml:10:17: Cluster t spec.cni.plugin: unsupported value "weave": must be one of bridge, flannel, calico, cilium',
      'in.yaml:10:29: Cluster t spec.cni.mtu: must be between 576 and 65535, found 100',
      'in.yaml:10:42: Cluster t spec.cni.bridge: invalid interface name "a-very-long-bridge-name" (1-15 characters, no \'/\' or spaces)',
      'in.yaml:11:25: Cluster t spec.loadBalancer.pool[0]: invalid range "203.0.113.20-203.0.113.10": the first address must not be after the last, in one family',
      'in.yaml:11:52: Cluster t spec.loadBalancer.pool[1]: invalid CIDR "203.0.113.0/24x" (expected address/length, e.g. 10.244.0.0/16)',
      'in.yaml:12:46: Cluster t spec.underlay[0].gateway: 192.168.2.1 is outside 192.168.1.0/24',
      'in.yaml:14:20: Cluster t spec.nodes[0].ip: 192.168.9.10 is on none of the underlay segments (192.168.1.0/24)',
      'in.yaml:14:43: Cluster t spec.nodes[0].podCIDR: 10.0.0.0/24 is outside the cluster pod CIDR 10.244.0.0/16',
      'in.yaml:15:12: Cluster t spec.nodes[1].name: node "n1" is declared twice (first at spec.nodes[0], line 14)',
      'in.yaml:15:20: Cluster t spec.nodes[1].ip: invalid IP address "192.168.1.300"',
      'in.yaml:16:19: Cluster t spec.externalHosts[0]: ip is required',
    ]);
  });

  it('needs no metadata', () => {
    const c = load('apiVersion: kpath.dev/v1alpha1\nkind: Cluster\nspec: {podCIDR: 10.42.0.0/16}\n');
    expect([c.config.name, c.config.podCIDR.toString()]).toEqual(['kpath', '10.42.0.0/16']);
  });

  it('rejects a second Cluster document and unknown kpath kinds', () => {
    const text = `${doc('  podCIDR: 10.244.0.0/16\n')}---\n${doc('  podCIDR: 10.245.0.0/16\n')}---\napiVersion: kpath.dev/v1alpha1\nkind: Scenario\nmetadata: {name: s}\n`;
    expect(problems(text)).toEqual([
      'in.yaml:8:1: Cluster document: a second Cluster document; the first is at in.yaml:1:1',
      'in.yaml:16:7: kind: unknown kpath kind kpath.dev/v1alpha1 Scenario (expected kpath.dev/v1alpha1 Cluster)',
    ]);
  });
});

describe('underlay derivation', () => {
  const ips = (...s: string[]) => s.map((x) => IPAddr.parse(x));
  const show = (u: ReturnType<typeof deriveUnderlay>) => u.map((x) => `${x.cidr} via ${x.gateway ?? '-'}`);

  it('puts nodes sharing a /24 on one segment with a router at .1', () => {
    expect(show(deriveUnderlay(ips('192.168.1.10', '192.168.1.11')))).toEqual([
      '192.168.1.0/24 via 192.168.1.1',
    ]);
  });

  it('gives nodes in different /24s a segment each, and avoids a node holding .1', () => {
    expect(show(deriveUnderlay(ips('10.0.2.5', '10.0.1.1', '10.0.2.6')))).toEqual([
      '10.0.1.0/24 via 10.0.1.254',
      '10.0.2.0/24 via 10.0.2.1',
    ]);
  });

  it('derives the underlay from declared nodes, or from Node objects without a cluster document', () => {
    expect(
      show(load(doc('  nodes: [{name: a, ip: 172.18.0.2}, {name: b, ip: 172.18.0.3}]\n')).config.underlay),
    ).toEqual(['172.18.0.0/24 via 172.18.0.1']);
    const nodes = ['172.18.0.2', '172.18.1.3']
      .map(
        (a, i) =>
          `apiVersion: v1\nkind: Node\nmetadata: {name: n${i}}\nstatus: {addresses: [{type: InternalIP, address: ${a}}]}\n`,
      )
      .join('---\n');
    expect(show(load(nodes).config.underlay)).toEqual([
      '172.18.0.0/24 via 172.18.0.1',
      '172.18.1.0/24 via 172.18.1.1',
    ]);
  });
});

describe('load balancer ranges', () => {
  it('cover exactly the range with the fewest aligned prefixes (against a brute-force model)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 600 }), (start, n) => {
        const end = Math.min(start + n, 2 ** 32 - 1);
        const a = IPAddr.fromBigInt(4, BigInt(start));
        const b = IPAddr.fromBigInt(4, BigInt(end));
        const ps = rangeToPrefixes(a, b);
        // Brute force: walk every address and check membership in exactly one prefix.
        const covered: number[] = [];
        for (const p of ps) for (let i = 0n; i < p.size; i++) covered.push(Number(p.addr.value + i));
        covered.sort((x, y) => x - y);
        expect(covered).toEqual(Array.from({ length: end - start + 1 }, (_, i) => start + i));
        // Minimality: no two neighbouring prefixes could merge into one aligned prefix.
        for (let i = 1; i < ps.length; i++) {
          const [x, y] = [ps[i - 1]!, ps[i]!];
          const mergeable =
            x.len === y.len &&
            x.len > 0 &&
            x.addr.value >> BigInt(33 - x.len) === y.addr.value >> BigInt(33 - y.len);
          expect(mergeable).toBe(false);
        }
      }),
    );
  });
});

describe("kubeadm's kube-proxy ConfigMap", () => {
  const cm = (conf: string) =>
    [
      'apiVersion: v1', // 1
      'kind: ConfigMap', // 2
      'metadata:', // 3
      '  name: kube-proxy', // 4
      '  namespace: kube-system', // 5
      '  labels: {app: kube-proxy}', // 6
      'data:', // 7
      '  config.conf: |-', // 8
      ...conf.split('\n').map((l) => (l ? `    ${l}` : l)), // 9…
      '  kubeconfig.conf: |-',
      '    apiVersion: v1',
      '    kind: Config',
      '',
    ].join('\n');

  it('honours config.conf as the KubeProxyConfiguration', () => {
    const text = cm(
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nclusterCIDR: 10.32.0.0/12\n',
    );
    const kp = load(text).config.kubeProxy;
    expect(kp.mode).toBe('ipvs');
    expect(kp.clusterCIDRs.map(String)).toEqual(['10.32.0.0/12']);
  });

  it('reports problems inside it at their line in the file', () => {
    const text = cm(
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptable\n',
    );
    // `mode: iptable` is the third line of the block: file line 11, value after 4 spaces and `mode: `.
    expect(text.split('\n')[10]).toBe('    mode: iptable');
    expect(problems(text)).toEqual([
      'in.yaml:11:11: KubeProxyConfiguration mode: unsupported value "iptable": must be one of iptables, ipvs, nftables',
    ]);
  });

  it('lets a KubeProxyConfiguration document win over the ConfigMap', () => {
    const text = `${cm('apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n')}---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\n`;
    expect(load(text).config.kubeProxy.mode).toBe('nftables');
  });
});

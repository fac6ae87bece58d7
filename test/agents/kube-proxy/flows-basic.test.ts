// Packet-flow and chain expectations ported from kubernetes/kubernetes
// pkg/proxy/iptables/proxier_test.go (commit 531be81208e2274ef42e72525a26610a9622bcdf):
// TestNoEndpointsReject, TestClusterIPGeneral, TestLoadBalancer, TestNodePorts,
// TestHealthCheckNodePort, TestDropInvalidRule, TestMasqueradeRule.

import { describe, expect, it } from 'vitest';
import { syncIptablesRules } from '../../../src/agents/kube-proxy/iptables/proxier.js';
import type { KubeProxyConfig } from '../../../src/model/cluster.js';
import {
  chainRules,
  expectedFlows,
  fakeProxierInput,
  makeService,
  makeSlice,
  nodeDump,
  type PacketFlowTest,
  runPacketFlows,
} from './helpers.js';
import {
  EXT,
  NODE,
  TEST_CLUSTER_IP_GENERAL,
  TEST_LOAD_BALANCER,
  TEST_NO_ENDPOINTS_REJECT,
} from './upstream-cases.js';

describe('TestNoEndpointsReject', () => {
  const { svc, flows } = TEST_NO_ENDPOINTS_REJECT;
  it('rejects everything', () => {
    const dump = nodeDump(syncIptablesRules(fakeProxierInput([svc], [])));
    expect(runPacketFlows(dump, flows)).toEqual(expectedFlows(flows));
  });
});

describe('TestClusterIPGeneral', () => {
  const { services, slices, flows } = TEST_CLUSTER_IP_GENERAL;
  it('routes each port and protocol to its endpoints', () => {
    const dump = nodeDump(syncIptablesRules(fakeProxierInput(services, slices)));
    expect(runPacketFlows(dump, flows)).toEqual(expectedFlows(flows));
  });
});

describe('TestLoadBalancer', () => {
  const { svc, slice, flows } = TEST_LOAD_BALANCER;
  it('honours loadBalancerSourceRanges through KUBE-FW and KUBE-PROXY-FIREWALL', () => {
    const dump = nodeDump(syncIptablesRules(fakeProxierInput([svc], [slice])));
    expect(runPacketFlows(dump, flows)).toEqual(expectedFlows(flows));
  });
});

describe('TestNodePorts', () => {
  const cases: {
    name: string;
    family: 4 | 6;
    localhostNodePorts: boolean;
    nodePortAddresses: string[];
    allowAltNodeIP: boolean;
    expectFirewall: boolean;
  }[] = [
    {
      name: 'ipv4, localhost-nodeports enabled',
      family: 4,
      localhostNodePorts: true,
      nodePortAddresses: [],
      allowAltNodeIP: true,
      expectFirewall: true,
    },
    {
      name: 'ipv4, localhost-nodeports disabled',
      family: 4,
      localhostNodePorts: false,
      nodePortAddresses: [],
      allowAltNodeIP: true,
      expectFirewall: false,
    },
    {
      name: 'ipv4, localhost-nodeports disabled, localhost in nodeport-addresses',
      family: 4,
      localhostNodePorts: false,
      nodePortAddresses: ['192.168.0.0/24', '127.0.0.1/32'],
      allowAltNodeIP: false,
      expectFirewall: false,
    },
    {
      name: 'ipv4, localhost-nodeports enabled, multiple nodeport-addresses',
      family: 4,
      localhostNodePorts: false,
      nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'],
      allowAltNodeIP: true,
      expectFirewall: false,
    },
    {
      name: 'ipv6, localhost-nodeports enabled',
      family: 6,
      localhostNodePorts: true,
      nodePortAddresses: [],
      allowAltNodeIP: true,
      expectFirewall: false,
    },
    {
      name: 'ipv6, localhost-nodeports disabled',
      family: 6,
      localhostNodePorts: false,
      nodePortAddresses: [],
      allowAltNodeIP: true,
      expectFirewall: false,
    },
    {
      name: 'ipv6, localhost-nodeports disabled, multiple nodeport-addresses',
      family: 6,
      localhostNodePorts: false,
      nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'],
      allowAltNodeIP: false,
      expectFirewall: false,
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const v4 = tc.family === 4;
      const svcIP = v4 ? '172.30.0.41' : 'fd00:172:30::41';
      const ep1 = v4 ? '10.180.0.1' : 'fd00:10:180::1';
      const ep2 = v4 ? '10.180.2.1' : 'fd00:10:180::2:1';
      const svc = makeService('ns1', 'svc1', {
        type: 'NodePort',
        clusterIP: svcIP,
        ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
      });
      const slice = makeSlice('ns1', 'svc1', 1, {
        addressType: v4 ? 'IPv4' : 'IPv6',
        endpoints: [{ addresses: [ep1] }, { addresses: [ep2], nodeName: 'test-node' }],
        ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
      });
      const config: Partial<KubeProxyConfig> = {
        localhostNodePorts: tc.localhostNodePorts,
        nodePortAddresses: tc.nodePortAddresses,
      };
      const out = syncIptablesRules(fakeProxierInput([svc], [slice], { family: tc.family, config }));
      const dump = nodeDump(out);
      const podIP = v4 ? '10.0.0.2' : 'fd00:10::2';
      const extIP = v4 ? EXT : '2600:5200::1';
      const nodeIP = v4 ? NODE : '2001:db8::1';
      const altNodeIP = v4 ? '192.168.1.2' : '2001:db8:1::2';
      const localhost = v4 ? '127.0.0.1' : '::1';
      const join = (ip: string): string => (v4 ? `${ip}:80` : `[${ip}]:80`);
      const output = `${join(ep1)}, ${join(ep2)}`;
      const flows: PacketFlowTest[] = [
        { name: 'pod to cluster IP', sourceIP: podIP, destIP: svcIP, destPort: 80, output },
        { name: 'external to nodePort', sourceIP: extIP, destIP: nodeIP, destPort: 3001, output, masq: true },
        { name: 'node to nodePort', sourceIP: nodeIP, destIP: nodeIP, destPort: 3001, output, masq: true },
        v4 && tc.localhostNodePorts
          ? {
              name: 'localhost to nodePort gets masqueraded',
              sourceIP: localhost,
              destIP: localhost,
              destPort: 3001,
              output,
              masq: true,
            }
          : {
              name: 'localhost to nodePort is ignored',
              sourceIP: localhost,
              destIP: localhost,
              destPort: 3001,
              output: '',
            },
        tc.allowAltNodeIP
          ? {
              name: 'external to nodePort on secondary IP',
              sourceIP: extIP,
              destIP: altNodeIP,
              destPort: 3001,
              output,
              masq: true,
            }
          : {
              name: 'secondary nodeIP ignores NodePorts',
              sourceIP: extIP,
              destIP: altNodeIP,
              destPort: 3001,
              output: '',
            },
      ];
      expect(runPacketFlows(dump, flows)).toEqual(expectedFlows(flows));
      const fw = tc.expectFirewall
        ? '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n'
        : '';
      expect(chainRules(out.restorePayload, 'filter', 'KUBE-FIREWALL')).toBe(fw);
    });
  }
});

describe('TestHealthCheckNodePort', () => {
  it('accepts the health check node port even without endpoints', () => {
    const svc = makeService('ns1', 'svc1', {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.42',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
      healthCheckNodePort: 30000,
      externalTrafficPolicy: 'Local',
    });
    const flows: PacketFlowTest[] = [
      {
        name: 'firewall accepts HealthCheckNodePort',
        sourceIP: '1.2.3.4',
        destIP: NODE,
        destPort: 30000,
        output: 'ACCEPT',
      },
    ];
    const input = fakeProxierInput([svc], [], { config: { nodePortAddresses: ['127.0.0.0/8'] } });
    expect(runPacketFlows(nodeDump(syncIptablesRules(input)), flows)).toEqual(expectedFlows(flows));
    const gone: PacketFlowTest[] = [
      {
        name: 'HealthCheckNodePort no longer has any rule',
        sourceIP: '1.2.3.4',
        destIP: NODE,
        destPort: 30000,
        output: '',
      },
    ];
    const after = fakeProxierInput([], [], { config: { nodePortAddresses: ['127.0.0.0/8'] } });
    expect(runPacketFlows(nodeDump(syncIptablesRules(after)), gone)).toEqual(expectedFlows(gone));
  });
});

describe('TestDropInvalidRule', () => {
  const tail =
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT\n' +
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n';
  const cases = [
    { nfacct: false, liberal: false, drop: '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n' },
    {
      nfacct: true,
      liberal: false,
      drop: '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP\n',
    },
    { nfacct: false, liberal: true, drop: '' },
  ];
  for (const tc of cases) {
    it(`tcpLiberal is ${tc.liberal} and nfacctEnsured is ${tc.nfacct}`, () => {
      const input = {
        ...fakeProxierInput([], [], { config: { conntrackTCPBeLiberal: tc.liberal } }),
        nfacct: tc.nfacct,
      };
      expect(chainRules(syncIptablesRules(input).restorePayload, 'filter', 'KUBE-FORWARD')).toBe(
        tc.drop + tail,
      );
    });
  }
});

describe('TestMasqueradeRule', () => {
  for (const randomFully of [false, true]) {
    it(`randomFully ${randomFully}`, () => {
      const input = fakeProxierInput([], [], { config: { masqueradeRandomFully: randomFully } });
      expect(chainRules(syncIptablesRules(input).restorePayload, 'nat', 'KUBE-POSTROUTING')).toBe(
        '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n' +
          '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n' +
          `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${randomFully ? ' --random-fully' : ''}\n`,
      );
    });
  }
});

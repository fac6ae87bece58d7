// The fixture of upstream's TestLoadBalancer (kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go at
// 531be81208e2274ef42e72525a26610a9622bcdf): one LoadBalancer service with source ranges and its packet flows.
// Shared by the generator's flow test (test/agents/kube-proxy) and the walk's replay of it (test/trace).
import { makeService, makeSlice, type PacketFlowTest } from './helpers.js';

/** The upstream tests' addresses: an allowed external client, one outside the source ranges, the node. */
export const EXT = '203.0.113.2';
export const EXT_BLOCKED = '203.0.113.130';
export const NODE = '192.168.0.2';

function testLoadBalancerCase() {
  const svc = makeService(
    'ns1',
    'svc1',
    {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.41',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
      loadBalancerSourceRanges: ['192.168.0.0/24', ' 203.0.113.0/25'],
    },
    { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }] } },
  );
  const slice = makeSlice('ns1', 'svc1', 1, {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.180.0.1'] }],
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  });
  const ep = '10.180.0.1:80';
  const flows: PacketFlowTest[] = [
    { name: 'pod to cluster IP', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: ep },
    { name: 'external to nodePort', sourceIP: EXT, destIP: NODE, destPort: 3001, output: ep, masq: true },
    {
      name: 'nodePort bypasses LoadBalancerSourceRanges',
      sourceIP: EXT_BLOCKED,
      destIP: NODE,
      destPort: 3001,
      output: ep,
      masq: true,
    },
    {
      name: 'accepted external to LB1',
      sourceIP: EXT,
      destIP: '1.2.3.4',
      destPort: 80,
      output: ep,
      masq: true,
    },
    {
      name: 'accepted external to LB2',
      sourceIP: EXT,
      destIP: '5.6.7.8',
      destPort: 80,
      output: ep,
      masq: true,
    },
    {
      name: 'blocked external to LB1',
      sourceIP: EXT_BLOCKED,
      destIP: '1.2.3.4',
      destPort: 80,
      output: 'DROP',
    },
    {
      name: 'blocked external to LB2',
      sourceIP: EXT_BLOCKED,
      destIP: '5.6.7.8',
      destPort: 80,
      output: 'DROP',
    },
    {
      name: 'pod to LB1 (blocked by LoadBalancerSourceRanges)',
      sourceIP: '10.0.0.2',
      destIP: '1.2.3.4',
      destPort: 80,
      output: 'DROP',
    },
    {
      name: 'pod to LB2 (blocked by LoadBalancerSourceRanges)',
      sourceIP: '10.0.0.2',
      destIP: '5.6.7.8',
      destPort: 80,
      output: 'DROP',
    },
    {
      name: 'node to LB1 (allowed by LoadBalancerSourceRanges)',
      sourceIP: NODE,
      destIP: '1.2.3.4',
      destPort: 80,
      output: ep,
      masq: true,
    },
    {
      name: 'node to LB2 (allowed by LoadBalancerSourceRanges)',
      sourceIP: NODE,
      destIP: '5.6.7.8',
      destPort: 80,
      output: ep,
      masq: true,
    },
    {
      name: 'same node to LB1, SNATted to LB1 (implicitly allowed)',
      sourceIP: '1.2.3.4',
      destIP: '1.2.3.4',
      destPort: 80,
      output: ep,
      masq: true,
    },
    {
      name: 'same node to LB2, SNATted to LB2 (implicitly allowed)',
      sourceIP: '5.6.7.8',
      destIP: '5.6.7.8',
      destPort: 80,
      output: ep,
      masq: true,
    },
  ];
  return { svc, slice, flows };
}

export const TEST_LOAD_BALANCER = testLoadBalancerCase();

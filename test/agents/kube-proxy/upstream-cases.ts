// Upstream kube-proxy test fixtures (kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go at
// 531be81208e2274ef42e72525a26610a9622bcdf) shared by the generator's flow tests (test/agents/kube-proxy) and
// the walk's replay of them (test/trace): TestNoEndpointsReject, TestLoadBalancer, TestClusterIPGeneral and
// TestExternalTrafficPolicyLocal/Cluster.
import { makeService, makeSlice, type PacketFlowTest } from './helpers.js';

/** The upstream tests' addresses: an allowed external client, one outside the source ranges, the node. */
export const EXT = '203.0.113.2';
export const EXT_BLOCKED = '203.0.113.130';
export const NODE = '192.168.0.2';

/** TestLoadBalancer: one LoadBalancer service with source ranges, and its packet flows. */
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

/** The fixture of upstream's TestClusterIPGeneral: ClusterIP services with several ports and endpoints. */
function testClusterIPGeneralCase() {
  const services = [
    makeService('ns1', 'svc1', {
      clusterIP: '172.30.0.41',
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    }),
    makeService('ns2', 'svc2', {
      clusterIP: '172.30.0.42',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 5353 },
        { name: 'dns-sctp', port: 53, protocol: 'SCTP' },
      ],
    }),
  ];
  const slices = [
    makeSlice('ns1', 'svc1', 1, {
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.180.0.1'], nodeName: 'test-node' }],
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    }),
    makeSlice('ns2', 'svc2', 1, {
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.180.0.1'], nodeName: 'test-node' },
        { addresses: ['10.180.2.1'], nodeName: 'node2' },
      ],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'https', port: 8443, protocol: 'TCP' },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 5353, protocol: 'TCP' },
        { name: 'dns-sctp', port: 53, protocol: 'SCTP' },
      ],
    }),
  ];
  const src = '10.180.0.2';
  const flows: PacketFlowTest[] = [
    { name: 'simple clusterIP', sourceIP: src, destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80' },
    {
      name: 'hairpin to cluster IP',
      sourceIP: '10.180.0.1',
      destIP: '172.30.0.41',
      destPort: 80,
      output: '10.180.0.1:80',
      masq: true,
    },
    {
      name: 'clusterIP with multiple endpoints',
      sourceIP: src,
      destIP: '172.30.0.42',
      destPort: 80,
      output: '10.180.0.1:80, 10.180.2.1:80',
    },
    {
      name: 'clusterIP with TargetPort',
      sourceIP: src,
      destIP: '172.30.0.42',
      destPort: 443,
      output: '10.180.0.1:8443, 10.180.2.1:8443',
    },
    {
      name: 'TCP, UDP, SCTP on same port (TCP)',
      sourceIP: src,
      protocol: 'TCP',
      destIP: '172.30.0.42',
      destPort: 53,
      output: '10.180.0.1:5353, 10.180.2.1:5353',
    },
    {
      name: 'TCP, UDP, SCTP on same port (UDP)',
      sourceIP: src,
      protocol: 'UDP',
      destIP: '172.30.0.42',
      destPort: 53,
      output: '10.180.0.1:53, 10.180.2.1:53',
    },
    {
      name: 'TCP, UDP, SCTP on same port (SCTP)',
      sourceIP: src,
      protocol: 'SCTP',
      destIP: '172.30.0.42',
      destPort: 53,
      output: '10.180.0.1:53, 10.180.2.1:53',
    },
    {
      name: 'TCP-only port does not match UDP traffic',
      sourceIP: src,
      protocol: 'UDP',
      destIP: '172.30.0.42',
      destPort: 80,
      output: '',
    },
    {
      name: "svc1 does not accept svc2's ports",
      sourceIP: src,
      destIP: '172.30.0.41',
      destPort: 443,
      output: '',
    },
  ];
  return { services, slices, src, flows };
}

export const TEST_CLUSTER_IP_GENERAL = testClusterIPGeneralCase();

/** TestNoEndpointsReject: a LoadBalancer service with externalIPs and no endpoints; every flow is rejected. */
function testNoEndpointsRejectCase() {
  const svc = makeService(
    'ns1',
    'svc1',
    {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.41',
      externalIPs: ['192.168.99.11'],
      ports: [{ name: 'p80', protocol: 'TCP', port: 80, nodePort: 3001 }],
    },
    { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  );
  const flows: PacketFlowTest[] = [
    {
      name: 'pod to cluster IP with no endpoints',
      sourceIP: '10.0.0.2',
      destIP: '172.30.0.41',
      destPort: 80,
      output: 'REJECT',
    },
    {
      name: 'external to external IP with no endpoints',
      sourceIP: EXT,
      destIP: '192.168.99.11',
      destPort: 80,
      output: 'REJECT',
    },
    {
      name: 'pod to NodePort with no endpoints',
      sourceIP: '10.0.0.2',
      destIP: NODE,
      destPort: 3001,
      output: 'REJECT',
    },
    {
      name: 'external to NodePort with no endpoints',
      sourceIP: EXT,
      destIP: NODE,
      destPort: 3001,
      output: 'REJECT',
    },
    {
      name: 'pod to LoadBalancer IP with no endpoints',
      sourceIP: '10.0.0.2',
      destIP: '1.2.3.4',
      destPort: 80,
      output: 'REJECT',
    },
    {
      name: 'external to LoadBalancer IP with no endpoints',
      sourceIP: EXT,
      destIP: '1.2.3.4',
      destPort: 80,
      output: 'REJECT',
    },
  ];
  return { svc, flows };
}

export const TEST_NO_ENDPOINTS_REJECT = testNoEndpointsRejectCase();

/** TestExternalTrafficPolicyLocal and TestExternalTrafficPolicyCluster: one LoadBalancer service, one local and one
 * remote endpoint, with the flows for each policy. */
function testExternalTrafficPolicyCase(policy: 'Local' | 'Cluster') {
  const svc = makeService(
    'ns1',
    'svc1',
    {
      type: 'LoadBalancer',
      externalTrafficPolicy: policy,
      clusterIP: '172.30.0.41',
      externalIPs: ['192.168.99.11'],
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001, targetPort: 80 }],
      ...(policy === 'Local' ? { healthCheckNodePort: 30000 } : {}),
    },
    { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  );
  const slice = makeSlice('ns1', 'svc1', 1, {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.180.0.1'] }, { addresses: ['10.180.2.1'], nodeName: 'test-node' }],
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  });
  const both = '10.180.0.1:80, 10.180.2.1:80';
  const local = '10.180.2.1:80';
  const flows: PacketFlowTest[] =
    policy === 'Local'
      ? [
          {
            name: 'pod to cluster IP hits both endpoints, unmasqueraded',
            sourceIP: '10.0.0.2',
            destIP: '172.30.0.41',
            destPort: 80,
            output: both,
          },
          {
            name: 'pod to external IP hits both endpoints, unmasqueraded',
            sourceIP: '10.0.0.2',
            destIP: '192.168.99.11',
            destPort: 80,
            output: both,
          },
          {
            name: 'external to external IP hits only local endpoint, unmasqueraded',
            sourceIP: EXT,
            destIP: '192.168.99.11',
            destPort: 80,
            output: local,
          },
          {
            name: 'pod to LB IP hits only both endpoints, unmasqueraded',
            sourceIP: '10.0.0.2',
            destIP: '1.2.3.4',
            destPort: 80,
            output: both,
          },
          {
            name: 'external to LB IP hits only local endpoint, unmasqueraded',
            sourceIP: EXT,
            destIP: '1.2.3.4',
            destPort: 80,
            output: local,
          },
          {
            name: 'pod to NodePort hits both endpoints, unmasqueraded',
            sourceIP: '10.0.0.2',
            destIP: NODE,
            destPort: 3001,
            output: both,
          },
          {
            name: 'external to NodePort hits only local endpoint, unmasqueraded',
            sourceIP: EXT,
            destIP: NODE,
            destPort: 3001,
            output: local,
          },
        ]
      : [
          {
            name: 'pod to cluster IP hits both endpoints, unmasqueraded',
            sourceIP: '10.0.0.2',
            destIP: '172.30.0.41',
            destPort: 80,
            output: both,
          },
          {
            name: 'pod to external IP hits both endpoints, masqueraded',
            sourceIP: '10.0.0.2',
            destIP: '192.168.99.11',
            destPort: 80,
            output: both,
            masq: true,
          },
          {
            name: 'external to external IP hits both endpoints, masqueraded',
            sourceIP: EXT,
            destIP: '192.168.99.11',
            destPort: 80,
            output: both,
            masq: true,
          },
          {
            name: 'pod to LB IP hits both endpoints, masqueraded',
            sourceIP: '10.0.0.2',
            destIP: '1.2.3.4',
            destPort: 80,
            output: both,
            masq: true,
          },
          {
            name: 'external to LB IP hits both endpoints, masqueraded',
            sourceIP: EXT,
            destIP: '1.2.3.4',
            destPort: 80,
            output: both,
            masq: true,
          },
          {
            name: 'pod to NodePort hits both endpoints, masqueraded',
            sourceIP: '10.0.0.2',
            destIP: NODE,
            destPort: 3001,
            output: both,
            masq: true,
          },
          {
            name: 'external to NodePort hits both endpoints, masqueraded',
            sourceIP: EXT,
            destIP: NODE,
            destPort: 3001,
            output: both,
            masq: true,
          },
        ];
  return { svc, slice, flows };
}

export const TEST_ETP_LOCAL = testExternalTrafficPolicyCase('Local');
export const TEST_ETP_CLUSTER = testExternalTrafficPolicyCase('Cluster');

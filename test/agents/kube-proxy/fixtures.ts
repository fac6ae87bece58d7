// Inputs of kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go TestOverallIPTablesRules
// (commit 531be81208e2274ef42e72525a26610a9622bcdf), translated from the Go struct literals.
import { makeService, makeSlice } from './helpers.js';

export const overallServices = [
  makeService('ns1', 'svc1', {
    clusterIP: '172.30.0.41',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  }),
  makeService(
    'ns2',
    'svc2',
    {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      clusterIP: '172.30.0.42',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
      externalIPs: ['192.168.99.22'],
      healthCheckNodePort: 30000,
    },
    { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  ),
  makeService('ns3', 'svc3', {
    type: 'NodePort',
    clusterIP: '172.30.0.43',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3003 }],
  }),
  makeService('ns4', 'svc4', {
    type: 'NodePort',
    clusterIP: '172.30.0.44',
    externalIPs: ['192.168.99.33'],
    ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }],
  }),
  makeService(
    'ns5',
    'svc5',
    {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Cluster',
      clusterIP: '172.30.0.45',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3002 }],
      healthCheckNodePort: 30000,
      // Extra whitespace, as upstream, to check it is tolerated.
      loadBalancerSourceRanges: [' 203.0.113.0/25'],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    },
    { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } },
  ),
  makeService('ns6', 'svc6', {
    type: 'ClusterIP',
    clusterIP: '172.30.0.46',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }],
  }),
];

const p80 = [{ name: 'p80', port: 80, protocol: 'TCP' as const }];
export const overallSlices = [
  makeSlice('ns1', 'svc1', 1, {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.180.0.1'] }],
    ports: p80,
  }),
  makeSlice('ns2', 'svc2', 1, {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.180.0.2'] }],
    ports: p80,
  }),
  makeSlice('ns3', 'svc3', 1, {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.180.0.3'] }],
    ports: p80,
  }),
  makeSlice('ns4', 'svc4', 1, {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.180.0.4'] }, { addresses: ['10.180.0.5'], nodeName: 'test-node' }],
    ports: p80,
  }),
  makeSlice('ns5', 'svc5', 1, {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.180.0.3'] }],
    ports: p80,
  }),
];

// Ported from kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go (commit 531be812…):
// TestInternalExternalMasquerade (all four variants) and TestSyncProxyRulesLargeClusterMode.
import { describe, expect, it } from 'vitest';
import { syncIptablesRules } from '../../../src/agents/kube-proxy/iptables/proxier.js';
import type { EndpointSlice, Service } from '../../../src/model/k8s.js';
import {
  expectedFlows,
  fakeProxierInput,
  makeService,
  makeSlice,
  nodeDump,
  type PacketFlowTest,
  runPacketFlows,
} from './helpers.js';

const EXT = '203.0.113.2';
const NODE = '192.168.0.2';
const p80 = [{ name: 'p80', port: 80, protocol: 'TCP' as const }];

const services: Service[] = [
  makeService(
    'ns1',
    'svc1',
    {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.41',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
      healthCheckNodePort: 30001,
    },
    { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  ),
  makeService(
    'ns2',
    'svc2',
    {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.42',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3002 }],
      healthCheckNodePort: 30002,
      externalTrafficPolicy: 'Local',
    },
    { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } },
  ),
  makeService(
    'ns3',
    'svc3',
    {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.43',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3003 }],
      healthCheckNodePort: 30003,
      internalTrafficPolicy: 'Local',
    },
    { loadBalancer: { ingress: [{ ip: '9.10.11.12' }] } },
  ),
];
const slices: EndpointSlice[] = [1, 2, 3].map((i) =>
  makeSlice(`ns${i}`, `svc${i}`, 1, {
    addressType: 'IPv4',
    endpoints: [
      { addresses: [`10.180.0.${i}`], nodeName: 'test-node' },
      { addresses: [`10.180.1.${i}`], nodeName: 'remote' },
    ],
    ports: p80,
  }),
);

const all = (i: number) => `10.180.0.${i}:80, 10.180.1.${i}:80`;
const baseFlows: PacketFlowTest[] = [
  { name: 'pod to ClusterIP', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: all(1) },
  { name: 'pod to NodePort', sourceIP: '10.0.0.2', destIP: NODE, destPort: 3001, output: all(1), masq: true },
  { name: 'pod to LB', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: all(1), masq: true },
  {
    name: 'node to ClusterIP',
    sourceIP: NODE,
    destIP: '172.30.0.41',
    destPort: 80,
    output: all(1),
    masq: true,
  },
  { name: 'node to NodePort', sourceIP: NODE, destIP: NODE, destPort: 3001, output: all(1), masq: true },
  {
    name: 'localhost to NodePort',
    sourceIP: '127.0.0.1',
    destIP: '127.0.0.1',
    destPort: 3001,
    output: all(1),
    masq: true,
  },
  { name: 'node to LB', sourceIP: NODE, destIP: '1.2.3.4', destPort: 80, output: all(1), masq: true },
  {
    name: 'external to ClusterIP',
    sourceIP: EXT,
    destIP: '172.30.0.41',
    destPort: 80,
    output: all(1),
    masq: true,
  },
  { name: 'external to NodePort', sourceIP: EXT, destIP: NODE, destPort: 3001, output: all(1), masq: true },
  { name: 'external to LB', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: all(1), masq: true },
  {
    name: 'pod to ClusterIP with eTP:Local',
    sourceIP: '10.0.0.2',
    destIP: '172.30.0.42',
    destPort: 80,
    output: all(2),
  },
  {
    name: 'pod to NodePort with eTP:Local',
    sourceIP: '10.0.0.2',
    destIP: NODE,
    destPort: 3002,
    output: all(2),
  },
  { name: 'pod to LB with eTP:Local', sourceIP: '10.0.0.2', destIP: '5.6.7.8', destPort: 80, output: all(2) },
  {
    name: 'node to ClusterIP with eTP:Local',
    sourceIP: NODE,
    destIP: '172.30.0.42',
    destPort: 80,
    output: all(2),
    masq: true,
  },
  // Upstream's case uses port 3001 here (svc1's NodePort); kept as written.
  {
    name: 'node to NodePort with eTP:Local',
    sourceIP: NODE,
    destIP: NODE,
    destPort: 3001,
    output: all(1),
    masq: true,
  },
  {
    name: 'localhost to NodePort with eTP:Local',
    sourceIP: '127.0.0.1',
    destIP: '127.0.0.1',
    destPort: 3002,
    output: all(2),
    masq: true,
  },
  {
    name: 'node to LB with eTP:Local',
    sourceIP: NODE,
    destIP: '5.6.7.8',
    destPort: 80,
    output: all(2),
    masq: true,
  },
  {
    name: 'external to ClusterIP with eTP:Local',
    sourceIP: EXT,
    destIP: '172.30.0.42',
    destPort: 80,
    output: all(2),
    masq: true,
  },
  {
    name: 'external to NodePort with eTP:Local',
    sourceIP: EXT,
    destIP: NODE,
    destPort: 3002,
    output: '10.180.0.2:80',
  },
  {
    name: 'external to LB with eTP:Local',
    sourceIP: EXT,
    destIP: '5.6.7.8',
    destPort: 80,
    output: '10.180.0.2:80',
  },
  {
    name: 'pod to ClusterIP with iTP:Local',
    sourceIP: '10.0.0.2',
    destIP: '172.30.0.43',
    destPort: 80,
    output: '10.180.0.3:80',
  },
  {
    name: 'pod to NodePort with iTP:Local',
    sourceIP: '10.0.0.2',
    destIP: NODE,
    destPort: 3003,
    output: all(3),
    masq: true,
  },
  {
    name: 'pod to LB with iTP:Local',
    sourceIP: '10.0.0.2',
    destIP: '9.10.11.12',
    destPort: 80,
    output: all(3),
    masq: true,
  },
  {
    name: 'node to ClusterIP with iTP:Local',
    sourceIP: NODE,
    destIP: '172.30.0.43',
    destPort: 80,
    output: '10.180.0.3:80',
    masq: true,
  },
  {
    name: 'node to NodePort with iTP:Local',
    sourceIP: NODE,
    destIP: NODE,
    destPort: 3003,
    output: all(3),
    masq: true,
  },
  {
    name: 'localhost to NodePort with iTP:Local',
    sourceIP: '127.0.0.1',
    destIP: '127.0.0.1',
    destPort: 3003,
    output: all(3),
    masq: true,
  },
  {
    name: 'node to LB with iTP:Local',
    sourceIP: NODE,
    destIP: '9.10.11.12',
    destPort: 80,
    output: all(3),
    masq: true,
  },
  {
    name: 'external to ClusterIP with iTP:Local',
    sourceIP: EXT,
    destIP: '172.30.0.43',
    destPort: 80,
    output: '10.180.0.3:80',
    masq: true,
  },
  {
    name: 'external to NodePort with iTP:Local',
    sourceIP: EXT,
    destIP: NODE,
    destPort: 3003,
    output: all(3),
    masq: true,
  },
  {
    name: 'external to LB with iTP:Local',
    sourceIP: EXT,
    destIP: '9.10.11.12',
    destPort: 80,
    output: all(3),
    masq: true,
  },
];

type Override = { output?: string; masq?: boolean };
const noDetector: Record<string, Override> = {
  'node to ClusterIP': { masq: false },
  'node to ClusterIP with eTP:Local': { masq: false },
  'node to ClusterIP with iTP:Local': { masq: false },
  'external to ClusterIP': { masq: false },
  'external to ClusterIP with eTP:Local': { masq: false },
  'external to ClusterIP with iTP:Local': { masq: false },
  'pod to NodePort with eTP:Local': { output: '10.180.0.2:80' },
  'pod to LB with eTP:Local': { output: '10.180.0.2:80' },
};
const masqAll: Record<string, Override> = {
  'pod to ClusterIP': { masq: true },
  'pod to ClusterIP with eTP:Local': { masq: true },
  'pod to ClusterIP with iTP:Local': { masq: true },
};
const cases: {
  name: string;
  masqueradeAll: boolean;
  localDetector: boolean;
  overrides: Record<string, Override>;
}[] = [
  { name: 'base', masqueradeAll: false, localDetector: true, overrides: {} },
  { name: 'no LocalTrafficDetector', masqueradeAll: false, localDetector: false, overrides: noDetector },
  { name: 'masqueradeAll', masqueradeAll: true, localDetector: true, overrides: masqAll },
  {
    name: 'masqueradeAll, no LocalTrafficDetector',
    masqueradeAll: true,
    localDetector: false,
    overrides: {
      ...masqAll,
      'pod to NodePort with eTP:Local': { output: '10.180.0.2:80' },
      'pod to LB with eTP:Local': { output: '10.180.0.2:80' },
    },
  },
];

describe('TestInternalExternalMasquerade', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const flows = baseFlows.map((f) => ({ ...f, ...tc.overrides[f.name] }));
      // Every override must name a real flow and change something, as upstream checks.
      expect(Object.keys(tc.overrides).every((n) => baseFlows.some((f) => f.name === n))).toBe(true);
      const input = fakeProxierInput(services, slices, {
        config: { masqueradeAll: tc.masqueradeAll, ...(tc.localDetector ? {} : { clusterCIDRs: [] }) },
      });
      expect(runPacketFlows(nodeDump(syncIptablesRules(input)), flows)).toEqual(expectedFlows(flows));
    });
  }
});

function countEndpointsAndComments(payload: string, match: string): [string, number, number] {
  let matched = '';
  let n = 0;
  let comments = 0;
  for (const line of payload.split('\n')) {
    if (line.startsWith('-A KUBE-SEP-') && line.includes('-j DNAT')) {
      n++;
      if (line.includes('--comment')) comments++;
      if (line.includes(match)) matched = line;
    }
  }
  return [matched, n, comments];
}

describe('TestSyncProxyRulesLargeClusterMode', () => {
  const half = 1000 / 2 - 1;
  const svc = (ns: string, name: string, ip: string, port: number) =>
    makeService(ns, name, {
      type: 'ClusterIP',
      clusterIP: ip,
      ports: [{ name: `p${port}`, port, protocol: 'TCP' }],
    });
  const many = (ns: string, name: string, prefix: string, port: number) =>
    makeSlice(ns, name, 1, {
      addressType: 'IPv4',
      endpoints: Array.from({ length: half }, (_, i) => ({
        addresses: [`${prefix}.${i % 256}.${Math.floor(i / 256)}`],
      })),
      ports: [{ name: `p${port}`, port, protocol: 'TCP' }],
    });
  const baseSvcs = [
    svc('ns1', 'svc1', '172.30.0.41', 80),
    svc('ns2', 'svc2', '172.30.0.42', 8080),
    svc('ns3', 'svc3', '172.30.0.43', 8081),
  ];
  const baseSlices = [many('ns1', 'svc1', '10.0', 80), many('ns2', 'svc2', '10.1', 8080)];
  const svc3Slice = makeSlice('ns3', 'svc3', 1, {
    addressType: 'IPv4',
    endpoints: [
      { addresses: ['203.0.113.4'] },
      { addresses: ['203.0.113.8'] },
      { addresses: ['203.0.113.12'] },
    ],
    ports: [{ name: 'p8081', port: 8081, protocol: 'TCP' }],
  });
  const gen = (s: Service[], e: EndpointSlice[]) =>
    syncIptablesRules(fakeProxierInput(s, e, { config: { masqueradeAll: true } })).restorePayload;

  it('keeps comments at 998 endpoints', () => {
    const [first, n, c] = countEndpointsAndComments(gen(baseSvcs, baseSlices), '10.0.0.0');
    expect(first).toBe(
      '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80',
    );
    expect(n).toBe(2 * half);
    expect(c).toBe(n);
  });
  it('drops them above 1000 endpoints (full sync)', () => {
    const payload = gen(baseSvcs, [...baseSlices, svc3Slice]);
    const [first, n, c] = countEndpointsAndComments(payload, '10.0.0.0');
    expect(first).toBe('-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80');
    expect(n).toBe(2 * half + 3);
    expect(c).toBe(0);
    expect(countEndpointsAndComments(payload, '203.0.113.4')[0]).toBe(
      '-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081',
    );
    const svc4 = svc('ns4', 'svc4', '172.30.0.44', 8082);
    const svc4Slice = makeSlice('ns4', 'svc4', 1, {
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.4.0.1'] }],
      ports: [{ name: 'p8082', port: 8082, protocol: 'TCP' }],
    });
    const withSvc4 = gen([...baseSvcs, svc4], [...baseSlices, svc3Slice, svc4Slice]);
    expect(countEndpointsAndComments(withSvc4, '10.4.0.1')[0]).toBe(
      '-A KUBE-SEP-SU5STNODRYEWJAUF -m tcp -p tcp -j DNAT --to-destination 10.4.0.1:8082',
    );
    // KUBE-SERVICES and masquerade rules keep their comments in large-cluster mode.
    expect(withSvc4).toContain('-A KUBE-SERVICES -m comment --comment "ns4/svc4:p8082 cluster IP"');
  });
});

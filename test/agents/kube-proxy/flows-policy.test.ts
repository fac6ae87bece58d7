// Ported from kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go (commit 531be812…):
// TestInternalTrafficPolicy, TestTerminatingEndpointsTrafficPolicyLocal.
import { describe, expect, it } from 'vitest';
import { syncIptablesRules } from '../../../src/agents/kube-proxy/iptables/proxier.js';
import type { Endpoint, EndpointSlice, Service } from '../../../src/model/k8s.js';
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
const unnamed80 = [{ name: '', port: 80, protocol: 'TCP' as const }];

function flowsOf(services: Service[], slices: EndpointSlice[], flows: PacketFlowTest[]) {
  return runPacketFlows(nodeDump(syncIptablesRules(fakeProxierInput(services, slices))), flows);
}

describe('TestInternalTrafficPolicy', () => {
  const cases: {
    name: string;
    itp: 'Cluster' | 'Local';
    endpoints: [string, string][];
    flow: PacketFlowTest;
  }[] = [
    {
      name: 'internalTrafficPolicy is cluster',
      itp: 'Cluster',
      endpoints: [
        ['10.0.1.1', 'test-node'],
        ['10.0.1.2', 'node1'],
        ['10.0.1.3', 'node2'],
      ],
      flow: {
        name: 'pod to ClusterIP hits all endpoints',
        sourceIP: '10.0.0.2',
        destIP: '172.30.1.1',
        destPort: 80,
        output: '10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80',
      },
    },
    {
      name: 'internalTrafficPolicy is local and there is one local endpoint',
      itp: 'Local',
      endpoints: [
        ['10.0.1.1', 'test-node'],
        ['10.0.1.2', 'node1'],
        ['10.0.1.3', 'node2'],
      ],
      flow: {
        name: 'pod to ClusterIP hits only local endpoint',
        sourceIP: '10.0.0.2',
        destIP: '172.30.1.1',
        destPort: 80,
        output: '10.0.1.1:80',
      },
    },
    {
      name: 'internalTrafficPolicy is local and there are multiple local endpoints',
      itp: 'Local',
      endpoints: [
        ['10.0.1.1', 'test-node'],
        ['10.0.1.2', 'test-node'],
        ['10.0.1.3', 'node2'],
      ],
      flow: {
        name: 'pod to ClusterIP hits all local endpoints',
        sourceIP: '10.0.0.2',
        destIP: '172.30.1.1',
        destPort: 80,
        output: '10.0.1.1:80, 10.0.1.2:80',
      },
    },
    {
      name: 'internalTrafficPolicy is local and there are no local endpoints',
      itp: 'Local',
      endpoints: [
        ['10.0.1.1', 'node0'],
        ['10.0.1.2', 'node1'],
        ['10.0.1.3', 'node2'],
      ],
      flow: {
        name: 'no endpoints',
        sourceIP: '10.0.0.2',
        destIP: '172.30.1.1',
        destPort: 80,
        output: 'DROP',
      },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const svc = makeService('ns1', 'svc1', {
        clusterIP: '172.30.1.1',
        selector: { foo: 'bar' },
        ports: [{ name: '', port: 80, protocol: 'TCP' }],
        internalTrafficPolicy: tc.itp,
      });
      const slice = makeSlice('ns1', 'svc1', 1, {
        addressType: 'IPv4',
        ports: unnamed80,
        endpoints: tc.endpoints.map(([ip, nodeName]) => ({
          addresses: [ip],
          conditions: { ready: true },
          nodeName,
        })),
      });
      expect(flowsOf([svc], [slice], [tc.flow])).toEqual(expectedFlows([tc.flow]));
      const deleted: PacketFlowTest[] = [
        {
          name: 'endpoints deleted',
          sourceIP: '10.0.0.2',
          destIP: '172.30.1.1',
          destPort: 80,
          output: 'REJECT',
        },
      ];
      expect(flowsOf([svc], [], deleted)).toEqual(expectedFlows(deleted));
    });
  }
});

const ep = (
  ip: string,
  ready: boolean,
  serving: boolean,
  terminating: boolean,
  nodeName: string,
): Endpoint => ({
  addresses: [ip],
  conditions: { ready, serving, terminating },
  nodeName,
});

describe('TestTerminatingEndpointsTrafficPolicyLocal', () => {
  const svc = makeService(
    'ns1',
    'svc1',
    {
      clusterIP: '172.30.1.1',
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ports: [{ name: '', targetPort: 80, port: 80, protocol: 'TCP' }],
      healthCheckNodePort: 30000,
    },
    { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  );
  const cases: { name: string; endpoints: Endpoint[]; flows: PacketFlowTest[] }[] = [
    {
      name: 'ready endpoints exist',
      endpoints: [
        ep('10.0.1.1', true, true, false, 'test-node'),
        ep('10.0.1.2', true, true, false, 'test-node'),
        ep('10.0.1.3', false, true, true, 'test-node'),
        ep('10.0.1.4', false, false, true, 'test-node'),
        ep('10.0.1.5', true, true, false, 'node-1'),
      ],
      flows: [
        {
          name: 'pod to clusterIP',
          sourceIP: '10.0.0.2',
          destIP: '172.30.1.1',
          destPort: 80,
          output: '10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80',
        },
        {
          name: 'external to LB',
          sourceIP: EXT,
          destIP: '1.2.3.4',
          destPort: 80,
          output: '10.0.1.1:80, 10.0.1.2:80',
        },
      ],
    },
    {
      name: 'only terminating endpoints exist',
      endpoints: [
        ep('10.0.1.2', false, true, true, 'test-node'),
        ep('10.0.1.3', false, true, true, 'test-node'),
        ep('10.0.1.4', false, false, true, 'test-node'),
        ep('10.0.1.5', true, true, false, 'node-1'),
      ],
      flows: [
        {
          name: 'pod to clusterIP',
          sourceIP: '10.0.0.2',
          destIP: '172.30.1.1',
          destPort: 80,
          output: '10.0.1.5:80',
        },
        {
          name: 'external to LB',
          sourceIP: EXT,
          destIP: '1.2.3.4',
          destPort: 80,
          output: '10.0.1.2:80, 10.0.1.3:80',
        },
      ],
    },
    {
      name: 'terminating endpoints on remote node',
      endpoints: [ep('10.0.1.5', false, true, true, 'node-1')],
      flows: [
        {
          name: 'pod to clusterIP',
          sourceIP: '10.0.0.2',
          destIP: '172.30.1.1',
          destPort: 80,
          output: '10.0.1.5:80',
        },
        {
          name: 'external to LB, no locally-usable endpoints',
          sourceIP: EXT,
          destIP: '1.2.3.4',
          destPort: 80,
          output: 'DROP',
        },
      ],
    },
    {
      name: 'no usable endpoints on any node',
      endpoints: [
        ep('10.0.1.5', false, false, true, 'test-node'),
        ep('10.0.1.5', false, false, true, 'node-1'),
      ],
      flows: [
        {
          name: 'pod to clusterIP, no usable endpoints',
          sourceIP: '10.0.0.2',
          destIP: '172.30.1.1',
          destPort: 80,
          output: 'REJECT',
        },
        {
          name: 'external to LB, no usable endpoints',
          sourceIP: EXT,
          destIP: '1.2.3.4',
          destPort: 80,
          output: 'REJECT',
        },
      ],
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const slice = makeSlice('ns1', 'svc1', 1, {
        addressType: 'IPv4',
        ports: unnamed80,
        endpoints: tc.endpoints,
      });
      expect(flowsOf([svc], [slice], tc.flows)).toEqual(expectedFlows(tc.flows));
      const deleted: PacketFlowTest[] = [
        {
          name: 'pod to clusterIP after endpoints deleted',
          sourceIP: '10.0.0.2',
          destIP: '172.30.1.1',
          destPort: 80,
          output: 'REJECT',
        },
        {
          name: 'external to LB after endpoints deleted',
          sourceIP: EXT,
          destIP: '1.2.3.4',
          destPort: 80,
          output: 'REJECT',
        },
      ];
      expect(flowsOf([svc], [], deleted)).toEqual(expectedFlows(deleted));
    });
  }
});

describe('TestTerminatingEndpointsTrafficPolicyCluster', () => {
  const svc = makeService(
    'ns1',
    'svc1',
    {
      clusterIP: '172.30.1.1',
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Cluster',
      ports: [{ name: '', targetPort: 80, port: 80, protocol: 'TCP' }],
      healthCheckNodePort: 30000,
    },
    { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
  );
  const both = (output: string): PacketFlowTest[] => [
    { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output },
    {
      name: 'external to LB',
      sourceIP: EXT,
      destIP: '1.2.3.4',
      destPort: 80,
      output,
      masq: output !== 'REJECT',
    },
  ];
  const cases: { name: string; endpoints: Endpoint[]; flows: PacketFlowTest[] }[] = [
    {
      name: 'ready endpoints exist',
      endpoints: [
        ep('10.0.1.1', true, true, false, 'test-node'),
        ep('10.0.1.2', true, true, false, 'test-node'),
        ep('10.0.1.3', false, true, true, 'another-node'),
        ep('10.0.1.4', false, false, true, 'another-node'),
        ep('10.0.1.5', true, true, false, 'another-node'),
      ],
      flows: both('10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80'),
    },
    {
      name: 'only terminating endpoints exist',
      endpoints: [
        ep('10.0.1.2', false, true, true, 'test-node'),
        ep('10.0.1.3', false, true, true, 'test-node'),
        ep('10.0.1.4', false, false, true, 'another-node'),
        ep('10.0.1.5', false, true, true, 'another-node'),
      ],
      flows: both('10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80'),
    },
    {
      name: 'terminating endpoints on remote node',
      endpoints: [ep('10.0.1.5', false, true, true, 'node-1')],
      flows: both('10.0.1.5:80'),
    },
    {
      name: 'no usable endpoints on any node',
      endpoints: [
        ep('10.0.1.5', false, false, true, 'test-node'),
        ep('10.0.1.5', false, false, true, 'node-1'),
      ],
      flows: both('REJECT'),
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const slice = makeSlice('ns1', 'svc1', 1, {
        addressType: 'IPv4',
        ports: unnamed80,
        endpoints: tc.endpoints,
      });
      expect(flowsOf([svc], [slice], tc.flows)).toEqual(expectedFlows(tc.flows));
      expect(flowsOf([svc], [], both('REJECT'))).toEqual(expectedFlows(both('REJECT')));
    });
  }
});

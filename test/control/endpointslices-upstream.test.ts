// The cases of upstream TestPodToEndpoint (kubernetes/kubernetes
// staging/src/k8s.io/endpointslice/utils_test.go), run through kpath's controller.
import { describe, expect, it } from 'vitest';
import { reconcileEndpointSlices } from '../../src/control/endpointslices.js';
import type { NodeInfo } from '../../src/model/cluster.js';
import type { Endpoint, Pod, Service } from '../../src/model/k8s.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';

const ns = 'test';
const nodeNoLabels: NodeInfo = {
  name: 'node-1',
  internalIP: IPAddr.parse('192.168.1.10'),
  podCIDR: Prefix.parse('1.2.3.0/24'),
  labels: {},
  ready: true,
  underlay: { cidr: Prefix.parse('192.168.1.0/24') },
};
// node1 of the upstream test: zone and region labels.
const node1: NodeInfo = {
  ...nodeNoLabels,
  labels: { 'topology.kubernetes.io/zone': 'us-central1-a', 'topology.kubernetes.io/region': 'us-central1' },
};

function svc(name: string, publishNotReadyAddresses = false): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, uid: `uid-${name}` },
    spec: {
      clusterIP: '10.96.0.99',
      ipFamilies: ['IPv4'],
      selector: { foo: 'bar' },
      ports: [{ name: 'foo', port: 80, targetPort: 8080, protocol: 'TCP' }],
      publishNotReadyAddresses,
    },
  };
}

// newPod(1, ns, ready, 1, terminating): pod1 on node-1 at 1.2.3.5.
function newPod(
  ready: boolean,
  terminating: boolean,
  extra: Partial<Pod['spec']> = {},
  ips = ['1.2.3.5'],
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'pod1',
      namespace: ns,
      uid: 'uid-pod1',
      labels: { foo: 'bar' },
      ...(terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'c' }], ...extra },
    status: {
      phase: 'Running',
      podIP: ips[0],
      podIPs: ips.map((ip) => ({ ip })),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

function endpointFor(pod: Pod, service: Service, node: NodeInfo): Endpoint {
  const slices = reconcileEndpointSlices([service], [pod], [node], []);
  expect(slices).toHaveLength(1);
  expect(slices[0]!.endpoints).toHaveLength(1);
  return slices[0]!.endpoints[0]!;
}

const targetRef = { kind: 'Pod', namespace: ns, name: 'pod1', uid: 'uid-pod1' };
const cond = (ready: boolean, serving: boolean, terminating: boolean) => ({ ready, serving, terminating });

describe('upstream TestPodToEndpoint', () => {
  const cases: [string, Pod, Service, NodeInfo, Endpoint][] = [
    [
      'Ready pod',
      newPod(true, false),
      svc('foo'),
      nodeNoLabels,
      { addresses: ['1.2.3.5'], conditions: cond(true, true, false), nodeName: 'node-1', targetRef },
    ],
    [
      'Ready pod + publishNotReadyAddresses',
      newPod(true, false),
      svc('publishnotready', true),
      nodeNoLabels,
      { addresses: ['1.2.3.5'], conditions: cond(true, true, false), nodeName: 'node-1', targetRef },
    ],
    [
      'Unready pod',
      newPod(false, false),
      svc('foo'),
      nodeNoLabels,
      { addresses: ['1.2.3.5'], conditions: cond(false, false, false), nodeName: 'node-1', targetRef },
    ],
    [
      'Unready pod + publishNotReadyAddresses',
      newPod(false, false),
      svc('publishnotready', true),
      nodeNoLabels,
      { addresses: ['1.2.3.5'], conditions: cond(true, false, false), nodeName: 'node-1', targetRef },
    ],
    [
      'Ready pod + node labels',
      newPod(true, false),
      svc('foo'),
      node1,
      {
        addresses: ['1.2.3.5'],
        conditions: cond(true, true, false),
        zone: 'us-central1-a',
        nodeName: 'node-1',
        targetRef,
      },
    ],
    [
      'Multi IP Ready pod + node labels',
      newPod(true, false, {}, ['1.2.3.4', '1234::5678:0000:0000:9abc:def0']),
      svc('foo'),
      node1,
      {
        addresses: ['1.2.3.4'],
        conditions: cond(true, true, false),
        zone: 'us-central1-a',
        nodeName: 'node-1',
        targetRef,
      },
    ],
    [
      'Ready pod + hostname',
      newPod(true, false, { subdomain: 'foo', hostname: 'example-hostname' }),
      svc('foo'),
      node1,
      {
        addresses: ['1.2.3.5'],
        conditions: cond(true, true, false),
        hostname: 'example-hostname',
        zone: 'us-central1-a',
        nodeName: 'node-1',
        targetRef,
      },
    ],
    [
      'Ready terminating pod',
      newPod(true, true),
      svc('foo'),
      nodeNoLabels,
      { addresses: ['1.2.3.5'], conditions: cond(false, true, true), nodeName: 'node-1', targetRef },
    ],
    [
      'Not ready terminating pod',
      newPod(false, true),
      svc('foo'),
      nodeNoLabels,
      { addresses: ['1.2.3.5'], conditions: cond(false, false, true), nodeName: 'node-1', targetRef },
    ],
  ];
  for (const [name, pod, service, node, expected] of cases) {
    it(name, () => {
      expect(endpointFor(pod, service, node)).toEqual(expected);
    });
  }

  it('upstream TestNewEndpointSlice: "Evil service hijacking endpoint slices labels"', () => {
    const s = svc('foo');
    s.metadata.labels = {
      'kubernetes.io/service-name': 'bad',
      'endpointslice.kubernetes.io/managed-by': 'actor',
      foo: 'bar',
    };
    const [slice] = reconcileEndpointSlices([s], [newPod(true, false)], [nodeNoLabels], []);
    expect(slice!.metadata.labels).toEqual({
      'kubernetes.io/service-name': 'foo',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      foo: 'bar',
    });
    expect(slice!.metadata.generateName).toBe('foo-');
  });
});

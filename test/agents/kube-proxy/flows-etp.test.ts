// Ported from kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go (commit 531be812…):
// TestExternalTrafficPolicyLocal, TestExternalTrafficPolicyCluster, TestComputeProbability,
// TestBuildServiceMap{AddRemove,ServiceHeadless,ServiceTypeExternalName}.
import { describe, expect, it } from 'vitest';
import { computeProbability, syncIptablesRules } from '../../../src/agents/kube-proxy/iptables/proxier.js';
import { buildServicePorts } from '../../../src/agents/kube-proxy/service-port.js';
import { expectedFlows, fakeProxierInput, makeService, nodeDump, runPacketFlows } from './helpers.js';
import { TEST_ETP_CLUSTER, TEST_ETP_LOCAL } from './upstream-cases.js';

describe('TestExternalTrafficPolicyLocal', () => {
  const { svc, slice, flows } = TEST_ETP_LOCAL;
  it('keeps the client source and short-circuits pods', () => {
    const dump = nodeDump(syncIptablesRules(fakeProxierInput([svc], [slice])));
    expect(runPacketFlows(dump, flows)).toEqual(expectedFlows(flows));
  });
});

describe('TestExternalTrafficPolicyCluster', () => {
  const { svc, slice, flows } = TEST_ETP_CLUSTER;
  it('masquerades all external traffic', () => {
    const dump = nodeDump(syncIptablesRules(fakeProxierInput([svc], [slice])));
    expect(runPacketFlows(dump, flows)).toEqual(expectedFlows(flows));
  });
});

describe('TestComputeProbability', () => {
  it('formats like %0.10f', () => {
    const expected: Record<number, string> = {
      1: '1.0000000000',
      2: '0.5000000000',
      10: '0.1000000000',
      100: '0.0100000000',
      1000: '0.0010000000',
      10000: '0.0001000000',
      100000: '0.0000100000',
      100001: '0.0000099999',
      // Exactly halfway at 10 decimals: Go's strconv rounds half to even.
      2048: '0.0004882812',
      4096: '0.0002441406',
    };
    for (const [n, s] of Object.entries(expected)) expect(computeProbability(Number(n))).toBe(s);
  });
  it('is strictly increasing as n falls from 100000 to 2', () => {
    let prev = 0;
    const notIncreasing: number[] = [];
    for (let i = 100000; i > 1; i--) {
      const p = Number.parseFloat(computeProbability(i));
      if (p <= prev) notIncreasing.push(i);
      prev = p;
    }
    expect(notIncreasing).toEqual([]);
  });
});

const port = (
  name: string,
  protocol: 'TCP' | 'UDP' | 'SCTP',
  p: number,
  nodePort: number,
  targetPort: number,
) => ({
  name,
  protocol,
  port: p,
  nodePort,
  targetPort,
});

describe('TestBuildServiceMap*', () => {
  it('AddRemove: 10 service ports, one health check node port', () => {
    const services = [
      makeService('somewhere-else', 'cluster-ip', {
        type: 'ClusterIP',
        clusterIP: '172.30.55.4',
        ports: [
          port('something', 'UDP', 1234, 4321, 0),
          port('somethingelse', 'UDP', 1235, 5321, 0),
          port('sctpport', 'SCTP', 1236, 6321, 0),
        ],
      }),
      makeService('somewhere-else', 'node-port', {
        type: 'NodePort',
        clusterIP: '172.30.55.10',
        ports: [
          port('blahblah', 'UDP', 345, 678, 0),
          port('moreblahblah', 'TCP', 344, 677, 0),
          port('muchmoreblah', 'SCTP', 343, 676, 0),
        ],
      }),
      makeService(
        'somewhere',
        'load-balancer',
        {
          type: 'LoadBalancer',
          clusterIP: '172.30.55.11',
          loadBalancerIP: '1.2.3.4',
          ports: [port('foobar', 'UDP', 8675, 30061, 7000), port('baz', 'UDP', 8676, 30062, 7001)],
        },
        { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
      ),
      makeService(
        'somewhere',
        'only-local-load-balancer',
        {
          type: 'LoadBalancer',
          clusterIP: '172.30.55.12',
          loadBalancerIP: '5.6.7.8',
          ports: [port('foobar2', 'UDP', 8677, 30063, 7002), port('baz', 'UDP', 8678, 30064, 7003)],
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 345,
        },
        { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } },
      ),
    ];
    const sps = buildServicePorts(services, 4);
    expect(sps).toHaveLength(10);
    const hc = new Map(
      sps
        .filter((s) => s.healthCheckNodePort !== 0)
        .map((s) => [`${s.namespace}/${s.serviceName}`, s.healthCheckNodePort]),
    );
    expect([...hc]).toEqual([['somewhere/only-local-load-balancer', 345]]);
  });
  it('ServiceHeadless and ServiceTypeExternalName are ignored', () => {
    const services = [
      makeService('somewhere-else', 'headless', {
        type: 'ClusterIP',
        clusterIP: 'None',
        ports: [port('rpc', 'UDP', 1234, 0, 0)],
      }),
      makeService('somewhere-else', 'headless-without-port', { type: 'ClusterIP', clusterIP: 'None' }),
      makeService('somewhere-else', 'external-name', {
        type: 'ExternalName',
        clusterIP: '172.30.55.4',
        externalName: 'foo2.bar.com',
        ports: [port('blah', 'UDP', 1235, 5321, 0)],
      }),
    ];
    expect(buildServicePorts(services, 4)).toEqual([]);
  });
});

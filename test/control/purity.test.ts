// runControlPlane is pure: it never mutates its input, and equal inputs give equal outputs.
import { describe, expect, it } from 'vitest';
import { runControlPlane } from '../../src/control/index.js';
import { InputError } from '../../src/model/errors.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import { cluster, declaredNodes, kubeadmConfig, node, pod, service, workload } from './fixture.js';

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o) && !(o instanceof Map)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const build = () =>
  cluster({
    config: kubeadmConfig({
      nodes: declaredNodes(2),
      loadBalancer: { pool: [Prefix.parse('203.0.113.0/30')], sourceMode: 'preserve' },
    }),
    pods: [pod('a-1', {}, { status: { podIP: '10.244.1.9' } }), pod('b-1', { hostNetwork: true })],
    workloads: [
      workload('Deployment', 'web', 3),
      workload('StatefulSet', 'db', 2, { serviceName: 'db' }),
      workload('DaemonSet', 'agent', 1),
    ],
    services: [
      service('web', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }),
      service('db', { clusterIP: 'None' }),
      service('a', { type: 'NodePort' }),
    ],
  });

describe('purity', () => {
  it('does not mutate a deeply frozen input', () => {
    const c = deepFreeze(build());
    expect(() => runControlPlane(c)).not.toThrow();
  });

  it('gives identical output for identical input', () => {
    const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    const a = runControlPlane(build());
    const b = runControlPlane(build());
    expect(json({ ...a, sources: null })).toBe(json({ ...b, sources: null }));
  });

  it('keeps what a snapshot states: running it on its own output changes nothing', () => {
    const first = runControlPlane(build());
    const again = runControlPlane({
      ...build(),
      namespaces: first.namespaces,
      nodes: first.nodes,
      pods: first.pods,
      workloads: [],
      services: first.services,
      endpointSlices: first.endpointSlices,
      configMaps: first.configMaps,
      config: { ...build().config, nodes: [] },
    });
    // Only the coredns Deployment is re-added (ClusterState holds no workloads); it adopts its pods.
    const strip = (s: typeof first) => ({
      ...s,
      config: null,
      sources: null,
      nodeInfo: null,
      warnings: null,
    });
    const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    expect(json(strip(again))).toBe(json(strip(first)));
    expect(again.nodeInfo.map((n) => [n.name, n.podCIDR.toString()])).toEqual(
      first.nodeInfo.map((n) => [n.name, n.podCIDR.toString()]),
    );
  });

  it('reports a DNS service IP outside the service CIDR at the config field', () => {
    const c = cluster({
      config: kubeadmConfig({ nodes: declaredNodes(1), dnsServiceIP: IPAddr.parse('10.0.0.10') }),
    });
    expect(() => runControlPlane(c)).toThrow(InputError);
    try {
      runControlPlane(c);
    } catch (e) {
      expect((e as InputError).problems[0]).toMatchObject({
        file: 'cluster.yaml',
        field: 'spec.dnsServiceIP',
      });
    }
  });

  it('accepts Node objects as a snapshot without changing their podCIDRs', () => {
    const s = runControlPlane(cluster({ nodes: [node('x', '192.168.1.5', '10.244.7.0/24')] }));
    expect(s.nodes[0]!.spec.podCIDRs).toEqual(['10.244.7.0/24']);
  });
});

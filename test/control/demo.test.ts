// The demo cluster (examples/demo) through the control plane: stated values kept, the rest allocated
// without collisions.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runControlPlane } from '../../src/control/index.js';
import type { KObject, Namespace, Pod, Service, Workload } from '../../src/model/k8s.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import { cluster, kubeadmConfig } from './fixture.js';

function docs(file: string): KObject[] {
  return parseAllDocuments(readFileSync(new URL(`../../examples/demo/${file}`, import.meta.url), 'utf8')).map(
    (d) => d.toJS() as KObject,
  );
}

function demoCluster() {
  const objects = [...docs('my-app.yaml'), ...docs('backend.yaml')];
  const config = kubeadmConfig({
    name: 'demo',
    loadBalancer: {
      pool: ['203.0.113.50/32', '203.0.113.51/32', '203.0.113.52/32'].map((p) => Prefix.parse(p)),
      sourceMode: 'preserve',
    },
    nodes: [0, 1, 2].map((i) => ({
      name: `node-${i + 1}`,
      ip: IPAddr.v4(192, 168, 1, 10 + i),
      podCIDR: Prefix.parse(`10.244.${i}.0/24`),
      labels: {},
      ready: true,
    })),
  });
  return cluster({
    config,
    pods: objects.filter((o) => o.kind === 'Pod') as Pod[],
    services: objects.filter((o) => o.kind === 'Service') as Service[],
    workloads: objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind)) as Workload[],
    namespaces: objects.filter((o) => o.kind === 'Namespace') as Namespace[],
  });
}

describe('the demo cluster', () => {
  const state = runControlPlane(demoCluster());
  const svc = (ns: string, name: string) =>
    state.services.find((s) => s.metadata.namespace === ns && s.metadata.name === name)!;

  it('keeps the nodes and their podCIDRs', () => {
    expect(state.nodeInfo.map((n) => [n.name, n.internalIP.toString(), n.podCIDR.toString()])).toEqual([
      ['node-1', '192.168.1.10', '10.244.0.0/24'],
      ['node-2', '192.168.1.11', '10.244.1.0/24'],
      ['node-3', '192.168.1.12', '10.244.2.0/24'],
    ]);
    expect(state.nodeInfo.every((n) => n.underlay.cidr.toString() === '192.168.1.0/24')).toBe(true);
  });

  it('keeps the my-app pod IPs', () => {
    const ips = state.pods
      .filter((p) => p.metadata.labels?.app === 'my-app')
      .map((p) => [p.spec.nodeName, p.status?.podIP]);
    expect(ips.sort()).toEqual([
      ['node-1', '10.244.0.5'],
      ['node-2', '10.244.1.3'],
      ['node-3', '10.244.2.2'],
    ]);
  });

  it('keeps my-app 10.96.0.15 / 30080 / 203.0.113.50', () => {
    const s = svc('default', 'my-app');
    expect(s.spec.clusterIP).toBe('10.96.0.15');
    expect(s.spec.clusterIPs).toEqual(['10.96.0.15']);
    expect(s.spec.ports?.[0]?.nodePort).toBe(30080);
    expect(s.status?.loadBalancer?.ingress).toEqual([{ ip: '203.0.113.50' }]);
  });

  it('adds kubernetes and kube-dns at their fixed addresses', () => {
    expect(svc('default', 'kubernetes').spec.clusterIP).toBe('10.96.0.1');
    expect(svc('kube-system', 'kube-dns').spec.clusterIP).toBe('10.96.0.10');
  });

  it('gives every pod a unique address inside its node podCIDR (CoreDNS included)', () => {
    const seen = new Set<string>();
    const coredns = state.pods.filter((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns');
    expect(coredns).toHaveLength(2);
    for (const p of state.pods) {
      const ip = p.status!.podIP!;
      expect(seen.has(ip), ip).toBe(false);
      seen.add(ip);
      const node = state.nodeInfo.find((n) => n.name === p.spec.nodeName)!;
      expect(node.podCIDR.contains(IPAddr.parse(ip))).toBe(true);
      expect(p.status?.hostIP).toBe(node.internalIP.toString());
    }
  });

  it('builds the my-app EndpointSlice from the three pods on port 8080', () => {
    const slices = state.endpointSlices.filter(
      (s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'my-app',
    );
    expect(slices).toHaveLength(1);
    expect(slices[0]!.ports).toEqual([{ name: '', port: 8080, protocol: 'TCP' }]);
    expect(slices[0]!.endpoints.map((e) => e.addresses[0]).sort()).toEqual([
      '10.244.0.5',
      '10.244.1.3',
      '10.244.2.2',
    ]);
  });

  it('publishes StatefulSet hostnames on the headless db service', () => {
    const slice = state.endpointSlices.find(
      (s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'db',
    )!;
    expect(slice.metadata.labels?.['service.kubernetes.io/headless']).toBe('');
    expect(slice.endpoints.map((e) => e.hostname).sort()).toEqual(['db-0', 'db-1']);
    expect(slice.ports).toEqual([{ name: 'pg', port: 5432, protocol: 'TCP' }]);
  });

  it('is deterministic byte for byte', () => {
    const again = runControlPlane(demoCluster());
    const text = (s: typeof state) =>
      JSON.stringify({ ...s, sources: undefined }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    expect(text(again)).toBe(text(state));
  });
});

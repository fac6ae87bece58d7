// The demo cluster (examples/demo) loads without problems and says what the seeds' scenario says.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCluster } from '../../src/load/index.js';

const dir = 'examples/demo';
const sources = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(`${dir}/${f}`, 'utf8') }));

describe('examples/demo', () => {
  const c = loadCluster(sources);

  it('reads the cluster document', () => {
    expect(c.config.name).toBe('demo');
    expect(c.config.nodes.map((n) => `${n.name} ${n.ip} ${n.podCIDR}`)).toEqual([
      'node-1 192.168.1.10 10.244.0.0/24',
      'node-2 192.168.1.11 10.244.1.0/24',
      'node-3 192.168.1.12 10.244.2.0/24',
    ]);
    expect(c.config.underlay.map((u) => `${u.cidr} via ${u.gateway}`)).toEqual([
      '192.168.1.0/24 via 192.168.1.1',
    ]);
    expect(c.config.loadBalancer.pool.map(String)).toEqual([
      '203.0.113.50/32',
      '203.0.113.51/32',
      '203.0.113.52/32',
    ]);
    expect(c.config.externalHosts.map((h) => `${h.name} ${h.ip}`)).toEqual(['client 198.51.100.5']);
    expect(c.config.source).toMatchObject({ file: 'examples/demo/cluster.yaml', line: 3, col: 1 });
  });

  it('reads the objects with their defaults and stated allocations', () => {
    expect(
      c.services
        .map((s) => `${s.metadata.namespace}/${s.metadata.name} ${s.spec.type} ${s.spec.clusterIP ?? '-'}`)
        .sort(),
    ).toEqual(['default/my-app LoadBalancer 10.96.0.15', 'shop/db ClusterIP None', 'shop/web ClusterIP -']);
    expect(c.pods.map((p) => `${p.spec.nodeName} ${p.status?.podIP}`)).toEqual([
      'node-1 10.244.0.5',
      'node-2 10.244.1.3',
      'node-3 10.244.2.2',
    ]);
    expect(c.workloads.map((w) => `${w.kind} ${w.metadata.name} ${w.spec.replicas}`)).toEqual([
      'Deployment web 2',
      'StatefulSet db 2',
    ]);
    expect(c.namespaces.map((n) => n.metadata.name)).toEqual(['shop']);
    expect(c.sources.get('Service/default/my-app')).toMatchObject({
      file: 'examples/demo/my-app.yaml',
      line: 3,
      col: 1,
    });
  });
});

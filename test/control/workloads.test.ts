import { describe, expect, it } from 'vitest';
import { runControlPlane } from '../../src/control/index.js';
import { templateHash } from '../../src/control/names.js';
import { cluster, declaredNodes, kubeadmConfig, node, pod, workload } from './fixture.js';

const SUFFIX = '[bcdfghjklmnpqrstvwxz2456789]{5}';
const inDefault = (s: ReturnType<typeof runControlPlane>) =>
  s.pods.filter((p) => p.metadata.namespace === 'default');

describe('Deployment → ReplicaSet → pods', () => {
  const d = workload('Deployment', 'web', 3);
  const s = runControlPlane(cluster({ workloads: [d] }));
  const pods = inDefault(s);
  const hash = templateHash(d.spec.template);

  it('names pods <deploy>-<pod-template-hash>-<5 chars>', () => {
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-${SUFFIX}$`));
      expect(p.metadata.generateName).toBe(`web-${hash}-`);
    }
  });

  it('labels pods with the template labels and pod-template-hash, owned by the ReplicaSet', () => {
    for (const p of pods) {
      expect(p.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `web-${hash}`,
          uid: expect.any(String),
          controller: true,
        },
      ]);
    }
  });

  it('counts existing pods the controller would adopt', () => {
    const orphan = pod('web-old', {}, {});
    orphan.metadata.labels = { app: 'web' };
    const other = pod('web-x');
    other.metadata.labels = { app: 'web' };
    other.metadata.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'unrelated', controller: true },
    ];
    const s2 = runControlPlane(cluster({ workloads: [d], pods: [orphan, other] }));
    expect(inDefault(s2).filter((p) => p.metadata.labels?.['pod-template-hash'] === hash)).toHaveLength(2);
  });
});

describe('StatefulSet', () => {
  it('creates <sts>-0..n-1 with hostname, subdomain and the controller labels', () => {
    const sts = workload('StatefulSet', 'db', 2, { serviceName: 'db-headless' });
    const s = runControlPlane(cluster({ workloads: [sts] }));
    const pods = inDefault(s);
    const rev = `db-${templateHash(sts.spec.template)}`;
    expect(pods.map((p) => [p.metadata.name, p.spec.hostname, p.spec.subdomain])).toEqual([
      ['db-0', 'db-0', 'db-headless'],
      ['db-1', 'db-1', 'db-headless'],
    ]);
    expect(pods[1]!.metadata.labels).toEqual({
      app: 'db',
      'apps.kubernetes.io/pod-index': '1',
      'controller-revision-hash': rev,
      'statefulset.kubernetes.io/pod-name': 'db-1',
    });
    expect(pods[0]!.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'StatefulSet',
      name: 'db',
      controller: true,
    });
    expect(pods[0]!.metadata.generateName).toBeUndefined();
  });

  it('keeps an existing ordinal pod and creates only the missing ones', () => {
    const existing = pod('db-0', { nodeName: 'node-2' });
    existing.metadata.labels = { app: 'db' };
    const s = runControlPlane(cluster({ workloads: [workload('StatefulSet', 'db', 2)], pods: [existing] }));
    // db-0 already sits on node-2, so CoreDNS goes to node-1 and node-3, and db-1 to node-1.
    expect(inDefault(s).map((p) => [p.metadata.name, p.spec.nodeName])).toEqual([
      ['db-0', 'node-2'],
      ['db-1', 'node-1'],
    ]);
  });
});

describe('DaemonSet', () => {
  it('runs one pod per admitting node, including cordoned ones, not where nodeSelector fails', () => {
    const nodes = [
      node('a', '192.168.1.20'),
      node('b', '192.168.1.21', undefined, { unschedulable: true }),
      { ...node('c', '192.168.1.22'), metadata: { name: 'c', labels: { 'kubernetes.io/os': 'windows' } } },
    ];
    const ds = workload('DaemonSet', 'agent', 1);
    ds.spec.template.spec.nodeSelector = { 'kubernetes.io/os': 'linux' };
    const s = runControlPlane(cluster({ nodes, workloads: [ds] }));
    const pods = inDefault(s);
    expect(pods.map((p) => p.spec.nodeName).sort()).toEqual(['a', 'b']);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(new RegExp(`^agent-${SUFFIX}$`));
      expect(p.metadata.labels).toEqual({
        app: 'agent',
        'controller-revision-hash': templateHash(ds.spec.template),
        'pod-template-generation': '1',
      });
      expect(p.spec.tolerations).toContainEqual({
        key: 'node.kubernetes.io/unschedulable',
        operator: 'Exists',
        effect: 'NoSchedule',
      });
    }
  });

  it('does not start a pod on a NotReady node (not-ready:NoSchedule is not tolerated)', () => {
    const config = kubeadmConfig({ nodes: declaredNodes(2).map((n, i) => ({ ...n, ready: i === 0 })) });
    const s = runControlPlane(cluster({ config, workloads: [workload('DaemonSet', 'agent', 1)] }));
    expect(inDefault(s).map((p) => p.spec.nodeName)).toEqual(['node-1']);
  });
});

describe('CoreDNS addon', () => {
  it('runs 2 replicas of kubeadm coredns with its labels and ports', () => {
    const s = runControlPlane(cluster({}));
    const dns = s.pods.filter((p) => p.metadata.namespace === 'kube-system');
    expect(dns).toHaveLength(2);
    expect(dns[0]!.metadata.name).toMatch(new RegExp(`^coredns-[4-9bcdf]+-${SUFFIX}$`));
    expect(dns[0]!.metadata.labels?.['k8s-app']).toBe('kube-dns');
    expect(dns[0]!.spec.dnsPolicy).toBe('Default');
    expect(dns[0]!.spec.containers[0]!.ports?.slice(0, 3)).toEqual([
      { containerPort: 53, name: 'dns', protocol: 'UDP' },
      { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
      { containerPort: 9153, name: 'metrics', protocol: 'TCP' },
    ]);
    expect(new Set(dns.map((p) => p.spec.nodeName)).size).toBe(2);
  });

  it('is not added twice when the input has the coredns Deployment', () => {
    const own = workload('Deployment', 'coredns', 1, {}, 'kube-system');
    const s = runControlPlane(cluster({ workloads: [own] }));
    expect(s.pods.filter((p) => p.metadata.namespace === 'kube-system')).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { defaultCorefile } from '../../src/control/builtin-objects.js';
import { runControlPlane } from '../../src/control/index.js';
import { cluster, declaredNodes, kubeadmConfig } from './fixture.js';

// kubernetes/kubernetes cmd/kubeadm/app/phases/addons/dns/manifests.go @008b3652, CoreDNSConfigMap,
// with the Go template rendered for DNSDomain=cluster.local ({{- trims the newline before " {").
const KUBEADM_COREFILE = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`;

describe("the cluster's own objects", () => {
  const s = runControlPlane(cluster({ config: kubeadmConfig({ nodes: declaredNodes(2) }) }));

  it('has the four system namespaces, labelled with kubernetes.io/metadata.name', () => {
    expect(s.namespaces.map((n) => [n.metadata.name, n.metadata.labels])).toEqual([
      ['default', { 'kubernetes.io/metadata.name': 'default' }],
      ['kube-node-lease', { 'kubernetes.io/metadata.name': 'kube-node-lease' }],
      ['kube-public', { 'kubernetes.io/metadata.name': 'kube-public' }],
      ['kube-system', { 'kubernetes.io/metadata.name': 'kube-system' }],
    ]);
  });

  it('has the coredns ConfigMap with the kubeadm Corefile', () => {
    expect(defaultCorefile('cluster.local')).toBe(KUBEADM_COREFILE);
    const cm = s.configMaps.find((c) => c.metadata.name === 'coredns')!;
    expect(cm.metadata.namespace).toBe('kube-system');
    expect((cm.data as Record<string, string>).Corefile).toBe(KUBEADM_COREFILE);
  });

  it('has default/kubernetes: 443 → 6443 on the control-plane node', () => {
    const k = s.services.find((x) => x.metadata.name === 'kubernetes')!;
    expect(k.spec.ports).toEqual([{ name: 'https', protocol: 'TCP', port: 443, targetPort: 6443 }]);
    expect(k.metadata.labels).toEqual({ component: 'apiserver', provider: 'kubernetes' });
    expect(k.spec.selector).toBeUndefined();
    const slice = s.endpointSlices.find((x) => x.metadata.name === 'kubernetes')!;
    expect(slice.ports).toEqual([{ name: 'https', port: 6443, protocol: 'TCP' }]);
    expect(slice.endpoints.map((e) => e.addresses)).toEqual([['192.168.1.10']]);
  });

  it('has kube-system/kube-dns as kubeadm writes it', () => {
    const d = s.services.find((x) => x.metadata.name === 'kube-dns')!;
    expect(d.metadata.labels).toEqual({
      'k8s-app': 'kube-dns',
      'kubernetes.io/cluster-service': 'true',
      'kubernetes.io/name': 'CoreDNS',
    });
    expect(d.spec.ports).toEqual([
      { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
      { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
    ]);
    expect(d.spec.selector).toEqual({ 'k8s-app': 'kube-dns' });
  });

  it('keeps input namespaces (adding the name label) and warns about undefined ones', () => {
    const s2 = runControlPlane(
      cluster({
        namespaces: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'a' } } },
        ],
        services: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'x', namespace: 'ghost' },
            spec: { ports: [{ port: 80 }] },
          },
        ],
      }),
    );
    expect(s2.namespaces.find((n) => n.metadata.name === 'shop')!.metadata.labels).toEqual({
      team: 'a',
      'kubernetes.io/metadata.name': 'shop',
    });
    expect(s2.namespaces.some((n) => n.metadata.name === 'ghost')).toBe(true);
    expect(s2.warnings.some((w) => w.startsWith('Namespace ghost is used but not defined'))).toBe(true);
  });
});

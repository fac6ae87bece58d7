// The objects every kubeadm cluster holds before any user input: the API server's namespaces and
// `default/kubernetes` Service (pkg/controlplane), and kubeadm's CoreDNS addon
// (cmd/kubeadm/app/phases/addons/dns/manifests.go @008b3652).
import type { ClusterConfig } from '../model/cluster.js';
import type { EndpointSlice, KObject, Namespace, Service, Workload } from '../model/k8s.js';
import { SERVICE_NAME_LABEL } from '../model/k8s.js';
import type { IPAddr } from '../net/ip.js';
import { stableUID } from './names.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'] as const;

/** The label the API server puts on every namespace (NamespaceDefaultLabelName, since 1.21). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export const COREDNS_IMAGE = 'registry.k8s.io/coredns/coredns:v1.11.3';

export function namespaceObject(name: string): Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      uid: stableUID('Namespace', undefined, name),
      labels: { [NAMESPACE_NAME_LABEL]: name },
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** `default/kubernetes` as the API server's reconciler writes it; the ClusterIP is set by allocation. */
export function kubernetesService(): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      uid: stableUID('Service', 'default', 'kubernetes'),
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 6443 }],
      sessionAffinity: 'None',
    },
  };
}

/**
 * The API server writes the `kubernetes` EndpointSlice itself (pkg/controlplane/reconcilers,
 * endpointsadapter.go): only the service-name label, ready-only conditions, no managed-by label.
 */
export function kubernetesEndpointSlice(apiServerIPs: IPAddr[]): EndpointSlice {
  const fam = apiServerIPs[0]?.family === 6 ? 'IPv6' : 'IPv4';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      uid: stableUID('EndpointSlice', 'default', 'kubernetes'),
      labels: { [SERVICE_NAME_LABEL]: 'kubernetes' },
    },
    addressType: fam,
    endpoints: apiServerIPs.map((ip) => ({ addresses: [ip.toString()], conditions: { ready: true } })),
    ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
  };
}

export function kubeDnsService(dnsIP: IPAddr): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      uid: stableUID('Service', 'kube-system', 'kube-dns'),
      labels: {
        'k8s-app': 'kube-dns',
        'kubernetes.io/cluster-service': 'true',
        'kubernetes.io/name': 'CoreDNS',
      },
      annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: dnsIP.toString(),
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
      selector: { 'k8s-app': 'kube-dns' },
      sessionAffinity: 'None',
    },
  };
}

export function corednsDeployment(): Workload {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'coredns',
      namespace: 'kube-system',
      uid: stableUID('Deployment', 'kube-system', 'coredns'),
      labels: { 'k8s-app': 'kube-dns' },
    },
    spec: {
      replicas: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      template: {
        metadata: { labels: { 'k8s-app': 'kube-dns' } },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'coredns',
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
          ],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          containers: [
            {
              name: 'coredns',
              image: COREDNS_IMAGE,
              args: ['-conf', '/etc/coredns/Corefile'],
              ports: [
                { containerPort: 53, name: 'dns', protocol: 'UDP' },
                { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
                { containerPort: 9153, name: 'metrics', protocol: 'TCP' },
                { containerPort: 8080, name: 'liveness-probe', protocol: 'TCP' },
                { containerPort: 8181, name: 'readiness-probe', protocol: 'TCP' },
              ],
            },
          ],
          dnsPolicy: 'Default',
        },
      },
    },
  };
}

/** kubeadm's default Corefile (the Go template rendered with the cluster domain). */
export function defaultCorefile(clusterDomain: string): string {
  return `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${clusterDomain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success ${clusterDomain}
       disable denial ${clusterDomain}
    }
    loop
    reload
    loadbalance
}
`;
}

export function corednsConfigMap(config: ClusterConfig): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'coredns',
      namespace: 'kube-system',
      uid: stableUID('ConfigMap', 'kube-system', 'coredns'),
    },
    data: { Corefile: defaultCorefile(config.clusterDomain) },
  };
}

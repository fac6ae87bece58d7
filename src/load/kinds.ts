// Which API kinds kpath models and where they go in the Cluster, by API group and kind (the same
// kind name lives in several groups: Gateway in gateway.networking.k8s.io and networking.istio.io,
// NetworkPolicy in networking.k8s.io and projectcalico.org).

export type Bucket =
  | 'namespaces'
  | 'nodes'
  | 'pods'
  | 'workloads'
  | 'services'
  | 'endpointSlices'
  | 'policies'
  | 'l7'
  | 'configMaps';

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

const TABLE: Record<string, Record<string, Bucket>> = {
  '': { Namespace: 'namespaces', Node: 'nodes', Pod: 'pods', Service: 'services', ConfigMap: 'configMaps' },
  apps: {
    Deployment: 'workloads',
    ReplicaSet: 'workloads',
    StatefulSet: 'workloads',
    DaemonSet: 'workloads',
  },
  'discovery.k8s.io': { EndpointSlice: 'endpointSlices' },
  'networking.k8s.io': { NetworkPolicy: 'policies', Ingress: 'l7', IngressClass: 'l7' },
  extensions: { Ingress: 'l7' },
  'policy.networking.k8s.io': { AdminNetworkPolicy: 'policies', BaselineAdminNetworkPolicy: 'policies' },
  'gateway.networking.k8s.io': {
    GatewayClass: 'l7',
    Gateway: 'l7',
    HTTPRoute: 'l7',
    GRPCRoute: 'l7',
    TLSRoute: 'l7',
    TCPRoute: 'l7',
    UDPRoute: 'l7',
    ReferenceGrant: 'l7',
    BackendTLSPolicy: 'l7',
  },
  'networking.istio.io': {
    VirtualService: 'l7',
    DestinationRule: 'l7',
    Gateway: 'l7',
    ServiceEntry: 'l7',
    Sidecar: 'l7',
    WorkloadEntry: 'l7',
  },
  'security.istio.io': { PeerAuthentication: 'l7', AuthorizationPolicy: 'l7', RequestAuthentication: 'l7' },
};

/** Versions whose shape we read; other versions of a modelled kind are kept as ignored. */
const VERSIONS: Record<string, readonly string[]> = {
  '': ['v1'],
  apps: ['v1'],
  'discovery.k8s.io': ['v1'],
};

export function bucketOf(apiVersion: string, kind: string): Bucket | undefined {
  const group = groupOf(apiVersion);
  const b = TABLE[group]?.[kind];
  if (!b) return undefined;
  const versions = VERSIONS[group];
  if (versions && !versions.includes(apiVersion.slice(group ? group.length + 1 : 0))) return undefined;
  return b;
}

const CLUSTER_SCOPED = new Set([
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  'networking.k8s.io/IngressClass',
  'gateway.networking.k8s.io/GatewayClass',
  'policy.networking.k8s.io/AdminNetworkPolicy',
  'policy.networking.k8s.io/BaselineAdminNetworkPolicy',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'storage.k8s.io/StorageClass',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'scheduling.k8s.io/PriorityClass',
]);

/** Known cluster-scoped kinds; everything else is namespaced (kubectl's default too). */
export function isClusterScoped(apiVersion: string, kind: string): boolean {
  return CLUSTER_SCOPED.has(`${groupOf(apiVersion)}/${kind}`);
}

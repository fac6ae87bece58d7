// Builds Cluster values for control-plane tests without the loader: kubeadm defaults for the config,
// small constructors for objects, and a source map so errors can be located.
import type { Cluster, ClusterConfig, DeclaredNode } from '../../src/model/cluster.js';
import {
  type EndpointSlice,
  type KObject,
  type Namespace,
  type Node,
  objectKey,
  type Pod,
  type PodSpec,
  type Service,
  type ServiceSpec,
  type SourceRef,
  type Workload,
  type WorkloadKind,
} from '../../src/model/k8s.js';
import { IPAddr } from '../../src/net/ip.js';
import { kubeadmConfig as kubeadmDefaults } from '../fixtures/cluster-state.js';

export function kubeadmConfig(over: Partial<ClusterConfig> = {}): ClusterConfig {
  return kubeadmDefaults({ source: { file: 'cluster.yaml', line: 1, col: 1 }, ...over });
}

/** `n` declared nodes node-1.. at 192.168.1.10.., without podCIDRs (allocated). */
export function declaredNodes(n: number, extra: Partial<DeclaredNode> = {}): DeclaredNode[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `node-${i + 1}`,
    ip: IPAddr.v4(192, 168, 1, 10 + i),
    labels: {},
    ready: true,
    ...extra,
  }));
}

export interface Parts {
  config?: ClusterConfig;
  namespaces?: Namespace[];
  nodes?: Node[];
  pods?: Pod[];
  workloads?: Workload[];
  services?: Service[];
  endpointSlices?: EndpointSlice[];
  configMaps?: KObject[];
}

/** A Cluster with a source map placing each object in `input.yaml`, one object every 20 lines. */
export function cluster(parts: Parts): Cluster {
  const c: Cluster = {
    config: parts.config ?? kubeadmConfig({ nodes: declaredNodes(3) }),
    namespaces: parts.namespaces ?? [],
    nodes: parts.nodes ?? [],
    pods: parts.pods ?? [],
    workloads: parts.workloads ?? [],
    services: parts.services ?? [],
    endpointSlices: parts.endpointSlices ?? [],
    policies: [],
    l7: [],
    configMaps: parts.configMaps ?? [],
    ignored: [],
    sources: new Map(),
  };
  const all: KObject[] = [
    ...c.namespaces,
    ...c.nodes,
    ...c.pods,
    ...c.workloads,
    ...c.services,
    ...c.endpointSlices,
  ];
  const sources = new Map<string, SourceRef>();
  all.forEach((o, i) => {
    sources.set(objectKey(o), sourceFor(i * 20 + 1));
  });
  return { ...c, sources };
}

function sourceFor(line: number): SourceRef {
  return {
    file: 'input.yaml',
    line,
    col: 1,
    fields: new Map([
      ['spec', { line: line + 5, col: 1 }],
      ['spec.clusterIP', { line: line + 6, col: 3 }],
      ['spec.nodeName', { line: line + 7, col: 3 }],
      ['spec.podCIDR', { line: line + 8, col: 3 }],
      ['status.podIP', { line: line + 12, col: 3 }],
      ['spec.ports[0].nodePort', { line: line + 9, col: 7 }],
    ]),
  };
}

export function pod(name: string, spec: Partial<PodSpec> = {}, extra: Partial<Pod> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name.split('-')[0]! }, ...(extra.metadata ?? {}) },
    spec: {
      containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }],
      ...spec,
    },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

export function service(name: string, spec: Partial<ServiceSpec> = {}, namespace = 'default'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...spec },
  };
}

export function node(name: string, ip: string, podCIDR?: string, extra: Partial<Node['spec']> = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { ...(podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {}), ...extra },
    status: {
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

export function workload(
  kind: WorkloadKind,
  name: string,
  replicas: number,
  over: Partial<Workload['spec']> = {},
  namespace = 'default',
): Workload {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
      ...over,
    },
  };
}

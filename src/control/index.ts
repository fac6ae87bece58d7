// The control plane: from the desired state (Cluster) to what the API server would hold after the
// scheduler, IPAM and controllers ran (ClusterState). Pure and deterministic.
import type { Cluster, ClusterState, NodeInfo } from '../model/cluster.js';
import { problemAt } from '../model/errors.js';
import type { Container, EndpointSlice, KObject, Namespace, Pod, Service } from '../model/k8s.js';
import { SERVICE_NAME_LABEL } from '../model/k8s.js';
import {
  corednsConfigMap,
  corednsDeployment,
  kubeDnsService,
  kubernetesEndpointSlice,
  kubernetesService,
  NAMESPACE_NAME_LABEL,
  namespaceObject,
  SYSTEM_NAMESPACES,
} from './builtin-objects.js';
import { reconcileEndpointSlices } from './endpointslices.js';
import { type Findings, throwIfProblems } from './findings.js';
import { stableUID } from './names.js';
import { CONTROL_PLANE_LABEL, registerNodes } from './nodes.js';
import { assignPodIPs } from './pod-ipam.js';
import { podsByNode } from './pods-by-node.js';
import { schedulePods } from './scheduler.js';
import { allocateServices } from './service-allocation.js';
import { expandWorkloads } from './workloads.js';

/**
 * Runs the control plane over `cluster`. Throws InputError (file:line:col, field) for input no real
 * cluster could hold; puts what a user should know in `warnings`.
 */
export function runControlPlane(cluster: Cluster): ClusterState {
  const config = cluster.config;
  const f: Findings = { problems: [], warnings: [], sources: cluster.sources };

  const { nodes, nodeInfo } = registerNodes(config, cluster.nodes, f);
  if (!config.serviceCIDR.contains(config.dnsServiceIP)) {
    const msg = `DNS service IP ${config.dnsServiceIP} is outside the service CIDR ${config.serviceCIDR}`;
    f.problems.push(problemAt(config.source, 'spec.dnsServiceIP', msg));
  }
  throwIfProblems(f);

  const services = withBuiltinServices(cluster.services.map(namespaced), cluster);
  const workloads = cluster.workloads.map(namespaced);
  // kubeadm creates CoreDNS at bootstrap, so its pods exist (and are placed) before any user pod.
  const addons = workloads.some((w) => w.kind === 'Deployment' && isAt(w, 'kube-system', 'coredns'))
    ? []
    : [corednsDeployment()];
  const configMaps = [...cluster.configMaps];
  if (!configMaps.some((c) => c.kind === 'ConfigMap' && isAt(c, 'kube-system', 'coredns'))) {
    configMaps.unshift(corednsConfigMap(config));
  }

  const inputPods = cluster.pods.map(namespaced);
  const addonPods = expandWorkloads(addons, inputPods, nodes, nodeInfo);
  const created = expandWorkloads(workloads, [...addonPods, ...inputPods], nodes, nodeInfo);
  const defaulted = new WeakMap<Container[], Container[]>();
  let pods = [...addonPods, ...inputPods, ...created].map((p) => withPodDefaults(p, defaulted));
  pods = schedulePods(pods, nodes, nodeInfo, f);
  throwIfProblems(f);
  pods = assignPodIPs(pods, nodeInfo, f);
  throwIfProblems(f);

  const allocated = allocateServices(services, config, f);
  throwIfProblems(f);

  const inputSlices = cluster.endpointSlices.map(namespaced);
  const slices: EndpointSlice[] = reconcileEndpointSlices(allocated, pods, nodeInfo, inputSlices);
  if (!inputSlices.some((s) => isAt(s, 'default', 'kubernetes') || isKubernetesSlice(s))) {
    slices.push(kubernetesEndpointSlice(apiServerNodes(nodeInfo).map((n) => n.internalIP)));
  }

  const namespaces = resolveNamespaces(
    cluster.namespaces,
    [...pods, ...allocated, ...slices, ...workloads],
    f,
  );
  pods.sort(byNamespaceName);
  // Built here, as the API server keeps it, so programming a node reads only that node's pods.
  podsByNode(pods);
  return {
    config,
    namespaces: namespaces.sort(byName),
    nodes,
    nodeInfo,
    pods,
    services: allocated.sort(byNamespaceName),
    endpointSlices: slices.sort(byNamespaceName),
    policies: cluster.policies,
    l7: cluster.l7,
    configMaps,
    ignored: cluster.ignored,
    sources: cluster.sources,
    warnings: f.warnings,
  };
}

/** The nodes the API server runs on: those labelled control-plane (or master), else the first node. */
export function apiServerNodes(nodes: NodeInfo[]): NodeInfo[] {
  const cp = nodes.filter(
    (n) => CONTROL_PLANE_LABEL in n.labels || 'node-role.kubernetes.io/master' in n.labels,
  );
  return cp.length > 0 ? cp : nodes.slice(0, 1);
}

function withBuiltinServices(services: Service[], cluster: Cluster): Service[] {
  const out = [...services];
  if (!out.some((s) => isAt(s, 'kube-system', 'kube-dns')))
    out.unshift(kubeDnsService(cluster.config.dnsServiceIP));
  if (!out.some((s) => isAt(s, 'default', 'kubernetes'))) out.unshift(kubernetesService());
  return out;
}

function isKubernetesSlice(s: EndpointSlice): boolean {
  return (
    (s.metadata.namespace ?? 'default') === 'default' &&
    s.metadata.labels?.[SERVICE_NAME_LABEL] === 'kubernetes'
  );
}

function isAt(o: KObject, namespace: string, name: string): boolean {
  return (o.metadata.namespace ?? 'default') === namespace && o.metadata.name === name;
}

/** Namespaced objects without metadata.namespace live in `default`, as kubectl would create them. */
function namespaced<T extends KObject>(o: T): T {
  if (o.metadata.namespace) return o;
  return { ...o, metadata: { ...o.metadata, namespace: 'default' } };
}

/** API defaults the later layers read: dnsPolicy ClusterFirst, container port protocol TCP. */
function withPodDefaults(p: Pod, defaulted: WeakMap<Container[], Container[]>): Pod {
  const ports = (c: Container): Container =>
    c.ports ? { ...c, ports: c.ports.map((cp) => ({ ...cp, protocol: cp.protocol ?? 'TCP' })) } : c;
  // Pods of one template share their containers array; default it once.
  const containers = p.spec.containers ?? [];
  let cs = defaulted.get(containers);
  if (!cs) {
    cs = containers.map(ports);
    defaulted.set(containers, cs);
  }
  return {
    ...p,
    metadata: {
      ...p.metadata,
      uid: p.metadata.uid ?? stableUID('Pod', p.metadata.namespace, p.metadata.name),
    },
    spec: {
      ...p.spec,
      dnsPolicy: p.spec.dnsPolicy ?? 'ClusterFirst',
      containers: cs,
      ...(p.spec.initContainers ? { initContainers: p.spec.initContainers.map(ports) } : {}),
    },
  };
}

/**
 * Input namespaces (with the label the API server adds to every namespace), the four system ones,
 * and — with a warning, since a real API server would refuse the objects — any other used namespace.
 */
function resolveNamespaces(input: Namespace[], objects: KObject[], f: Findings): Namespace[] {
  const out = new Map<string, Namespace>();
  for (const ns of input) {
    const name = ns.metadata.name;
    out.set(name, {
      ...ns,
      metadata: {
        ...ns.metadata,
        uid: ns.metadata.uid ?? stableUID('Namespace', undefined, name),
        labels: { ...(ns.metadata.labels ?? {}), [NAMESPACE_NAME_LABEL]: name },
      },
      spec: ns.spec ?? { finalizers: ['kubernetes'] },
      status: ns.status ?? { phase: 'Active' },
    });
  }
  for (const name of SYSTEM_NAMESPACES) if (!out.has(name)) out.set(name, namespaceObject(name));
  const missing = new Set<string>();
  for (const o of objects) {
    const ns = o.metadata.namespace;
    if (ns && !out.has(ns)) missing.add(ns);
  }
  for (const name of [...missing].sort()) {
    f.warnings.push(
      `Namespace ${name} is used but not defined; kpath creates it (a real API server would refuse the objects)`,
    );
    out.set(name, namespaceObject(name));
  }
  return [...out.values()];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: KObject, b: KObject): number {
  return cmp(a.metadata.name, b.metadata.name);
}

/** List order of the API server (etcd keys): namespace, then name. */
function byNamespaceName(a: KObject, b: KObject): number {
  return cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || cmp(a.metadata.name, b.metadata.name);
}

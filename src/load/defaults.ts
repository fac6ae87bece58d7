// Kubernetes API defaulting as the API server applies it on create (pkg/apis/core/v1/defaults.go,
// discovery/v1, apps/v1, networking/v1 defaults and the Service registry's IP-family logic).
// Only defaults, never allocations: clusterIP, nodePort and podIP stay absent for the control plane.
import { IPAddr } from '../net/ip.js';
import { isRecord } from './parse.js';

type Obj = Record<string, unknown>;

function records(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

function defaultContainers(spec: Obj): void {
  for (const key of ['containers', 'initContainers']) {
    for (const c of records(spec[key])) {
      for (const p of records(c.ports)) p.protocol ??= 'TCP';
    }
  }
}

/** SetDefaults_PodSpec: also applies inside workload templates. */
function defaultPodSpec(spec: Obj): void {
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.restartPolicy ??= 'Always';
  defaultContainers(spec);
}

export function defaultPod(pod: Obj): void {
  if (!isRecord(pod.spec)) return;
  defaultPodSpec(pod.spec);
  if (pod.spec.hostNetwork === true) {
    // SetDefaults_Pod: with hostNetwork the host port is the container port (not done for templates).
    for (const key of ['containers', 'initContainers']) {
      for (const c of records(pod.spec[key])) {
        for (const p of records(c.ports)) if (!p.hostPort) p.hostPort = p.containerPort;
      }
    }
  }
}

function defaultWorkload(w: Obj): void {
  if (!isRecord(w.spec)) return;
  if (w.kind !== 'DaemonSet') w.spec.replicas ??= 1;
  const t = w.spec.template;
  if (isRecord(t) && isRecord(t.spec)) defaultPodSpec(t.spec);
}

function family(ip: unknown): 'IPv4' | 'IPv6' | undefined {
  if (typeof ip !== 'string') return undefined;
  const a = IPAddr.tryParse(ip);
  return a ? (a.family === 4 ? 'IPv4' : 'IPv6') : undefined;
}

function defaultService(svc: Obj): void {
  if (!isRecord(svc.spec)) svc.spec = {};
  const s = svc.spec as Obj;
  s.type ??= 'ClusterIP';
  s.sessionAffinity ??= 'None';
  if (s.sessionAffinity === 'None') delete s.sessionAffinityConfig;
  if (s.sessionAffinity === 'ClientIP') {
    const cfg = isRecord(s.sessionAffinityConfig) ? s.sessionAffinityConfig : {};
    const cip = isRecord(cfg.clientIP) ? cfg.clientIP : {};
    cip.timeoutSeconds ??= 10800; // v1.DefaultClientIPServiceAffinitySeconds (3 hours)
    cfg.clientIP = cip;
    s.sessionAffinityConfig = cfg;
  }
  for (const p of records(s.ports)) {
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const externalIPs = Array.isArray(s.externalIPs) ? s.externalIPs : [];
  // ExternallyAccessible(): NodePort, LoadBalancer, or ClusterIP with externalIPs.
  const external =
    s.type === 'NodePort' || s.type === 'LoadBalancer' || (s.type === 'ClusterIP' && externalIPs.length > 0);
  if (external) s.externalTrafficPolicy ??= 'Cluster';
  if (s.type !== 'ExternalName') s.internalTrafficPolicy ??= 'Cluster';
  if (s.type === 'LoadBalancer') s.allocateLoadBalancerNodePorts ??= true;
  if (s.type === 'ExternalName') return;
  // The registry keeps clusterIP and clusterIPs[0] in step.
  if (typeof s.clusterIP === 'string' && s.clusterIP !== '' && !Array.isArray(s.clusterIPs))
    s.clusterIPs = [s.clusterIP];
  if (
    Array.isArray(s.clusterIPs) &&
    s.clusterIPs.length > 0 &&
    (s.clusterIP === undefined || s.clusterIP === '')
  ) {
    s.clusterIP = s.clusterIPs[0];
  }
  const ips = Array.isArray(s.clusterIPs) ? s.clusterIPs.filter((x) => x !== 'None' && x !== '') : [];
  const headless = s.clusterIP === 'None';
  if (!Array.isArray(s.ipFamilies) && ips.length > 0) {
    const fams = ips.map(family);
    if (fams.every((x) => x !== undefined)) s.ipFamilies = fams;
  }
  // Headless services without a selector take the cluster's families; leave those to the control plane.
  if (s.ipFamilyPolicy === undefined && !(headless && !isRecord(s.selector))) {
    const two = ips.length === 2 || (Array.isArray(s.ipFamilies) && s.ipFamilies.length === 2);
    s.ipFamilyPolicy = two ? 'RequireDualStack' : 'SingleStack';
  }
  if (s.type === 'LoadBalancer' && isRecord(svc.status) && isRecord(svc.status.loadBalancer)) {
    // LoadBalancerIPMode (GA in 1.32): an ingress with an IP defaults to ipMode VIP.
    for (const ing of records(svc.status.loadBalancer.ingress))
      if (ing.ip !== undefined) ing.ipMode ??= 'VIP';
  }
}

function defaultEndpointSlice(es: Obj): void {
  for (const p of records(es.ports)) {
    p.protocol ??= 'TCP';
    p.name ??= ''; // SetDefaults_EndpointPort: the unnamed port is "" (matches the Service's unnamed port)
  }
  if (!Array.isArray(es.endpoints)) es.endpoints = [];
}

function defaultNetworkPolicy(np: Obj): void {
  if (!isRecord(np.spec)) return;
  const s = np.spec;
  for (const rules of [s.ingress, s.egress]) {
    for (const r of records(rules)) for (const p of records(r.ports)) p.protocol ??= 'TCP';
  }
  // SetDefaults_NetworkPolicy: Ingress always, Egress when egress rules are given.
  if (!Array.isArray(s.policyTypes) || s.policyTypes.length === 0) {
    s.policyTypes = Array.isArray(s.egress) && s.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
}

/** SetDefaults_Namespace: every namespace carries its own name as a label, for namespaceSelectors. */
function defaultNamespace(ns: Obj): void {
  const md = ns.metadata as Obj;
  md.labels = { ...(isRecord(md.labels) ? md.labels : {}), 'kubernetes.io/metadata.name': md.name };
}

/** A defaulted copy of an object of a kind kpath models (`kind` is the canonical kind). */
export function applyDefaults<T extends Obj>(kind: string, o: T): T {
  const c = structuredClone(o);
  switch (kind) {
    case 'Pod':
      defaultPod(c);
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
      defaultWorkload(c);
      break;
    case 'Service':
      defaultService(c);
      break;
    case 'EndpointSlice':
      defaultEndpointSlice(c);
      break;
    case 'NetworkPolicy':
      defaultNetworkPolicy(c);
      break;
    case 'Namespace':
      defaultNamespace(c);
      break;
    case 'ConfigMap':
      (c as Obj).data ??= {}; // SetDefaults_ConfigMap
      break;
  }
  return c;
}

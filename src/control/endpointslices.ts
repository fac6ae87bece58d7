// The EndpointSlice controller (staging/src/k8s.io/endpointslice: reconciler.go, utils.go): for each
// Service with a selector, the pods it selects become endpoints, grouped by address type and by the
// ports resolved for each pod, at most 100 per slice. Slices already in the input for a Service
// (a snapshot) are kept as given and nothing is generated for it.
import type { NodeInfo } from '../model/cluster.js';
import {
  ENDPOINTSLICE_CONTROLLER,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  MANAGED_BY_LABEL,
  type Pod,
  SERVICE_NAME_LABEL,
  type Service,
  type ServicePort,
} from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import { LabelIndex } from './label-selector.js';
import { generateName, stableUID } from './names.js';
import { ZONE_LABEL } from './nodes.js';

/** maxEndpointsPerSlice, kube-controller-manager's default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

type AddressType = 'IPv4' | 'IPv6';

/** The input's slices plus the slices the controller would write for every other selector Service. */
export function reconcileEndpointSlices(
  services: Service[],
  pods: Pod[],
  nodes: NodeInfo[],
  inputSlices: EndpointSlice[],
): EndpointSlice[] {
  const stated = new Set<string>();
  const taken = new Set<string>();
  for (const s of inputSlices) {
    const ns = s.metadata.namespace ?? 'default';
    taken.add(`${ns}/${s.metadata.name}`);
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (svc) stated.add(`${ns}/${svc}`);
  }
  const index = new LabelIndex<Pod>();
  for (const p of pods) if (shouldPodBeInEndpoints(p)) index.add(p);
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const out = [...inputSlices];
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? 'default';
    const selector = svc.spec.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    if (svc.spec.type === 'ExternalName' || stated.has(`${ns}/${svc.metadata.name}`)) continue;
    out.push(...slicesForService(svc, index.selectMap(ns, selector), nodeByName, taken));
  }
  return out;
}

/** ShouldPodBeInEndpoints(pod, includeTerminating=true): not terminal, and has an IP. */
export function shouldPodBeInEndpoints(p: Pod): boolean {
  const phase = p.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return false;
  return !!(p.status?.podIP || p.status?.podIPs?.length);
}

export function isPodReady(p: Pod): boolean {
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** podutil.FindPort: a number is used as is; a name must match a container port of the same protocol. */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const proto = sp.protocol ?? 'TCP';
  for (const c of pod.spec.containers ?? []) {
    for (const cp of c.ports ?? [])
      if (cp.name === target && (cp.protocol ?? 'TCP') === proto) return cp.containerPort;
  }
  return undefined;
}

/** getEndpointPorts: the service ports that resolve for this pod (the others are left out). */
export function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

function addressTypes(svc: Service): AddressType[] {
  const fams = svc.spec.ipFamilies ?? [];
  if (fams.length > 0) return fams.map((f) => (f === 'IPv6' ? 'IPv6' : 'IPv4'));
  const ip =
    svc.spec.clusterIP && svc.spec.clusterIP !== 'None' ? IPAddr.tryParse(svc.spec.clusterIP) : undefined;
  if (ip) return [ip.family === 6 ? 'IPv6' : 'IPv4'];
  // A headless Service without families: the controller assumes both (getAddressTypesForService).
  return ['IPv4', 'IPv6'];
}

function slicesForService(
  svc: Service,
  pods: Pod[],
  nodeByName: Map<string, NodeInfo>,
  taken: Set<string>,
): EndpointSlice[] {
  const ns = svc.metadata.namespace ?? 'default';
  const groups = new Map<string, { type: AddressType; ports: EndpointPort[]; endpoints: Endpoint[] }>();
  const types = addressTypes(svc);
  const headless = !svc.spec.clusterIP || svc.spec.clusterIP === 'None';
  for (const pod of pods) {
    const node = pod.spec.nodeName ? nodeByName.get(pod.spec.nodeName) : undefined;
    // A pod on a node that does not exist is skipped unless the Service publishes not-ready addresses.
    if (!node && !svc.spec.publishNotReadyAddresses) continue;
    const ports = headless && (svc.spec.ports ?? []).length === 0 ? [] : endpointPorts(svc, pod);
    const portKey = JSON.stringify(ports);
    for (const type of types) {
      const ep = podToEndpoint(pod, node, svc, type);
      if (ep.addresses.length === 0) continue;
      const key = `${type}|${portKey}`;
      let g = groups.get(key);
      if (!g) {
        g = { type, ports, endpoints: [] };
        groups.set(key, g);
      }
      g.endpoints.push(ep);
    }
  }
  const slices: EndpointSlice[] = [];
  const make = (
    type: AddressType,
    ports: EndpointPort[] | undefined,
    endpoints: Endpoint[],
    seed: string,
  ) => {
    const name = generateName(`${svc.metadata.name}-`, `${ns}/${svc.metadata.name}/${seed}`, taken);
    const slice: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name,
        generateName: `${svc.metadata.name}-`,
        namespace: ns,
        uid: stableUID('EndpointSlice', ns, name),
        labels: sliceLabels(svc, headless),
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            name: svc.metadata.name,
            uid: svc.metadata.uid ?? stableUID('Service', ns, svc.metadata.name),
            controller: true,
          },
        ],
      },
      addressType: type,
      endpoints,
    };
    if (ports) slice.ports = ports;
    slices.push(slice);
  };
  for (const [key, g] of groups) {
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
      make(g.type, g.ports, g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE), `${key}#${i}`);
    }
  }
  // With nothing to publish the controller still keeps one empty placeholder slice per address type.
  if (slices.length === 0) for (const type of types) make(type, undefined, [], `placeholder|${type}`);
  return slices;
}

/** The Service's labels minus the reserved ones, then headless, service-name and managed-by. */
function sliceLabels(svc: Service, headless: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) {
    if (k === SERVICE_NAME_LABEL || k === MANAGED_BY_LABEL || k === HEADLESS_LABEL) continue;
    out[k] = v;
  }
  if (headless) out[HEADLESS_LABEL] = '';
  out[SERVICE_NAME_LABEL] = svc.metadata.name;
  out[MANAGED_BY_LABEL] = ENDPOINTSLICE_CONTROLLER;
  return out;
}

/** podToEndpoint (utils.go), fields in the API's order. */
function podToEndpoint(pod: Pod, node: NodeInfo | undefined, svc: Service, type: AddressType): Endpoint {
  const serving = isPodReady(pod);
  const terminating = pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  // "ready" is never true for a terminating pod unless the Service publishes not-ready addresses.
  const ready = !!svc.spec.publishNotReadyAddresses || (serving && !terminating);
  const ips = pod.status?.podIPs?.length
    ? pod.status.podIPs.map((x) => x.ip)
    : pod.status?.podIP
      ? [pod.status.podIP]
      : [];
  const addresses = ips.filter((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4') === type);
  const ep: Endpoint = { addresses, conditions: { ready, serving, terminating } };
  // ShouldSetHostname: the pod's hostname is published when its subdomain names this Service.
  if (
    pod.spec.hostname &&
    pod.spec.subdomain === svc.metadata.name &&
    pod.metadata.namespace === svc.metadata.namespace
  ) {
    ep.hostname = pod.spec.hostname;
  }
  ep.targetRef = {
    kind: 'Pod',
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name,
    ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
  };
  if (pod.spec.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.labels[ZONE_LABEL];
  if (zone) ep.zone = zone;
  return ep;
}

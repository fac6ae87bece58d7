// What CoreDNS's kubernetes plugin holds in its informer caches, indexed once per ClusterState:
// services by name and ClusterIP, ready EndpointSlice addresses, pods by IP, existing namespaces.
import type { ClusterState } from '../model/cluster.js';
import type { EndpointSlice, Pod, Service } from '../model/k8s.js';
import { SERVICE_NAME_LABEL } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';

export interface DnsPort {
  name: string;
  protocol: string;
  /** Service port for ClusterIP services; the EndpointSlice (target) port for endpoints; -1 = portless. */
  port: number;
}

export interface DnsEndpoint {
  ip: IPAddr;
  /** EndpointSlice hostname (set for StatefulSet-style hostname/subdomain pods). */
  hostname?: string;
  /** targetRef pod name, used by `endpoint_pod_names`. */
  podName?: string;
  ports: DnsPort[];
}

export interface DnsService {
  name: string;
  namespace: string;
  kind: 'ClusterIP' | 'Headless' | 'ExternalName';
  clusterIPs: IPAddr[];
  externalName?: string;
  ports: DnsPort[];
  /** Ready addresses only, across all of the service's EndpointSlices, in slice order. */
  endpoints: DnsEndpoint[];
}

export interface DnsIndex {
  namespaces: ReadonlySet<string>;
  /** Keyed by `name.namespace` in lowercase. */
  services: ReadonlyMap<string, DnsService>;
  /** ClusterIP (canonical text) → services, in state order. */
  byClusterIP: ReadonlyMap<string, DnsService[]>;
  /** Endpoint IP → (service, endpoint) pairs. */
  byEndpointIP: ReadonlyMap<string, { service: DnsService; endpoint: DnsEndpoint }[]>;
  /** Pod primary IP → pods that CoreDNS's pod cache would hold (phase not Succeeded/Failed/Unknown). */
  podsByIP: ReadonlyMap<string, Pod[]>;
  /** The SOA serial: CoreDNS uses the Unix time of the last object change; here the newest creationTimestamp. */
  serial: number;
  dnsServiceIP: IPAddr;
  clusterDomain: string;
}

// Namespaces every real cluster has, even when the input does not declare them.
const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export function serviceKey(name: string, namespace: string): string {
  return `${name}.${namespace}`.toLowerCase();
}

export function buildDnsIndex(state: ClusterState): DnsIndex {
  const namespaces = new Set<string>(BUILTIN_NAMESPACES);
  for (const ns of state.namespaces) namespaces.add(ns.metadata.name.toLowerCase());

  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const s of state.endpointSlices) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc || s.addressType === 'FQDN') continue;
    const key = serviceKey(svc, s.metadata.namespace ?? 'default');
    const list = slicesByService.get(key) ?? [];
    list.push(s);
    slicesByService.set(key, list);
  }

  const services = new Map<string, DnsService>();
  const byClusterIP = new Map<string, DnsService[]>();
  const byEndpointIP = new Map<string, { service: DnsService; endpoint: DnsEndpoint }[]>();
  let serial = 0;
  const stamp = (t: string | undefined) => {
    const ms = t ? Date.parse(t) : Number.NaN;
    if (!Number.isNaN(ms)) serial = Math.max(serial, Math.floor(ms / 1000));
  };

  for (const svc of state.services) {
    stamp(svc.metadata.creationTimestamp);
    const entry = toDnsService(
      svc,
      slicesByService.get(serviceKey(svc.metadata.name, svc.metadata.namespace ?? 'default')) ?? [],
    );
    services.set(serviceKey(entry.name, entry.namespace), entry);
    for (const ip of entry.clusterIPs) {
      const list = byClusterIP.get(ip.toString()) ?? [];
      list.push(entry);
      byClusterIP.set(ip.toString(), list);
    }
    for (const ep of entry.endpoints) {
      const list = byEndpointIP.get(ep.ip.toString()) ?? [];
      list.push({ service: entry, endpoint: ep });
      byEndpointIP.set(ep.ip.toString(), list);
    }
  }
  for (const s of state.endpointSlices) stamp(s.metadata.creationTimestamp);

  const podsByIP = new Map<string, Pod[]>();
  for (const pod of state.pods) {
    stamp(pod.metadata.creationTimestamp);
    const phase = pod.status?.phase;
    // object/pod.go: the pod cache skips Succeeded, Failed and Unknown pods, and pods first seen terminating.
    if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Unknown') continue;
    if (pod.metadata.deletionTimestamp) continue;
    const ip = pod.status?.podIP ? IPAddr.tryParse(pod.status.podIP) : undefined;
    if (!ip) continue;
    const list = podsByIP.get(ip.toString()) ?? [];
    list.push(pod);
    podsByIP.set(ip.toString(), list);
  }

  return {
    namespaces,
    services,
    byClusterIP,
    byEndpointIP,
    podsByIP,
    serial,
    dnsServiceIP: state.config.dnsServiceIP,
    clusterDomain: state.config.clusterDomain,
  };
}

function toDnsService(svc: Service, slices: EndpointSlice[]): DnsService {
  const name = svc.metadata.name;
  const namespace = svc.metadata.namespace ?? 'default';
  const ports: DnsPort[] = (svc.spec.ports ?? []).map((p) => ({
    name: p.name ?? '',
    protocol: p.protocol ?? 'TCP',
    port: p.port,
  }));
  if (svc.spec.type === 'ExternalName') {
    return {
      name,
      namespace,
      kind: 'ExternalName',
      clusterIPs: [],
      externalName: svc.spec.externalName ?? '',
      ports,
      endpoints: [],
    };
  }
  const ipTexts = svc.spec.clusterIPs?.length
    ? svc.spec.clusterIPs
    : svc.spec.clusterIP
      ? [svc.spec.clusterIP]
      : [];
  const headless = ipTexts.length > 0 && ipTexts[0] === 'None';
  const clusterIPs = headless ? [] : ipTexts.map((t) => IPAddr.tryParse(t)).filter((x): x is IPAddr => !!x);
  const endpoints: DnsEndpoint[] = [];
  for (const slice of slices) {
    const slicePorts: DnsPort[] = (slice.ports ?? []).map((p) => ({
      name: p.name ?? '',
      protocol: p.protocol ?? 'TCP',
      port: p.port ?? -1,
    }));
    // object/endpoint.go: a slice without ports gets the sentinel port -1 (A records, no SRV).
    const epPorts = slicePorts.length > 0 ? slicePorts : [{ name: '', protocol: 'TCP', port: -1 }];
    for (const ep of slice.endpoints) {
      // endpointsliceReady: ready true or unset (unknown) counts as ready.
      if (ep.conditions?.ready === false) continue;
      for (const a of ep.addresses) {
        const ip = IPAddr.tryParse(a);
        if (!ip) continue;
        endpoints.push({
          ip,
          ...(ep.hostname ? { hostname: ep.hostname } : {}),
          ...(ep.targetRef?.kind === 'Pod' ? { podName: ep.targetRef.name } : {}),
          ports: epPorts,
        });
      }
    }
  }
  return { name, namespace, kind: headless ? 'Headless' : 'ClusterIP', clusterIPs, ports, endpoints };
}

/** kubernetes.go endpointHostname: hostname, else (endpoint_pod_names) a pod name under 64 chars, else the dashed IP. */
export function endpointName(ep: DnsEndpoint, endpointPodNames: boolean): string {
  if (ep.hostname) return ep.hostname;
  if (endpointPodNames && ep.podName && ep.podName.length < 64) return ep.podName;
  const text = ep.ip.toString();
  if (ep.ip.family === 4) return text.replaceAll('.', '-');
  const dashed = text.replaceAll(':', '-');
  return dashed.endsWith('-') ? `${dashed}0` : dashed;
}

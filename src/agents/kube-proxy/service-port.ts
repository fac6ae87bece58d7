// kube-proxy's view of a Service: one ServicePort per spec.ports[] entry, already filtered to the
// proxier's IP family (pkg/proxy/serviceport.go, servicechangetracker.go).

import type { Protocol, Service } from '../../model/k8s.js';
import type { Family } from '../../net/ip.js';
import { IPAddr, Prefix } from '../../net/ip.js';

/** Default `sessionAffinityConfig.clientIP.timeoutSeconds` (API default, 3 hours). */
export const DEFAULT_STICKY_MAX_AGE_SECONDS = 10800;

export interface ServicePortInfo {
  /** `ns/name` or `ns/name:port`: what kube-proxy prints in comments and hashes (protocol not included). */
  readonly name: string;
  readonly namespace: string;
  readonly serviceName: string;
  readonly portName: string;
  readonly protocol: Protocol;
  readonly clusterIP: IPAddr;
  readonly port: number;
  /** 0 = none. */
  readonly nodePort: number;
  readonly externalIPs: readonly IPAddr[];
  readonly loadBalancerVIPs: readonly IPAddr[];
  readonly loadBalancerSourceRanges: readonly Prefix[];
  readonly sessionAffinityClientIP: boolean;
  readonly stickyMaxAgeSeconds: number;
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  /** 0 = none; only LoadBalancer services with eTP Local have one. */
  readonly healthCheckNodePort: number;
}

/** The key kube-proxy uses to join service ports to endpoint slice ports: name + protocol, never the number. */
export function servicePortKey(
  namespace: string,
  serviceName: string,
  portName: string,
  protocol: Protocol,
): string {
  return `${namespace}/${serviceName}\u0000${portName}\u0000${protocol}`;
}

export function servicePortKeyOf(sp: ServicePortInfo): string {
  return servicePortKey(sp.namespace, sp.serviceName, sp.portName, sp.protocol);
}

/** `nodePort != 0 || LB VIPs || externalIPs` (BaseServicePortInfo.ExternallyAccessible). */
export function externallyAccessible(sp: ServicePortInfo): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
}

export function usesClusterEndpoints(sp: ServicePortInfo): boolean {
  // Cluster endpoints are needed unless both internal and external traffic are Local-only.
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

export function usesLocalEndpoints(sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));
}

function clusterIPForFamily(svc: Service, family: Family): IPAddr | undefined {
  const spec = svc.spec;
  const candidates =
    spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  for (const c of candidates) {
    const ip = IPAddr.tryParse(c);
    if (ip && ip.family === family) return ip;
  }
  return undefined;
}

function ipsOfFamily(texts: readonly string[] | undefined, family: Family): IPAddr[] {
  const out: IPAddr[] = [];
  for (const t of texts ?? []) {
    const ip = IPAddr.tryParse(t);
    if (ip && ip.family === family) out.push(ip);
  }
  return out;
}

/** API-level ExternallyAccessible: LoadBalancer, NodePort, or ClusterIP with externalIPs. */
function serviceExternallyAccessible(svc: Service): boolean {
  const type = svc.spec.type ?? 'ClusterIP';
  return (
    type === 'LoadBalancer' ||
    type === 'NodePort' ||
    (type === 'ClusterIP' && (svc.spec.externalIPs?.length ?? 0) > 0)
  );
}

/** True for services kube-proxy never programs: headless, unset ClusterIP, ExternalName. */
export function shouldSkipService(svc: Service): boolean {
  const cip = svc.spec.clusterIP;
  return cip === undefined || cip === '' || cip === 'None' || svc.spec.type === 'ExternalName';
}

/** The ServicePorts of one service for one family (empty when the service has no ClusterIP of the family). */
export function servicePortsOf(svc: Service, family: Family): ServicePortInfo[] {
  if (shouldSkipService(svc)) return [];
  const clusterIP = clusterIPForFamily(svc, family);
  if (!clusterIP) return [];
  const spec = svc.spec;
  const namespace = svc.metadata.namespace ?? 'default';
  const serviceName = svc.metadata.name;
  const externalIPs = ipsOfFamily(spec.externalIPs, family);
  const sourceRanges: Prefix[] = [];
  for (const r of spec.loadBalancerSourceRanges ?? []) {
    // Upstream trims whitespace and keeps the network address (ParseCIDRSloppy + IPNet.String()).
    const p = Prefix.tryParse(r.trim());
    if (p && p.family === family && r.trim().includes('/')) sourceRanges.push(p);
  }
  const vips: IPAddr[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (!ing.ip) continue;
    // ipMode Proxy: the LB proxies itself, kube-proxy must not capture the VIP.
    if (ing.ipMode !== undefined && ing.ipMode !== 'VIP') continue;
    const ip = IPAddr.tryParse(ing.ip);
    if (ip && ip.family === family) vips.push(ip);
  }
  const type = spec.type ?? 'ClusterIP';
  const externalPolicyLocal = serviceExternallyAccessible(svc) && spec.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
  const affinity = spec.sessionAffinity === 'ClientIP';
  const stickyMaxAgeSeconds = affinity
    ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_STICKY_MAX_AGE_SECONDS)
    : 0;
  const healthCheckNodePort =
    type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' ? (spec.healthCheckNodePort ?? 0) : 0;
  return (spec.ports ?? []).map((p) => {
    const portName = p.name ?? '';
    return {
      name: portName ? `${namespace}/${serviceName}:${portName}` : `${namespace}/${serviceName}`,
      namespace,
      serviceName,
      portName,
      protocol: p.protocol ?? 'TCP',
      clusterIP,
      port: p.port,
      nodePort: p.nodePort ?? 0,
      externalIPs,
      loadBalancerVIPs: vips,
      loadBalancerSourceRanges: sourceRanges,
      sessionAffinityClientIP: affinity,
      stickyMaxAgeSeconds,
      externalPolicyLocal,
      internalPolicyLocal,
      healthCheckNodePort,
    };
  });
}

/** Every ServicePort of the family, sorted by name string then protocol (deterministic; upstream is map order). */
export function buildServicePorts(services: readonly Service[], family: Family): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  const seen = new Set<string>();
  for (const svc of services) {
    for (const sp of servicePortsOf(svc, family)) {
      const key = servicePortKeyOf(sp);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(sp);
    }
  }
  out.sort((a, b) =>
    a.name < b.name
      ? -1
      : a.name > b.name
        ? 1
        : a.protocol < b.protocol
          ? -1
          : a.protocol > b.protocol
            ? 1
            : 0,
  );
  return out;
}

// The probes `lab verify` runs: pod → pod, pod → ClusterIP, pod → NodePort, external → NodePort and
// external → LoadBalancer, TCP and UDP, same node and cross node. Service probes are tagged `affinity`
// (sessionAffinity ClientIP) and `hairpin` (the source pod is the service's only endpoint, so it reaches
// itself). Pure: derived from the ClusterState and the lab's namespace names.
import type { ClusterState } from '../model/cluster.js';
import { type Pod, SERVICE_NAME_LABEL, type Service } from '../model/k8s.js';
import { externalNetns, nodeNetns, podNetns } from './names.js';

export type ProbeCategory =
  | 'pod-pod'
  | 'pod-clusterip'
  | 'pod-nodeport'
  | 'external-nodeport'
  | 'external-lb';

/** What makes a service probe special: ClientIP stickiness, or a pod reaching itself through its service. */
export type ProbeTag = 'affinity' | 'hairpin';

export interface Probe {
  id: string;
  category: ProbeCategory;
  /** `same-node` / `cross-node` for pod → pod, `service` where kube-proxy or the LB chooses. */
  scope: 'same-node' | 'cross-node' | 'service';
  /** FROM as `kpath trace` names it: `ns/pod` or `external:IP`. */
  from: string;
  /** The namespace the real connection starts in. */
  fromNetns: string;
  /** The destination address and port as dialled. */
  ip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  /** A readable destination: `pod/shop/db-0`, `svc/default/my-app`, `node/node-1`, `lb 203.0.113.50`. */
  toLabel: string;
  tags?: ProbeTag[];
}

function key(p: Pod): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
}

function protocolOf(p: string | undefined): 'tcp' | 'udp' | undefined {
  const x = (p ?? 'TCP').toUpperCase();
  return x === 'TCP' ? 'tcp' : x === 'UDP' ? 'udp' : undefined;
}

/** Ready endpoint addresses per service (`ns/name`), from its EndpointSlices. */
function readyEndpoints(state: ClusterState): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of state.endpointSlices) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const k = `${s.metadata.namespace ?? 'default'}/${svc}`;
    const set = out.get(k) ?? new Set<string>();
    for (const e of s.endpoints) if (e.conditions?.ready !== false) for (const a of e.addresses) set.add(a);
    out.set(k, set);
  }
  return out;
}

function tagsOf(svc: Service, endpoints: ReadonlySet<string> | undefined, fromIp?: string): ProbeTag[] {
  const tags: ProbeTag[] = [];
  if (svc.spec.sessionAffinity === 'ClientIP') tags.push('affinity');
  if (fromIp && endpoints?.size === 1 && endpoints.has(fromIp)) tags.push('hairpin');
  return tags;
}

export function labProbes(state: ClusterState, lab: string): Probe[] {
  const pods = state.pods.filter((p) => p.status?.podIP && p.spec.nodeName);
  const ready = readyEndpoints(state);
  const source = (p: Pod) =>
    p.spec.hostNetwork
      ? nodeNetns(lab, p.spec.nodeName ?? '')
      : podNetns(lab, p.metadata.namespace ?? 'default', p.metadata.name);
  const out: Probe[] = [];
  const add = ({ tags, ...p }: Omit<Probe, 'id'>) =>
    out.push({
      id: `${p.category}:${p.from}->${p.ip}:${p.port}/${p.protocol}`,
      ...p,
      ...(tags?.length ? { tags } : {}),
    });
  for (const from of pods) {
    const fromNetns = source(from);
    for (const to of pods) {
      if (to === from) continue;
      for (const c of to.spec.containers) {
        for (const cp of c.ports ?? []) {
          const protocol = protocolOf(cp.protocol);
          if (!protocol) continue;
          add({
            category: 'pod-pod',
            scope: to.spec.nodeName === from.spec.nodeName ? 'same-node' : 'cross-node',
            from: key(from),
            fromNetns,
            ip: to.status?.podIP ?? '',
            port: cp.containerPort,
            protocol,
            toLabel: `pod/${key(to)}`,
          });
        }
      }
    }
    for (const svc of state.services) {
      const svcName = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
      const tags = tagsOf(svc, ready.get(svcName), from.spec.hostNetwork ? undefined : from.status?.podIP);
      for (const sp of svc.spec.ports ?? []) {
        const protocol = protocolOf(sp.protocol);
        if (!protocol) continue;
        const cip = svc.spec.clusterIP;
        if (cip && cip !== 'None' && !cip.includes(':')) {
          add({
            category: 'pod-clusterip',
            scope: 'service',
            from: key(from),
            fromNetns,
            ip: cip,
            port: sp.port,
            protocol,
            toLabel: `svc/${svcName}`,
            tags,
          });
        }
        if (!sp.nodePort) continue;
        for (const n of state.nodeInfo) {
          add({
            category: 'pod-nodeport',
            scope: 'service',
            from: key(from),
            fromNetns,
            ip: n.internalIP.toString(),
            port: sp.nodePort,
            protocol,
            toLabel: `node/${n.name} svc/${svcName}`,
            tags,
          });
        }
      }
    }
  }
  for (const e of state.config.externalHosts) {
    const from = `external:${e.ip}`;
    const fromNetns = externalNetns(lab, e.name);
    for (const svc of state.services) {
      const svcName = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
      const tags = tagsOf(svc, undefined);
      for (const sp of svc.spec.ports ?? []) {
        const protocol = protocolOf(sp.protocol);
        if (!protocol || !sp.nodePort) continue;
        for (const n of state.nodeInfo) {
          add({
            category: 'external-nodeport',
            scope: 'service',
            from,
            fromNetns,
            ip: n.internalIP.toString(),
            port: sp.nodePort,
            protocol,
            toLabel: `node/${n.name} svc/${svcName}`,
            tags,
          });
        }
        for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
          if (!ing.ip || ing.ip.includes(':')) continue;
          add({
            category: 'external-lb',
            scope: 'service',
            from,
            fromNetns,
            ip: ing.ip,
            port: sp.port,
            protocol,
            toLabel: `lb ${ing.ip} svc/${svcName}`,
            tags,
          });
        }
      }
    }
  }
  return out;
}

/** N probes picked at random (seeded, so a run can be repeated), keeping their order. */
export function sampleProbes(probes: readonly Probe[], n: number, seed: number): Probe[] {
  if (n >= probes.length) return [...probes];
  let s = seed >>> 0 || 1;
  const rnd = () => {
    // xorshift32: small, seeded, reproducible.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
  const idx = probes.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
  }
  return idx
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => probes[i] as Probe);
}

/** The service a probe dials, as `ns/name` (undefined for pod → pod). */
export function probeService(p: Probe): string | undefined {
  return /(?:^| )svc\/(\S+)$/.exec(p.toLabel)?.[1];
}

/**
 * A seeded sample of `n` probes, topped up so that at least `extra[tag]` probes carry each tag asked for
 * (where there are that many), so rare cases such as hairpin are always in the run; in the original order.
 */
export function sampleWithTags(
  probes: readonly Probe[],
  n: number,
  seed: number,
  extra: Partial<Record<ProbeTag, number>> = {},
): Probe[] {
  const chosen = new Set(sampleProbes(probes, n, seed));
  for (const [tag, k] of Object.entries(extra) as [ProbeTag, number][]) {
    const rest = probes.filter((p) => !chosen.has(p) && p.tags?.includes(tag));
    const have = [...chosen].filter((p) => p.tags?.includes(tag)).length;
    for (const p of sampleProbes(rest, Math.max(0, k - have), seed)) chosen.add(p);
  }
  return probes.filter((p) => chosen.has(p));
}

// A brute-force evaluator for the property test: pod by pod, policy by policy, no classes, no memo,
// written straight from the rules in docs/policy.md.
import type { ClusterState } from '../../src/model/cluster.js';
import type { Labels, Pod, Protocol } from '../../src/model/k8s.js';
import { IPAddr } from '../../src/net/ip.js';
import { matchesSelector } from '../../src/policy/selector.js';
import {
  type AdminPeer,
  type AdminPolicyView,
  type AdminRule,
  DEFAULT_POLICY_OPTIONS,
  type Direction,
  type NpPeer,
  type PolicyOptions,
  parsePolicies,
} from '../../src/policy/types.js';

interface BPod {
  key: string;
  ns: string;
  nsLabels: Labels;
  labels: Labels;
  ip: IPAddr;
  nodeName: string | undefined;
  hostNetwork: boolean;
  pod: Pod;
}

export function bruteForceMatrix(
  state: ClusterState,
  probes: { port: number; protocol: Protocol }[],
  options: Partial<PolicyOptions> = {},
): Map<string, boolean> {
  const opts = { ...DEFAULT_POLICY_OPTIONS, ...options };
  const set = parsePolicies(state.policies);
  const nsLabels = new Map(
    state.namespaces.map((n) => [
      n.metadata.name,
      { 'kubernetes.io/metadata.name': n.metadata.name, ...n.metadata.labels },
    ]),
  );
  const pods: BPod[] = state.pods
    .filter((p) => p.status?.podIP)
    .map((p) => ({
      key: `${p.metadata.namespace}/${p.metadata.name}`,
      ns: p.metadata.namespace!,
      nsLabels: nsLabels.get(p.metadata.namespace!)!,
      labels: p.metadata.labels ?? {},
      ip: IPAddr.parse(p.status!.podIP!),
      nodeName: p.spec.nodeName,
      hostNetwork: p.spec.hostNetwork === true,
      pod: p,
    }));
  const nodeLike = (p: BPod) => p.hostNetwork && opts.hostNetwork === 'node-traffic';
  const isPod = (p: BPod) => !nodeLike(p);
  const named = (dst: BPod, name: string, port: number, proto: Protocol) =>
    isPod(dst) &&
    dst.pod.spec.containers.some((c) =>
      (c.ports ?? []).some(
        (cp) => cp.name === name && (cp.protocol ?? 'TCP') === proto && cp.containerPort === port,
      ),
    );
  const nodeLabels = (p: BPod) => state.nodeInfo.find((n) => n.name === p.nodeName)?.labels;

  const adminPeer = (peer: AdminPeer, o: BPod, action: string) => {
    if (peer.kind === 'unknown') return action !== 'Allow';
    if (peer.kind === 'networks') return peer.cidrs.some((c) => c.contains(o.ip));
    if (peer.kind === 'nodes') {
      const l = nodeLike(o) ? nodeLabels(o) : undefined;
      return l !== undefined && matchesSelector(peer.nodeSelector, l);
    }
    if (o.hostNetwork) return false;
    if (!matchesSelector(peer.namespaceSelector, o.nsLabels)) return false;
    return peer.kind === 'namespaces' || matchesSelector(peer.podSelector, o.labels);
  };
  const adminRule = (r: AdminRule, o: BPod, dst: BPod, port: number, proto: Protocol) => {
    const portOk =
      !r.ports ||
      r.ports.some((p) =>
        p.kind === 'portNumber'
          ? p.protocol === proto && p.port === port
          : p.kind === 'portRange'
            ? p.protocol === proto && p.start <= port && port <= p.end
            : named(dst, p.name, port, proto),
      );
    return portOk && r.peers.some((peer) => adminPeer(peer, o, r.action));
  };
  const adminSubject = (a: AdminPolicyView, s: BPod) =>
    !s.hostNetwork &&
    matchesSelector(a.subject.namespaceSelector, s.nsLabels) &&
    (a.subject.kind === 'namespaces' || matchesSelector(a.subject.podSelector, s.labels));
  const npPeer = (policyNs: string, peer: NpPeer, o: BPod) => {
    if (peer.kind === 'ipBlock') {
      if (isPod(o) && !opts.ipBlockMatchesPodIPs) return false;
      return peer.cidr.contains(o.ip) && !peer.except.some((e) => e.contains(o.ip));
    }
    if (!isPod(o)) return false;
    const nsOk = peer.namespaceSelector
      ? matchesSelector(peer.namespaceSelector, o.nsLabels)
      : o.ns === policyNs;
    return nsOk && (!peer.podSelector || matchesSelector(peer.podSelector, o.labels));
  };

  // true allow, false deny, undefined: no opinion (not isolated)
  const side = (
    dir: Direction,
    s: BPod,
    o: BPod,
    dst: BPod,
    port: number,
    proto: Protocol,
  ): boolean | undefined => {
    if (!isPod(s)) return undefined;
    if (s === o && opts.selfTraffic === 'allow') return true;
    if (opts.nodeLocalAllowed && nodeLike(o) && o.nodeName === s.nodeName) return true;
    const anps = [...set.adminPolicies].sort(
      (a, b) => a.priority! - b.priority! || a.name.localeCompare(b.name),
    );
    let passed = false;
    for (const a of anps) {
      if (passed || !adminSubject(a, s)) continue;
      for (const r of dir === 'Ingress' ? a.ingress : a.egress) {
        if (!adminRule(r, o, dst, port, proto)) continue;
        if (r.action === 'Pass') passed = true;
        else return r.action === 'Allow';
        break;
      }
    }
    const nps = set.networkPolicies.filter(
      (np) =>
        np.namespace === s.ns && np.policyTypes.includes(dir) && matchesSelector(np.podSelector, s.labels),
    );
    if (nps.length > 0) {
      return nps.some((np) =>
        (dir === 'Ingress' ? np.ingress : np.egress).some(
          (r) =>
            (r.peers.length === 0 || r.peers.some((peer) => npPeer(np.namespace, peer, o))) &&
            (r.ports.length === 0 ||
              r.ports.some(
                (p) =>
                  p.protocol === proto &&
                  (p.port === undefined ||
                    (typeof p.port === 'number'
                      ? p.port <= port && port <= (p.endPort ?? p.port)
                      : named(dst, p.port, port, proto))),
              )),
        ),
      );
    }
    if (set.baseline && adminSubject(set.baseline, s)) {
      for (const r of dir === 'Ingress' ? set.baseline.ingress : set.baseline.egress) {
        if (adminRule(r, o, dst, port, proto)) return r.action === 'Allow';
      }
    }
    return undefined;
  };

  const out = new Map<string, boolean>();
  for (const s of pods) {
    for (const d of pods) {
      for (const p of probes) {
        const e = side('Egress', s, d, d, p.port, p.protocol);
        const i = side('Ingress', d, s, d, p.port, p.protocol);
        out.set(`${s.key}>${d.key}>${p.protocol}/${p.port}`, e !== false && i !== false);
      }
    }
  }
  return out;
}

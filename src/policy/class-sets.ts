// Per-class verdict sets: for one subject class, direction and probe, the set of peer classes
// allowed, as a bitset over class ids. The tiers are evaluated over whole sets at once
// (first-match ANP rules become "still undecided" masks), so a full matrix costs
// O(classes × rules × classes/32) instead of a rule walk per pod pair.
import type { Protocol } from '../model/k8s.js';
import type { PodClass, PolicyIndex } from './policy-index.js';
import { matchesSelector } from './selector.js';
import type { AdminPeer, AdminPort, AdminRule, Direction, NpPeer, NpPort } from './types.js';

export type ClassSet = Uint32Array;

export interface ClassSets {
  /** Classes evaluated here: pods as policies see them (not hostNetwork pods under node-traffic). */
  regular: ClassSet;
  /** Allowed peer classes of `subject` for `dir` on port/protocol (only meaningful inside `regular`). */
  allowedPeers(subject: PodClass, dir: Direction, port: number, protocol: Protocol): ClassSet;
}

export function has(set: ClassSet, id: number): boolean {
  return (set[id >>> 5]! & (1 << (id & 31))) !== 0;
}

export function classSets(index: PolicyIndex): ClassSets {
  const C = index.classes.length;
  const W = (C + 31) >>> 5;
  const nodeMode = index.options.hostNetwork === 'node-traffic';
  const empty = () => new Uint32Array(W);
  const fromPredicate = (ids: Iterable<PodClass>, f: (c: PodClass) => boolean) => {
    const s = empty();
    for (const c of ids) if (f(c)) s[c.id >>> 5]! |= 1 << (c.id & 31);
    return s;
  };
  const regularClasses = index.classes.filter((c) => !(c.hostNetwork && nodeMode));
  const regular = fromPredicate(regularClasses, () => true);
  const all = regular;
  const byNs = new Map<string, PodClass[]>();
  for (const c of regularClasses) {
    const l = byNs.get(c.namespace) ?? [];
    l.push(c);
    byNs.set(c.namespace, l);
  }
  const nsLabels = new Map<string, PodClass['namespaceLabels']>();
  for (const c of regularClasses) nsLabels.set(c.namespace, c.namespaceLabels);

  const inNamespaces = (sel: Parameters<typeof matchesSelector>[0]) => {
    const out: PodClass[] = [];
    for (const [ns, labels] of nsLabels) if (matchesSelector(sel, labels)) out.push(...byNs.get(ns)!);
    return out;
  };
  const ipMatch = (c: PodClass, f: (ip: PodClass['pods'][number]['ips'][number]) => boolean) =>
    c.pods[0]!.ips.some(f); // uniform inside a class: prefix membership is part of the class key

  const npPeerSets = new WeakMap<NpPeer, ClassSet>();
  const npPeerSet = (policyNs: string, peer: NpPeer): ClassSet => {
    let s = npPeerSets.get(peer);
    if (s) return s;
    if (peer.kind === 'ipBlock') {
      s = index.options.ipBlockMatchesPodIPs
        ? fromPredicate(regularClasses, (c) =>
            ipMatch(c, (ip) => peer.cidr.contains(ip) && !peer.except.some((e) => e.contains(ip))),
          )
        : empty();
    } else {
      const candidates = peer.namespaceSelector
        ? inNamespaces(peer.namespaceSelector)
        : (byNs.get(policyNs) ?? []);
      s = fromPredicate(
        candidates,
        (c) => peer.podSelector === undefined || matchesSelector(peer.podSelector, c.labels),
      );
    }
    npPeerSets.set(peer, s);
    return s;
  };

  const adminPeerSets = new WeakMap<AdminPeer, ClassSet>();
  const adminPeerSet = (peer: AdminPeer, action: AdminRule['action']): ClassSet => {
    // Fail closed for peers kpath does not model: Allow matches nothing, Deny/Pass everything.
    if (peer.kind === 'unknown') return action === 'Allow' ? empty() : all;
    let s = adminPeerSets.get(peer);
    if (s) return s;
    if (peer.kind === 'networks') {
      s = fromPredicate(regularClasses, (c) => ipMatch(c, (ip) => peer.cidrs.some((p) => p.contains(ip))));
    } else if (peer.kind === 'nodes') {
      s = empty(); // only node IPs match, and nodes are never regular classes
    } else {
      s = fromPredicate(
        inNamespaces(peer.namespaceSelector),
        (c) => !c.hostNetwork && (peer.kind === 'namespaces' || matchesSelector(peer.podSelector, c.labels)),
      );
    }
    adminPeerSets.set(peer, s);
    return s;
  };

  // Port matching: for ingress the destination is the subject (a yes/no); for egress it is the
  // peer, whose named ports vary per class (a set).
  const npPortOk = (p: NpPort, dst: PodClass, port: number, protocol: Protocol) => {
    if (p.protocol !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'number') return port >= p.port && port <= (p.endPort ?? p.port);
    const name = p.port;
    return dst.ports.some((cp) => cp.name === name && cp.protocol === protocol && cp.containerPort === port);
  };
  const adminPortOk = (p: AdminPort, dst: PodClass, port: number, protocol: Protocol) => {
    if (p.kind === 'portNumber') return p.protocol === protocol && p.port === port;
    if (p.kind === 'portRange') return p.protocol === protocol && port >= p.start && port <= p.end;
    return dst.ports.some(
      (cp) => cp.name === p.name && cp.protocol === protocol && cp.containerPort === port,
    );
  };
  const portSet = <P>(
    ports: readonly P[] | undefined,
    ok: (p: P, dst: PodClass) => boolean,
    dir: Direction,
    subject: PodClass,
    probeKey: string,
  ): ClassSet | undefined => {
    if (!ports || ports.length === 0) return all;
    if (dir === 'Ingress') return ports.some((p) => ok(p, subject)) ? all : undefined;
    // Egress: depends on the rule's ports and the probe only, so it is shared by every subject.
    let perProbe = egressPortSets.get(ports);
    if (!perProbe) {
      perProbe = new Map();
      egressPortSets.set(ports, perProbe);
    }
    if (perProbe.has(probeKey)) return perProbe.get(probeKey);
    const s = fromPredicate(regularClasses, (c) => ports.some((p) => ok(p, c)));
    const r = s.some((w) => w !== 0) ? s : undefined;
    perProbe.set(probeKey, r);
    return r;
  };
  const egressPortSets = new WeakMap<object, Map<string, ClassSet | undefined>>();

  const orAnd = (out: ClassSet, a: ClassSet, b: ClassSet) => {
    for (let i = 0; i < W; i++) out[i]! |= a[i]! & b[i]!;
  };

  const cache = new Map<string, ClassSet>();
  const allowedPeers = (subject: PodClass, dir: Direction, port: number, protocol: Protocol): ClassSet => {
    const key = `${subject.id}/${dir}/${protocol}/${port}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const probeKey = `${protocol}/${port}`;
    const { adminPolicies, networkPolicies, baseline } = index.policies;
    const allowed = empty();
    const undecided = Uint32Array.from(all);
    const passed = empty();
    const m = empty();
    const take = (peers: ClassSet, ports: ClassSet, from: ClassSet) => {
      for (let i = 0; i < W; i++) m[i] = peers[i]! & ports[i]! & from[i]!;
    };
    const admin = (rule: AdminRule, from: ClassSet): boolean => {
      const ps = portSet(rule.ports, (p, d) => adminPortOk(p, d, port, protocol), dir, subject, probeKey);
      if (!ps) return false;
      m.fill(0);
      const peersUnion = empty();
      for (const peer of rule.peers) {
        const s = adminPeerSet(peer, rule.action);
        for (let i = 0; i < W; i++) peersUnion[i]! |= s[i]!;
      }
      take(peersUnion, ps, from);
      return true;
    };

    for (const ai of subject.adminPolicies) {
      const anp = adminPolicies[ai]!;
      for (const rule of dir === 'Ingress' ? anp.ingress : anp.egress) {
        if (!admin(rule, undecided)) continue;
        for (let i = 0; i < W; i++) {
          if (rule.action === 'Allow') allowed[i]! |= m[i]!;
          else if (rule.action === 'Pass') passed[i]! |= m[i]!;
          undecided[i]! &= ~m[i]!;
        }
      }
    }
    // What reaches the NetworkPolicy tier: never decided by an ANP, or passed on.
    const rem = undecided;
    for (let i = 0; i < W; i++) rem[i]! |= passed[i]!;

    const selecting = dir === 'Ingress' ? subject.ingressPolicies : subject.egressPolicies;
    if (selecting.length > 0) {
      const npAllowed = empty();
      for (const pi of selecting) {
        const np = networkPolicies[pi]!;
        for (const rule of dir === 'Ingress' ? np.ingress : np.egress) {
          const ps = portSet(rule.ports, (p, d) => npPortOk(p, d, port, protocol), dir, subject, probeKey);
          if (!ps) continue;
          if (rule.peers.length === 0) orAnd(npAllowed, all, ps);
          else for (const peer of rule.peers) orAnd(npAllowed, npPeerSet(np.namespace, peer), ps);
        }
      }
      orAnd(allowed, rem, npAllowed);
    } else {
      if (baseline && subject.baseline) {
        for (const rule of dir === 'Ingress' ? baseline.ingress : baseline.egress) {
          if (!admin(rule, rem)) continue;
          for (let i = 0; i < W; i++) {
            if (rule.action === 'Allow') allowed[i]! |= m[i]!;
            rem[i]! &= ~m[i]!;
          }
        }
      }
      for (let i = 0; i < W; i++) allowed[i]! |= rem[i]!;
    }
    cache.set(key, allowed);
    return allowed;
  };

  return { regular, allowedPeers };
}

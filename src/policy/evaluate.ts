// Per-direction policy decisions through the tiers AdminNetworkPolicy → NetworkPolicy →
// BaselineAdminNetworkPolicy → default allow, and the connection verdict (egress at the source AND
// ingress at the destination; replies ride on the allowed connection, so only new connections count).
import type { Protocol } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import type { IndexedNode, IndexedPod, PodClass, PolicyIndex } from './policy-index.js';
import { describeSelector, matchesSelector } from './selector.js';
import type { AdminPeer, AdminPort, AdminRule, Direction, NpPeer, NpPort, NpRule } from './types.js';

/** One end of a connection as policies see it. */
export type Party =
  | { kind: 'pod'; pod: IndexedPod; cls: PodClass }
  /** A node IP, or a hostNetwork pod under `hostNetwork: node-traffic` (then `pod` is set). */
  | { kind: 'node'; ip: IPAddr; node?: IndexedNode; pod?: IndexedPod }
  | { kind: 'external'; ip: IPAddr };

export type SideState = 'allowed' | 'denied' | 'not-isolated';
export type Tier =
  | 'self'
  | 'node-local'
  | 'not-a-pod'
  | 'AdminNetworkPolicy'
  | 'NetworkPolicy'
  | 'BaselineAdminNetworkPolicy'
  | 'default';

/** A side's decision as plain indices (no text), cheap enough for whole matrices. */
export interface Decision {
  state: SideState;
  tier: Tier;
  /** Index into networkPolicies / adminPolicies (the BANP has none). */
  policy?: number;
  /** 0-based rule index, peer index (-1: the rule has no peers = all), port index (-1: all ports). */
  rule?: number;
  peer?: number;
  port?: number;
  /** The ANP whose Pass rule sent the decision down to the NetworkPolicy tier. */
  passed?: { policy: number; rule: number };
  /** True when an ipBlock matched a pod IP (depends on ipBlockMatchesPodIPs). */
  ipBlockOnPod?: boolean;
}

export interface SideVerdict {
  state: SideState;
  /** One sentence naming the policy and rule that decided. */
  reason: string;
  tier: Tier;
  policy?: string;
  /** 1-based, as people count rules. */
  rule?: number;
  /** Implementation-defined switches this verdict depends on. */
  assumptions: string[];
}

export interface ConnectionVerdict {
  verdict: 'allow' | 'deny';
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  egress: SideVerdict;
  ingress: SideVerdict;
}

/** Resolves `ns/name` (a pod) or an IP (a pod's IP, a node IP, or an external host). */
export function resolveEndpoint(index: PolicyIndex, ref: string): Party {
  const ip = IPAddr.tryParse(ref);
  if (ip) {
    const pod = index.podsByIP.get(ip.toString());
    if (pod) return podParty(index, pod);
    const node = index.nodesByIP.get(ip.toString());
    return node ? { kind: 'node', ip, node } : { kind: 'external', ip };
  }
  const pod = index.podsByKey.get(ref);
  if (!pod)
    throw new Error(
      `unknown endpoint "${ref}": expected namespace/pod of a pod with an IP, or an IP address`,
    );
  return podParty(index, pod);
}

export function podParty(index: PolicyIndex, pod: IndexedPod): Party {
  if (pod.hostNetwork && index.options.hostNetwork === 'node-traffic') {
    const node = pod.nodeName ? index.nodes.get(pod.nodeName) : undefined;
    return { kind: 'node', ip: pod.ips[0]!, pod, ...(node ? { node } : {}) };
  }
  return { kind: 'pod', pod, cls: index.classes[pod.classId]! };
}

export function partyName(p: Party): string {
  if (p.kind === 'pod') return p.pod.key;
  if (p.kind === 'node')
    return p.pod ? p.pod.key : p.node ? `node ${p.node.name} (${p.ip})` : p.ip.toString();
  return p.ip.toString();
}

function partyIPs(p: Party): IPAddr[] {
  return p.kind === 'pod' ? p.pod.ips : [p.ip];
}

function partyNode(p: Party): string | undefined {
  if (p.kind === 'pod') return p.pod.nodeName;
  if (p.kind === 'node') return p.node?.name ?? p.pod?.nodeName;
  return undefined;
}

function samePod(a: Party, b: Party): boolean {
  const pa = a.kind === 'external' ? undefined : a.pod;
  const pb = b.kind === 'external' ? undefined : b.pod;
  return pa !== undefined && pa === pb;
}

/**
 * The decision of one side: `subject`'s policies for `dir`, against `other`, for a connection to
 * `dst` on port/protocol (named ports resolve on `dst`).
 */
export function decideSide(
  index: PolicyIndex,
  dir: Direction,
  subject: Party,
  other: Party,
  dst: Party,
  port: number,
  protocol: Protocol,
): Decision {
  if (subject.kind !== 'pod') return { state: 'not-isolated', tier: 'not-a-pod' };
  const opts = index.options;
  if (opts.selfTraffic === 'allow' && samePod(subject, other)) return { state: 'allowed', tier: 'self' };
  if (
    opts.nodeLocalAllowed &&
    other.kind === 'node' &&
    partyNode(other) === subject.pod.nodeName &&
    subject.pod.nodeName
  ) {
    return { state: 'allowed', tier: 'node-local' };
  }
  const cls = subject.cls;
  const { adminPolicies, networkPolicies, baseline } = index.policies;

  let passed: Decision['passed'];
  anp: for (const ai of cls.adminPolicies) {
    const rules = dir === 'Ingress' ? adminPolicies[ai]!.ingress : adminPolicies[ai]!.egress;
    for (let ri = 0; ri < rules.length; ri++) {
      const m = adminRuleMatch(index, rules[ri]!, other, dst, port, protocol);
      if (!m) continue;
      const action = rules[ri]!.action;
      if (action === 'Pass') {
        // Pass skips every remaining ANP rule, lower-priority ANPs included.
        passed = { policy: ai, rule: ri };
        break anp;
      }
      return {
        state: action === 'Allow' ? 'allowed' : 'denied',
        tier: 'AdminNetworkPolicy',
        policy: ai,
        rule: ri,
        ...m,
      };
    }
  }

  const selecting = dir === 'Ingress' ? cls.ingressPolicies : cls.egressPolicies;
  if (selecting.length > 0) {
    for (const pi of selecting) {
      const np = networkPolicies[pi]!;
      const rules = dir === 'Ingress' ? np.ingress : np.egress;
      for (let ri = 0; ri < rules.length; ri++) {
        const m = npRuleMatch(index, np.namespace, rules[ri]!, other, dst, port, protocol);
        if (m)
          return {
            state: 'allowed',
            tier: 'NetworkPolicy',
            policy: pi,
            rule: ri,
            ...m,
            ...(passed ? { passed } : {}),
          };
      }
    }
    return { state: 'denied', tier: 'NetworkPolicy', ...(passed ? { passed } : {}) };
  }

  if (baseline && cls.baseline) {
    const rules = dir === 'Ingress' ? baseline.ingress : baseline.egress;
    for (let ri = 0; ri < rules.length; ri++) {
      const m = adminRuleMatch(index, rules[ri]!, other, dst, port, protocol);
      if (!m) continue;
      const state = rules[ri]!.action === 'Allow' ? 'allowed' : 'denied';
      return { state, tier: 'BaselineAdminNetworkPolicy', rule: ri, ...m, ...(passed ? { passed } : {}) };
    }
  }
  return { state: 'not-isolated', tier: 'default', ...(passed ? { passed } : {}) };
}

interface RuleMatch {
  peer: number;
  port: number;
  ipBlockOnPod?: boolean;
}

function npRuleMatch(
  index: PolicyIndex,
  policyNs: string,
  rule: NpRule,
  other: Party,
  dst: Party,
  port: number,
  protocol: Protocol,
): RuleMatch | undefined {
  // Peers and ports combine as a cross product inside one rule.
  const portIdx =
    rule.ports.length === 0 ? -1 : rule.ports.findIndex((p) => npPortMatches(p, dst, port, protocol));
  if (portIdx === -1 && rule.ports.length > 0) return undefined;
  if (rule.peers.length === 0) return { peer: -1, port: portIdx };
  for (let i = 0; i < rule.peers.length; i++) {
    const peer = rule.peers[i]!;
    if (npPeerMatches(index, policyNs, peer, other)) {
      return {
        peer: i,
        port: portIdx,
        ...(peer.kind === 'ipBlock' && other.kind === 'pod' ? { ipBlockOnPod: true } : {}),
      };
    }
  }
  return undefined;
}

export function npPortMatches(p: NpPort, dst: Party, port: number, protocol: Protocol): boolean {
  if (p.protocol !== protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === 'number') return port >= p.port && port <= (p.endPort ?? p.port);
  // A named port resolves on the destination pod: name AND protocol must match that container port.
  if (dst.kind !== 'pod') return false;
  const name = p.port;
  return dst.cls.ports.some(
    (cp) => cp.name === name && cp.protocol === protocol && cp.containerPort === port,
  );
}

function memo(index: PolicyIndex, key: object, cls: PodClass, f: () => boolean): boolean {
  let m = index.peerMemo.get(key);
  if (!m) {
    m = new Int8Array(index.classes.length);
    index.peerMemo.set(key, m);
  }
  const v = m[cls.id];
  if (v) return v === 1;
  const r = f();
  m[cls.id] = r ? 1 : 2;
  return r;
}

function npPeerMatches(index: PolicyIndex, policyNs: string, peer: NpPeer, other: Party): boolean {
  if (peer.kind === 'ipBlock') {
    if (other.kind === 'pod' && !index.options.ipBlockMatchesPodIPs) return false;
    return partyIPs(other).some((ip) => peer.cidr.contains(ip) && !peer.except.some((e) => e.contains(ip)));
  }
  // Selector peers match only pods: never external IPs, nodes or hostNetwork pods under node-traffic.
  if (other.kind !== 'pod') return false;
  const cls = other.cls;
  return memo(index, peer, cls, () => {
    const nsOk = peer.namespaceSelector
      ? matchesSelector(peer.namespaceSelector, cls.namespaceLabels)
      : cls.namespace === policyNs;
    return nsOk && (peer.podSelector === undefined || matchesSelector(peer.podSelector, cls.labels));
  });
}

function adminRuleMatch(
  index: PolicyIndex,
  rule: AdminRule,
  other: Party,
  dst: Party,
  port: number,
  protocol: Protocol,
): RuleMatch | undefined {
  let portIdx = -1;
  if (rule.ports) {
    portIdx = rule.ports.findIndex((p) => adminPortMatches(p, dst, port, protocol));
    if (portIdx === -1) return undefined;
  }
  for (let i = 0; i < rule.peers.length; i++) {
    const peer = rule.peers[i]!;
    // Fail closed (AdminNetworkPolicyIngressPeer docs): Allow matches nothing, Deny/Pass match all.
    if (peer.kind === 'unknown' ? rule.action !== 'Allow' : adminPeerMatches(index, peer, other)) {
      return { peer: i, port: portIdx };
    }
  }
  return undefined;
}

export function adminPortMatches(p: AdminPort, dst: Party, port: number, protocol: Protocol): boolean {
  if (p.kind === 'portNumber') return p.protocol === protocol && p.port === port;
  if (p.kind === 'portRange') return p.protocol === protocol && port >= p.start && port <= p.end;
  if (dst.kind !== 'pod') return false;
  return dst.cls.ports.some(
    (cp) => cp.name === p.name && cp.protocol === protocol && cp.containerPort === port,
  );
}

function adminPeerMatches(index: PolicyIndex, peer: AdminPeer, other: Party): boolean {
  if (peer.kind === 'unknown') return false;
  if (peer.kind === 'networks') {
    // networks match any IP, pod IPs included (API docs: put a Pass for pod traffic first).
    return partyIPs(other).some((ip) => peer.cidrs.some((c) => c.contains(ip)));
  }
  if (peer.kind === 'nodes')
    return other.kind === 'node' && !!other.node && matchesSelector(peer.nodeSelector, other.node.labels);
  // namespaces/pods peers never match external IPs or hostNetwork pods.
  if (other.kind !== 'pod' || other.pod.hostNetwork) return false;
  const cls = other.cls;
  return memo(index, peer, cls, () => {
    if (!matchesSelector(peer.namespaceSelector, cls.namespaceLabels)) return false;
    return peer.kind === 'namespaces' || matchesSelector(peer.podSelector, cls.labels);
  });
}

/** Whether a new connection from → to on port/protocol is allowed; both sides explained. */
export function evaluateConnection(
  index: PolicyIndex,
  from: string,
  to: string,
  port: number,
  protocol: Protocol = 'TCP',
): ConnectionVerdict {
  const src = resolveEndpoint(index, from);
  const dst = resolveEndpoint(index, to);
  return evaluateParties(index, src, dst, port, protocol);
}

export function evaluateParties(
  index: PolicyIndex,
  src: Party,
  dst: Party,
  port: number,
  protocol: Protocol,
): ConnectionVerdict {
  const e = decideSide(index, 'Egress', src, dst, dst, port, protocol);
  const i = decideSide(index, 'Ingress', dst, src, dst, port, protocol);
  return {
    verdict: e.state === 'denied' || i.state === 'denied' ? 'deny' : 'allow',
    from: partyName(src),
    to: partyName(dst),
    port,
    protocol,
    egress: explain(index, 'Egress', e, src, dst, port, protocol),
    ingress: explain(index, 'Ingress', i, dst, src, port, protocol),
  };
}

// ---- explanations -----------------------------------------------------------------------------

function explain(
  index: PolicyIndex,
  dir: Direction,
  d: Decision,
  subject: Party,
  other: Party,
  port: number,
  protocol: Protocol,
): SideVerdict {
  const side = dir.toLowerCase();
  const sname = partyName(subject);
  const oname = partyName(other);
  const conn = `${protocol} ${port}`;
  const assumptions: string[] = [];
  const opts = index.options;
  const pol = index.policies;
  const passNote = d.passed
    ? ` (AdminNetworkPolicy ${pol.adminPolicies[d.passed.policy]!.name} rule ${d.passed.rule + 1}${ruleLabel(pol.adminPolicies[d.passed.policy]![dir === 'Ingress' ? 'ingress' : 'egress'][d.passed.rule]!)} passed it on)`
    : '';
  switch (d.tier) {
    case 'not-a-pod': {
      if (subject.kind === 'node' && subject.pod) assumptions.push('hostNetwork=node-traffic');
      const what =
        subject.kind === 'node' && subject.pod
          ? `hostNetwork pod ${sname} is node traffic`
          : `${sname} is not a pod`;
      return {
        state: d.state,
        tier: d.tier,
        assumptions,
        reason: `not isolated on ${side}: ${what}; no policy applies on its side`,
      };
    }
    case 'self':
      assumptions.push('selfTraffic=allow');
      return {
        state: d.state,
        tier: d.tier,
        assumptions,
        reason: `allowed on ${side}: ${sname} reaches itself over loopback inside its own network namespace; no policy applies`,
      };
    case 'node-local':
      assumptions.push('nodeLocalAllowed');
      if (other.kind === 'node' && other.pod && opts.hostNetwork === 'node-traffic')
        assumptions.push('hostNetwork=node-traffic');
      return {
        state: d.state,
        tier: d.tier,
        assumptions,
        reason: `allowed on ${side}: ${oname} is ${sname}'s own node, and traffic between a pod and its node is always allowed`,
      };
    case 'AdminNetworkPolicy': {
      const anp = pol.adminPolicies[d.policy!]!;
      const rule = (dir === 'Ingress' ? anp.ingress : anp.egress)[d.rule!]!;
      const verb = d.state === 'allowed' ? 'allowed' : 'denied';
      return {
        state: d.state,
        tier: d.tier,
        policy: anp.name,
        rule: d.rule! + 1,
        assumptions,
        reason: `${verb} on ${side} by AdminNetworkPolicy ${anp.name} (priority ${anp.priority}) rule ${d.rule! + 1}${ruleLabel(rule)} (${adminMatchText(dir, rule, d)})`,
      };
    }
    case 'BaselineAdminNetworkPolicy': {
      const banp = pol.baseline!;
      const rule = (dir === 'Ingress' ? banp.ingress : banp.egress)[d.rule!]!;
      const verb = d.state === 'allowed' ? 'allowed' : 'denied';
      return {
        state: d.state,
        tier: d.tier,
        policy: banp.name,
        rule: d.rule! + 1,
        assumptions,
        reason: `${verb} on ${side} by BaselineAdminNetworkPolicy ${banp.name} rule ${d.rule! + 1}${ruleLabel(rule)} (${adminMatchText(dir, rule, d)}); no NetworkPolicy selects ${sname} for ${side}${passNote}`,
      };
    }
    case 'NetworkPolicy': {
      const cls = (subject as Extract<Party, { kind: 'pod' }>).cls;
      if (d.state === 'allowed') {
        const np = pol.networkPolicies[d.policy!]!;
        const rule = (dir === 'Ingress' ? np.ingress : np.egress)[d.rule!]!;
        if (d.ipBlockOnPod) assumptions.push('ipBlockMatchesPodIPs');
        return {
          state: d.state,
          tier: d.tier,
          policy: `${np.namespace}/${np.name}`,
          rule: d.rule! + 1,
          assumptions,
          reason: `allowed on ${side} by policy ${np.namespace}/${np.name} rule ${d.rule! + 1} (${npMatchText(dir, np.namespace, rule, d)})${passNote}`,
        };
      }
      const selecting = (dir === 'Ingress' ? cls.ingressPolicies : cls.egressPolicies).map(
        (i) => `${pol.networkPolicies[i]!.namespace}/${pol.networkPolicies[i]!.name}`,
      );
      if (opts.ipBlockMatchesPodIPs === false && other.kind === 'pod')
        assumptions.push('ipBlockMatchesPodIPs=false');
      return {
        state: d.state,
        tier: d.tier,
        ...(selecting.length === 1 ? { policy: selecting[0] } : {}),
        assumptions,
        reason: `denied on ${side}: pod ${sname} is isolated by ${selecting.length === 1 ? 'policy' : 'policies'} ${selecting.join(', ')}; no ${side} rule of any policy selecting ${sname} allows ${oname} on ${conn}${passNote}`,
      };
    }
    default:
      return {
        state: d.state,
        tier: d.tier,
        assumptions,
        reason: `not isolated on ${side}: no policy selects ${sname} for ${side}${passNote}, so the default allows it`,
      };
  }
}

function ruleLabel(rule: AdminRule): string {
  return rule.name ? ` "${rule.name}"` : '';
}

function npPeerText(dir: Direction, policyNs: string, peer: NpPeer | undefined): string {
  const w = dir === 'Ingress' ? 'from' : 'to';
  if (!peer) return `${w} anywhere`;
  if (peer.kind === 'ipBlock') {
    const ex = peer.except.length ? ` except ${peer.except.map(String).join(', ')}` : '';
    return `${w} ipBlock ${peer.cidr}${ex}`;
  }
  const pods = peer.podSelector ? `pods ${describeSelector(peer.podSelector)}` : 'all pods';
  if (!peer.namespaceSelector) return `${w} namespace ${policyNs} ${pods}`;
  const ns = describeSelector(peer.namespaceSelector);
  return ns === 'all' ? `${w} all namespaces ${pods}` : `${w} namespaces ${ns} ${pods}`;
}

function npPortText(p: NpPort | undefined): string {
  if (!p) return 'all ports';
  if (p.port === undefined) return `all ${p.protocol} ports`;
  if (typeof p.port === 'string') return `${p.protocol} port ${p.port}`;
  return p.endPort !== undefined ? `${p.protocol} ${p.port}-${p.endPort}` : `${p.protocol} ${p.port}`;
}

function npMatchText(dir: Direction, ns: string, rule: NpRule, d: Decision): string {
  const peer = d.peer! >= 0 ? rule.peers[d.peer!] : undefined;
  const port = d.port! >= 0 ? rule.ports[d.port!] : undefined;
  return `${npPeerText(dir, ns, peer)}, ${npPortText(port)}`;
}

function adminMatchText(dir: Direction, rule: AdminRule, d: Decision): string {
  const w = dir === 'Ingress' ? 'from' : 'to';
  const peer = rule.peers[d.peer!]!;
  let p: string;
  if (peer.kind === 'namespaces') p = `${w} namespaces ${describeSelector(peer.namespaceSelector)}`;
  else if (peer.kind === 'pods') {
    p = `${w} namespaces ${describeSelector(peer.namespaceSelector)} pods ${describeSelector(peer.podSelector)}`;
  } else if (peer.kind === 'networks') p = `${w} networks ${peer.cidrs.map(String).join(', ')}`;
  else if (peer.kind === 'nodes') p = `${w} nodes ${describeSelector(peer.nodeSelector)}`;
  else p = `${w} anything (unmodelled peer ${peer.field} fails closed)`;
  const port = d.port! >= 0 ? rule.ports![d.port!]! : undefined;
  let pt = 'all ports';
  if (port?.kind === 'portNumber') pt = `${port.protocol} ${port.port}`;
  else if (port?.kind === 'portRange') pt = `${port.protocol} ${port.start}-${port.end}`;
  else if (port?.kind === 'namedPort') pt = `named port ${port.name}`;
  return `${p}, ${pt}`;
}

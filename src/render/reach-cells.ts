// The reachability view behind `kpath reach` and `kpath diff`: which endpoints (pods, workloads, plain
// IPs) are compared, on which ports, and each cell's verdict with its one-sentence reasons. Pure: it
// reads a ClusterState and answers from the policy engine.
import type { ClusterState } from '../model/cluster.js';
import type { LabelSelectorRequirement, Labels, Pod, Protocol } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import {
  type ConnectionVerdict,
  evaluateParties,
  type Party,
  podParty,
  resolveEndpoint,
  type SideState,
} from '../policy/evaluate.js';
import { cellAllowed, type Probe, type ReachabilityMatrix, reachabilityMatrix } from '../policy/matrix.js';
import { type IndexedPod, NAMESPACE_NAME_LABEL, type PolicyIndex } from '../policy/policy-index.js';
import { matchesSelector, type Selector } from '../policy/selector.js';

/** A bad selector or port: the message names what was wrong and what is accepted. */
export class ReachQueryError extends Error {}

export interface ReachQuery {
  /** Selectors: `ns/pod`, `ns/*`, `ns`, `app=web`, `ns:app=web`, or an IP. All pods when omitted. */
  from?: readonly string[];
  to?: readonly string[];
  /** Probe every destination on these; otherwise each pod on its declared container ports. */
  ports?: readonly Probe[];
}

export interface ReachEndpoint {
  /** `ns/pod` or the IP as written. */
  name: string;
  party: Party;
  pod?: IndexedPod;
}

export interface ReachCell {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  verdict: 'allow' | 'deny';
  ingress: SideState;
  egress: SideState;
  /** The deciding sentence: the denying side's, else the allowing policy's, else the default. */
  reason: string;
}

export interface ReachView {
  froms: ReachEndpoint[];
  tos: ReachEndpoint[];
  /** Every distinct probe, sorted by protocol then port. */
  probes: Probe[];
  /** For each destination, the indices into `probes` it is probed on. */
  toProbes: number[][];
  /** Whether probe k from froms[i] to tos[j] is allowed; undefined when that destination is not probed on it. */
  allowed(i: number, j: number, k: number): boolean | undefined;
  /** The full verdict of one cell (computed on demand; undefined when not probed). */
  verdict(i: number, j: number, k: number): ConnectionVerdict | undefined;
}

// ---- selectors ----------------------------------------------------------------------------------

type EndpointSelector =
  | { kind: 'ip'; ip: IPAddr; text: string }
  | { kind: 'pod'; namespace: string; name: string }
  | { kind: 'namespace'; namespace: string }
  | { kind: 'labels'; namespace?: string; selector: Selector };

const REQ =
  /^\s*(!)?\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*(?:(==|=|!=)\s*([-A-Za-z0-9_.]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$/;

/** kubectl's `-l` syntax: `a=b,c!=d,e,!f,g in (x,y),h notin (z)`. */
export function parseLabelSelector(text: string): Selector {
  const matchLabels: Labels = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const part of parts) {
    const m = REQ.exec(part);
    if (!m) throw new ReachQueryError(`invalid label selector "${text}": cannot read "${part.trim()}"`);
    const [, not, key, op, value, setOp, set] = m;
    const values = (set ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    if (not) {
      if (op || setOp) throw new ReachQueryError(`invalid label selector "${text}": "!" only negates a key`);
      matchExpressions.push({ key: key!, operator: 'DoesNotExist' });
    } else if (op === '=' || op === '==') matchLabels[key!] = value ?? '';
    else if (op === '!=') matchExpressions.push({ key: key!, operator: 'NotIn', values: [value ?? ''] });
    else if (setOp) matchExpressions.push({ key: key!, operator: setOp === 'in' ? 'In' : 'NotIn', values });
    else matchExpressions.push({ key: key!, operator: 'Exists' });
  }
  return { matchLabels, matchExpressions };
}

export function parseEndpointSelector(text: string): EndpointSelector {
  const t = text.trim();
  const ip = IPAddr.tryParse(t);
  if (ip) return { kind: 'ip', ip, text: t };
  if (/[=!()]|\s(in|notin)\s/.test(t)) {
    const colon = t.indexOf(':');
    const eq = t.search(/[=!(]/);
    if (colon > 0 && (eq < 0 || colon < eq)) {
      return {
        kind: 'labels',
        namespace: t.slice(0, colon),
        selector: parseLabelSelector(t.slice(colon + 1)),
      };
    }
    return { kind: 'labels', selector: parseLabelSelector(t) };
  }
  const slash = t.indexOf('/');
  if (slash > 0) {
    const namespace = t.slice(0, slash);
    const name = t.slice(slash + 1);
    if (name === '*') return { kind: 'namespace', namespace };
    if (name && !name.includes('/')) return { kind: 'pod', namespace, name };
  } else if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(t)) return { kind: 'namespace', namespace: t };
  throw new ReachQueryError(
    `cannot read "${text}": use ns/pod, ns/*, ns, a label selector (app=web or ns:app=web) or an IP address`,
  );
}

/** `80`, `80/TCP`, `53/udp`; a comma-separated list is several probes. */
export function parseProbes(text: string): Probe[] {
  return text.split(',').map((p) => {
    const m = /^\s*(\d+)(?:\/(tcp|udp|sctp))?\s*$/i.exec(p);
    const port = m ? Number(m[1]) : Number.NaN;
    if (!m || port < 1 || port > 65535) {
      throw new ReachQueryError(
        `invalid port "${p.trim()}": use PORT or PORT/PROTO, e.g. 80, 80/TCP, 53/UDP`,
      );
    }
    return { port, protocol: (m[2]?.toUpperCase() ?? 'TCP') as Protocol };
  });
}

function podLabels(state: ClusterState): Map<string, { labels: Labels; nsLabels: Labels }> {
  const nsLabels = new Map<string, Labels>();
  for (const ns of state.namespaces) {
    nsLabels.set(ns.metadata.name, {
      [NAMESPACE_NAME_LABEL]: ns.metadata.name,
      ...(ns.metadata.labels ?? {}),
    });
  }
  const out = new Map<string, { labels: Labels; nsLabels: Labels }>();
  for (const p of state.pods) {
    const ns = p.metadata.namespace ?? 'default';
    out.set(`${ns}/${p.metadata.name}`, {
      labels: p.metadata.labels ?? {},
      nsLabels: nsLabels.get(ns) ?? { [NAMESPACE_NAME_LABEL]: ns },
    });
  }
  return out;
}

export function selectEndpoints(
  state: ClusterState,
  index: PolicyIndex,
  texts: readonly string[] | undefined,
): ReachEndpoint[] {
  const asPod = (p: IndexedPod): ReachEndpoint => ({ name: p.key, party: podParty(index, p), pod: p });
  if (!texts || texts.length === 0) return index.pods.map(asPod);
  const labels = podLabels(state);
  const out: ReachEndpoint[] = [];
  const seen = new Set<string>();
  const add = (e: ReachEndpoint) => {
    if (!seen.has(e.name)) {
      seen.add(e.name);
      out.push(e);
    }
  };
  for (const text of texts) {
    const sel = parseEndpointSelector(text);
    let matched: IndexedPod[] = [];
    switch (sel.kind) {
      case 'ip': {
        const pod = index.podsByIP.get(sel.ip.toString());
        if (pod) add(asPod(pod));
        else add({ name: sel.text, party: resolveEndpoint(index, sel.ip.toString()) });
        continue;
      }
      case 'pod': {
        const p = index.podsByKey.get(`${sel.namespace}/${sel.name}`);
        if (!p) throw new ReachQueryError(`no pod ${sel.namespace}/${sel.name} with an IP`);
        matched = [p];
        break;
      }
      case 'namespace':
        matched = index.pods.filter((p) => p.namespace === sel.namespace);
        if (matched.length === 0)
          throw new ReachQueryError(`no pods with an IP in namespace "${sel.namespace}"`);
        break;
      case 'labels':
        matched = index.pods.filter((p) => {
          if (sel.namespace !== undefined && p.namespace !== sel.namespace) return false;
          const l = labels.get(p.key);
          return l !== undefined && matchesSelector(sel.selector, l.labels);
        });
        if (matched.length === 0) throw new ReachQueryError(`no pods match "${text}"`);
        break;
    }
    for (const p of matched) add(asPod(p));
  }
  return out;
}

const probeKey = (p: Probe) => `${p.protocol}/${p.port}`;
const byProtoPort = (a: Probe, b: Probe) =>
  a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.port - b.port;

/** The deciding sentence of a connection verdict. */
export function decidingReason(v: ConnectionVerdict): string {
  if (v.egress.state === 'denied') return v.egress.reason;
  if (v.ingress.state === 'denied') return v.ingress.reason;
  if (v.ingress.state === 'allowed' && v.ingress.tier !== 'self') return v.ingress.reason;
  if (v.egress.state === 'allowed') return v.egress.reason;
  return v.ingress.reason;
}

export function cellOf(v: ConnectionVerdict, from: string, to: string): ReachCell {
  return {
    from,
    to,
    port: v.port,
    protocol: v.protocol,
    verdict: v.verdict,
    ingress: v.ingress.state,
    egress: v.egress.state,
    reason: decidingReason(v),
  };
}

export function reachView(state: ClusterState, index: PolicyIndex, query: ReachQuery = {}): ReachView {
  const froms = selectEndpoints(state, index, query.from);
  const tos = selectEndpoints(state, index, query.to);
  const nonPodTo = tos.find((t) => !t.pod);
  if (nonPodTo && !query.ports?.length) {
    throw new ReachQueryError(`${nonPodTo.name} is not a pod, so it has no declared ports: give --port`);
  }
  // Pod-to-pod cells come from the class-based matrix; cells with an IP end are evaluated one by one.
  const fromPods = froms.filter((f) => f.pod).map((f) => f.pod!.key);
  const toPods = tos.filter((t) => t.pod).map((t) => t.pod!.key);
  const matrix: ReachabilityMatrix | undefined =
    fromPods.length && toPods.length
      ? reachabilityMatrix(index, {
          from: fromPods,
          to: toPods,
          ...(query.ports ? { ports: query.ports } : {}),
        })
      : undefined;
  // Each destination's probes: the given ports, or the pod's declared container ports.
  const declared = (t: ReachEndpoint): Probe[] =>
    query.ports?.length
      ? [...query.ports]
      : index.classes[t.pod!.classId]!.ports.map((cp) => ({ port: cp.containerPort, protocol: cp.protocol }));
  const perTo = tos.map(declared);
  const all = new Map<string, Probe>();
  for (const ps of perTo) for (const p of ps) all.set(probeKey(p), p);
  const probes = [...all.values()].sort(byProtoPort);
  const idx = new Map(probes.map((p, k) => [probeKey(p), k]));
  const mFrom = new Map((matrix?.froms ?? []).map((k, i) => [k, i]));
  const mTo = new Map((matrix?.tos ?? []).map((k, i) => [k, i]));
  const mProbe = new Map((matrix?.probes ?? []).map((p, k) => [probeKey(p), k]));
  const toProbes = perTo.map((ps) =>
    [...new Set(ps.map((p) => idx.get(probeKey(p))!))].sort((a, b) => a - b),
  );
  const probed = (j: number, k: number) => toProbes[j]!.includes(k);
  const verdict = (i: number, j: number, k: number): ConnectionVerdict | undefined => {
    if (!probed(j, k)) return undefined;
    const p = probes[k]!;
    return evaluateParties(index, froms[i]!.party, tos[j]!.party, p.port, p.protocol);
  };
  const allowed = (i: number, j: number, k: number): boolean | undefined => {
    if (!probed(j, k)) return undefined;
    const f = froms[i]!;
    const t = tos[j]!;
    if (matrix && f.pod && t.pod) {
      const mk = mProbe.get(probeKey(probes[k]!))!;
      return cellAllowed(matrix, mFrom.get(f.pod.key)!, mTo.get(t.pod.key)!, mk);
    }
    return verdict(i, j, k)!.verdict === 'allow';
  };
  return { froms, tos, probes, toProbes, allowed, verdict };
}

/** Every probed cell of the view, in row, column, probe order. */
export function reachCells(view: ReachView): ReachCell[] {
  const out: ReachCell[] = [];
  view.froms.forEach((f, i) => {
    view.tos.forEach((t, j) => {
      for (const k of view.toProbes[j]!) out.push(cellOf(view.verdict(i, j, k)!, f.name, t.name));
    });
  });
  return out;
}

// ---- grouping by workload -------------------------------------------------------------------------

/**
 * The workload a pod belongs to, as `ns/name`: its controller's name, with a ReplicaSet traced to its
 * Deployment through the `pod-template-hash` label the Deployment controller puts on both.
 */
export function workloadOf(pod: Pod): string {
  const ns = pod.metadata.namespace ?? 'default';
  const owner =
    (pod.metadata.ownerReferences ?? []).find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return `${ns}/${pod.metadata.name}`;
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return `${ns}/${owner.name.slice(0, -hash.length - 1)}`;
  }
  return `${ns}/${owner.name}`;
}

export type GroupValue = 'allow' | 'deny' | 'mixed' | 'not-probed';

export interface GroupedView {
  froms: string[];
  tos: string[];
  probes: Probe[];
  /** Over every pod pair of the two groups (a pod and itself excluded). */
  value(i: number, j: number, k: number): GroupValue;
}

export function groupByWorkload(state: ClusterState, view: ReachView): GroupedView {
  const pods = new Map(state.pods.map((p) => [`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, p]));
  const groupOf = (e: ReachEndpoint) => {
    const pod = e.pod ? pods.get(e.pod.key) : undefined;
    return pod ? workloadOf(pod) : e.name;
  };
  const collect = (es: ReachEndpoint[]) => {
    const names: string[] = [];
    const members = new Map<string, number[]>();
    es.forEach((e, i) => {
      const g = groupOf(e);
      if (!members.has(g)) {
        members.set(g, []);
        names.push(g);
      }
      members.get(g)!.push(i);
    });
    return { names, members };
  };
  const f = collect(view.froms);
  const t = collect(view.tos);
  return {
    froms: f.names,
    tos: t.names,
    probes: view.probes,
    value(i, j, k) {
      let allow = 0;
      let deny = 0;
      for (const fi of f.members.get(f.names[i]!)!) {
        for (const tj of t.members.get(t.names[j]!)!) {
          if (view.froms[fi]!.name === view.tos[tj]!.name) continue;
          const v = view.allowed(fi, tj, k);
          if (v === true) allow++;
          else if (v === false) deny++;
        }
      }
      if (allow + deny === 0) return 'not-probed';
      return deny === 0 ? 'allow' : allow === 0 ? 'deny' : 'mixed';
    },
  };
}

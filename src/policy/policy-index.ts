// The policy index: pods grouped into equivalence classes that every selector, named port and ipBlock
// sees identically, so a verdict is computed once per class pair and reused for every replica.
import type { ClusterState } from '../model/cluster.js';
import type { Labels, Pod, Protocol } from '../model/k8s.js';
import { IPAddr, type Prefix } from '../net/ip.js';
import { matchesSelector } from './selector.js';
import {
  type AdminPolicyView,
  type AdminSubject,
  DEFAULT_POLICY_OPTIONS,
  type PolicyOptions,
  type PolicySet,
  parsePolicies,
} from './types.js';

/** The label the API server puts on every namespace since 1.22 (policies select on it). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface DeclaredPort {
  name?: string;
  containerPort: number;
  protocol: Protocol;
}

export interface IndexedPod {
  /** `namespace/name` */
  key: string;
  namespace: string;
  name: string;
  ips: IPAddr[];
  nodeName?: string;
  hostNetwork: boolean;
  classId: number;
}

export interface PodClass {
  id: number;
  namespace: string;
  namespaceLabels: Readonly<Labels>;
  labels: Readonly<Labels>;
  ports: readonly DeclaredPort[];
  hostNetwork: boolean;
  /** Set for hostNetwork pods only: their traffic is their node's. */
  nodeName?: string;
  pods: IndexedPod[];
  /** Indices into policies.networkPolicies that select this class for each direction. */
  ingressPolicies: number[];
  egressPolicies: number[];
  /** Indices into policies.adminPolicies (already in evaluation order) whose subject is this class. */
  adminPolicies: number[];
  /** Whether the BaselineAdminNetworkPolicy's subject is this class. */
  baseline: boolean;
}

export interface IndexedNode {
  name: string;
  ip: IPAddr;
  labels: Readonly<Labels>;
}

export interface PolicyIndex {
  options: PolicyOptions;
  policies: PolicySet;
  classes: PodClass[];
  /** Pods that have an IP, in input order. */
  pods: IndexedPod[];
  podsByKey: ReadonlyMap<string, IndexedPod>;
  /** Non-hostNetwork pods by IP text. */
  podsByIP: ReadonlyMap<string, IndexedPod>;
  nodes: ReadonlyMap<string, IndexedNode>;
  nodesByIP: ReadonlyMap<string, IndexedNode>;
  warnings: string[];
  /** Memo of selector-peer matches per class (1 match, 2 no match); a cache, not state. */
  peerMemo: WeakMap<object, Int8Array>;
}

export function buildPolicyIndex(state: ClusterState, options: Partial<PolicyOptions> = {}): PolicyIndex {
  const opts: PolicyOptions = { ...DEFAULT_POLICY_OPTIONS, ...options };
  const policies = parsePolicies(state.policies, state.sources);
  const warnings = [...policies.warnings];

  const nsLabels = new Map<string, Labels>();
  for (const ns of state.namespaces) {
    nsLabels.set(ns.metadata.name, {
      [NAMESPACE_NAME_LABEL]: ns.metadata.name,
      ...(ns.metadata.labels ?? {}),
    });
  }
  const nodes = new Map<string, IndexedNode>();
  const nodesByIP = new Map<string, IndexedNode>();
  for (const n of state.nodeInfo) {
    const node: IndexedNode = { name: n.name, ip: n.internalIP, labels: n.labels };
    nodes.set(n.name, node);
    nodesByIP.set(n.internalIP.toString(), node);
  }

  // Every prefix a policy can test an IP against; a pod's membership in them joins its class key.
  const prefixes = collectPrefixes(policies);

  const classes: PodClass[] = [];
  const classByKey = new Map<string, PodClass>();
  const pods: IndexedPod[] = [];
  const podsByKey = new Map<string, IndexedPod>();
  const podsByIP = new Map<string, IndexedPod>();
  for (const pod of state.pods) {
    const namespace = pod.metadata.namespace ?? 'default';
    const key = `${namespace}/${pod.metadata.name}`;
    const ips = podIPs(pod);
    if (ips.length === 0) {
      warnings.push(`pod ${key} has no IP yet; it takes no part in policy evaluation`);
      continue;
    }
    const hostNetwork = pod.spec.hostNetwork === true;
    const labels = pod.metadata.labels ?? {};
    const namespaceLabels = nsLabels.get(namespace) ?? { [NAMESPACE_NAME_LABEL]: namespace };
    const ports = declaredPorts(pod);
    const ipSig = prefixes.map((p) => (ips.some((ip) => p.contains(ip)) ? '1' : '0')).join('');
    const nodeName = hostNetwork ? pod.spec.nodeName : undefined;
    const ck = JSON.stringify([
      namespace,
      sorted(namespaceLabels),
      sorted(labels),
      ports,
      hostNetwork,
      nodeName,
      ipSig,
    ]);
    let cls = classByKey.get(ck);
    if (!cls) {
      cls = {
        id: classes.length,
        namespace,
        namespaceLabels,
        labels,
        ports,
        hostNetwork,
        ...(nodeName ? { nodeName } : {}),
        pods: [],
        ingressPolicies: [],
        egressPolicies: [],
        adminPolicies: [],
        baseline: false,
      };
      classes.push(cls);
      classByKey.set(ck, cls);
    }
    const ip: IndexedPod = {
      key,
      namespace,
      name: pod.metadata.name,
      ips,
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      hostNetwork,
      classId: cls.id,
    };
    cls.pods.push(ip);
    pods.push(ip);
    podsByKey.set(key, ip);
    if (!hostNetwork) for (const a of ips) podsByIP.set(a.toString(), ip);
  }

  // Which policies select which class, per direction (NetworkPolicies only look inside their namespace).
  const npByNs = new Map<string, number[]>();
  policies.networkPolicies.forEach((np, i) => {
    const l = npByNs.get(np.namespace) ?? [];
    l.push(i);
    npByNs.set(np.namespace, l);
  });
  for (const cls of classes) {
    // hostNetwork pods are their node under node-traffic: never subjects. ANP/BANP never take them (API docs).
    const npSubject = !cls.hostNetwork || opts.hostNetwork === 'pod';
    if (npSubject) {
      for (const i of npByNs.get(cls.namespace) ?? []) {
        const np = policies.networkPolicies[i]!;
        if (!matchesSelector(np.podSelector, cls.labels)) continue;
        if (np.policyTypes.includes('Ingress')) cls.ingressPolicies.push(i);
        if (np.policyTypes.includes('Egress')) cls.egressPolicies.push(i);
      }
    }
    if (cls.hostNetwork) continue;
    policies.adminPolicies.forEach((anp, i) => {
      if (subjectMatches(anp.subject, cls)) cls.adminPolicies.push(i);
    });
    cls.baseline = policies.baseline !== undefined && subjectMatches(policies.baseline.subject, cls);
  }

  // Valid but worth a word (netpol-analyzer warns the same): a policy that selects no pod is inert.
  const selected = new Set<number>();
  for (const cls of classes) for (const i of [...cls.ingressPolicies, ...cls.egressPolicies]) selected.add(i);
  policies.networkPolicies.forEach((np, i) => {
    if (!selected.has(i))
      warnings.push(`NetworkPolicy ${np.namespace}/${np.name} selects no pod; it has no effect`);
  });

  return {
    options: opts,
    policies,
    classes,
    pods,
    podsByKey,
    podsByIP,
    nodes,
    nodesByIP,
    warnings,
    peerMemo: new WeakMap(),
  };
}

export function subjectMatches(s: AdminSubject, cls: Pick<PodClass, 'namespaceLabels' | 'labels'>): boolean {
  if (!matchesSelector(s.namespaceSelector, cls.namespaceLabels)) return false;
  return s.kind === 'namespaces' || matchesSelector(s.podSelector, cls.labels);
}

function podIPs(pod: Pod): IPAddr[] {
  const texts = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return texts.map((t) => IPAddr.tryParse(t)).filter((a): a is IPAddr => a !== undefined);
}

function declaredPorts(pod: Pod): DeclaredPort[] {
  const out: DeclaredPort[] = [];
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      out.push({
        ...(p.name ? { name: p.name } : {}),
        containerPort: p.containerPort,
        protocol: p.protocol ?? 'TCP',
      });
    }
  }
  return out;
}

function sorted(l: Readonly<Labels>): [string, string][] {
  return Object.entries(l).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function collectPrefixes(p: PolicySet): Prefix[] {
  const seen = new Map<string, Prefix>();
  const add = (x: Prefix) => seen.set(x.toString(), x);
  for (const np of p.networkPolicies) {
    for (const r of [...np.ingress, ...np.egress]) {
      for (const peer of r.peers) {
        if (peer.kind !== 'ipBlock') continue;
        add(peer.cidr);
        for (const e of peer.except) add(e);
      }
    }
  }
  const admins: AdminPolicyView[] = [...p.adminPolicies, ...(p.baseline ? [p.baseline] : [])];
  for (const a of admins) {
    for (const r of a.egress)
      for (const peer of r.peers) if (peer.kind === 'networks') peer.cidrs.forEach(add);
  }
  return [...seen.values()];
}

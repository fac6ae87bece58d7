// Typed, validated, defaulted views of the policy objects kpath evaluates: networking.k8s.io/v1
// NetworkPolicy and policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy / BaselineAdminNetworkPolicy.
import { InputError, type InputProblem, problemAt } from '../model/errors.js';
import {
  type KObject,
  type LabelSelectorRequirement,
  type Labels,
  objectKey,
  type Protocol,
  type SourceRef,
} from '../model/k8s.js';
import { Prefix } from '../net/ip.js';
import type { Selector } from './selector.js';

export type Direction = 'Ingress' | 'Egress';

/** Implementation-defined behaviour, one switch each (docs/policy.md says which CNI each default mirrors). */
export interface PolicyOptions {
  /** Whether a NetworkPolicy ipBlock matches pod IPs (true: upstream e2e, Calico, cyclonus; false: netpol-analyzer). */
  ipBlockMatchesPodIPs: boolean;
  /** `node-traffic`: hostNetwork pods are their node (not selectable, never isolated); `pod`: treated like pods. */
  hostNetwork: 'node-traffic' | 'pod';
  /** Traffic between a pod and its own node (kubelet probes) is always allowed. */
  nodeLocalAllowed: boolean;
  /** `allow`: a pod reaching its own IP never leaves its netns (loopback), so no policy applies. */
  selfTraffic: 'allow' | 'evaluate';
}

export const DEFAULT_POLICY_OPTIONS: PolicyOptions = {
  ipBlockMatchesPodIPs: true,
  hostNetwork: 'node-traffic',
  nodeLocalAllowed: true,
  selfTraffic: 'allow',
};

// ---- NetworkPolicy --------------------------------------------------------------------------

export interface NpPort {
  /** Defaulted to TCP (SetDefaults_NetworkPolicyPort). */
  protocol: Protocol;
  /** Missing = every port of the protocol; a string is a named container port. */
  port?: number | string;
  endPort?: number;
}

export type NpPeer =
  | {
      kind: 'selector';
      /** Missing = all pods of the selected namespaces (or of the policy's namespace). */
      podSelector?: Selector;
      /** Missing = the policy's own namespace. */
      namespaceSelector?: Selector;
    }
  | { kind: 'ipBlock'; cidr: Prefix; except: Prefix[] };

export interface NpRule {
  /** Missing or empty `from`/`to`: every peer, external IPs included. */
  peers: NpPeer[];
  /** Missing or empty `ports`: every port and protocol. */
  ports: NpPort[];
}

export interface NetworkPolicyView {
  kind: 'NetworkPolicy';
  namespace: string;
  name: string;
  podSelector: Selector;
  /** After defaulting: [Ingress] plus Egress iff spec.egress is non-empty, when policyTypes is missing. */
  policyTypes: Direction[];
  ingress: NpRule[];
  egress: NpRule[];
}

// ---- AdminNetworkPolicy / BaselineAdminNetworkPolicy -----------------------------------------

export type AdminAction = 'Allow' | 'Deny' | 'Pass';

export interface NamespacedPods {
  namespaceSelector: Selector;
  podSelector: Selector;
}

export type AdminSubject =
  | { kind: 'namespaces'; namespaceSelector: Selector }
  | ({ kind: 'pods' } & NamespacedPods);

export type AdminPeer =
  | { kind: 'namespaces'; namespaceSelector: Selector }
  | ({ kind: 'pods' } & NamespacedPods)
  | { kind: 'networks'; cidrs: Prefix[] }
  | { kind: 'nodes'; nodeSelector: Selector }
  /** A peer type kpath does not model (e.g. domainNames): fails closed as the API prescribes. */
  | { kind: 'unknown'; field: string };

export type AdminPort =
  | { kind: 'portNumber'; protocol: Protocol; port: number }
  | { kind: 'portRange'; protocol: Protocol; start: number; end: number }
  | { kind: 'namedPort'; name: string };

export interface AdminRule {
  name: string;
  action: AdminAction;
  peers: AdminPeer[];
  /** Missing: every port and protocol. */
  ports?: AdminPort[];
}

export interface AdminPolicyView {
  kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
  name: string;
  /** ANP priority (0–1000, lower first); the BANP has none. */
  priority?: number;
  subject: AdminSubject;
  ingress: AdminRule[];
  egress: AdminRule[];
}

export interface PolicySet {
  networkPolicies: NetworkPolicyView[];
  /** Sorted by priority, then name (same-priority order is undefined upstream; kpath makes it deterministic). */
  adminPolicies: AdminPolicyView[];
  baseline?: AdminPolicyView;
  warnings: string[];
}

const NP_API = 'networking.k8s.io/v1';
const ANP_API = 'policy.networking.k8s.io/v1alpha1';
const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
const IANA_SVC_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;

/** Validates and defaults every policy object; throws InputError naming each bad field. */
export function parsePolicies(
  objects: readonly KObject[],
  sources?: ReadonlyMap<string, SourceRef>,
): PolicySet {
  const problems: InputProblem[] = [];
  const warnings: string[] = [];
  const networkPolicies: NetworkPolicyView[] = [];
  const adminPolicies: AdminPolicyView[] = [];
  let baseline: AdminPolicyView | undefined;
  for (const o of objects) {
    const name = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
    const v = new Validator(sources?.get(objectKey(o)), name, problems);
    if (o.kind === 'NetworkPolicy' && o.apiVersion === NP_API) {
      const np = parseNetworkPolicy(o, v, warnings);
      if (np) networkPolicies.push(np);
    } else if (o.kind === 'AdminNetworkPolicy' && o.apiVersion === ANP_API) {
      const anp = parseAdmin(o, v, 'AdminNetworkPolicy', warnings);
      if (anp) adminPolicies.push(anp);
    } else if (o.kind === 'BaselineAdminNetworkPolicy' && o.apiVersion === ANP_API) {
      // The BANP is a singleton: the CRD only admits the name "default".
      if (o.metadata.name !== 'default')
        v.fail('metadata.name', 'a BaselineAdminNetworkPolicy must be named "default"');
      else if (baseline) v.fail('metadata.name', 'only one BaselineAdminNetworkPolicy may exist');
      else baseline = parseAdmin(o, v, 'BaselineAdminNetworkPolicy', warnings);
    } else if (
      o.kind === 'NetworkPolicy' ||
      o.kind === 'AdminNetworkPolicy' ||
      o.kind === 'BaselineAdminNetworkPolicy'
    ) {
      v.fail('apiVersion', `unsupported apiVersion "${o.apiVersion}" for ${o.kind}`);
    } else if (/NetworkPolicy$/.test(o.kind)) {
      warnings.push(
        `${name} (${o.apiVersion}) is not modelled by the policy engine; it is ignored (UNSUPPORTED)`,
      );
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  adminPolicies.sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0) || a.name.localeCompare(b.name));
  for (let i = 1; i < adminPolicies.length; i++) {
    const a = adminPolicies[i - 1]!;
    const b = adminPolicies[i]!;
    if (a.priority === b.priority) {
      warnings.push(
        `AdminNetworkPolicies ${a.name} and ${b.name} share priority ${a.priority}: their order is undefined upstream; kpath evaluates them by name`,
      );
    }
  }
  return { networkPolicies, adminPolicies, baseline, warnings };
}

class Validator {
  constructor(
    private readonly source: SourceRef | undefined,
    readonly object: string,
    private readonly problems: InputProblem[],
  ) {}
  fail(field: string, message: string): undefined {
    this.problems.push(problemAt(this.source, field, message, this.object));
    return undefined;
  }
  get count(): number {
    return this.problems.length;
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function list(v: Validator, x: unknown, field: string): unknown[] | undefined {
  if (x === undefined || x === null) return undefined;
  if (!Array.isArray(x)) return v.fail(field, 'must be a list');
  return x;
}

function parseSelector(v: Validator, x: unknown, field: string): Selector | undefined {
  if (x === null || x === undefined) return { matchLabels: {}, matchExpressions: [] };
  if (!isRecord(x)) return v.fail(field, 'must be a label selector');
  const matchLabels: Labels = {};
  if (x.matchLabels !== undefined && x.matchLabels !== null) {
    if (!isRecord(x.matchLabels)) return v.fail(`${field}.matchLabels`, 'must be a map of strings');
    for (const [k, val] of Object.entries(x.matchLabels)) {
      if (typeof val !== 'string')
        return v.fail(`${field}.matchLabels.${k}`, 'label values are strings (quote it)');
      matchLabels[k] = val;
    }
  }
  const matchExpressions: LabelSelectorRequirement[] = [];
  const exprs = list(v, x.matchExpressions, `${field}.matchExpressions`) ?? [];
  for (const [i, e] of exprs.entries()) {
    const f = `${field}.matchExpressions[${i}]`;
    if (!isRecord(e) || typeof e.key !== 'string' || e.key === '') return v.fail(f, 'needs a key');
    const op = e.operator;
    if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) {
      return v.fail(`${f}.operator`, `must be one of ${OPERATORS.join(', ')}`);
    }
    const values = list(v, e.values, `${f}.values`) ?? [];
    if (values.some((s) => typeof s !== 'string')) return v.fail(`${f}.values`, 'values are strings');
    if ((op === 'In' || op === 'NotIn') && values.length === 0) {
      return v.fail(`${f}.values`, `must be specified when operator is ${op}`);
    }
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
      return v.fail(`${f}.values`, `may not be specified when operator is ${op}`);
    }
    matchExpressions.push({
      key: e.key,
      operator: op as LabelSelectorRequirement['operator'],
      values: values as string[],
    });
  }
  return { matchLabels, matchExpressions };
}

function parseProtocol(v: Validator, x: unknown, field: string): Protocol | undefined {
  if (x === undefined || x === null) return 'TCP';
  if (typeof x !== 'string' || !(PROTOCOLS as readonly string[]).includes(x)) {
    return v.fail(field, `unsupported protocol "${String(x)}": must be TCP, UDP or SCTP`);
  }
  return x as Protocol;
}

function parsePortNumber(v: Validator, x: unknown, field: string): number | undefined {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > 65535) {
    return v.fail(field, 'must be a port number between 1 and 65535');
  }
  return x;
}

function parseCidr(v: Validator, x: unknown, field: string): Prefix | undefined {
  if (typeof x !== 'string' || !x.includes('/')) return v.fail(field, `invalid CIDR "${String(x)}"`);
  const p = Prefix.tryParse(x);
  if (!p) return v.fail(field, `invalid CIDR "${x}"`);
  return p;
}

function parseNetworkPolicy(o: KObject, v: Validator, warnings: string[]): NetworkPolicyView | undefined {
  const before = v.count;
  const namespace = o.metadata.namespace ?? 'default';
  const spec = o.spec;
  if (!isRecord(spec)) return v.fail('spec', 'a NetworkPolicy needs a spec');
  const podSelector = parseSelector(v, spec.podSelector, 'spec.podSelector');
  const rawTypes = list(v, spec.policyTypes, 'spec.policyTypes') ?? [];
  const types: Direction[] = [];
  for (const [i, t] of rawTypes.entries()) {
    if (t !== 'Ingress' && t !== 'Egress')
      v.fail(`spec.policyTypes[${i}]`, `must be Ingress or Egress, not "${String(t)}"`);
    else if (!types.includes(t)) types.push(t);
  }
  const rawIngress = list(v, spec.ingress, 'spec.ingress') ?? [];
  const rawEgress = list(v, spec.egress, 'spec.egress') ?? [];
  // SetDefaults_NetworkPolicy: no policyTypes → Ingress, plus Egress only when egress rules exist.
  const policyTypes: Direction[] =
    rawTypes.length > 0 ? types : rawEgress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  const ingress = rawIngress.map((r, i) => parseNpRule(v, r, `spec.ingress[${i}]`, 'from'));
  const egress = rawEgress.map((r, i) => parseNpRule(v, r, `spec.egress[${i}]`, 'to'));
  if (v.count > before || !podSelector) return undefined;
  const id = `NetworkPolicy ${namespace}/${o.metadata.name}`;
  if (!policyTypes.includes('Ingress') && rawIngress.length > 0) {
    warnings.push(`${id}: spec.ingress is ignored because policyTypes does not list Ingress`);
  }
  if (!policyTypes.includes('Egress') && rawEgress.length > 0) {
    warnings.push(`${id}: spec.egress is ignored because policyTypes does not list Egress`);
  }
  return {
    kind: 'NetworkPolicy',
    namespace,
    name: o.metadata.name,
    podSelector,
    policyTypes,
    ingress: ingress as NpRule[],
    egress: egress as NpRule[],
  };
}

function parseNpRule(v: Validator, r: unknown, field: string, peerKey: 'from' | 'to'): NpRule | undefined {
  if (r === null || r === undefined) return { peers: [], ports: [] };
  if (!isRecord(r)) return v.fail(field, 'must be a rule object');
  const peers: NpPeer[] = [];
  for (const [i, p] of (list(v, r[peerKey], `${field}.${peerKey}`) ?? []).entries()) {
    const f = `${field}.${peerKey}[${i}]`;
    if (!isRecord(p)) {
      v.fail(f, 'must be a peer object');
      continue;
    }
    const hasSel = p.podSelector != null || p.namespaceSelector != null;
    if (p.ipBlock != null) {
      if (hasSel) {
        v.fail(f, 'may not specify more than 1 peer type (ipBlock with podSelector/namespaceSelector)');
        continue;
      }
      const ib = p.ipBlock;
      if (!isRecord(ib)) {
        v.fail(`${f}.ipBlock`, 'must be an object');
        continue;
      }
      const cidr = parseCidr(v, ib.cidr, `${f}.ipBlock.cidr`);
      const except: Prefix[] = [];
      for (const [j, e] of (list(v, ib.except, `${f}.ipBlock.except`) ?? []).entries()) {
        const ep = parseCidr(v, e, `${f}.ipBlock.except[${j}]`);
        if (!ep || !cidr) continue;
        // ValidateIPBlock: each except must be a strict subset of cidr.
        if (!cidr.covers(ep) || ep.len <= cidr.len)
          v.fail(`${f}.ipBlock.except[${j}]`, 'must be a strict subset of `cidr`');
        else except.push(ep);
      }
      if (cidr) peers.push({ kind: 'ipBlock', cidr, except });
    } else if (hasSel) {
      const peer: NpPeer = { kind: 'selector' };
      if (p.podSelector != null) peer.podSelector = parseSelector(v, p.podSelector, `${f}.podSelector`);
      if (p.namespaceSelector != null) {
        peer.namespaceSelector = parseSelector(v, p.namespaceSelector, `${f}.namespaceSelector`);
      }
      peers.push(peer);
    } else {
      v.fail(f, 'must specify a peer (podSelector, namespaceSelector or ipBlock)');
    }
  }
  const ports: NpPort[] = [];
  for (const [i, p] of (list(v, r.ports, `${field}.ports`) ?? []).entries()) {
    const f = `${field}.ports[${i}]`;
    if (p === null || p === undefined) {
      ports.push({ protocol: 'TCP' });
      continue;
    }
    if (!isRecord(p)) {
      v.fail(f, 'must be a port object');
      continue;
    }
    const protocol = parseProtocol(v, p.protocol, `${f}.protocol`);
    const port: NpPort = { protocol: protocol ?? 'TCP' };
    if (typeof p.port === 'string') {
      if (!IANA_SVC_NAME.test(p.port))
        v.fail(`${f}.port`, `"${p.port}" is not a valid port name (IANA_SVC_NAME)`);
      port.port = p.port;
      if (p.endPort != null) v.fail(`${f}.endPort`, 'may not be specified when `port` is a named port');
    } else if (p.port != null) {
      const n = parsePortNumber(v, p.port, `${f}.port`);
      if (n !== undefined) port.port = n;
      if (p.endPort != null) {
        const e = parsePortNumber(v, p.endPort, `${f}.endPort`);
        if (e !== undefined && n !== undefined && e < n)
          v.fail(`${f}.endPort`, 'must be greater than or equal to `port`');
        else if (e !== undefined) port.endPort = e;
      }
    } else if (p.endPort != null) {
      v.fail(`${f}.endPort`, 'may not be specified when `port` is not specified');
    }
    ports.push(port);
  }
  return { peers, ports };
}

function parseAdmin(
  o: KObject,
  v: Validator,
  kind: AdminPolicyView['kind'],
  warnings: string[],
): AdminPolicyView | undefined {
  const before = v.count;
  const spec = o.spec;
  if (!isRecord(spec)) return v.fail('spec', `a ${kind} needs a spec`);
  let priority: number | undefined;
  if (kind === 'AdminNetworkPolicy') {
    const p = spec.priority;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 1000) {
      v.fail('spec.priority', 'must be an integer between 0 and 1000');
    } else priority = p;
  }
  const subject = parseSubject(v, spec.subject);
  const actions: AdminAction[] =
    kind === 'AdminNetworkPolicy' ? ['Allow', 'Deny', 'Pass'] : ['Allow', 'Deny'];
  const ingress = (list(v, spec.ingress, 'spec.ingress') ?? []).map((r, i) =>
    parseAdminRule(v, r, `spec.ingress[${i}]`, 'from', actions, warnings),
  );
  const egress = (list(v, spec.egress, 'spec.egress') ?? []).map((r, i) =>
    parseAdminRule(v, r, `spec.egress[${i}]`, 'to', actions, warnings),
  );
  if (ingress.length > 100) v.fail('spec.ingress', 'must have at most 100 rules');
  if (egress.length > 100) v.fail('spec.egress', 'must have at most 100 rules');
  if (v.count > before || !subject) return undefined;
  return {
    kind,
    name: o.metadata.name,
    ...(priority !== undefined ? { priority } : {}),
    subject,
    ingress: ingress as AdminRule[],
    egress: egress as AdminRule[],
  };
}

function parseNamespacedPods(v: Validator, x: unknown, field: string): NamespacedPods | undefined {
  if (!isRecord(x)) return v.fail(field, 'must have namespaceSelector and podSelector');
  if (x.namespaceSelector == null) return v.fail(`${field}.namespaceSelector`, 'is required');
  if (x.podSelector == null) return v.fail(`${field}.podSelector`, 'is required');
  const namespaceSelector = parseSelector(v, x.namespaceSelector, `${field}.namespaceSelector`);
  const podSelector = parseSelector(v, x.podSelector, `${field}.podSelector`);
  if (!namespaceSelector || !podSelector) return undefined;
  return { namespaceSelector, podSelector };
}

function parseSubject(v: Validator, x: unknown): AdminSubject | undefined {
  if (!isRecord(x)) return v.fail('spec.subject', 'is required');
  const keys = Object.keys(x).filter((k) => x[k] != null);
  if (keys.length !== 1) return v.fail('spec.subject', 'must specify exactly one of namespaces or pods');
  if (x.namespaces != null) {
    const s = parseSelector(v, x.namespaces, 'spec.subject.namespaces');
    return s && { kind: 'namespaces', namespaceSelector: s };
  }
  if (x.pods != null) {
    const p = parseNamespacedPods(v, x.pods, 'spec.subject.pods');
    return p && { kind: 'pods', ...p };
  }
  return v.fail(`spec.subject.${keys[0]}`, 'unsupported subject type');
}

function parseAdminRule(
  v: Validator,
  r: unknown,
  field: string,
  peerKey: 'from' | 'to',
  actions: AdminAction[],
  warnings: string[],
): AdminRule | undefined {
  if (!isRecord(r)) return v.fail(field, 'must be a rule object');
  const before = v.count;
  const name = typeof r.name === 'string' ? r.name : '';
  if (!actions.includes(r.action as AdminAction)) {
    v.fail(`${field}.action`, `must be one of ${actions.join(', ')}`);
  }
  const rawPeers = list(v, r[peerKey], `${field}.${peerKey}`) ?? [];
  if (rawPeers.length === 0) v.fail(`${field}.${peerKey}`, 'must have at least 1 peer');
  const peers: AdminPeer[] = [];
  for (const [i, p] of rawPeers.entries()) {
    const f = `${field}.${peerKey}[${i}]`;
    if (!isRecord(p)) {
      v.fail(f, 'must be a peer object');
      continue;
    }
    const keys = Object.keys(p).filter((k) => p[k] != null);
    if (keys.length !== 1) {
      v.fail(f, 'must specify exactly one peer type');
      continue;
    }
    const k = keys[0]!;
    if (k === 'namespaces') {
      const s = parseSelector(v, p.namespaces, `${f}.namespaces`);
      if (s) peers.push({ kind: 'namespaces', namespaceSelector: s });
    } else if (k === 'pods') {
      const np = parseNamespacedPods(v, p.pods, `${f}.pods`);
      if (np) peers.push({ kind: 'pods', ...np });
    } else if (k === 'networks' && peerKey === 'to') {
      const nets = list(v, p.networks, `${f}.networks`) ?? [];
      if (nets.length < 1 || nets.length > 25) v.fail(`${f}.networks`, 'must list between 1 and 25 CIDRs');
      const cidrs = nets
        .map((c, j) => parseCidr(v, c, `${f}.networks[${j}]`))
        .filter((c): c is Prefix => !!c);
      peers.push({ kind: 'networks', cidrs });
    } else if (k === 'nodes' && peerKey === 'to') {
      const s = parseSelector(v, p.nodes, `${f}.nodes`);
      if (s) peers.push({ kind: 'nodes', nodeSelector: s });
    } else {
      // Unknown peers fail closed: an Allow rule matches nothing, a Deny or Pass rule everything.
      warnings.push(
        `${v.object}: ${f}.${k} is not modelled (UNSUPPORTED); the peer fails closed (${r.action === 'Allow' ? 'matches nothing' : 'matches all traffic'})`,
      );
      peers.push({ kind: 'unknown', field: `${f}.${k}` });
    }
  }
  let ports: AdminPort[] | undefined;
  const rawPorts = list(v, r.ports, `${field}.ports`);
  if (rawPorts) {
    ports = [];
    for (const [i, p] of rawPorts.entries()) {
      const f = `${field}.ports[${i}]`;
      if (!isRecord(p)) {
        v.fail(f, 'must be a port object');
        continue;
      }
      const keys = Object.keys(p).filter((k) => p[k] != null);
      if (keys.length !== 1) {
        v.fail(f, 'must specify exactly one of portNumber, portRange or namedPort');
        continue;
      }
      if (isRecord(p.portNumber)) {
        const protocol = parseProtocol(v, p.portNumber.protocol, `${f}.portNumber.protocol`);
        const port = parsePortNumber(v, p.portNumber.port, `${f}.portNumber.port`);
        if (protocol && port) ports.push({ kind: 'portNumber', protocol, port });
      } else if (isRecord(p.portRange)) {
        const protocol = parseProtocol(v, p.portRange.protocol, `${f}.portRange.protocol`);
        const start = parsePortNumber(v, p.portRange.start, `${f}.portRange.start`);
        const end = parsePortNumber(v, p.portRange.end, `${f}.portRange.end`);
        if (start !== undefined && end !== undefined && end < start) {
          v.fail(`${f}.portRange.end`, 'must be greater than or equal to start');
        } else if (protocol && start && end) ports.push({ kind: 'portRange', protocol, start, end });
      } else if (typeof p.namedPort === 'string') {
        ports.push({ kind: 'namedPort', name: p.namedPort });
      } else {
        v.fail(f, 'must specify exactly one of portNumber, portRange or namedPort');
      }
    }
  }
  if (v.count > before) return undefined;
  return { name, action: r.action as AdminAction, peers, ...(ports ? { ports } : {}) };
}

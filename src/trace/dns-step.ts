// The DNS step of a trace to a name: the pod's stub resolver turns the name into queries (search list,
// ndots, A and AAAA), each query is a UDP packet walked to the kube-dns Service and back, and the
// connection then proceeds to the first address getaddrinfo returns — or the trace ends in DNS_*.
import { buildCoreDns, type CoreDnsModel } from '../dns/coredns.js';
import { type PodLookup, type ResolveOptions, type ResolverKind, resolve } from '../dns/stub-resolver.js';
import { defaultUpstreams } from '../load/cluster-config.js';
import { NotFoundError } from '../model/errors.js';
import type { Pod } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import type { Twin } from '../twin.js';
import { resolveEndpoint, type TraceQuery, traceConnection, worldOf } from './index.js';
import type { Disposition, DnsQueryStep, Endpoint, Protocol, Trace, TraceDns } from './types.js';

const models = new WeakMap<Twin, CoreDnsModel>();

/** CoreDNS of the twin's cluster (its Corefile, the Services and Pods, the upstream servers), built once. */
export function clusterDns(twin: Twin): CoreDnsModel {
  let m = models.get(twin);
  if (!m) {
    const cfg = twin.state.config;
    const upstreams = cfg.dns?.upstreams ?? defaultUpstreams(cfg.underlay);
    const nodeResolvConf = cfg.dns?.nodeResolvConf;
    m = buildCoreDns(twin.state, { upstreams, ...(nodeResolvConf !== undefined ? { nodeResolvConf } : {}) });
    models.set(twin, m);
  }
  return m;
}

/** The pod named `ns/name` or `pod/ns/name` (a bare name means namespace `default`, as kubectl reads it). */
export function findPod(twin: Twin, podKey: string): Pod {
  const key = podKey.startsWith('pod/') ? podKey.slice(4) : podKey;
  const [ns, name] = key.includes('/') ? (key.split('/', 2) as [string, string]) : ['default', key];
  const pod = twin.state.pods.find(
    (p) => (p.metadata.namespace ?? 'default') === ns && p.metadata.name === name,
  );
  if (!pod) {
    const all = twin.state.pods.map((p) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`);
    const shown = all.slice(0, 30).join(', ') + (all.length > 30 ? ` and ${all.length - 30} more` : '');
    throw new NotFoundError(`pod "${ns}/${name}" not found; the cluster's pods are ${shown || 'none'}`);
  }
  return pod;
}

/**
 * A node resolves with its own /etc/resolv.conf, the file kubelet hands `dnsPolicy: Default` pods:
 * modelled as a host-network pod with that policy on the node.
 */
function nodeResolverPod(twin: Twin, node: string): Pod {
  const info = twin.state.nodeInfo.find((n) => n.name === node);
  if (!info) {
    throw new NotFoundError(
      `node "${node}" not found; the cluster's nodes are ${twin.state.nodeInfo.map((n) => n.name).join(', ')}`,
    );
  }
  const ip = info.internalIP.toString();
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: node, namespace: 'kube-system' },
    spec: { nodeName: node, hostNetwork: true, dnsPolicy: 'Default', containers: [] },
    status: { hostIP: ip, podIP: ip },
  };
}

export interface DnsStepOptions {
  /** The trace's seed; each socket the resolver opens takes the next one (a new source port, a new kube-proxy choice). */
  seed: number;
  /** getaddrinfo hints: both families (default), or 4 / 6 only. */
  family?: 'any' | 4 | 6;
  resolver?: ResolverKind;
  /** Skip the packet walks (queries and result only). */
  noJourney?: boolean;
}

export interface DnsStepResult {
  dns: TraceDns;
  /** The address the connection proceeds to: getaddrinfo's first. */
  address?: string;
  /** Set when the name did not resolve: how the trace ends, and why. */
  failure?: { disposition: Disposition; reason: string };
}

/** The plugin path CoreDNS noted for each of the lookup's CoreDNS queries, in order. */
function corednsPaths(l: PodLookup): (string[] | undefined)[] {
  const notes = [...l.notes];
  return l.queries.map((q) => {
    if (q.via !== 'coredns') return undefined;
    const head = `${q.name} ${q.type}: `;
    const i = notes.findIndex((n) => n.startsWith(head));
    if (i < 0) return undefined;
    const [note] = notes.splice(i, 1);
    return note!.slice(head.length).split('; ');
  });
}

function failureOf(l: PodLookup, dns: TraceDns): DnsStepResult['failure'] {
  const tried = dns.tried.join(', ');
  const last = l.queries[l.queries.length - 1];
  switch (l.result.status) {
    case 'OK':
      return undefined;
    case 'EAI_NONAME':
      return {
        disposition: 'DNS_NXDOMAIN',
        reason: `${l.name} does not exist (NXDOMAIN for every name tried: ${tried})`,
      };
    case 'EAI_NODATA':
      return {
        disposition: 'DNS_NODATA',
        reason: `${l.name} exists but has no address of the family asked (NOERROR, empty answer); names tried: ${tried}`,
      };
    case 'EAI_FAIL':
      return {
        disposition: 'DNS_SERVFAIL',
        reason: `the nameserver refused to answer (${last?.rcode ?? 'REFUSED'}); names tried: ${tried}`,
      };
    default: {
      // EAI_AGAIN: a SERVFAIL or no reply at all; the resolver's last exchange says which.
      const timedOut = last?.rcode === 'timeout' || l.queries.every((q) => q.rcode !== 'SERVFAIL');
      return timedOut
        ? {
            disposition: 'DNS_TIMEOUT',
            reason: `no reply from ${[...new Set(l.queries.filter((q) => q.rcode === 'timeout').map((q) => q.server))].join(', ')} after ${l.waitedMs / 1000}s; names tried: ${tried}`,
          }
        : { disposition: 'DNS_SERVFAIL', reason: `the nameserver answered SERVFAIL; names tried: ${tried}` };
    }
  }
}

/** The destination of a query's packet: the kube-dns Service by name when it is its ClusterIP. */
function queryTarget(twin: Twin, server: string): string {
  const ip = IPAddr.tryParse(server);
  return ip?.equals(twin.state.config.dnsServiceIP) ? 'svc/kube-system/kube-dns:dns' : `${server}:53`;
}

/**
 * Resolves `name` as getaddrinfo does inside the pod `podKey` (`ns/name`, or `node/NAME` for the node's
 * own resolver): every query in order with its
 * rcode and answer, each walked as a UDP packet to its nameserver and back, and getaddrinfo's result.
 */
export function dnsStep(twin: Twin, podKey: string, name: string, opts: DnsStepOptions): DnsStepResult {
  const { pod, spec: podSpec } = podKey.startsWith('node/')
    ? { pod: nodeResolverPod(twin, podKey.slice(5)), spec: podKey }
    : (() => {
        const p = findPod(twin, podKey);
        return { pod: p, spec: `${p.metadata.namespace ?? 'default'}/${p.metadata.name}` };
      })();
  const ropts: ResolveOptions = {
    ...(opts.resolver ? { resolver: opts.resolver } : {}),
    ...(opts.family ? { family: opts.family } : {}),
  };
  const l = resolve(clusterDns(twin), name, pod, ropts);
  const paths = corednsPaths(l);
  const tried = [...new Set(l.queries.map((q) => q.name))];
  // One socket per name tried: A and AAAA leave from the same source port (glibc send_dg, musl
  // res_msend), so they share one conntrack entry and one CoreDNS pod; the next name opens a new socket.
  // glibc's `options single-request-reopen` opens a new socket for the second query.
  const reopen = l.resolver === 'glibc' && /^options\s.*\bsingle-request-reopen\b/m.test(l.resolvConf);
  const socketOf = (q: { name: string; type: string }) => (reopen ? `${q.name}|${q.type}` : q.name);
  const sockets = [...new Set(l.queries.map(socketOf))];
  const journeys = new Map<string, Trace | Error>();
  const queries: DnsQueryStep[] = l.queries.map((q, i) => {
    const step: DnsQueryStep = {
      name: q.name,
      type: q.type,
      server: q.server,
      rcode: q.rcode,
      answer: q.answer,
      via: q.via,
      ...(paths[i] ? { coredns: paths[i] } : {}),
    };
    if (opts.noJourney) return step;
    const key = `${socketOf(q)}|${q.server}`;
    let j = journeys.get(key);
    if (!j) {
      const seed = opts.seed + sockets.indexOf(socketOf(q));
      try {
        j = traceConnection(twin, {
          from: podSpec,
          to: queryTarget(twin, q.server),
          protocol: 'udp',
          seed,
          ...(q.rcode === 'timeout' ? { noReturn: true } : {}),
        });
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        j = e;
      }
      journeys.set(key, j);
    }
    if (j instanceof Error) return { ...step, note: `no packet walk to ${q.server}: ${j.message}` };
    if (q.via === 'upstream' && j.disposition !== 'DELIVERED') {
      // The server's replies come from spec.dns; the network model holds no host at its address.
      return {
        ...step,
        journey: j,
        note: `the walk toward ${q.server} ends ${j.disposition} (${j.reason}); the upstream server is outside the modelled network, its reply comes from the cluster document's spec.dns`,
      };
    }
    return { ...step, journey: j };
  });
  const dns: TraceDns = {
    name,
    resolver: l.resolver,
    resolvConf: l.resolvConf,
    tried,
    queries,
    result: l.result,
    waitedMs: l.waitedMs,
  };
  const failure = failureOf(l, dns);
  return {
    dns,
    ...(l.result.status === 'OK' && l.result.addresses[0] ? { address: l.result.addresses[0] } : {}),
    ...(failure ? { failure } : {}),
  };
}

/**
 * The whole trace when the name did not resolve: no hops, the DNS step, and the DNS_* disposition.
 * `from` is the request's sender as the trace engine resolved it; `to` names the unresolved name.
 */
export function unresolvedTrace(
  step: DnsStepResult,
  from: Endpoint,
  protocol: Protocol,
  seed: number,
  port?: number,
): Trace {
  const failure = step.failure ?? {
    disposition: 'UNSUPPORTED' as const,
    reason: 'the name resolved; trace the connection to its address',
  };
  return {
    request: {
      from,
      to: { spec: step.dns.name, kind: 'ip', ip: '', ...(port !== undefined ? { port } : {}) },
      protocol,
      seed,
    },
    hops: [],
    disposition: failure.disposition,
    reason: failure.reason,
    branches: [],
    masquerade: false,
    conntrack: [],
    dns: step.dns,
  };
}

/**
 * A connection to a DNS name, as a pod makes it: the sender's resolver asks CoreDNS first (each query a
 * journey of its own), then the connection goes to the first address; a failed lookup ends the trace.
 * `connect` is the trace engine (injectable for the CLI's tests).
 */
export function traceToName(
  twin: Twin,
  query: TraceQuery,
  name: { name: string; port?: number },
  connect: (twin: Twin, q: TraceQuery) => Trace = traceConnection,
): Trace {
  const step = dnsStep(twin, query.from.replace(/^pod\//, ''), name.name, { seed: query.seed });
  if (step.failure || !step.address) {
    const from = resolveEndpoint(worldOf(twin), query.from).endpoint;
    return unresolvedTrace(step, from, query.protocol, query.seed, name.port);
  }
  const to = name.port !== undefined ? `${step.address}:${name.port}` : step.address;
  const { port: _port, ...rest } = query;
  return { ...connect(twin, { ...rest, to }), dns: step.dns };
}

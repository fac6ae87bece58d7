// A trace as versioned JSON (docs/trace-json.md, docs/trace-json.schema.json): plain values only, addresses as
// strings, absent things as null so every key is always there for jq and for typed consumers.
import type { Packet } from '../net/packet.js';
import type { Branch, Decision, Delivery, Hop, Leg, Trace, TraceDns, TraceRequest } from '../trace/types.js';
import { type Direction, hopChanges, type PacketChange } from './trace-changes.js';

/** Bumped on any change that can break a consumer (a key removed, renamed or retyped); additions keep it. */
export const TRACE_JSON_SCHEMA_VERSION = 1;

export interface EthJson {
  src: string;
  dst: string;
}

export interface IpJson {
  version: 4 | 6;
  src: string;
  dst: string;
  ttl: number;
  /** IP protocol number: 6 tcp, 17 udp, 132 sctp, 1 icmp, 58 icmpv6. */
  protocol: number;
  df: boolean;
  totalLength: number;
  id: number;
  tos: number;
}

export type L4Json =
  | { kind: 'tcp'; sport: number; dport: number; flags: string[] }
  | { kind: 'udp'; sport: number; dport: number }
  | { kind: 'sctp'; sport: number; dport: number }
  | { kind: 'icmp'; type: number; code: number; id: number | null; seq: number | null };

export interface OuterJson {
  eth: EthJson | null;
  ip: IpJson;
  l4: L4Json | null;
}

export interface EncapJson {
  kind: 'vxlan';
  vni: number;
  /** The outer Ethernet/IP/UDP headers; the packet's own eth/ip/l4 are the encapsulated (inner) frame. */
  outer: OuterJson;
}

export interface PacketJson {
  eth: EthJson | null;
  ip: IpJson;
  l4: L4Json | null;
  encap: EncapJson | null;
  mark: number;
  ctmark: number;
  payloadLength: number;
}

export interface DecisionJson {
  kind: Decision['kind'];
  text: string;
  table: string | null;
  chain: string | null;
  ruleNumber: number | null;
}

export interface BranchJson {
  probability: number;
  target: string;
  dnat: string | null;
  chosen: boolean;
  decidedBy: DecisionJson | null;
  /** The hop (of the forward leg) where the choice was made, when it can be told. */
  hop: number | null;
}

export interface ChangeJson {
  field: string;
  from: string;
  to: string;
  tag: string | null;
}

export interface HopJson {
  n: number;
  layer: Hop['layer'];
  node: string | null;
  netns: string;
  owner: string;
  iface: string | null;
  component: Hop['component'];
  action: string;
  decidedBy: DecisionJson | null;
  before: PacketJson;
  after: PacketJson;
  changes: ChangeJson[];
  explanation: string;
  branches: BranchJson[] | null;
}

export interface EndpointJson {
  spec: string;
  kind: TraceRequest['from']['kind'];
  ip: string;
  port: number | null;
}

export interface DeliveredJson {
  /** `ns/name` when a pod received it, else null (see `to`). */
  pod: string | null;
  to: string;
  ip: string;
  port: number | null;
  observedSource: string;
}

export interface ReturnJson {
  hops: HopJson[];
  disposition: Trace['disposition'];
  reason: string;
  observedSource: string | null;
  delivered: DeliveredJson | null;
}

export interface TraceJson {
  schemaVersion: number;
  request: {
    from: EndpointJson;
    to: EndpointJson;
    protocol: TraceRequest['protocol'];
    seed: number;
    forcedEndpoint: string | null;
  };
  disposition: Trace['disposition'];
  reason: string;
  masquerade: boolean;
  hops: HopJson[];
  branches: BranchJson[];
  delivered: DeliveredJson | null;
  return: ReturnJson | null;
  conntrack: { node: string; entries: string[] }[];
  /** The name lookup before the connection when TO was a DNS name; null otherwise. */
  dns: DnsJson | null;
}

export interface DnsQueryJson {
  name: string;
  type: string;
  server: string;
  rcode: string;
  answer: string[];
  via: 'coredns' | 'upstream' | 'nobody';
  coredns: string[] | null;
  /** The query's own packet journey to the server and back, as a complete trace document. */
  journey: TraceJson | null;
  note: string | null;
}

export interface DnsJson {
  name: string;
  resolver: 'glibc' | 'musl';
  resolvConf: string;
  tried: string[];
  queries: DnsQueryJson[];
  result: { status: string; addresses: string[] };
  waitedMs: number;
}

export function renderTraceJson(trace: Trace): string {
  return `${JSON.stringify(traceToJson(trace), null, 2)}\n`;
}

export function traceToJson(trace: Trace): TraceJson {
  const r = trace.request;
  return {
    schemaVersion: TRACE_JSON_SCHEMA_VERSION,
    request: {
      from: endpointJson(r.from),
      to: endpointJson(r.to),
      protocol: r.protocol,
      seed: r.seed,
      forcedEndpoint: r.forcedEndpoint ?? null,
    },
    disposition: trace.disposition,
    reason: trace.reason,
    masquerade: trace.masquerade,
    hops: trace.hops.map((h) => hopJson(h, 'forward', trace.hops)),
    branches: trace.branches.map((b) => branchJson(b, trace.hops)),
    delivered: trace.delivered ? deliveredJson(trace.delivered) : null,
    return: trace.return
      ? {
          hops: trace.return.hops.map((h) => hopJson(h, 'return', trace.return!.hops)),
          disposition: trace.return.disposition,
          reason: trace.return.reason,
          observedSource: trace.return.observedSource ?? null,
          delivered: trace.return.delivered ? deliveredJson(trace.return.delivered) : null,
        }
      : null,
    conntrack: trace.conntrack.map((c) => ({ node: c.node, entries: [...c.entries] })),
    dns: trace.dns ? dnsJson(trace.dns) : null,
  };
}

function dnsJson(d: TraceDns): DnsJson {
  return {
    name: d.name,
    resolver: d.resolver,
    resolvConf: d.resolvConf,
    tried: [...d.tried],
    queries: d.queries.map((q) => ({
      name: q.name,
      type: q.type,
      server: q.server,
      rcode: q.rcode,
      answer: [...q.answer],
      via: q.via,
      coredns: q.coredns ? [...q.coredns] : null,
      journey: q.journey ? traceToJson(q.journey) : null,
      note: q.note ?? null,
    })),
    result: { status: d.result.status, addresses: [...d.result.addresses] },
    waitedMs: d.waitedMs,
  };
}

function endpointJson(e: TraceRequest['from']): EndpointJson {
  return { spec: e.spec, kind: e.kind, ip: e.ip, port: e.port ?? null };
}

function deliveredJson(d: Delivery): DeliveredJson {
  // Delivery.to is `ns/name` for a pod and a plain node or host name otherwise.
  const pod =
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[^/]+$/.test(d.to) && !/^(node|external)\//.test(d.to) ? d.to : null;
  return { pod, to: d.to, ip: d.ip, port: d.port ?? null, observedSource: d.observedSource };
}

export function decisionJson(d: Decision): DecisionJson {
  return {
    kind: d.kind,
    text: d.text,
    table: d.table ?? null,
    chain: d.chain ?? null,
    ruleNumber: d.ruleNumber ?? null,
  };
}

function branchJson(b: Branch, hops: readonly Hop[]): BranchJson {
  // The flattened list holds the same objects as the hops' lists; fall back to equal target and probability.
  const at =
    hops.find((h) => h.branches?.includes(b)) ??
    hops.find((h) => h.branches?.some((x) => x.target === b.target && x.probability === b.probability));
  return {
    probability: b.probability,
    target: b.target,
    dnat: b.dnat ?? null,
    chosen: b.chosen,
    decidedBy: b.decidedBy ? decisionJson(b.decidedBy) : null,
    hop: at ? at.n : null,
  };
}

function hopJson(h: Hop, dir: Direction, leg: Leg['hops']): HopJson {
  return {
    n: h.n,
    layer: h.layer,
    node: h.at.node ?? null,
    netns: h.at.netns,
    owner: h.at.owner,
    iface: h.at.iface ?? null,
    component: h.component,
    action: h.action,
    decidedBy: h.decidedBy ? decisionJson(h.decidedBy) : null,
    before: packetJson(h.before),
    after: packetJson(h.after),
    changes: hopChanges(h, dir).map(changeJson),
    explanation: h.explanation,
    branches: h.branches ? h.branches.map((b) => branchJson(b, leg)) : null,
  };
}

function changeJson(c: PacketChange): ChangeJson {
  return { field: c.field, from: c.from, to: c.to, tag: c.tag ?? null };
}

function headersJson(p: Packet): OuterJson {
  const ip = p.ip;
  return {
    eth: p.eth ? { src: p.eth.src, dst: p.eth.dst } : null,
    ip: {
      version: ip.version,
      src: ip.src.toString(),
      dst: ip.dst.toString(),
      ttl: ip.ttl,
      protocol: ip.protocol,
      df: ip.df,
      totalLength: ip.totalLength,
      id: ip.id,
      tos: ip.tos,
    },
    l4: l4Json(p),
  };
}

function l4Json(p: Packet): L4Json | null {
  const l4 = p.l4;
  if (!l4) return null;
  switch (l4.kind) {
    case 'tcp':
      return { kind: 'tcp', sport: l4.sport, dport: l4.dport, flags: [...l4.flags] };
    case 'udp':
      return { kind: 'udp', sport: l4.sport, dport: l4.dport };
    case 'sctp':
      return { kind: 'sctp', sport: l4.sport, dport: l4.dport };
    case 'icmp':
      return { kind: 'icmp', type: l4.type, code: l4.code, id: l4.id ?? null, seq: l4.seq ?? null };
  }
}

/** A packet as plain JSON; a VXLAN packet reads as its inner frame with the outer headers under `encap.outer`. */
export function packetJson(p: Packet): PacketJson {
  if (p.encap) {
    const inner = packetJson(p.encap.inner);
    return {
      ...inner,
      encap: { kind: 'vxlan', vni: p.encap.vni, outer: headersJson(p) },
      mark: p.mark,
      ctmark: p.ctmark,
    };
  }
  return {
    ...headersJson(p),
    encap: null,
    mark: p.mark,
    ctmark: p.ctmark,
    payloadLength: p.payloadLength ?? 0,
  };
}

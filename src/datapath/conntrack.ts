// The kernel's connection tracker (nf_conntrack + nf_nat bindings) as immutable data: every operation returns a
// new table, so a trace can fork at a branch point and keep both histories.
import type { IPAddr } from '../net/ip.js';
import { IPPROTO, isIcmpError, type Packet, type TcpFlag, withAddresses, withPorts } from '../net/packet.js';

/** A conntrack tuple. For ICMP, `sport` is the echo id and `dport` is `type << 8 | code`, as the kernel keys it. */
export interface Tuple {
  readonly proto: number;
  readonly src: IPAddr;
  readonly dst: IPAddr;
  readonly sport: number;
  readonly dport: number;
}

export type TcpCtState =
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSE';

export interface CtStatus {
  readonly seenReply: boolean;
  readonly assured: boolean;
  readonly confirmed: boolean;
  /** IPS_SRC_NAT / IPS_DST_NAT: the binding changes the source / destination. */
  readonly snat: boolean;
  readonly dnat: boolean;
}

export interface ConntrackEntry {
  /** Creation order; also the listing order. */
  readonly id: number;
  readonly orig: Tuple;
  readonly reply: Tuple;
  readonly tcpState?: TcpCtState;
  readonly status: CtStatus;
  /** Absolute time (seconds) at which the entry expires. */
  readonly expires: number;
  readonly created: number;
  readonly mark: number;
}

export interface ConntrackTable {
  readonly entries: readonly ConntrackEntry[];
  readonly nextId: number;
}

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';
export type CtDir = 'ORIGINAL' | 'REPLY';

/** What `-m conntrack` / `-m state` see for one packet. */
export interface CtInfo {
  readonly state: CtState;
  readonly dir?: CtDir;
  readonly entry?: ConntrackEntry;
}

export const EMPTY_CONNTRACK: ConntrackTable = { entries: [], nextId: 1 };

/** Kernel default timeouts in seconds (net.netfilter.nf_conntrack_*_timeout*). */
export const CT_TIMEOUTS = {
  tcp: {
    SYN_SENT: 120,
    SYN_RECV: 60,
    ESTABLISHED: 432000,
    FIN_WAIT: 120,
    CLOSE_WAIT: 60,
    LAST_ACK: 30,
    TIME_WAIT: 120,
    CLOSE: 10,
  } satisfies Record<TcpCtState, number>,
  udp: 30,
  udpStream: 120,
  icmp: 30,
  generic: 600,
} as const;

const ICMP_ECHO_REPLY_OF: Readonly<Record<number, number>> = {
  8: 0,
  0: 8,
  128: 129,
  129: 128,
  13: 14,
  14: 13,
};

function isIcmpProto(proto: number): boolean {
  return proto === IPPROTO.icmp || proto === IPPROTO.icmpv6;
}

/** The tuple the kernel would key this packet by (an ICMP error is keyed by itself; see `ctLookup`). */
export function packetTuple(p: Packet): Tuple {
  const l4 = p.l4;
  if (!l4) return { proto: p.ip.protocol, src: p.ip.src, dst: p.ip.dst, sport: 0, dport: 0 };
  if (l4.kind === 'icmp') {
    return {
      proto: p.ip.protocol,
      src: p.ip.src,
      dst: p.ip.dst,
      sport: l4.id ?? 0,
      dport: (l4.type << 8) | l4.code,
    };
  }
  return { proto: p.ip.protocol, src: p.ip.src, dst: p.ip.dst, sport: l4.sport, dport: l4.dport };
}

export function invertTuple(t: Tuple): Tuple {
  if (isIcmpProto(t.proto)) {
    const type = t.dport >> 8;
    const rtype = ICMP_ECHO_REPLY_OF[type] ?? type;
    return { proto: t.proto, src: t.dst, dst: t.src, sport: t.sport, dport: (rtype << 8) | (t.dport & 255) };
  }
  return { proto: t.proto, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

export function tupleEquals(a: Tuple, b: Tuple): boolean {
  return (
    a.proto === b.proto &&
    a.sport === b.sport &&
    a.dport === b.dport &&
    a.src.equals(b.src) &&
    a.dst.equals(b.dst)
  );
}

function find(
  table: ConntrackTable,
  t: Tuple,
  now: number,
  reopening = false,
): { entry: ConntrackEntry; dir: CtDir } | undefined {
  for (const e of table.entries) {
    if (e.expires <= now) continue;
    // A new SYN on a TIME_WAIT/CLOSE entry kills it and starts a fresh connection (nf_conntrack_tcp_packet).
    if (reopening && (e.tcpState === 'TIME_WAIT' || e.tcpState === 'CLOSE') && tupleEquals(e.orig, t))
      continue;
    if (tupleEquals(e.orig, t)) return { entry: e, dir: 'ORIGINAL' };
    if (tupleEquals(e.reply, t)) return { entry: e, dir: 'REPLY' };
  }
  return undefined;
}

/**
 * Classifies a packet against the table as nf_conntrack_in does: a known tuple is ESTABLISHED once a reply was
 * seen (or for the reply itself), NEW while only the original direction was seen; an ICMP error quoting a tracked
 * connection is RELATED; a packet that cannot start a connection is INVALID.
 */
export function ctLookup(table: ConntrackTable, p: Packet, now: number): CtInfo {
  const l4 = p.l4;
  if (l4?.kind === 'icmp' && isIcmpError(l4, p.ip.version)) {
    // nf_conntrack_inet_error: invert the quoted tuple and look that up; no match means no conntrack (INVALID).
    if (!l4.quoted) return { state: 'INVALID' };
    const inner = packetTuple({
      ip: l4.quoted.ip,
      ...(l4.quoted.l4 ? { l4: l4.quoted.l4 } : {}),
      mark: 0,
      ctmark: 0,
    });
    const hit = find(table, invertTuple(inner), now);
    if (!hit) return { state: 'INVALID' };
    // The error travels in the direction its inverted inner tuple matched (IP_CT_IS_REPLY when that is REPLY).
    return { state: 'RELATED', dir: hit.dir, entry: hit.entry };
  }
  const syn = l4?.kind === 'tcp' && l4.flags.includes('SYN') && !l4.flags.includes('ACK');
  const hit = find(table, packetTuple(p), now, syn);
  if (hit) {
    const est = hit.dir === 'REPLY' || hit.entry.status.seenReply;
    return { state: est ? 'ESTABLISHED' : 'NEW', dir: hit.dir, entry: hit.entry };
  }
  if (l4?.kind === 'tcp' && l4.flags.includes('RST')) return { state: 'INVALID' };
  // icmp_new / icmpv6_new: only queries may start a connection (echo, timestamp, info, mask; ICMPv6 echo, node info).
  if (l4?.kind === 'icmp' && !(p.ip.version === 4 ? [8, 13, 15, 17] : [128, 139]).includes(l4.type)) {
    return { state: 'INVALID' };
  }
  return { state: 'NEW', dir: 'ORIGINAL' };
}

/** A new, unconfirmed entry for the first packet of a connection (reply tuple = inverse, no NAT yet). */
export function ctCreate(table: ConntrackTable, p: Packet, now: number): ConntrackEntry {
  const orig = packetTuple(p);
  const base = {
    id: table.nextId,
    orig,
    reply: invertTuple(orig),
    status: { seenReply: false, assured: false, confirmed: false, snat: false, dnat: false },
    created: now,
    mark: p.ctmark,
  };
  const l4 = p.l4;
  if (l4?.kind === 'tcp') {
    // With nf_conntrack_tcp_loose=1 (default) a mid-stream packet is picked up as ESTABLISHED.
    const st: TcpCtState = l4.flags.includes('SYN') && !l4.flags.includes('ACK') ? 'SYN_SENT' : 'ESTABLISHED';
    return { ...base, tcpState: st, expires: now + CT_TIMEOUTS.tcp[st] };
  }
  return { ...base, expires: now + protoTimeout(orig.proto, false) };
}

function protoTimeout(proto: number, stream: boolean): number {
  if (proto === IPPROTO.udp) return stream ? CT_TIMEOUTS.udpStream : CT_TIMEOUTS.udp;
  if (isIcmpProto(proto)) return CT_TIMEOUTS.icmp;
  return CT_TIMEOUTS.generic;
}

export type NatManip = 'SNAT' | 'DNAT';

/**
 * Pins a NAT binding on an unconfirmed entry, as nf_nat_setup_info does: DNAT rewrites the reply tuple's source,
 * SNAT/MASQUERADE its destination. Ports are kept when `port` is undefined.
 */
export function ctSetNat(
  entry: ConntrackEntry,
  manip: NatManip,
  addr: IPAddr,
  port?: number,
): ConntrackEntry {
  const r = entry.reply;
  if (manip === 'DNAT') {
    const reply = { ...r, src: addr, sport: port ?? r.sport };
    const changed = !tupleEquals(reply, invertTuple(entry.orig)) || entry.status.dnat;
    return { ...entry, reply, status: { ...entry.status, dnat: changed } };
  }
  const keepPort = isIcmpProto(r.proto) ? r.dport : (port ?? r.dport);
  const reply = { ...r, dst: addr, dport: keepPort };
  return { ...entry, reply, status: { ...entry.status, snat: true } };
}

/** True when another live entry already uses this reply tuple (the NAT would clash). */
export function ctReplyInUse(table: ConntrackTable, reply: Tuple, self: ConntrackEntry): boolean {
  return table.entries.some(
    (e) =>
      e.id !== self.id &&
      // an entry with our original tuple is the dead one we replace on confirm
      !tupleEquals(e.orig, self.orig) &&
      (tupleEquals(e.reply, reply) || tupleEquals(e.orig, reply)),
  );
}

/**
 * The source port a SNAT/MASQUERADE binding uses: the original port unless it clashes with an existing reply
 * tuple, then the next free one in 1024-65535 (nf_nat_l4proto_unique_tuple also searches the range; kernel
 * picks its start by hash — here it is the original port, for determinism). With `--random-fully` the search
 * starts at a port derived from `seed`.
 */
export function pickSnatPort(
  table: ConntrackTable,
  entry: ConntrackEntry,
  addr: IPAddr,
  opts: { randomFully?: boolean; seed?: number; range?: [number, number] } = {},
): number {
  const r = entry.reply;
  if (isIcmpProto(r.proto)) return r.dport;
  const [lo, hi] = opts.range ?? [1024, 65535];
  const span = hi - lo + 1;
  const orig = entry.orig.sport;
  const inRange = orig >= lo && orig <= hi;
  const tryPort = (port: number) => !ctReplyInUse(table, { ...r, dst: addr, dport: port }, entry);
  if (!opts.randomFully && inRange && tryPort(orig)) return orig;
  let start = inRange ? orig - lo : 0;
  if (opts.randomFully) start = mix32((opts.seed ?? 0) ^ hashTuple(entry.orig)) % span;
  for (let i = opts.randomFully ? 0 : 1; i <= span; i++) {
    const port = lo + ((start + i) % span);
    if (tryPort(port)) return port;
  }
  return orig;
}

function hashTuple(t: Tuple): number {
  let h = t.proto;
  for (const v of [t.src.value, t.dst.value]) h = mix32(h ^ Number(v & 0xffffffffn));
  return mix32(h ^ (t.sport << 16) ^ t.dport);
}

function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Adds an unconfirmed entry to the table (__nf_conntrack_confirm); already-confirmed entries are replaced. */
export function ctConfirm(table: ConntrackTable, entry: ConntrackEntry): ConntrackTable {
  const confirmed = { ...entry, status: { ...entry.status, confirmed: true } };
  const exists = table.entries.some((e) => e.id === entry.id);
  // A confirmed new entry replaces a dead one with the same original tuple (expired, or killed by a new SYN).
  const others = table.entries.filter((e) => e.id === entry.id || !tupleEquals(e.orig, entry.orig));
  return {
    entries: exists ? others.map((e) => (e.id === entry.id ? confirmed : e)) : [...others, confirmed],
    nextId: Math.max(table.nextId, entry.id + 1),
  };
}

function tcpNext(st: TcpCtState, flags: readonly TcpFlag[], dir: CtDir): TcpCtState {
  const has = (f: TcpFlag) => flags.includes(f);
  if (has('RST')) return 'CLOSE';
  if (has('SYN')) {
    if (has('ACK')) return dir === 'REPLY' && (st === 'SYN_SENT' || st === 'SYN_RECV') ? 'SYN_RECV' : st;
    return st === 'CLOSE' || st === 'TIME_WAIT' ? 'SYN_SENT' : st;
  }
  if (has('FIN')) {
    if (st === 'ESTABLISHED' || st === 'SYN_RECV') return 'FIN_WAIT';
    if (st === 'FIN_WAIT' || st === 'CLOSE_WAIT') return 'LAST_ACK';
    return st;
  }
  if (has('ACK')) {
    if (st === 'SYN_RECV' && dir === 'ORIGINAL') return 'ESTABLISHED';
    if (st === 'FIN_WAIT') return 'CLOSE_WAIT';
    if (st === 'LAST_ACK') return 'TIME_WAIT';
  }
  return st;
}

/**
 * Advances an entry for a packet seen in `dir` (protocol state, SEEN_REPLY, ASSURED, timeout), as the protocol
 * trackers do for every packet after the first. Simplified TCP: no window tracking, direction-blind FIN handling.
 */
export function ctUpdate(entry: ConntrackEntry, p: Packet, dir: CtDir, now: number): ConntrackEntry {
  const seenReply = entry.status.seenReply || dir === 'REPLY';
  const l4 = p.l4;
  if (l4?.kind === 'tcp' && entry.tcpState) {
    const next = tcpNext(entry.tcpState, l4.flags, dir);
    // nf_conntrack_proto_tcp sets ASSURED on the SYN_RECV -> ESTABLISHED step.
    const assured = entry.status.assured || (entry.tcpState === 'SYN_RECV' && next === 'ESTABLISHED');
    return {
      ...entry,
      tcpState: next,
      status: { ...entry.status, seenReply, assured },
      expires: now + CT_TIMEOUTS.tcp[next],
    };
  }
  if (entry.orig.proto === IPPROTO.udp && seenReply) {
    // nf_conntrack_udp_packet: still active 2 s after the first packet → stream timeout and ASSURED.
    const stream = now > entry.created + 2;
    return {
      ...entry,
      status: { ...entry.status, seenReply, assured: entry.status.assured || stream },
      expires: now + protoTimeout(entry.orig.proto, stream),
    };
  }
  return {
    ...entry,
    status: { ...entry.status, seenReply },
    expires: now + protoTimeout(entry.orig.proto, false),
  };
}

/** Replaces an entry (matched by id) in the table. */
export function ctReplace(table: ConntrackTable, entry: ConntrackEntry): ConntrackTable {
  return { ...table, entries: table.entries.map((e) => (e.id === entry.id ? entry : e)) };
}

/**
 * Applies the entry's NAT binding to a packet flowing in `dir`, for one manipulation: `dst` (PREROUTING/OUTPUT:
 * DNAT for originals, un-SNAT for replies) or `src` (POSTROUTING/INPUT: SNAT for originals, un-DNAT for replies).
 * The target is the inverse of the other direction's tuple, exactly as nf_nat_packet computes it.
 */
export function ctNatPacket(entry: ConntrackEntry, p: Packet, dir: CtDir, manip: 'src' | 'dst'): Packet {
  const target = invertTuple(dir === 'ORIGINAL' ? entry.reply : entry.orig);
  const l4 = p.l4;
  if (l4?.kind === 'icmp' && isIcmpError(l4, p.ip.version) && l4.quoted) {
    // nf_nat_icmp_reply_translation: nothing to do unless the connection has the matching NAT (IPS_SRC_NAT for a
    // source manip in the original direction, IPS_DST_NAT in the reply direction, and the converse).
    const applies =
      manip === 'src'
        ? dir === 'ORIGINAL'
          ? entry.status.snat
          : entry.status.dnat
        : dir === 'ORIGINAL'
          ? entry.status.dnat
          : entry.status.snat;
    if (!applies) return p;
    // An ICMP error is NATed along with the connection it quotes (outer header and the quoted inner header).
    const ip = manip === 'dst' ? { ...p.ip, dst: target.dst } : { ...p.ip, src: target.src };
    const q = l4.quoted;
    const qip = manip === 'dst' ? { ...q.ip, src: target.dst } : { ...q.ip, dst: target.src };
    let ql4 = q.l4;
    if (ql4 && ql4.kind !== 'icmp') {
      ql4 = manip === 'dst' ? { ...ql4, sport: target.dport } : { ...ql4, dport: target.sport };
    }
    return { ...p, ip, l4: { ...l4, quoted: { ip: qip, ...(ql4 ? { l4: ql4 } : {}) } } };
  }
  if (manip === 'dst') {
    const q = withAddresses(p, p.ip.src, target.dst);
    return l4?.kind === 'icmp' ? q : withPorts(q, undefined, target.dport);
  }
  const q = withAddresses(p, target.src, p.ip.dst);
  return l4?.kind === 'icmp' ? q : withPorts(q, target.sport, undefined);
}

const PROTO_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp',
  6: 'tcp',
  17: 'udp',
  58: 'icmpv6',
  132: 'sctp',
};

function formatTuple(t: Tuple): string {
  const a = `src=${t.src.toString()} dst=${t.dst.toString()}`;
  if (isIcmpProto(t.proto)) return `${a} type=${t.dport >> 8} code=${t.dport & 255} id=${t.sport}`;
  if (t.proto === IPPROTO.tcp || t.proto === IPPROTO.udp || t.proto === IPPROTO.sctp) {
    return `${a} sport=${t.sport} dport=${t.dport}`;
  }
  return a;
}

/** One entry as `conntrack -L` (conntrack-tools 1.4) prints it, with the timeout remaining at `now`. */
export function formatConntrackEntry(e: ConntrackEntry, now: number): string {
  const name = PROTO_NAMES[e.orig.proto] ?? 'unknown';
  const left = Math.max(0, Math.floor(e.expires - now));
  const parts = [`${name.padEnd(8)} ${e.orig.proto} ${left}`];
  if (e.tcpState) parts.push(e.tcpState);
  parts.push(formatTuple(e.orig));
  if (!e.status.seenReply) parts.push('[UNREPLIED]');
  parts.push(formatTuple(e.reply));
  if (e.status.assured) parts.push('[ASSURED]');
  parts.push(`mark=${e.mark >>> 0}`, 'use=1');
  return parts.join(' ');
}

/** The table as `conntrack -L` lists it on stdout (one line per live entry; the summary goes to stderr). */
export function formatConntrackList(table: ConntrackTable, now: number): string {
  return table.entries
    .filter((e) => e.expires > now)
    .map((e) => `${formatConntrackEntry(e, now)}\n`)
    .join('');
}

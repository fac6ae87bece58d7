// A packet as plain immutable data: the header fields the datapath reads or rewrites, nothing else.
import type { IPAddr } from './ip.js';

export const IPPROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;

export interface Ethernet {
  readonly src: string;
  readonly dst: string;
}

export interface IPHeader {
  readonly version: 4 | 6;
  readonly src: IPAddr;
  readonly dst: IPAddr;
  /** TTL (IPv4) or hop limit (IPv6). */
  readonly ttl: number;
  /** IP protocol number (6 tcp, 17 udp, 132 sctp, 1 icmp, 58 icmpv6). */
  readonly protocol: number;
  readonly df: boolean;
  /** Total length of the IP packet in bytes (header + payload). */
  readonly totalLength: number;
  readonly id: number;
  readonly tos: number;
  /** Fragment offset in 8-byte units; non-zero for a non-first fragment (`-f`). */
  readonly fragOffset?: number;
}

export type TcpFlag = 'FIN' | 'SYN' | 'RST' | 'PSH' | 'ACK' | 'URG' | 'ECE' | 'CWR';

export interface TcpHeader {
  readonly kind: 'tcp';
  readonly sport: number;
  readonly dport: number;
  readonly flags: readonly TcpFlag[];
  readonly seq?: number;
  readonly ack?: number;
}

export interface UdpHeader {
  readonly kind: 'udp';
  readonly sport: number;
  readonly dport: number;
}

export interface SctpHeader {
  readonly kind: 'sctp';
  readonly sport: number;
  readonly dport: number;
}

/** The header of the packet an ICMP error quotes (RFC 792: IP header + first 8 bytes of the datagram). */
export interface QuotedPacket {
  readonly ip: IPHeader;
  readonly l4?: L4Header;
}

export interface IcmpHeader {
  readonly kind: 'icmp';
  readonly type: number;
  readonly code: number;
  /** Echo identifier and sequence (types 0/8, ICMPv6 128/129). */
  readonly id?: number;
  readonly seq?: number;
  /** For errors (unreachable, time exceeded, ...): the offending packet's headers. */
  readonly quoted?: QuotedPacket;
}

export type L4Header = TcpHeader | UdpHeader | SctpHeader | IcmpHeader;

export interface VxlanEncap {
  readonly kind: 'vxlan';
  readonly vni: number;
  /** The inner Ethernet frame; this packet itself is the outer Ethernet/IP/UDP. */
  readonly inner: Packet;
}

export interface Packet {
  readonly eth?: Ethernet;
  readonly ip: IPHeader;
  readonly l4?: L4Header;
  readonly encap?: VxlanEncap;
  /** skb->mark. */
  readonly mark: number;
  /** The conntrack entry's mark as seen by this packet (CONNMARK / connmark). */
  readonly ctmark: number;
  /** L4 payload length in bytes. */
  readonly payloadLength?: number;
}

export function isIcmpError(h: IcmpHeader, version: 4 | 6): boolean {
  // ICMPv4 3 unreachable, 4 source quench, 5 redirect, 11 time exceeded, 12 parameter problem; ICMPv6 types < 128.
  return version === 4 ? [3, 4, 5, 11, 12].includes(h.type) : h.type < 128;
}

/**
 * How much of the offending packet an ICMP error carries: Linux's icmp_send quotes as much as fits in 576 bytes
 * (IPv4; 1280 for ICMPv6), not just the RFC 792 minimum.
 */
export function icmpQuoteLength(q: QuotedPacket, version: 4 | 6): number {
  return version === 4 ? Math.min(q.ip.totalLength, 576 - 28) : Math.min(q.ip.totalLength, 1280 - 48);
}

function l4Length(l4: L4Header | undefined): number {
  if (!l4) return 0;
  switch (l4.kind) {
    case 'tcp':
      return 20;
    case 'udp':
    case 'sctp':
      return l4.kind === 'udp' ? 8 : 12;
    case 'icmp':
      return 8;
  }
}

export interface PacketSpec {
  src: IPAddr;
  dst: IPAddr;
  l4?: L4Header;
  ttl?: number;
  payloadLength?: number;
  eth?: Ethernet;
  mark?: number;
  df?: boolean;
  id?: number;
  tos?: number;
}

/** Builds a packet with sensible header defaults (TTL 64, DF set, lengths computed). */
export function makePacket(spec: PacketSpec): Packet {
  const version = spec.src.family;
  const proto =
    spec.l4 === undefined
      ? 0
      : spec.l4.kind === 'icmp'
        ? version === 4
          ? IPPROTO.icmp
          : IPPROTO.icmpv6
        : IPPROTO[spec.l4.kind];
  const payload = spec.payloadLength ?? 0;
  const ip: IPHeader = {
    version,
    src: spec.src,
    dst: spec.dst,
    ttl: spec.ttl ?? 64,
    protocol: proto,
    df: spec.df ?? true,
    totalLength: (version === 4 ? 20 : 40) + l4Length(spec.l4) + payload,
    id: spec.id ?? 0,
    tos: spec.tos ?? 0,
  };
  return {
    ...(spec.eth ? { eth: spec.eth } : {}),
    ip,
    ...(spec.l4 ? { l4: spec.l4 } : {}),
    mark: spec.mark ?? 0,
    ctmark: 0,
    payloadLength: payload,
  };
}

export function tcp(sport: number, dport: number, flags: readonly TcpFlag[] = ['SYN']): TcpHeader {
  return { kind: 'tcp', sport, dport, flags };
}

export function udp(sport: number, dport: number): UdpHeader {
  return { kind: 'udp', sport, dport };
}

/** Source and destination port of the packet, if its L4 header has ports. */
export function ports(p: Packet): { sport: number; dport: number } | undefined {
  const l4 = p.l4;
  if (!l4 || l4.kind === 'icmp') return undefined;
  return { sport: l4.sport, dport: l4.dport };
}

export function withAddresses(p: Packet, src: IPAddr, dst: IPAddr): Packet {
  return { ...p, ip: { ...p.ip, src, dst } };
}

/** The packet with its source and/or destination port replaced (no-op for ICMP). */
export function withPorts(p: Packet, sport: number | undefined, dport: number | undefined): Packet {
  const l4 = p.l4;
  if (!l4 || l4.kind === 'icmp') return p;
  return { ...p, l4: { ...l4, sport: sport ?? l4.sport, dport: dport ?? l4.dport } };
}

const TCPDUMP_FLAG_ORDER: readonly [TcpFlag, string][] = [
  ['FIN', 'F'],
  ['SYN', 'S'],
  ['RST', 'R'],
  ['PSH', 'P'],
  ['ACK', '.'],
  ['URG', 'U'],
  ['ECE', 'E'],
  ['CWR', 'W'],
];

/** TCP flags as tcpdump prints them: `S`, `S.`, `P.`, `F.`, `R`; `none` when empty. */
export function formatTcpFlags(flags: readonly TcpFlag[]): string {
  // tcpdump's tcp_flag_values order: F S R P . U E W.
  const s = TCPDUMP_FLAG_ORDER.filter(([f]) => flags.includes(f))
    .map(([, c]) => c)
    .join('');
  return s === '' ? 'none' : s;
}

const ICMP_UNREACH: Record<number, string> = {
  0: 'net',
  1: 'host',
  2: 'protocol',
  3: 'port',
  9: 'net prohibited',
  10: 'host prohibited',
  13: 'admin prohibited',
};

function hostPort(ip: IPAddr, port: number | undefined): string {
  return port === undefined ? ip.toString() : `${ip.toString()}.${port}`;
}

function formatIcmp(p: { ip: IPHeader }, h: IcmpHeader, length: number): string {
  const v6 = p.ip.version === 6;
  if (!v6 && (h.type === 8 || h.type === 0)) {
    return `ICMP echo ${h.type === 8 ? 'request' : 'reply'}, id ${h.id ?? 0}, seq ${h.seq ?? 0}, length ${length}`;
  }
  if (v6 && (h.type === 128 || h.type === 129)) {
    return `ICMP6, echo ${h.type === 128 ? 'request' : 'reply'}, id ${h.id ?? 0}, seq ${h.seq ?? 0}, length ${length}`;
  }
  if (!v6 && h.type === 3 && h.quoted) {
    const q = h.quoted;
    if (h.code === 3 && q.l4 && q.l4.kind !== 'icmp') {
      return `ICMP ${q.ip.dst.toString()} ${q.l4.kind} port ${q.l4.dport} unreachable, length ${length}`;
    }
    if (h.code === 4) return `ICMP ${q.ip.dst.toString()} unreachable - need to frag, length ${length}`;
    const what = ICMP_UNREACH[h.code] ?? `#${h.code}`;
    return `ICMP ${q.ip.dst.toString()} ${what} unreachable, length ${length}`;
  }
  if (!v6 && h.type === 11) return `ICMP time exceeded in-transit, length ${length}`;
  return `ICMP${v6 ? '6' : ''} type ${h.type} code ${h.code}, length ${length}`;
}

/**
 * One line as `tcpdump -n` prints it (without the timestamp): `IP 10.244.0.5.45678 > 10.244.1.3.8080: Flags [S], length 0`.
 * With `ether: true`, the `-e` link-level prefix is added. A VXLAN packet prints the outer line, then the inner frame.
 */
export function formatPacket(p: Packet, opts: { ether?: boolean } = {}): string {
  const fam = p.ip.version === 4 ? 'IP' : 'IP6';
  const l4 = p.l4;
  const payload = p.payloadLength ?? 0;
  let head: string;
  let body: string;
  if (!l4) {
    head = `${p.ip.src.toString()} > ${p.ip.dst.toString()}`;
    body = `ip-proto-${p.ip.protocol} ${payload}`;
  } else if (l4.kind === 'icmp') {
    head = `${p.ip.src.toString()} > ${p.ip.dst.toString()}`;
    body = formatIcmp(p, l4, 8 + payload + (l4.quoted ? icmpQuoteLength(l4.quoted, p.ip.version) : 0));
  } else {
    head = `${hostPort(p.ip.src, l4.sport)} > ${hostPort(p.ip.dst, l4.dport)}`;
    if (l4.kind === 'tcp') body = `Flags [${formatTcpFlags(l4.flags)}], length ${payload}`;
    else if (l4.kind === 'sctp') body = `sctp`;
    else if (p.encap?.kind === 'vxlan') body = `VXLAN, flags [I] (0x08), vni ${p.encap.vni}`;
    else body = `UDP, length ${payload}`;
  }
  let prefix = `${fam} `;
  if (opts.ether && p.eth) {
    // With -e tcpdump names the ethertype and drops the `IP ` tag.
    const et = p.ip.version === 4 ? 'IPv4 (0x0800)' : 'IPv6 (0x86dd)';
    prefix = `${p.eth.src} > ${p.eth.dst}, ethertype ${et}, length ${p.ip.totalLength + 14}: `;
  }
  const line = `${prefix}${head}: ${body}`;
  if (p.encap?.kind === 'vxlan') return `${line}\n${formatPacket(p.encap.inner, { ether: true })}`;
  return line;
}

export interface VxlanOuter {
  src: IPAddr;
  dst: IPAddr;
  /** Source port: the kernel hashes the inner flow into the device's srcport range. */
  sport: number;
  /** 4789 (IANA) or flannel's 8472. */
  dport: number;
  vni: number;
  eth?: Ethernet;
  ttl?: number;
}

/** Wraps an inner frame in outer Ethernet/IP/UDP + an 8-byte VXLAN header (lengths as on the wire). */
export function encapVxlan(inner: Packet, o: VxlanOuter): Packet {
  const outer = makePacket({
    src: o.src,
    dst: o.dst,
    l4: { kind: 'udp', sport: o.sport, dport: o.dport },
    payloadLength: 8 + 14 + inner.ip.totalLength,
    ttl: o.ttl ?? 64,
    // Linux vxlan leaves DF clear unless the device is created with `df set`.
    df: false,
    ...(o.eth ? { eth: o.eth } : {}),
  });
  return { ...outer, encap: { kind: 'vxlan', vni: o.vni, inner } };
}

/** The inner frame of a VXLAN packet (what the receiving VTEP hands to its bridge). */
export function decapVxlan(p: Packet): Packet | undefined {
  return p.encap?.kind === 'vxlan' ? p.encap.inner : undefined;
}

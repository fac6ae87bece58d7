// A Packet as the bytes on the wire, and back: Ethernet II, IPv4/IPv6, TCP, UDP, SCTP, ICMP/ICMPv6, VXLAN.
// Serialisation is pure and deterministic; every length and checksum is computed from the bytes written, never
// copied from the model (Packet.ip.totalLength excludes an ICMP error's quote, the wire does not).
import { IPAddr } from './ip.js';
import {
  type Ethernet,
  type IcmpHeader,
  type IPHeader,
  IPPROTO,
  icmpQuoteLength,
  isIcmpError,
  type L4Header,
  type Packet,
  type QuotedPacket,
  type TcpFlag,
} from './packet.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
/** IANA's VXLAN port and the Linux/flannel default; parsing decodes UDP to either as VXLAN. */
export const VXLAN_PORTS: readonly number[] = [4789, 8472];

/** Used for a frame whose Packet has no Ethernet header (only ever the inner frame of a VXLAN packet). */
const UNKNOWN_ETH: Ethernet = { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' };

// Linux's initial receive window for a 1460-byte MSS (44 segments; `win 64240` in every SYN from this kernel).
const TCP_WINDOW = 64240;
// SCTP INIT defaults of Linux: a_rwnd = sk_rcvbuf/2 (106496 with the default rmem), 10 outbound streams
// (SCTP_DEFAULT_OUTSTREAMS), 65535 inbound streams (SCTP_DEFAULT_INSTREAMS).
const SCTP_A_RWND = 106496;
const SCTP_OSTREAMS = 10;
const SCTP_MAX_INSTREAMS = 65535;

const TCP_FLAG_BITS: readonly [TcpFlag, number][] = [
  ['FIN', 0x01],
  ['SYN', 0x02],
  ['RST', 0x04],
  ['PSH', 0x08],
  ['ACK', 0x10],
  ['URG', 0x20],
  ['ECE', 0x40],
  ['CWR', 0x80],
];

// ---------------------------------------------------------------------------------------------------------------
// Checksums

/** The 16-bit one's complement sum of RFC 1071, folded, not complemented; `initial` continues an earlier sum. */
export function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const n = bytes.length;
  for (let i = 0; i + 1 < n; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (n % 2 === 1) sum += bytes[n - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum (RFC 1071): the complement of the one's complement sum. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return ~onesComplementSum(bytes, initial) & 0xffff;
}

/** The TCP/UDP/ICMPv6 pseudo-header sum (RFC 793 for IPv4, RFC 8200 §8.1 for IPv6). */
function pseudoHeaderSum(src: IPAddr, dst: IPAddr, protocol: number, length: number): number {
  const ph = new Uint8Array(src.family === 4 ? 12 : 40);
  const v = new DataView(ph.buffer);
  if (src.family === 4) {
    ph.set(src.toBytes(), 0);
    ph.set(dst.toBytes(), 4);
    v.setUint8(9, protocol);
    v.setUint16(10, length);
  } else {
    ph.set(src.toBytes(), 0);
    ph.set(dst.toBytes(), 16);
    v.setUint32(32, length);
    v.setUint8(39, protocol);
  }
  return onesComplementSum(ph);
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    // Castagnoli polynomial 0x1EDC6F41, reflected.
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32c (Castagnoli) as SCTP uses it (RFC 9260 appendix A); `crc32c("123456789") === 0xe3069283`. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Serialisation

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `aa:bb:cc:dd:ee:ff` → 6 bytes; throws on anything else. */
export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new RangeError(`invalid MAC address "${mac}"`);
  }
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

function macText(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

function transportProtocol(p: Packet): number {
  const l4 = p.l4;
  if (!l4) return p.ip.protocol;
  if (l4.kind === 'icmp') return p.ip.version === 4 ? IPPROTO.icmp : IPPROTO.icmpv6;
  return IPPROTO[l4.kind];
}

function payloadBytes(n: number | undefined): Uint8Array {
  // The payload is n zero bytes: deterministic, and it never hides a checksum mistake behind random data.
  return new Uint8Array(Math.max(0, n ?? 0));
}

function tcpSegment(p: Packet, h: Extract<L4Header, { kind: 'tcp' }>): Uint8Array {
  const seg = concat([new Uint8Array(20), payloadBytes(p.payloadLength)]);
  const v = new DataView(seg.buffer);
  v.setUint16(0, h.sport);
  v.setUint16(2, h.dport);
  v.setUint32(4, (h.seq ?? 0) >>> 0);
  v.setUint32(8, (h.ack ?? 0) >>> 0);
  v.setUint8(12, 5 << 4);
  let flags = 0;
  for (const [f, bit] of TCP_FLAG_BITS) if (h.flags.includes(f)) flags |= bit;
  v.setUint8(13, flags);
  // Linux's tcp_v4_send_reset/tcp_v6_send_response leave the window of a RST at 0.
  v.setUint16(14, h.flags.includes('RST') ? 0 : TCP_WINDOW);
  v.setUint16(16, internetChecksum(seg, pseudoHeaderSum(p.ip.src, p.ip.dst, IPPROTO.tcp, seg.length)));
  return seg;
}

function udpDatagram(p: Packet, h: Extract<L4Header, { kind: 'udp' }>): Uint8Array {
  const body =
    p.encap?.kind === 'vxlan' ? vxlanPayload(p.encap.vni, p.encap.inner) : payloadBytes(p.payloadLength);
  const dg = concat([new Uint8Array(8), body]);
  const v = new DataView(dg.buffer);
  v.setUint16(0, h.sport);
  v.setUint16(2, h.dport);
  v.setUint16(4, dg.length);
  // Outer VXLAN UDP too: a vxlan device created without `noudpcsum` (iproute2's and flannel's netlink default)
  // computes it, `ip -d link` shows `udpcsum`. A computed 0 is sent as 0xffff (RFC 768).
  const sum = internetChecksum(dg, pseudoHeaderSum(p.ip.src, p.ip.dst, IPPROTO.udp, dg.length));
  v.setUint16(6, sum === 0 ? 0xffff : sum);
  return dg;
}

function vxlanPayload(vni: number, inner: Packet): Uint8Array {
  const hdr = new Uint8Array(8);
  // RFC 7348: flags 0x08 (I: VNI valid), 24 reserved bits, the 24-bit VNI, 8 reserved bits.
  hdr[0] = 0x08;
  new DataView(hdr.buffer).setUint32(4, (vni & 0xffffff) << 8);
  return concat([hdr, serializeFrame(inner)]);
}

function sctpPacket(h: Extract<L4Header, { kind: 'sctp' }>): Uint8Array {
  // Common header + one minimal INIT chunk (the first packet of an association), without the optional parameters
  // Linux adds (supported address types, ECN, forward-TSN, ...). payloadLength is not written: bytes after the
  // chunk would read as a malformed chunk.
  const pkt = new Uint8Array(12 + 20);
  const v = new DataView(pkt.buffer);
  v.setUint16(0, h.sport);
  v.setUint16(2, h.dport);
  v.setUint32(4, 0); // An INIT carries verification tag 0 (RFC 9260 §8.5.1).
  const tag = ((h.sport << 16) | h.dport) >>> 0 || 1; // Random on Linux; deterministic here.
  v.setUint8(12, 1); // chunk type INIT
  v.setUint8(13, 0);
  v.setUint16(14, 20);
  v.setUint32(16, tag);
  v.setUint32(20, SCTP_A_RWND);
  v.setUint16(24, SCTP_OSTREAMS);
  v.setUint16(26, SCTP_MAX_INSTREAMS);
  v.setUint32(28, tag); // initial TSN: random on Linux too; the tag's value keeps the file deterministic
  // The CRC32c goes in little-endian byte order, as Linux's sctp_compute_cksum (cpu_to_le32) writes it.
  v.setUint32(8, crc32c(pkt), true);
  return pkt;
}

/** The bytes an ICMP error quotes: the offending packet as it was sent, cut where Linux's icmp_send cuts it. */
function quoteBytes(q: QuotedPacket, version: 4 | 6): Uint8Array {
  const hdr = q.ip.version === 4 ? 20 : 40;
  const l4 = q.l4 ? l4HeaderLength(q.l4) : 0;
  const original: Packet = {
    ip: q.ip,
    ...(q.l4 ? { l4: q.l4 } : {}),
    mark: 0,
    ctmark: 0,
    payloadLength: Math.max(0, q.ip.totalLength - hdr - l4),
  };
  const bytes = serializeIp(original);
  return bytes.subarray(0, Math.min(bytes.length, icmpQuoteLength(q, version)));
}

function icmpMessage(p: Packet, h: IcmpHeader): Uint8Array {
  const v6 = p.ip.version === 6;
  const quote =
    h.quoted && isIcmpError(h, p.ip.version) ? quoteBytes(h.quoted, p.ip.version) : new Uint8Array(0);
  const msg = concat([new Uint8Array(8), quote, payloadBytes(p.payloadLength)]);
  const v = new DataView(msg.buffer);
  v.setUint8(0, h.type);
  v.setUint8(1, h.code);
  if (!isIcmpError(h, p.ip.version)) {
    v.setUint16(4, h.id ?? 0);
    v.setUint16(6, h.seq ?? 0);
  }
  // ICMPv4's checksum covers the message only; ICMPv6's adds the pseudo-header (RFC 4443 §2.3).
  const initial = v6 ? pseudoHeaderSum(p.ip.src, p.ip.dst, IPPROTO.icmpv6, msg.length) : 0;
  v.setUint16(2, internetChecksum(msg, initial));
  return msg;
}

function l4HeaderLength(l4: L4Header): number {
  switch (l4.kind) {
    case 'tcp':
      return 20;
    case 'udp':
      return 8;
    case 'sctp':
      return 12;
    case 'icmp':
      return 8;
  }
}

function transportBytes(p: Packet): Uint8Array {
  const hdr = p.ip.version === 4 ? 20 : 40;
  // A non-first fragment carries no transport header: its bytes are the middle of the datagram.
  if ((p.ip.fragOffset ?? 0) > 0) return new Uint8Array(Math.max(0, p.ip.totalLength - hdr));
  const l4 = p.l4;
  if (!l4) return payloadBytes(p.payloadLength);
  switch (l4.kind) {
    case 'tcp':
      return tcpSegment(p, l4);
    case 'udp':
      return udpDatagram(p, l4);
    case 'sctp':
      return sctpPacket(l4);
    case 'icmp':
      return icmpMessage(p, l4);
  }
}

function ipv4Header(ip: IPHeader, protocol: number, payloadLength: number): Uint8Array {
  const h = new Uint8Array(20);
  const v = new DataView(h.buffer);
  v.setUint8(0, 0x45); // version 4, IHL 5: no options
  v.setUint8(1, ip.tos & 0xff);
  v.setUint16(2, 20 + payloadLength);
  v.setUint16(4, ip.id & 0xffff);
  v.setUint16(6, (ip.df ? 0x4000 : 0) | ((ip.fragOffset ?? 0) & 0x1fff));
  v.setUint8(8, ip.ttl & 0xff);
  v.setUint8(9, protocol);
  h.set(ip.src.toBytes(), 12);
  h.set(ip.dst.toBytes(), 16);
  v.setUint16(10, internetChecksum(h));
  return h;
}

function ipv6Header(ip: IPHeader, protocol: number, payloadLength: number): Uint8Array {
  const h = new Uint8Array(40);
  const v = new DataView(h.buffer);
  // Version 6, traffic class = tos, flow label 0 (Linux hashes one per flow; 0 keeps the file deterministic).
  v.setUint32(0, ((6 << 28) | ((ip.tos & 0xff) << 20)) >>> 0);
  v.setUint16(4, payloadLength);
  v.setUint8(6, protocol);
  v.setUint8(7, ip.ttl & 0xff);
  h.set(ip.src.toBytes(), 8);
  h.set(ip.dst.toBytes(), 24);
  return h;
}

/** The IP packet (IPv4 header without options, or the IPv6 fixed header) and everything it carries. */
export function serializeIp(p: Packet): Uint8Array {
  const body = transportBytes(p);
  // The 16-bit length fields cap an IP packet (IPv6 jumbograms aside); a bigger one cannot be written truthfully.
  const limit = p.ip.version === 4 ? 65535 - 20 : 65535;
  if (body.length > limit) {
    throw new RangeError(
      `IPv${p.ip.version} packet of ${body.length} payload bytes exceeds the 16-bit length field`,
    );
  }
  const protocol = transportProtocol(p);
  const hdr =
    p.ip.version === 4 ? ipv4Header(p.ip, protocol, body.length) : ipv6Header(p.ip, protocol, body.length);
  return concat([hdr, body]);
}

/**
 * The Ethernet II frame (no FCS, no padding to 60 bytes: what tcpdump captures on the sending host).
 * A packet without `eth`, or a MAC given as '' (not yet resolved), gets all-zero addresses; only a VXLAN inner
 * frame should ever need them.
 */
export function serializeFrame(p: Packet): Uint8Array {
  const eth = p.eth ?? UNKNOWN_ETH;
  const mac = (m: string) => (m === '' ? new Uint8Array(6) : macBytes(m));
  const hdr = new Uint8Array(14);
  hdr.set(mac(eth.dst), 0);
  hdr.set(mac(eth.src), 6);
  new DataView(hdr.buffer).setUint16(12, p.ip.version === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
  return concat([hdr, serializeIp(p)]);
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

export class WireParseError extends Error {}

export interface ParseOptions {
  /** UDP destination ports decoded as VXLAN (default: 4789 and 8472). */
  vxlanPorts?: readonly number[];
}

function need(b: Uint8Array, n: number, what: string): void {
  if (b.length < n) throw new WireParseError(`truncated ${what}: ${b.length} bytes, need ${n}`);
}

function addr(family: 4 | 6, b: Uint8Array): IPAddr {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return IPAddr.fromBigInt(family, v);
}

interface IpParsed {
  ip: IPHeader;
  body: Uint8Array;
}

function parseIpHeader(b: Uint8Array, lenient: boolean): IpParsed {
  need(b, 1, 'IP header');
  const version = b[0]! >> 4;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (version === 4) {
    need(b, 20, 'IPv4 header');
    const ihl = (b[0]! & 0x0f) * 4;
    need(b, ihl, 'IPv4 header');
    const totalLength = v.getUint16(2);
    const fragWord = v.getUint16(6);
    const fragOffset = fragWord & 0x1fff;
    const ip: IPHeader = {
      version: 4,
      src: addr(4, b.subarray(12, 16)),
      dst: addr(4, b.subarray(16, 20)),
      ttl: b[8]!,
      protocol: b[9]!,
      df: (fragWord & 0x4000) !== 0,
      totalLength,
      id: v.getUint16(4),
      tos: b[1]!,
      ...(fragOffset > 0 ? { fragOffset } : {}),
    };
    // An ICMP quote is cut short of the quoted header's total length; the real datagram is not.
    const end = lenient ? Math.min(b.length, totalLength) : totalLength;
    if (!lenient) need(b, totalLength, 'IPv4 packet');
    return { ip, body: b.subarray(ihl, end) };
  }
  if (version === 6) {
    need(b, 40, 'IPv6 header');
    const payloadLength = v.getUint16(4);
    const ip: IPHeader = {
      version: 6,
      src: addr(6, b.subarray(8, 24)),
      dst: addr(6, b.subarray(24, 40)),
      ttl: b[7]!,
      protocol: b[6]!,
      // IPv6 routers never fragment: the model's DF is always set for IPv6.
      df: true,
      totalLength: 40 + payloadLength,
      id: 0,
      tos: (v.getUint32(0) >>> 20) & 0xff,
    };
    const end = lenient ? Math.min(b.length, 40 + payloadLength) : 40 + payloadLength;
    if (!lenient) need(b, 40 + payloadLength, 'IPv6 packet');
    return { ip, body: b.subarray(40, end) };
  }
  throw new WireParseError(`not an IP packet (version ${version})`);
}

function parseTransport(
  ip: IPHeader,
  body: Uint8Array,
  opts: ParseOptions,
  quoted: boolean,
): { l4?: L4Header; payloadLength: number; encap?: Packet['encap'] } {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if ((ip.fragOffset ?? 0) > 0) return { payloadLength: body.length };
  const proto = ip.protocol;
  if (proto === IPPROTO.tcp) {
    need(body, quoted ? 4 : 20, 'TCP header');
    const flagsByte = body.length > 13 ? body[13]! : 0;
    const flags = TCP_FLAG_BITS.filter(([, bit]) => flagsByte & bit).map(([f]) => f);
    const hdrLen = body.length > 12 ? (body[12]! >> 4) * 4 : 20;
    return {
      l4: {
        kind: 'tcp',
        sport: v.getUint16(0),
        dport: v.getUint16(2),
        flags,
        ...(body.length >= 8 ? { seq: v.getUint32(4) } : {}),
        ...(body.length >= 12 ? { ack: v.getUint32(8) } : {}),
      },
      payloadLength: Math.max(0, body.length - hdrLen),
    };
  }
  if (proto === IPPROTO.udp) {
    need(body, quoted ? 4 : 8, 'UDP header');
    const sport = v.getUint16(0);
    const dport = v.getUint16(2);
    const l4: L4Header = { kind: 'udp', sport, dport };
    const data = body.subarray(8);
    const ports = opts.vxlanPorts ?? VXLAN_PORTS;
    if (!quoted && ports.includes(dport) && data.length >= 8 + 14 && (data[0]! & 0x08) !== 0) {
      const vni = new DataView(data.buffer, data.byteOffset + 4, 4).getUint32(0) >>> 8;
      const inner = parseFrame(data.subarray(8), opts);
      return { l4, payloadLength: data.length, encap: { kind: 'vxlan', vni, inner } };
    }
    return { l4, payloadLength: data.length };
  }
  if (proto === IPPROTO.sctp) {
    need(body, quoted ? 4 : 12, 'SCTP header');
    const l4: L4Header = { kind: 'sctp', sport: v.getUint16(0), dport: v.getUint16(2) };
    // The one INIT chunk serializeIp writes counts as part of the header (see sctpPacket).
    const chunks = body.subarray(12);
    const initLen =
      chunks.length >= 4 && chunks[0] === 1 ? new DataView(chunks.buffer, chunks.byteOffset).getUint16(2) : 0;
    return { l4, payloadLength: Math.max(0, chunks.length - initLen) };
  }
  if ((proto === IPPROTO.icmp && ip.version === 4) || (proto === IPPROTO.icmpv6 && ip.version === 6)) {
    need(body, quoted ? 4 : 8, 'ICMP header');
    const type = body[0]!;
    const code = body[1]!;
    const probe: IcmpHeader = { kind: 'icmp', type, code };
    if (isIcmpError(probe, ip.version) && !quoted) {
      const q = parseIpHeader(body.subarray(8), true);
      const t = parseTransport(q.ip, q.body, opts, true);
      return { l4: { ...probe, quoted: { ip: q.ip, ...(t.l4 ? { l4: t.l4 } : {}) } }, payloadLength: 0 };
    }
    if (isIcmpError(probe, ip.version)) return { l4: probe, payloadLength: 0 };
    return {
      l4: { ...probe, ...(body.length >= 8 ? { id: v.getUint16(4), seq: v.getUint16(6) } : {}) },
      payloadLength: Math.max(0, body.length - 8),
    };
  }
  return { payloadLength: body.length };
}

/** Reads an IP packet (IPv4 or IPv6 by its version nibble). Marks are not on the wire and read as 0. */
export function parseIp(bytes: Uint8Array, opts: ParseOptions = {}): Packet {
  const { ip, body } = parseIpHeader(bytes, false);
  const t = parseTransport(ip, body, opts, false);
  return {
    ip,
    ...(t.l4 ? { l4: t.l4 } : {}),
    ...(t.encap ? { encap: t.encap } : {}),
    mark: 0,
    ctmark: 0,
    payloadLength: t.payloadLength,
  };
}

/** Reads an Ethernet II frame carrying IPv4 or IPv6. */
export function parseFrame(bytes: Uint8Array, opts: ParseOptions = {}): Packet {
  need(bytes, 14, 'Ethernet header');
  const type = (bytes[12]! << 8) | bytes[13]!;
  if (type !== ETHERTYPE_IPV4 && type !== ETHERTYPE_IPV6) {
    throw new WireParseError(`unsupported ethertype 0x${type.toString(16).padStart(4, '0')}`);
  }
  const eth: Ethernet = { dst: macText(bytes.subarray(0, 6)), src: macText(bytes.subarray(6, 12)) };
  return { eth, ...parseIp(bytes.subarray(14), opts) };
}

// What a hop changed in the packet: the header fields that differ between before and after, each tagged with
// the kind of rewrite (DNAT, SNAT, un-DNAT, encapsulation). Shared by the text and JSON renderers.
import type { IPAddr } from '../net/ip.js';
import { formatTcpFlags, type Packet } from '../net/packet.js';
import type { Hop } from '../trace/types.js';

export type ChangeTag =
  | 'DNAT'
  | 'SNAT'
  | 'MASQUERADE'
  | 'REDIRECT'
  | 'un-DNAT'
  | 'un-SNAT'
  | 'encapsulate'
  | 'decapsulate';

export interface PacketChange {
  /** `src`, `dst`, `TTL`, `mark`, `ctmark`, `DF`, `MAC src`, `MAC dst`, `flags`, `protocol`, `encap`; VXLAN hops prefix `outer `. */
  field: string;
  from: string;
  to: string;
  tag?: ChangeTag;
}

/** Which way the packet travels: a reply's address rewrites are conntrack undoing the original NAT. */
export type Direction = 'forward' | 'return';

/** `ip:port` (`[v6]:port`) or the bare address when the packet has no ports. */
export function endpointText(ip: IPAddr, port: number | undefined): string {
  return port === undefined ? ip.toString() : ip.joinPort(port);
}

function srcOf(p: Packet): string {
  return endpointText(p.ip.src, p.l4 && p.l4.kind !== 'icmp' ? p.l4.sport : undefined);
}

function dstOf(p: Packet): string {
  return endpointText(p.ip.dst, p.l4 && p.l4.kind !== 'icmp' ? p.l4.dport : undefined);
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** A VXLAN packet's outer headers as tcpdump names hosts: `192.168.1.10.41234 > 192.168.1.11.8472 [VXLAN vni 1]`. */
export function outerText(p: Packet): string {
  const ports = p.l4 && p.l4.kind !== 'icmp' ? p.l4 : undefined;
  const host = (ip: IPAddr, port: number | undefined) =>
    port === undefined ? ip.toString() : `${ip}.${port}`;
  return `${host(p.ip.src, ports?.sport)} > ${host(p.ip.dst, ports?.dport)} [VXLAN vni ${p.encap?.vni ?? '?'}]`;
}

function addressTags(action: string, dir: Direction): { src: ChangeTag; dst: ChangeTag } {
  const a = action.toUpperCase();
  if (dir === 'return') return { src: 'un-DNAT', dst: 'un-SNAT' };
  if (a === 'MASQUERADE') return { src: 'MASQUERADE', dst: 'DNAT' };
  if (a === 'REDIRECT') return { src: 'SNAT', dst: 'REDIRECT' };
  return { src: 'SNAT', dst: 'DNAT' };
}

function headerChanges(
  b: Packet,
  a: Packet,
  prefix: string,
  tags: { src: ChangeTag; dst: ChangeTag },
): PacketChange[] {
  const out: PacketChange[] = [];
  const push = (field: string, from: string, to: string, tag?: ChangeTag) => {
    if (from !== to) out.push({ field: prefix + field, from, to, ...(tag ? { tag } : {}) });
  };
  push('MAC src', b.eth?.src ?? 'none', a.eth?.src ?? 'none');
  push('MAC dst', b.eth?.dst ?? 'none', a.eth?.dst ?? 'none');
  push('protocol', String(b.ip.protocol), String(a.ip.protocol));
  push('src', srcOf(b), srcOf(a), tags.src);
  push('dst', dstOf(b), dstOf(a), tags.dst);
  push('TTL', String(b.ip.ttl), String(a.ip.ttl));
  push('DF', b.ip.df ? 'set' : 'clear', a.ip.df ? 'set' : 'clear');
  push('tos', hex(b.ip.tos), hex(a.ip.tos));
  if (b.l4?.kind === 'tcp' && a.l4?.kind === 'tcp')
    push('flags', formatTcpFlags(b.l4.flags), formatTcpFlags(a.l4.flags));
  if (b.l4?.kind === 'icmp' && a.l4?.kind === 'icmp') {
    push('ICMP type', `${b.l4.type}/${b.l4.code}`, `${a.l4.type}/${a.l4.code}`);
  }
  push('mark', hex(b.mark), hex(a.mark));
  push('ctmark', hex(b.ctmark), hex(a.ctmark));
  return out;
}

/** The fields a hop changed, in header order (outer before inner). */
export function packetChanges(before: Packet, after: Packet, action: string, dir: Direction): PacketChange[] {
  const tags = addressTags(action, dir);
  if (!before.encap && after.encap) {
    return [
      { field: 'encap', from: 'none', to: outerText(after), tag: 'encapsulate' },
      ...headerChanges(before, after.encap.inner, '', tags),
    ];
  }
  if (before.encap && !after.encap) {
    return [
      { field: 'encap', from: outerText(before), to: 'none', tag: 'decapsulate' },
      ...headerChanges(before.encap.inner, after, '', tags),
    ];
  }
  if (before.encap && after.encap) {
    const vni =
      before.encap.vni === after.encap.vni
        ? []
        : [{ field: 'outer vni', from: String(before.encap.vni), to: String(after.encap.vni) }];
    return [
      ...headerChanges(before, after, 'outer ', tags),
      ...vni,
      ...headerChanges(before.encap.inner, after.encap.inner, 'inner ', tags),
    ];
  }
  return headerChanges(before, after, '', tags);
}

export function hopChanges(hop: Hop, dir: Direction): PacketChange[] {
  return packetChanges(hop.before, hop.after, hop.action, dir);
}

/** A probability as the fraction an engineer would say (`1/3`), or a percentage when it is not a simple one. */
export function formatProbability(p: number): string {
  if (p >= 1 - 1e-9) return '1/1';
  if (p <= 0) return '0';
  for (let d = 2; d <= 64; d++) {
    const n = Math.round(p * d);
    // kube-proxy writes 1/n with 11 decimals (0.33333333349), so a tolerance of 1e-9 per unit is plenty.
    if (n > 0 && Math.abs(p * d - n) < 1e-6) return `${n}/${d}`;
  }
  return `${(p * 100).toFixed(1)}%`;
}

// DNS messages as plain data: resource records as zone-file lines, rcodes and header flags.
import { IPAddr } from '../net/ip.js';

export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

export const RCODE_NUMBER: Record<Rcode, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};

/** One resource record. `name` is absolute (trailing dot); `data` is the rdata as a zone file writes it. */
export interface ResourceRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface HeaderFlags {
  qr: boolean;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
}

/** A reply as a server writes it. */
export interface DnsReply {
  question: { name: string; type: string };
  rcode: Rcode;
  flags: HeaderFlags;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

/** `owner TTL IN TYPE rdata`, the zone-file form used in JSON and traces. */
export function formatRecord(rr: ResourceRecord): string {
  return `${rr.name} ${rr.ttl} IN ${rr.type} ${rr.data}`;
}

/** Absolute form of a name: `Web.Shop` → `Web.Shop.`; the root stays `.`. */
export function fqdn(name: string): string {
  if (name === '' || name === '.') return '.';
  return name.endsWith('.') ? name : `${name}.`;
}

/** Lowercased absolute name, the key DNS software compares on (names are case-insensitive). */
export function canonical(name: string): string {
  return fqdn(name).toLowerCase();
}

/** True when `name` equals `zone` or lies below it (both absolute, any case). */
export function isSubdomain(name: string, zone: string): boolean {
  const n = canonical(name);
  const z = canonical(zone);
  if (z === '.') return true;
  return n === z || n.endsWith(`.${z}`);
}

/** The reverse-lookup name of an address: `4.3.2.1.in-addr.arpa.` or the 32-nibble ip6.arpa form. */
export function reverseName(ip: IPAddr): string {
  if (ip.family === 4) {
    const b = ip.toBytes();
    return `${b[3]}.${b[2]}.${b[1]}.${b[0]}.in-addr.arpa.`;
  }
  const nibbles: string[] = [];
  for (let i = 0; i < 32; i++) nibbles.push(((ip.value >> BigInt(i * 4)) & 15n).toString(16));
  return `${nibbles.join('.')}.ip6.arpa.`;
}

/** The address a complete reverse name stands for, or undefined (partial names, other zones). */
export function addressFromReverse(name: string): IPAddr | undefined {
  const n = canonical(name);
  if (n.endsWith('.in-addr.arpa.')) {
    const parts = n.slice(0, -'.in-addr.arpa.'.length).split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
    return IPAddr.tryParse(parts.reverse().join('.'));
  }
  if (n.endsWith('.ip6.arpa.')) {
    const parts = n.slice(0, -'.ip6.arpa.'.length).split('.');
    if (parts.length !== 32 || parts.some((p) => !/^[0-9a-f]$/.test(p))) return undefined;
    let v = 0n;
    for (const p of parts.reverse()) v = (v << 4n) | BigInt(Number.parseInt(p, 16));
    return IPAddr.fromBigInt(6, v);
  }
  return undefined;
}

export function emptyReply(name: string, type: string, rcode: Rcode): DnsReply {
  return {
    question: { name: fqdn(name), type },
    rcode,
    flags: { qr: true, aa: false, tc: false, rd: true, ra: true },
    answer: [],
    authority: [],
    additional: [],
  };
}

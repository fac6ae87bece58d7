// The value syntaxes iptables extensions share — numbers, marks, ports, addresses — read the way
// libxtables reads them and printed the way iptables-save prints them.
import { IPAddr, Prefix } from '../../net/ip.js';

/** A rule the kernel (or iptables itself) would refuse; the message says what is wrong. */
export class IptablesRuleError extends Error {}

/** xtables_strtoui with base 0: decimal, 0x hex, leading-0 octal. */
export function parseUint(text: string, what: string, max = 0xffffffff): number {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) n = Number.parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) n = Number.parseInt(text.slice(1), 8);
  else if (/^\d+$/.test(text)) n = Number(text);
  else throw new IptablesRuleError(`bad ${what} "${text}"`);
  if (n > max) throw new IptablesRuleError(`${what} "${text}" out of range`);
  return n;
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** `value[/mask]`, mask defaulting to all ones. */
export function parseMarkMask(text: string, what: string): [number, number] {
  const slash = text.indexOf('/');
  if (slash < 0) return [parseUint(text, what), 0xffffffff];
  return [parseUint(text.slice(0, slash), what), parseUint(text.slice(slash + 1), what)];
}

// The service names a rule is likely to use (Debian netbase /etc/services); iptables-save prints numbers.
const SERVICES: Record<string, number> = {
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  bootps: 67,
  bootpc: 68,
  http: 80,
  kerberos: 88,
  ntp: 123,
  bgp: 179,
  snmp: 161,
  https: 443,
  isakmp: 500,
  syslog: 514,
  'ipsec-nat-t': 4500,
  'http-alt': 8080,
};

export function parsePort(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 65535) throw new IptablesRuleError(`invalid port/service "${text}"`);
    return n;
  }
  const s = SERVICES[text];
  if (s === undefined) throw new IptablesRuleError(`invalid port/service "${text}" specified`);
  return s;
}

/** `a`, `a:b`, `:b` (0:b), `a:` (a:65535). */
export function parsePortRange(text: string): [number, number] {
  const colon = text.indexOf(':');
  if (colon < 0) {
    const p = parsePort(text);
    return [p, p];
  }
  const lo = colon === 0 ? 0 : parsePort(text.slice(0, colon));
  const hi = colon === text.length - 1 ? 65535 : parsePort(text.slice(colon + 1));
  if (lo > hi) throw new IptablesRuleError(`invalid portrange "${text}" (min > max)`);
  return [lo, hi];
}

export function formatPortRange([lo, hi]: readonly [number, number]): string {
  return lo === hi ? String(lo) : `${lo}:${hi}`;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** A dotted quad as v4Text prints it: octets 0-255 without leading zeros. */
export const CANONICAL_V4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** `address:port` as libxt_NAT prints a single DNAT destination (port 1-65535, no leading zeros). */
export const CANONICAL_V4_PORT = new RegExp(
  `^${OCTET}(?:\\.${OCTET}){3}:(?:[1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])$`,
);

function v4Value(text: string): number | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  let v = 0;
  for (let k = 1; k <= 4; k++) {
    const o = Number(m[k]);
    if (o > 255) return undefined;
    v = v * 256 + o;
  }
  return v;
}

function v4Text(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** A parsed `-s`/`-d` value: network address text and either a prefix length or a dotted mask. */
export interface AddrMask {
  readonly addr: string;
  /** Prefix length, or the dotted mask text for a non-contiguous mask. */
  readonly mask: number | string;
  readonly family: 4 | 6;
}

/**
 * `addr[/len|/dotted-mask]` as iptables reads `-s`/`-d`: host bits cleared, a bare address is a host
 * (/32, /128). Hostnames and comma lists (which iptables expands into several rules) are refused.
 */
export function parseAddrMask(text: string, family: 4 | 6, clearHostBits = true): AddrMask {
  // A bare canonical IPv4 address (every endpoint of a kube-proxy payload) is its own /32 network.
  if (family === 4 && CANONICAL_V4.test(text)) return { addr: text, mask: 32, family };
  if (text.includes(',')) throw new IptablesRuleError(`address lists are not supported: "${text}"`);
  const slash = text.indexOf('/');
  const a = slash < 0 ? text : text.slice(0, slash);
  const m = slash < 0 ? undefined : text.slice(slash + 1);
  if (family === 4) {
    const v = v4Value(a);
    if (v === undefined) throw new IptablesRuleError(`host/network "${a}" not found`);
    let maskBits: number;
    let len: number | undefined;
    if (m === undefined) len = 32;
    else if (/^\d{1,2}$/.test(m) && Number(m) <= 32) len = Number(m);
    else {
      const mv = v4Value(m);
      if (mv === undefined) throw new IptablesRuleError(`invalid mask "${m}" specified`);
      maskBits = mv;
      // A contiguous dotted mask prints as its length, as iptables-save does.
      const inv = ~mv >>> 0;
      if ((inv & (inv + 1)) === 0) len = 32 - Math.log2(inv + 1);
      else return { addr: v4Text(clearHostBits ? (v & mv) >>> 0 : v), mask: v4Text(mv), family };
    }
    maskBits = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return { addr: v4Text(clearHostBits ? (v & maskBits) >>> 0 : v), mask: len, family };
  }
  const ip = IPAddr.tryParse(a);
  if (ip?.family !== 6) throw new IptablesRuleError(`host/network "${a}" not found`);
  const len = m === undefined ? 128 : Number(m);
  if (!/^\d{1,3}$/.test(m ?? '128') || len > 128)
    throw new IptablesRuleError(`invalid mask "${m}" specified`);
  return { addr: clearHostBits ? Prefix.of(ip, len).addr.toString() : ip.toString(), mask: len, family };
}

export function formatAddrMask(a: AddrMask): string {
  return `${a.addr}/${a.mask}`;
}

/** An address as conntrack/recent print it: no suffix for a host, `/len` otherwise. */
export function formatHostOrNet(a: AddrMask): string {
  const full = a.family === 4 ? 32 : 128;
  return a.mask === full ? a.addr : `${a.addr}/${a.mask}`;
}

/** A v4 dotted address as a number (for masks and ranges); throws on anything else. */
export function parseV4(text: string, what: string): number {
  const v = v4Value(text);
  if (v === undefined) throw new IptablesRuleError(`bad ${what} "${text}"`);
  return v;
}

export { v4Text };

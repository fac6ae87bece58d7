// Addresses and prefixes as small immutable values (in the spirit of Go's net/netip):
// a family and a bigint inside, text only at the edges.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export class IPAddr {
  private constructor(
    readonly family: Family,
    readonly value: bigint,
  ) {}

  static fromBigInt(family: Family, value: bigint): IPAddr {
    const max = (1n << BigInt(BITS[family])) - 1n;
    if (value < 0n || value > max) throw new RangeError(`address value out of range for IPv${family}`);
    return new IPAddr(family, value);
  }

  static v4(a: number, b: number, c: number, d: number): IPAddr {
    // One bigint, not seven: every address of a 100k-endpoint cluster passes here.
    return new IPAddr(
      4,
      BigInt((((a & 255) << 24) | ((b & 255) << 16) | ((c & 255) << 8) | (d & 255)) >>> 0),
    );
  }

  /** Parses a textual address; throws IPParseError on anything that is not one address. */
  static parse(text: string): IPAddr {
    const r = IPAddr.tryParse(text);
    if (!r) throw new IPParseError(`invalid IP address "${text}"`);
    return r;
  }

  static tryParse(text: string): IPAddr | undefined {
    const s = text.trim();
    const v4 = dottedQuad(s);
    if (v4 !== undefined) return v4 < 0 ? undefined : new IPAddr(4, BigInt(v4));
    if (s.includes(':') && ipaddr.IPv6.isValid(s) && !s.includes('%')) {
      const bytes = ipaddr.IPv6.parse(s).toByteArray();
      let v = 0n;
      for (const b of bytes) v = (v << 8n) | BigInt(b);
      return new IPAddr(6, v);
    }
    return undefined;
  }

  get bits(): number {
    return BITS[this.family];
  }

  toString(): string {
    if (this.family === 4) {
      const v = Number(this.value);
      return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    }
    const bytes: number[] = [];
    for (let i = 15; i >= 0; i--) bytes.push(Number((this.value >> BigInt(i * 8)) & 255n));
    return ipaddr.fromByteArray(bytes).toString();
  }

  /** Bytes in network order (4 or 16). */
  toBytes(): Uint8Array {
    const n = this.family === 4 ? 4 : 16;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Number((this.value >> BigInt((n - 1 - i) * 8)) & 255n);
    return out;
  }

  equals(other: IPAddr): boolean {
    return this.family === other.family && this.value === other.value;
  }

  compare(other: IPAddr): number {
    if (this.family !== other.family) return this.family - other.family;
    return this.value < other.value ? -1 : this.value > other.value ? 1 : 0;
  }

  /** The address n steps further (n may be negative). */
  add(n: number | bigint): IPAddr {
    return IPAddr.fromBigInt(this.family, this.value + BigInt(n));
  }

  /** `ip:port` as Go's net.JoinHostPort writes it (`[v6]:port`). */
  joinPort(port: number): string {
    return this.family === 6 ? `[${this.toString()}]:${port}` : `${this.toString()}:${port}`;
  }

  isLoopback(): boolean {
    return this.family === 4 ? this.value >> 24n === 127n : this.value === 1n;
  }
}

export class IPParseError extends Error {}

/**
 * `d.d.d.d` with 1–3 digits per part: its value (-1 when a part is over 255), or undefined when the
 * text is not of that form. Kubernetes' ParseIPSloppy reads leading zeros as decimal
 * (172.30.0.041 → .41); so do we.
 */
function dottedQuad(s: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let over = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    } else if (c === 46 && digits > 0 && dots < 3) {
      if (part > 255) over = true;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  if (part > 255 || over) return -1;
  return value * 256 + part;
}

export class Prefix {
  private constructor(
    /** The network address (host bits cleared). */
    readonly addr: IPAddr,
    readonly len: number,
  ) {}

  static of(addr: IPAddr, len: number): Prefix {
    if (!Number.isInteger(len) || len < 0 || len > addr.bits) {
      throw new IPParseError(`invalid prefix length /${len} for IPv${addr.family}`);
    }
    return new Prefix(IPAddr.fromBigInt(addr.family, addr.value & mask(addr.family, len)), len);
  }

  /** Parses `a.b.c.d/n` (host bits are cleared, as Go's ParseCIDR network does) or a bare address as /32, /128. */
  static parse(text: string): Prefix {
    const r = Prefix.tryParse(text);
    if (!r) throw new IPParseError(`invalid CIDR "${text}"`);
    return r;
  }

  static tryParse(text: string): Prefix | undefined {
    const s = text.trim();
    const slash = s.indexOf('/');
    const addr = IPAddr.tryParse(slash < 0 ? s : s.slice(0, slash));
    if (!addr) return undefined;
    if (slash < 0) return Prefix.of(addr, addr.bits);
    const lenText = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) return undefined;
    const len = Number(lenText);
    if (len > addr.bits) return undefined;
    return Prefix.of(addr, len);
  }

  static host(addr: IPAddr): Prefix {
    return new Prefix(addr, addr.bits);
  }

  get family(): Family {
    return this.addr.family;
  }

  get size(): bigint {
    return 1n << BigInt(this.addr.bits - this.len);
  }

  /** The last address of the prefix (broadcast for IPv4). */
  get last(): IPAddr {
    return IPAddr.fromBigInt(this.family, this.addr.value + this.size - 1n);
  }

  contains(ip: IPAddr): boolean {
    return ip.family === this.family && (ip.value & mask(ip.family, this.len)) === this.addr.value;
  }

  /** True when every address of `other` is inside this prefix. */
  covers(other: Prefix): boolean {
    return other.family === this.family && other.len >= this.len && this.contains(other.addr);
  }

  overlaps(other: Prefix): boolean {
    return this.covers(other) || other.covers(this);
  }

  /** The i-th address inside the prefix (0 = network address). */
  nth(i: number | bigint): IPAddr {
    const n = BigInt(i);
    if (n < 0n || n >= this.size) throw new RangeError(`index ${n} outside ${this.toString()}`);
    return IPAddr.fromBigInt(this.family, this.addr.value + n);
  }

  /** The i-th subnet of length `len` inside this prefix. */
  subnet(len: number, i: number | bigint): Prefix {
    if (len < this.len) throw new RangeError(`/${len} is larger than ${this.toString()}`);
    const step = 1n << BigInt(this.addr.bits - len);
    const n = BigInt(i);
    if (n < 0n || n >= 1n << BigInt(len - this.len))
      throw new RangeError(`subnet ${n} outside ${this.toString()}`);
    return Prefix.of(IPAddr.fromBigInt(this.family, this.addr.value + n * step), len);
  }

  equals(other: Prefix): boolean {
    return this.len === other.len && this.addr.equals(other.addr);
  }

  toString(): string {
    return `${this.addr.toString()}/${this.len}`;
  }
}

function mask(family: Family, len: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return len === 0 ? 0n : (all >> (bits - BigInt(len))) << (bits - BigInt(len));
}

/** An address with the prefix length of its subnet, as on an interface (`10.244.0.1/24`). */
export interface InterfaceAddress {
  readonly ip: IPAddr;
  readonly len: number;
}

export function formatInterfaceAddress(a: InterfaceAddress): string {
  return `${a.ip.toString()}/${a.len}`;
}

export function interfaceAddressPrefix(a: InterfaceAddress): Prefix {
  return Prefix.of(a.ip, a.len);
}

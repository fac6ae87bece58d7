// kube-proxy's hashed chain names: prefix + base32(sha256(input))[:16] (proxier.go portProtoHash).
import { createHash, hash as oneShotHash } from 'node:crypto';

// Chain names are hashed once per endpoint, so this is hot: ASCII input (every valid Kubernetes
// name, port name and address) goes through a small allocation-free SHA-256 below; anything else
// through node:crypto. Tests compare both with node:crypto.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const W = new Int32Array(64);
let M = new Int32Array(64);
const OUT = new Uint8Array(12);

/** Writes text's chars from byte `at` of M; false when one is >= 0x80 (not one byte in UTF-8). */
function putAscii(text: string, at: number): boolean {
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch > 0x7f) return false;
    const k = at + i;
    M[k >> 2]! |= ch << (24 - ((k & 3) << 3));
  }
  return true;
}

/**
 * First 12 bytes of sha256(a + b + c) into OUT, read from the parts (no concatenated string);
 * undefined when a char is not ASCII.
 */
function sha256Ascii(a: string, b: string, c: string): Uint8Array | undefined {
  const n = a.length + b.length + c.length;
  const words = ((n + 9 + 63) >> 6) * 16;
  if (M.length < words) M = new Int32Array(words);
  M.fill(0, 0, words);
  if (!putAscii(a, 0) || !putAscii(b, a.length) || !putAscii(c, a.length + b.length)) return undefined;
  M[n >> 2]! |= 0x80 << (24 - ((n & 3) << 3));
  M[words - 1] = n * 8;
  let h0 = 0x6a09e667;
  let h1 = 0xbb67ae85 | 0;
  let h2 = 0x3c6ef372;
  let h3 = 0xa54ff53a | 0;
  let h4 = 0x510e527f;
  let h5 = 0x9b05688c | 0;
  let h6 = 0x1f83d9ab;
  let h7 = 0x5be0cd19;
  for (let off = 0; off < words; off += 16) {
    for (let i = 0; i < 16; i++) W[i] = M[off + i]!;
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15]!;
      const y = W[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  const words3 = [h0, h1, h2];
  for (let i = 0; i < 3; i++) {
    const w = words3[i]!;
    OUT[i * 4] = w >>> 24;
    OUT[i * 4 + 1] = (w >>> 16) & 255;
    OUT[i * 4 + 2] = (w >>> 8) & 255;
    OUT[i * 4 + 3] = w & 255;
  }
  return OUT;
}

function sha256(a: string, b = '', c = ''): Uint8Array {
  const ascii = sha256Ascii(a, b, c);
  if (ascii) return ascii;
  const text = a + b + c;
  // crypto.hash (Node >= 20.12) is a one-shot digest; createHash for older runtimes.
  return typeof oneShotHash === 'function'
    ? oneShotHash('sha256', text, 'buffer')
    : createHash('sha256').update(text, 'utf8').digest();
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const B32 = Uint16Array.from(BASE32, (c) => c.charCodeAt(0));
const CODES = new Uint16Array(32);

/** The first 16 characters of Go's base32.StdEncoding of sha256(text). */
export function hash16(text: string): string {
  return prefixedHash16('', text, '', '');
}

/**
 * prefix + hash16(text), made as one flat string: a chain name is a Map key for the rest of the
 * sync, and a concatenation would be flattened (copied) on its first lookup.
 */
function prefixedHash16(prefix: string, a: string, b: string, c: string): string {
  const d = sha256(a, b, c);
  const p = prefix.length;
  for (let i = 0; i < p; i++) CODES[i] = prefix.charCodeAt(i);
  // 16 base32 characters = exactly the first 80 bits (two groups of 5 bytes): no padding rules apply.
  group(d, 0, p);
  group(d, 5, p + 8);
  return codesToString(p + 16);
}

/** CODES[0..n) as a string; fixed arguments for the two lengths used (no spread, no array). */
function codesToString(n: number): string {
  const C = CODES;
  if (n === 16) {
    return String.fromCharCode(
      C[0]!,
      C[1]!,
      C[2]!,
      C[3]!,
      C[4]!,
      C[5]!,
      C[6]!,
      C[7]!,
      C[8]!,
      C[9]!,
      C[10]!,
      C[11]!,
      C[12]!,
      C[13]!,
      C[14]!,
      C[15]!,
    );
  }
  if (n === 25) {
    return String.fromCharCode(
      C[0]!,
      C[1]!,
      C[2]!,
      C[3]!,
      C[4]!,
      C[5]!,
      C[6]!,
      C[7]!,
      C[8]!,
      C[9]!,
      C[10]!,
      C[11]!,
      C[12]!,
      C[13]!,
      C[14]!,
      C[15]!,
      C[16]!,
      C[17]!,
      C[18]!,
      C[19]!,
      C[20]!,
      C[21]!,
      C[22]!,
      C[23]!,
      C[24]!,
    );
  }
  return String.fromCharCode(...C.subarray(0, n));
}

/** 5 bytes (40 bits) from d[k] → 8 base32 character codes at CODES[at]. */
function group(d: Uint8Array, k: number, at: number): void {
  const b0 = d[k]!;
  const b1 = d[k + 1]!;
  const b2 = d[k + 2]!;
  const b3 = d[k + 3]!;
  const b4 = d[k + 4]!;
  CODES[at] = B32[b0 >> 3]!;
  CODES[at + 1] = B32[((b0 & 7) << 2) | (b1 >> 6)]!;
  CODES[at + 2] = B32[(b1 >> 1) & 31]!;
  CODES[at + 3] = B32[((b1 & 1) << 4) | (b2 >> 4)]!;
  CODES[at + 4] = B32[((b2 & 15) << 1) | (b3 >> 7)]!;
  CODES[at + 5] = B32[(b3 >> 2) & 31]!;
  CODES[at + 6] = B32[((b3 & 3) << 3) | (b4 >> 5)]!;
  CODES[at + 7] = B32[b4 & 31]!;
}

export const SERVICE_CHAIN_PREFIXES = [
  'KUBE-SVC-',
  'KUBE-SVL-',
  'KUBE-SEP-',
  'KUBE-FW-',
  'KUBE-EXT-',
] as const;

/** portProtoHash: `protocol` is lower case (`tcp`, `udp`, `sctp`); shared by SVC, SVL, EXT and FW chains. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return prefixedHash16('', servicePortName, protocol, '');
}
export function clusterPolicyChain(servicePortName: string, protocol: string): string {
  return `KUBE-SVC-${portProtoHash(servicePortName, protocol)}`;
}
export function localPolicyChain(servicePortName: string, protocol: string): string {
  return `KUBE-SVL-${portProtoHash(servicePortName, protocol)}`;
}
export function firewallChain(servicePortName: string, protocol: string): string {
  return `KUBE-FW-${portProtoHash(servicePortName, protocol)}`;
}
export function externalChain(servicePortName: string, protocol: string): string {
  return `KUBE-EXT-${portProtoHash(servicePortName, protocol)}`;
}
/** `endpoint` is `ip:port` / `[ip6]:port`. */
export function endpointChain(servicePortName: string, protocol: string, endpoint: string): string {
  return prefixedHash16('KUBE-SEP-', servicePortName, protocol, endpoint);
}

/** Only chains with these prefixes are ever garbage-collected by kube-proxy. */
export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

// How controllers name and identify the objects they create: pod-template-hash, the random
// five-character suffixes of generateName, and UIDs. Kubernetes draws suffixes from crypto/rand;
// kpath derives them from a stable hash of the object instead, so the same input always yields the
// same names (the alphabet and lengths match, the exact values cannot).

/** k8s.io/apimachinery/pkg/util/rand: consonants and digits that cannot spell words. */
export const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** 32-bit FNV-1a over the UTF-8 bytes of `text` (the hash Kubernetes uses for template hashes). */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return fnv32aBytes(Buffer.from(text, 'utf8'));
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

function fnv32aBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** murmur3's fmix32: spreads FNV's weak last-byte avalanche across all bits (for suffixes and UIDs). */
export function mix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** rand.SafeEncodeString: each rune mapped to SAFE_ALPHABET[rune % 27]. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHABET[ch.codePointAt(0)! % SAFE_ALPHABET.length];
  return out;
}

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
export function canonicalJSON(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(o[k])}`).join(',')}}`;
}

/**
 * controller.ComputeHash: SafeEncodeString of the decimal FNV-32a of the pod template, which is why
 * real hashes only use the characters 4-9 and b-d, f (e.g. `6d8f7b9c5d`). Go hashes the template's
 * spew dump; we hash its canonical JSON, so the value differs from a real cluster's.
 */
export function templateHash(template: unknown, collisionCount = 0): string {
  const seed = collisionCount ? `${canonicalJSON(template)}#${collisionCount}` : canonicalJSON(template);
  return safeEncodeString(String(fnv32a(seed)));
}

/** A 5-character generateName suffix (utilrand.String(5)), derived from `seed`. */
export function nameSuffix(seed: string): string {
  let h = mix32(fnv32a(seed));
  let out = '';
  for (let i = 0; i < 5; i++) {
    out += SAFE_ALPHABET[h % SAFE_ALPHABET.length];
    h = Math.floor(h / SAFE_ALPHABET.length);
  }
  return out;
}

/** Picks `<prefix><suffix>` not yet in `taken` (and records it), as generateName retries on conflict. */
export function generateName(prefix: string, seed: string, taken: Set<string>): string {
  for (let attempt = 0; ; attempt++) {
    const name = prefix + nameSuffix(attempt ? `${seed}#${attempt}` : seed);
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

/** Two hex digits per byte value: toString(16) and padStart per word were most of stableUID's time. */
const HEX2 = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function hex8(x: number): string {
  return (
    (HEX2[x >>> 24] as string) +
    (HEX2[(x >>> 16) & 255] as string) +
    (HEX2[(x >>> 8) & 255] as string) +
    (HEX2[x & 255] as string)
  );
}

/** A UUID-shaped UID derived from the object's identity (the API server's are random v4 UUIDs). */
export function stableUID(kind: string, namespace: string | undefined, name: string): string {
  const id = `${kind}/${namespace ?? ''}/${name}`;
  const h = fnv32a(id);
  // Four words from one hash: mix32 of the hash offset by multiples of the golden-ratio constant.
  const w1 = hex8(mix32((h + Math.imul(1, 0x9e3779b9)) >>> 0));
  const w2 = hex8(mix32((h + Math.imul(2, 0x9e3779b9)) >>> 0));
  const w3v = mix32((h + Math.imul(3, 0x9e3779b9)) >>> 0);
  const w3 = hex8(w3v);
  const w4 = hex8(mix32((h + Math.imul(4, 0x9e3779b9)) >>> 0));
  // Version 4 and RFC 4122 variant bits, so the value looks like what the API server hands out.
  const v = `4${w2.slice(5, 8)}`;
  const variant = (((w3v >>> 28) & 0x3) | 0x8).toString(16) + w3.slice(1, 4);
  return `${w1}-${w2.slice(0, 4)}-${v}-${variant}-${w3.slice(4, 8)}${w4}`;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fnv32a,
  generateName,
  nameSuffix,
  SAFE_ALPHABET,
  safeEncodeString,
  stableUID,
  templateHash,
} from '../../src/control/names.js';

/** Inverse of SafeEncodeString over decimal digits ('0'..'9' encode to 4-9, b, c, d, f). */
function decodeDigits(hash: string): string {
  return [...hash].map((c) => String((SAFE_ALPHABET.indexOf(c) + 27 * 2 - 48) % 27)).join('');
}

describe('FNV-32a', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    // Vectors from the FNV reference (isthe.com/chongo/src/fnv/test_fnv.c).
    expect(fnv32a('')).toBe(0x811c9dc5);
    expect(fnv32a('a')).toBe(0xe40c292c);
    expect(fnv32a('foobar')).toBe(0xbf9cf968);
  });
});

describe('SafeEncodeString / pod-template-hash', () => {
  it('reproduces a real pod-template-hash from its decimal FNV value', () => {
    // kubernetes.io Deployment docs: ReplicaSet nginx-deployment-75675f5897.
    expect(decodeDigits('75675f5897')).toBe('3123191453');
    expect(safeEncodeString('3123191453')).toBe('75675f5897');
  });

  it('keeps one output rune per input rune (upstream TestSafeEncodeString)', () => {
    for (const input of ['', 'abc', 'kube-system-controller-manager', 'é', '日本語']) {
      const out = safeEncodeString(input);
      expect([...out]).toHaveLength([...input].length);
      for (const c of out) expect(SAFE_ALPHABET).toContain(c);
    }
  });

  it('gives template hashes that decode to a 32-bit unsigned number, like real ones', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (t) => {
        const h = templateHash(t);
        expect(h).toMatch(/^[4-9bcdf]{1,10}$/);
        expect(Number(decodeDigits(h))).toBeLessThanOrEqual(0xffffffff);
      }),
    );
  });

  it('does not depend on key order', () => {
    expect(templateHash({ a: 1, b: { c: 2, d: 3 } })).toBe(templateHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(templateHash({ a: 1 })).not.toBe(templateHash({ a: 2 }));
  });
});

describe('generated names and UIDs', () => {
  it('suffixes are five characters of the safe alphabet', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(nameSuffix(s)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      }),
    );
  });

  it('generateName never hands out a taken name', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 200 }), (seeds) => {
        const taken = new Set<string>();
        const names = seeds.map((s) => generateName('web-', s, taken));
        expect(new Set(names).size).toBe(names.length);
      }),
    );
  });

  it('UIDs look like v4 UUIDs and differ between objects', () => {
    const a = stableUID('Node', undefined, 'node-1');
    const b = stableUID('Node', undefined, 'node-2');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(stableUID('Node', undefined, 'node-1')).toBe(a);
  });
});

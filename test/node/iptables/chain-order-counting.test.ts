// sortChainNames on ranges large enough for its counting pass (48 names or more), against the
// brute-force model (Array.prototype.sort's default order): kube-proxy-like names with shared
// prefixes, duplicates and prefixes of each other, with non-ASCII code units mixed in at any depth
// (which send a range back to the partitions).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { sortByName, sortChainNames } from '../../../src/node/iptables/chain-order.js';

const model = (names: readonly string[]) => [...names].sort();

describe('sortChainNames, counting pass', () => {
  const name = fc
    .tuple(
      fc.constantFrom('KUBE-SEP-', 'KUBE-SVC-', 'KUBE-', 'K', '', 'KUBE-SEP-Ä', 'é'),
      fc.string({ unit: fc.constantFrom(...'AB27-\u0000\u007f\u0080\uffff'), maxLength: 6 }),
    )
    .map(([p, s]) => p + s);

  test('large random arrays of kube-proxy-like and non-ASCII names', () => {
    fc.assert(
      fc.property(fc.array(name, { minLength: 513, maxLength: 3000 }), (names) => {
        expect(sortChainNames([...names])).toEqual(model(names));
      }),
      { numRuns: 40 },
    );
  });

  test('sortByName moves each item with its name, through partitions and counting passes alike', () => {
    fc.assert(
      fc.property(fc.array(name, { minLength: 513, maxLength: 3000 }), (names) => {
        const items = names.map((n, i) => ({ name: n, i }));
        const sorted = sortByName([...items]);
        expect(sorted.map((x) => x.name)).toEqual(model(names));
        for (const x of sorted) expect(x.name).toBe(names[x.i]);
        expect(new Set(sorted.map((x) => x.i)).size).toBe(names.length);
      }),
      { numRuns: 40 },
    );
  });

  test('large random arrays of short ASCII names (many small buckets, names ending at every depth)', () => {
    const ascii = fc.string({
      unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)),
      maxLength: 4,
    });
    fc.assert(
      fc.property(fc.array(ascii, { minLength: 513, maxLength: 2000 }), (names) => {
        expect(sortChainNames([...names])).toEqual(model(names));
      }),
      { numRuns: 40 },
    );
  });

  test('random hashed names (the 100k-chain case, smaller)', () => {
    const names = Array.from({ length: 20000 }, (_, i) => {
      let h = (i + 1) * 2654435761;
      let s = 'KUBE-SEP-';
      for (let k = 0; k < 16; k++) {
        h = (h ^ (h >>> 13)) * 1274126177;
        s += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[(h >>> 7) & 31];
      }
      return i % 7 === 0 ? `KUBE-SVC-${s.slice(9)}` : s;
    });
    expect(sortChainNames([...names])).toEqual(model(names));
  });

  test('sortByName keeps each object with its name', () => {
    const items = Array.from({ length: 2000 }, (_, i) => ({ name: `KUBE-SEP-${(i * 7919) % 2000}`, i }));
    const sorted = sortByName([...items]);
    expect(sorted.map((x) => x.name)).toEqual(model(items.map((x) => x.name)));
    for (const x of sorted) expect(x.name).toBe(`KUBE-SEP-${(x.i * 7919) % 2000}`);
  });
});

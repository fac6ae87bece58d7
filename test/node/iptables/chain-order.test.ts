// sortChainNames against the brute-force model: Array.prototype.sort's default order (UTF-16 code
// units, the order iptables-save prints ASCII chain names in), on arbitrary strings and on names
// shaped like kube-proxy's (long shared prefixes, prefixes of each other).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { sortChainNames } from '../../../src/node/iptables/chain-order.js';

const model = (names: readonly string[]) => [...names].sort();

describe('sortChainNames', () => {
  test('arbitrary strings (any code unit, surrogates, empty)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 200 }), (names) => {
        expect(sortChainNames([...names])).toEqual(model(names));
      }),
      { numRuns: 500 },
    );
  });

  test('kube-proxy-like names: shared prefixes, duplicates, one name a prefix of another', () => {
    const name = fc
      .tuple(
        fc.constantFrom('KUBE-SEP-', 'KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-', 'KUBE', ''),
        fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567-'), maxLength: 16 }),
      )
      .map(([p, s]) => p + s);
    fc.assert(
      fc.property(fc.array(name, { maxLength: 400 }), (names) => {
        expect(sortChainNames([...names])).toEqual(model(names));
      }),
      { numRuns: 300 },
    );
  });

  test('already sorted and reversed input of 50,000 names', () => {
    const names = Array.from(
      { length: 50000 },
      (_, i) => `KUBE-SEP-${i.toString(32).toUpperCase().padStart(16, 'A')}`,
    );
    const sorted = model(names);
    expect(sortChainNames([...sorted])).toEqual(sorted);
    expect(sortChainNames([...sorted].reverse())).toEqual(sorted);
    expect(sortChainNames([...names])).toEqual(sorted);
  });
});

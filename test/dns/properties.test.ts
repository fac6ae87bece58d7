// Property tests: the stub resolvers' candidate order against a brute-force statement of the rules
// (reference §6.1/§6.2), and reverse names round-tripping.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCoreDns } from '../../src/dns/coredns.js';
import { addressFromReverse, reverseName } from '../../src/dns/message.js';
import { resolve } from '../../src/dns/stub-resolver.js';
import { IPAddr } from '../../src/net/ip.js';
import { demoState, pod } from './fixture.js';

// One upstream that knows nothing: every candidate is NXDOMAIN, so the resolver walks its whole list.
const empty = buildCoreDns(demoState(), {
  upstreams: [{ name: 'empty', ip: '10.0.0.7', behaviour: 'answer', records: [] }],
});

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
const arb = fc.record({
  labels: fc.array(label, { minLength: 1, maxLength: 6 }),
  trailingDot: fc.boolean(),
  ndots: fc.integer({ min: 1, max: 6 }),
  search: fc.uniqueArray(
    fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.')),
    { maxLength: 4 },
  ),
});

function glibcModel(
  name: string,
  dots: number,
  trailing: boolean,
  ndots: number,
  search: string[],
): string[] {
  const base = trailing ? name.slice(0, -1) : name;
  if (trailing) return [`${base}.`];
  const searched = search.map((d) => `${base}.${d}.`);
  return dots >= ndots ? [`${base}.`, ...searched] : [...searched, `${base}.`];
}

function muslModel(name: string, dots: number, trailing: boolean, ndots: number, search: string[]): string[] {
  const base = trailing ? name.slice(0, -1) : name;
  return dots >= ndots || trailing ? [`${base}.`] : [...search.map((d) => `${base}.${d}.`), `${base}.`];
}

describe('candidate order (all NXDOMAIN)', () => {
  for (const kind of ['glibc', 'musl'] as const) {
    it(`${kind} asks exactly the candidates its rules name, A then AAAA each`, () => {
      fc.assert(
        fc.property(arb, ({ labels, trailingDot, ndots, search }) => {
          const name = labels.join('.') + (trailingDot ? '.' : '');
          const dots = [...name].filter((c) => c === '.').length;
          const p = pod('default', 'p', '10.244.0.77', {
            dnsPolicy: 'None',
            dnsConfig: {
              nameservers: ['10.0.0.7'],
              searches: search,
              options: [{ name: 'ndots', value: String(ndots) }],
            },
          });
          const l = resolve(empty, name, p, { resolver: kind });
          const expected = (kind === 'glibc' ? glibcModel : muslModel)(
            name,
            dots,
            trailingDot,
            ndots,
            search,
          );
          expect(l.queries.map((q) => `${q.name} ${q.type}`)).toEqual(
            expected.flatMap((n) => [`${n} A`, `${n} AAAA`]),
          );
          expect(l.result.status).toBe('EAI_NONAME');
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('reverse names', () => {
  it('round-trip every IPv4 and IPv6 address', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const ip = IPAddr.parse(text);
        const back = addressFromReverse(reverseName(ip));
        expect(back?.equals(ip)).toBe(true);
      }),
    );
  });
  it('rejects partial reverse names', () => {
    expect(addressFromReverse('10.in-addr.arpa.')).toBeUndefined();
    expect(addressFromReverse('1.0.0.256.in-addr.arpa.')).toBeUndefined();
  });
});

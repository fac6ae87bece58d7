// The long-chain index the walk relies on for speed (traverse.ts: rules keyed by the destination address or
// port they require) must not change what a traversal decides. Property: over random KUBE-SERVICES-like chains
// (long enough to be indexed) and random packets, the rules that match and the verdict equal a brute-force
// model — the first rule, in chain order, whose every condition holds, as ipt_do_table scans.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { traverseChain } from '../../src/datapath/netfilter/traverse.js';
import type { Rule } from '../../src/node/iptables/types.js';
import { ctx, rulesetOf, tableOf, tcpPkt, udpPkt } from './helpers.js';

interface RuleSpec {
  dst?: string; // host address
  dport?: number;
  proto: 'tcp' | 'udp';
  src?: string; // a /16, possibly negated
  srcNeg: boolean;
  verdict: 'ACCEPT' | 'DROP';
}

const host = fc.constantFrom('10.96.0.1', '10.96.0.2', '10.96.0.3', '10.96.7.7', '192.168.1.10');
const port = fc.constantFrom(53, 80, 443, 8080, 30080);
const spec: fc.Arbitrary<RuleSpec> = fc.record({
  dst: fc.option(host, { nil: undefined }),
  dport: fc.option(port, { nil: undefined }),
  proto: fc.constantFrom('tcp' as const, 'udp' as const),
  src: fc.option(fc.constantFrom('10.244.0.0/16', '198.51.100.0/24'), { nil: undefined }),
  srcNeg: fc.boolean(),
  verdict: fc.constantFrom('ACCEPT' as const, 'DROP' as const),
});

function text(r: RuleSpec): string {
  const words: string[] = [];
  if (r.src) words.push(`${r.srcNeg ? '! ' : ''}-s ${r.src}`);
  if (r.dst) words.push(`-d ${r.dst}/32`);
  words.push(`-p ${r.proto}`);
  if (r.dport !== undefined) words.push(`-m ${r.proto} --dport ${r.dport}`);
  words.push(`-j ${r.verdict}`);
  return words.join(' ');
}

function inPrefix(ip: string, prefix: string): boolean {
  const [net, len] = prefix.split('/');
  const n = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const bits = Number(len);
  const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
  return (n(ip) & mask) >>> 0 === (n(net ?? '') & mask) >>> 0;
}

/** The brute-force model: the first rule whose conditions all hold. */
function firstMatch(
  rules: readonly RuleSpec[],
  p: { src: string; dst: string; proto: 'tcp' | 'udp'; dport: number },
): number {
  return rules.findIndex(
    (r) =>
      (r.src === undefined || inPrefix(p.src, r.src) !== r.srcNeg) &&
      (r.dst === undefined || r.dst === p.dst) &&
      r.proto === p.proto &&
      (r.dport === undefined || r.dport === p.dport),
  );
}

describe('the long-chain index keeps ipt_do_table semantics', () => {
  it('matches the first rule in chain order whose conditions all hold, as a linear scan does', () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 32, maxLength: 90 }),
        fc.record({
          src: fc.constantFrom('10.244.1.5', '198.51.100.5', '172.16.0.1'),
          dst: host,
          proto: fc.constantFrom('tcp' as const, 'udp' as const),
          dport: port,
        }),
        (rules, p) => {
          const rs = rulesetOf(
            `*filter\n:INPUT ACCEPT [0:0]\n:LONG - [0:0]\n${rules.map((r) => `-A LONG ${text(r)}`).join('\n')}\nCOMMIT\n`,
          );
          const table = tableOf(rs, 'filter');
          const packet =
            p.proto === 'tcp' ? tcpPkt(p.src, 40000, p.dst, p.dport) : udpPkt(p.src, 40000, p.dst, p.dport);
          const res = traverseChain(table, 'LONG', packet, ctx(), () => 0);
          const want = firstMatch(rules, p);
          if (want < 0) {
            expect(res.matched).toEqual([]);
            expect(res.verdict.kind).toBe('RETURN');
          } else {
            expect(res.matched.map((m) => m.number)).toEqual([want + 1]);
            expect(res.verdict.kind).toBe(rules[want]?.verdict);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the same chain object answers different packets differently (the index is per packet, not cached per chain)', () => {
    const lines = Array.from(
      { length: 40 },
      (_, i) => `-A LONG -d 10.96.0.${i + 1}/32 -p tcp -m tcp --dport 80 -j ACCEPT`,
    );
    const rs = rulesetOf(`*filter\n:LONG - [0:0]\n${lines.join('\n')}\n-A LONG -j DROP\nCOMMIT\n`);
    const table = tableOf(rs, 'filter');
    const hit = (dst: string) =>
      traverseChain(table, 'LONG', tcpPkt('10.244.0.5', 40000, dst, 80), ctx(), () => 0);
    expect(hit('10.96.0.7').matched.map((m) => m.number)).toEqual([7]);
    expect(hit('10.96.0.33').matched.map((m) => m.number)).toEqual([33]);
    expect(hit('10.96.9.9').matched.map((m) => m.number)).toEqual([41]);
    const rule: Rule | undefined = table.chains.find((c) => c.name === 'LONG')?.rules[6];
    expect(rule).toBeDefined();
  });
});

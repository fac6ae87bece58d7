// The kube-proxy fast path of applyRestore against the general canonicaliser: on every rule of the
// upstream-derived fixtures and of generated clusters (large-cluster mode without comments, and a
// small one with them), and on fast-check variations of the shapes with values iptables refuses or
// rewrites. Wherever the fast path answers, the general path must give the same stored rule and
// accept the jump; the fixture goldens (fixtures.test.ts) hold the general path to the kernel.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { programNode } from '../../../src/agents/index.js';
import {
  applyRestore,
  emptyRuleset,
  type Ruleset,
  splitWords,
  type TableName,
} from '../../../src/node/iptables/index.js';
import { type ChainLookup, kubeProxyShapes } from '../../../src/node/iptables/kube-proxy-shapes.js';
import type { Word } from '../../../src/node/iptables/words.js';
import { chainsOf, generalVerdict } from './general-path.js';
import { generatedState, kubeProxyPayloadOf } from './generated-payload.js';
import { fixture, SCENARIOS } from './scenarios.js';

/** Compares the two paths on every `-A` line of a payload; returns how many the fast path took. */
function compareRules(payload: string, after: Ruleset, family: 4 | 6): { fast: number; rules: number } {
  const fastPath = kubeProxyShapes(family);
  let table: TableName = 'filter';
  let fast = 0;
  let rules = 0;
  const lookups = new Map<TableName, ChainLookup>();
  for (const line of payload.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim() as TableName;
    const words = splitWords(line);
    if (words[0]?.text !== '-A') continue;
    rules++;
    const rest = words.slice(2);
    const chains = lookups.get(table) ?? chainsOf(after, table);
    lookups.set(table, chains);
    const got = fastPath(rest, table, chains);
    if (got === undefined) continue;
    fast++;
    expect(got, line).toEqual(generalVerdict(rest, table, family, chains));
  }
  return { fast, rules };
}

describe('kube-proxy shapes agree with the general canonicaliser', () => {
  for (const s of SCENARIOS) {
    test(`fixture ${s.name}`, () => {
      let rs = emptyRuleset();
      for (const p of s.payloads) rs = applyRestore(rs, fixture(p), { noflush: true, family: s.family ?? 4 });
      let fast = 0;
      for (const p of s.payloads) fast += compareRules(fixture(p), rs, s.family ?? 4).fast;
      if (s.name.startsWith('kube-proxy')) expect(fast).toBeGreaterThan(1);
    });
  }

  for (const [label, spec, share] of [
    [
      'a generated 1,000-service cluster (large-cluster mode, no comments)',
      { services: 1000, replicas: 10 },
      0.85,
    ],
    ['a generated 60-service cluster (with comments)', { services: 60, replicas: 3 }, 0.6],
  ] as const) {
    test(label, () => {
      const state = generatedState({ nodes: 20, ...spec });
      const info = state.nodeInfo[0]!;
      const node = programNode(state, info.name);
      const proxy = kubeProxyPayloadOf(state, info);
      const { fast, rules } = compareRules(proxy.restorePayload, node.host.iptables, 4);
      // The point of the fast path: almost every rule of a big payload takes it.
      expect(fast / rules).toBeGreaterThan(share);
    });
  }
});

// Values chosen to hit every branch the general path has for them: rewrites (host bits, /32, leading
// zeros, ranges that collapse, service names) and refusals (bad addresses, out-of-range numbers).
const ADDRS = [
  '10.0.1.5',
  '10.0.1.5/24',
  '010.0.1.5',
  '0.0.0.0/0',
  '0.0.0.0',
  '1.2.3.256',
  'abc',
  '::1',
  '10.1.2.3/255.255.0.0',
  '',
];
const PROBS = ['0.5000000000', '0.1', '1', '0', '1.5', '-0.1', '0x10', 'abc', '0.3333333333', ''];
const DESTS = [
  '10.0.1.5:8080',
  '10.0.1.5',
  '10.0.1.5-10.0.1.5:80-80',
  '10.0.1.5-10.0.1.9:80-90',
  '10.0.1.5:99999',
  '10.0.1.5:90-80',
  '[fd00::1]:80',
  ':80',
  'x',
];
const CHAINS = ['KUBE-SEP-ABC', 'KUBE-MARK-MASQ', 'INPUT', 'MISSING', 'ACCEPT', 'DNAT', 'RETURN'];
const COMMENTS = [undefined, 'ns/svc:http', 'ns/svc:http -> 10.0.1.5:8080', 'x'.repeat(256), '"q"', '-j'];
const PROTOS = ['tcp', 'udp', 'sctp', 'TCP', 'icmp'];

const word = (text: string, quoted = false): Word => ({ text, quoted });

const shapeWords = fc.oneof(
  fc.constantFrom(...CHAINS).map((c) => [word('-j'), word(c)]),
  fc
    .tuple(fc.constantFrom(...ADDRS), fc.constantFrom(...CHAINS))
    .map(([a, c]) => [word('-s'), word(a), word('-j'), word(c)]),
  fc
    .tuple(fc.constantFrom(...PROBS), fc.constantFrom(...CHAINS))
    .map(([p, c]) =>
      ['-m', 'statistic', '--mode', 'random', '--probability', p, '-j', c].map((t) => word(t)),
    ),
  fc
    .tuple(fc.constantFrom(...PROTOS), fc.constantFrom(...PROTOS), fc.constantFrom(...DESTS))
    .map(([m, p, d]) => ['-m', m, '-p', p, '-j', 'DNAT', '--to-destination', d].map((t) => word(t))),
);

describe('kube-proxy shapes under variation (fast-check)', () => {
  const chains: ChainLookup = new Map([
    ['KUBE-SEP-ABC', { builtin: false }],
    ['KUBE-MARK-MASQ', { builtin: false }],
    ['INPUT', { builtin: true }],
  ]);
  test('where the fast path answers, the general path stores the same rule', () => {
    const fastPath = kubeProxyShapes(4);
    let answered = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...COMMENTS),
        fc.boolean(),
        shapeWords,
        fc.constantFrom<TableName>('nat', 'filter'),
        fc.nat(12),
        (comment, quoteComment, shape, table, quoteAt) => {
          const words = [
            ...(comment === undefined
              ? []
              : [word('-m'), word('comment'), word('--comment'), word(comment, quoteComment)]),
            ...shape,
          ];
          // A quote where kube-proxy never writes one must not fool the recogniser.
          if (quoteAt < words.length && quoteAt % 5 === 1)
            words[quoteAt] = word((words[quoteAt] as Word).text, true);
          const got = fastPath(words, table, chains);
          if (got === undefined) return;
          answered++;
          expect(got).toEqual(generalVerdict(words, table, 4, chains));
        },
      ),
      { numRuns: 3000 },
    );
    // The generator must actually reach the fast path, or this test proves nothing.
    expect(answered).toBeGreaterThan(200);
  });
});

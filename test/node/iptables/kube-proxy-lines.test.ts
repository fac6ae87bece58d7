// The line-level kube-proxy path of applyRestore (kube-proxy-lines.ts, ShapedRule) against the general
// canonicaliser: on every rule line of the upstream-derived fixtures and of a generated large-cluster
// payload, and on fast-check variations of the four shapes with values iptables refuses or rewrites.
// Wherever the line path answers, the general path must store the same options, print the same text
// and accept the same jump; where the general path refuses, the line path must decline. The fixture
// goldens (fixtures.test.ts) and kernel round trips (kernel.test.ts) hold applyRestore to the kernel.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ruleTarget } from '../../../src/node/iptables/canonical.js';
import {
  applyRestore,
  emptyRuleset,
  formatRule,
  parseIptablesSave,
  printIptablesSave,
  type Rule,
  type RuleOption,
  type Ruleset,
  splitWords,
  type TableName,
} from '../../../src/node/iptables/index.js';
import { kubeProxyLines, type NamedChainLookup } from '../../../src/node/iptables/kube-proxy-lines.js';
import { kubeProxyShapes } from '../../../src/node/iptables/kube-proxy-shapes.js';
import { ShapedRule } from '../../../src/node/iptables/shaped-rule.js';
import { chainsOf, generalVerdict } from './general-path.js';
import { generatedState, kubeProxyPayloadOf } from './generated-payload.js';
import { fixture, SCENARIOS } from './scenarios.js';

/** Checks one answer of the line path against the general path's verdict. */
function expectSame(rule: Rule, rest: string, table: TableName, chains: NamedChainLookup): void {
  const want = generalVerdict(splitWords(rest), table, 4, chains);
  expect(want, rest).toBeInstanceOf(Array);
  expect(rule.options, rest).toEqual(want);
  const text = rule instanceof ShapedRule ? rule.text : formatRule(rule);
  expect(text, rest).toBe(formatRule({ options: want as RuleOption[] }));
  expect(ruleTarget(rule), rest).toEqual(ruleTarget({ options: want as RuleOption[] }));
}

/** Runs the line path on every `-A` line of a payload; returns how many it took. */
function compareLines(payload: string, after: Ruleset): { fast: number; rules: number } {
  const lines = kubeProxyLines(kubeProxyShapes(4));
  let table: TableName = 'filter';
  let fast = 0;
  let rules = 0;
  const lookups = new Map<TableName, NamedChainLookup>();
  for (const line of payload.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim() as TableName;
    if (!line.startsWith('-A ')) continue;
    rules++;
    const sp = line.indexOf(' ', 3);
    const chains = lookups.get(table) ?? chainsOf(after, table);
    lookups.set(table, chains);
    const got = lines(line, sp + 1, table, chains);
    if (got === undefined) continue;
    fast++;
    expectSame(got, line.slice(sp + 1), table, chains);
  }
  return { fast, rules };
}

describe('kube-proxy lines agree with the general canonicaliser', () => {
  for (const s of SCENARIOS.filter((x) => (x.family ?? 4) === 4)) {
    test(`fixture ${s.name}`, () => {
      let rs = emptyRuleset();
      for (const p of s.payloads) rs = applyRestore(rs, fixture(p), { noflush: true });
      // Every line the line path takes is checked. Upstream's fixtures carry endpoint comments (small
      // clusters), so their endpoint rules take the word path; their ClusterIP rules take the line path.
      let fast = 0;
      for (const p of s.payloads) fast += compareLines(fixture(p), rs).fast;
      if (s.name.startsWith('kube-proxy')) expect(fast).toBeGreaterThan(0);
    });
  }

  test('a generated 1,000-service cluster (large-cluster mode): nearly every rule takes the line path', () => {
    const state = generatedState({ nodes: 20, services: 1000, replicas: 10 });
    const info = state.nodeInfo[0]!;
    const proxy = kubeProxyPayloadOf(state, info);
    const rs = applyRestore(emptyRuleset(), proxy.restorePayload, { noflush: true });
    const { fast, rules } = compareLines(proxy.restorePayload, rs);
    expect(fast / rules).toBeGreaterThan(0.85);
    // The stored rules are ShapedRules, and reading the dump back literally gives the same ruleset.
    const nat = rs.tables.find((t) => t.name === 'nat')!;
    const shaped = nat.chains.reduce((n, c) => n + c.rules.filter((r) => r instanceof ShapedRule).length, 0);
    expect(shaped).toBeLessThanOrEqual(fast);
    expect(shaped).toBeGreaterThan(0.8 * rules);
    expect(parseIptablesSave(printIptablesSave(rs))).toEqual(rs);
  });
});

const ADDRS = [
  '10.0.1.5',
  '10.0.1.5/32',
  '10.0.1.5/24',
  '010.0.1.5',
  '0.0.0.0',
  '1.2.3.256',
  '255.255.255.255',
  'abc',
  '::1',
  '',
];
const PROBS = [
  '0.5000000000',
  '0.1',
  '1',
  '0',
  '1.5',
  '-0.1',
  '0x10',
  'abc',
  '0.3333333333',
  '0.0004882812',
  '',
];
const DESTS = [
  '10.0.1.5:8080',
  '10.0.1.5',
  '10.0.1.5:0',
  '10.0.1.5:65535',
  '10.0.1.5:65536',
  '10.0.1.5:080',
  '10.0.1.5-10.0.1.5:80-80',
  '10.0.1.5:90-80',
  '[fd00::1]:80',
  ':80',
  'x',
];
const CHAINS = [
  'KUBE-SEP-ABC',
  'KUBE-MARK-MASQ',
  'INPUT',
  'MISSING',
  'ACCEPT',
  'DNAT',
  'RETURN',
  'KUBE-SEP-ABC ',
];
const PROTOS = ['tcp', 'udp', 'sctp', 'TCP', 'icmp'];

const COMMENTS = ['ns/svc:http cluster IP', 'plain', '', "it's", 'x'.repeat(255), 'x'.repeat(256), 'a \\" b'];
const PORTS = ['80', '0', '080', '65535', '65536', 'http', ''];
const NOT_FROM = [undefined, '10.0.0.0/8', '10.0.0.1/8', '0.0.0.0/0', 'abc', '10.0.0.0/33'];

const shapeText = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...COMMENTS),
      fc.constantFrom(...PROTOS),
      fc.constantFrom(...PROTOS),
      fc.constantFrom(...ADDRS),
      fc.constantFrom(...PORTS),
      fc.constantFrom(...NOT_FROM),
      fc.constantFrom(...CHAINS),
    )
    .map(
      ([c, m, p, d, port, s, j]) =>
        `-m comment --comment "${c}" -m ${m} -p ${p} -d ${d} --dport ${port}${s ? ` ! -s ${s}` : ''} -j ${j}`,
    ),
  fc.constantFrom(...CHAINS).map((c) => `-j ${c}`),
  fc.tuple(fc.constantFrom(...ADDRS), fc.constantFrom(...CHAINS)).map(([a, c]) => `-s ${a} -j ${c}`),
  fc
    .tuple(fc.constantFrom(...PROBS), fc.constantFrom(...CHAINS))
    .map(([p, c]) => `-m statistic --mode random --probability ${p} -j ${c}`),
  fc
    .tuple(fc.constantFrom(...PROTOS), fc.constantFrom(...PROTOS), fc.constantFrom(...DESTS))
    .map(([m, p, d]) => `-m ${m} -p ${p} -j DNAT --to-destination ${d}`),
);

describe('kube-proxy lines under variation (fast-check)', () => {
  const chains: NamedChainLookup = new Map([
    ['KUBE-SEP-ABC', { name: 'KUBE-SEP-ABC', builtin: false }],
    ['KUBE-MARK-MASQ', { name: 'KUBE-MARK-MASQ', builtin: false }],
    ['INPUT', { name: 'INPUT', builtin: true }],
  ]);
  test('where the line path answers, the general path stores the same rule; where it refuses, the line path declines', () => {
    const lines = kubeProxyLines(kubeProxyShapes(4));
    let answered = 0;
    let declined = 0;
    fc.assert(
      fc.property(
        shapeText,
        fc.constantFrom<TableName>('nat', 'filter'),
        fc.constantFrom('', '"', '\t', '\r', '  ', '\\'),
        fc.nat(60),
        (rest, table, odd, at) => {
          // A quote, tab, CR or doubled space where kube-proxy never writes one must not fool it.
          const text = odd && at < rest.length ? rest.slice(0, at) + odd + rest.slice(at) : rest;
          const line = `-A KUBE-SVC-X ${text}`;
          const got = lines(line, 14, table, chains);
          const want = generalVerdict(splitWords(text), table, 4, chains);
          if (got === undefined) {
            declined++;
            return;
          }
          answered++;
          expect(want, text).toBeInstanceOf(Array);
          expectSame(got, text, table, chains);
        },
      ),
      { numRuns: 4000 },
    );
    // Both outcomes must be reached, or this test proves nothing.
    expect(answered).toBeGreaterThan(150);
    expect(declined).toBeGreaterThan(300);
  });
});

describe('service-port lines under variation (fast-check)', () => {
  const chains: NamedChainLookup = new Map([
    ['KUBE-SVC-ABC', { name: 'KUBE-SVC-ABC', builtin: false }],
    ['KUBE-MARK-MASQ', { name: 'KUBE-MARK-MASQ', builtin: false }],
    ['INPUT', { name: 'INPUT', builtin: true }],
  ]);
  // Mostly what kube-proxy writes, sometimes a value iptables rewrites or refuses.
  const often = <T>(good: readonly T[], all: readonly T[]) =>
    fc.oneof(
      { arbitrary: fc.constantFrom(...good), weight: 4 },
      { arbitrary: fc.constantFrom(...all), weight: 1 },
    );
  const protos = fc.oneof(
    { arbitrary: fc.constantFrom('tcp', 'udp').map((x) => [x, x] as const), weight: 4 },
    { arbitrary: fc.tuple(fc.constantFrom(...PROTOS), fc.constantFrom(...PROTOS)), weight: 1 },
  );
  const line = fc
    .tuple(
      often(['ns/svc:http cluster IP', "it's"], COMMENTS),
      protos,
      often(['10.0.1.5', '255.255.255.255'], ADDRS),
      often(['80', '65535'], PORTS),
      often([undefined, '10.0.0.0/8'], NOT_FROM),
      often(['KUBE-SVC-ABC', 'KUBE-MARK-MASQ'], [...CHAINS, 'KUBE-SVC-ABC']),
    )
    .map(
      ([c, [m, p], d, port, s, j]) =>
        `-m comment --comment "${c}" -m ${m} -p ${p} -d ${d} --dport ${port}${s ? ` ! -s ${s}` : ''} -j ${j}`,
    );
  test('where the line path answers, the general path stores the same rule', () => {
    const lines = kubeProxyLines(kubeProxyShapes(4));
    let answered = 0;
    let declined = 0;
    fc.assert(
      fc.property(line, fc.constantFrom<TableName>('nat', 'filter'), (rest, table) => {
        const got = lines(`-A KUBE-SERVICES ${rest}`, 17, table, chains);
        if (got === undefined) {
          declined++;
          return;
        }
        answered++;
        expectSame(got, rest, table, chains);
      }),
      { numRuns: 2000 },
    );
    expect(answered).toBeGreaterThan(200);
    expect(declined).toBeGreaterThan(200);
  });
});

describe('a ShapedRule reads as a plain Rule', () => {
  const rs = applyRestore(
    emptyRuleset(),
    [
      '*nat',
      ':KUBE-SVC-A - [0:0]',
      ':KUBE-SEP-B - [0:0]',
      ':KUBE-MARK-MASQ - [0:0]',
      '-A KUBE-SVC-A -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-B',
      '-A KUBE-SEP-B -s 10.0.1.5 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B -m tcp -p tcp -j DNAT --to-destination 10.0.1.5:8080',
      'COMMIT',
      '',
    ].join('\n'),
    { noflush: true },
  );
  const nat = rs.tables.find((t) => t.name === 'nat')!;
  const sep = nat.chains.find((c) => c.name === 'KUBE-SEP-B')!;
  const svc = nat.chains.find((c) => c.name === 'KUBE-SVC-A')!;

  test('stored as the kernel prints it (iptables-save of iptables 1.8.9)', () => {
    expect(printIptablesSave(rs)).toContain(
      [
        '-A KUBE-SEP-B -s 10.0.1.5/32 -j KUBE-MARK-MASQ',
        '-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.0.1.5:8080',
        '-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-B',
      ].join('\n'),
    );
    for (const r of [...sep.rules, ...svc.rules]) expect(r).toBeInstanceOf(ShapedRule);
  });

  test('spread, JSON and deep equality see exactly { options }', () => {
    for (const r of [...sep.rules, ...svc.rules]) {
      const plain = { options: [...r.options] };
      expect(Object.keys(r)).toEqual(['options']);
      expect({ ...r }).toEqual(plain);
      expect(JSON.parse(JSON.stringify(r))).toEqual(JSON.parse(JSON.stringify(plain)));
      expect(r).toEqual(plain);
      // Built once, then the same array on every read.
      expect(r.options).toBe(r.options);
    }
    expect(sep.rules[0]!.options).toEqual([
      { negated: false, flag: '-s', args: ['10.0.1.5/32'] },
      { negated: false, flag: '-j', args: ['KUBE-MARK-MASQ'] },
    ]);
  });
});

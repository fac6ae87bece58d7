// A payload handed over as RestoreLines (pre-split per-endpoint lines) against the same payload as
// text: applyRestore must store the same ruleset, or refuse with the same error at the same line,
// whatever the values (white space, quotes, non-canonical addresses, missing or built-in chains,
// protocols the fast path does not know). The text path itself is held to the kernel by
// kernel.test.ts / kube-proxy-lines-kernel.test.ts and to upstream by the kube-proxy goldens.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  applyRestore,
  emptyRuleset,
  IptablesParseError,
  printIptablesSave,
  RESTORE_LINE,
  RestoreLines,
  type Ruleset,
} from '../../../src/node/iptables/index.js';
import { BLOCK_LINES } from '../../../src/node/iptables/line-buffer.js';
import { ShapedRule } from '../../../src/node/iptables/shaped-rule.js';
import { generatedState, kubeProxyPayloadOf } from './generated-payload.js';

type Outcome = { ok: Ruleset; text: string } | { error: string; line: number | undefined };

function outcome(run: () => Ruleset): Outcome {
  try {
    const ok = run();
    return { ok, text: printIptablesSave(ok) };
  } catch (e) {
    if (e instanceof IptablesParseError) return { error: e.reason, line: e.line };
    throw e;
  }
}

/** Applies lines both ways and expects the same outcome; returns it. */
function expectSameBothWays(lines: RestoreLines, base: Ruleset = emptyRuleset(), noflush = true): Outcome {
  const text = lines.toString();
  const viaLines = outcome(() => applyRestore(base, lines, { noflush }));
  const viaText = outcome(() => applyRestore(base, text, { noflush }));
  if ('ok' in viaText && 'ok' in viaLines) {
    expect(viaLines.text).toBe(viaText.text);
    expect(viaLines.ok).toEqual(viaText.ok);
  } else {
    expect(viaLines).toEqual(viaText);
  }
  return viaText;
}

describe('RestoreLines text', () => {
  test('each pre-split kind is written as the agent would write the line', () => {
    const l = new RestoreLines();
    l.line('*nat');
    l.chain('KUBE-SEP-A');
    l.jump('KUBE-SVC-X', 'KUBE-SEP-A');
    l.statistic('KUBE-SVC-X', '0.5000000000', 'KUBE-SEP-A');
    l.masq('KUBE-SEP-A', '10.1.2.3', 'KUBE-MARK-MASQ');
    l.dnat('KUBE-SEP-A', 'tcp', '10.1.2.3:8080');
    l.line('COMMIT');
    expect(l.toString()).toBe(
      [
        '*nat',
        ':KUBE-SEP-A - [0:0]',
        '-A KUBE-SVC-X -j KUBE-SEP-A',
        '-A KUBE-SVC-X -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-A',
        '-A KUBE-SEP-A -s 10.1.2.3 -j KUBE-MARK-MASQ',
        '-A KUBE-SEP-A -m tcp -p tcp -j DNAT --to-destination 10.1.2.3:8080',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(new RestoreLines().toString()).toBe('');
  });

  test('join keeps every part in order; text parts are lines', () => {
    const a = new RestoreLines();
    a.chain('A');
    const b = new RestoreLines();
    b.jump('A', 'B');
    b.line('-A A -j ACCEPT');
    const j = RestoreLines.join(['*nat', a, b, 'COMMIT']);
    expect(j.length).toBe(5);
    expect(j.kind(1)).toBe(RESTORE_LINE.CHAIN);
    expect(j.toString()).toBe('*nat\n:A - [0:0]\n-A A -j B\n-A A -j ACCEPT\nCOMMIT\n');
  });

  test('blocks of BLOCK_LINES lines join without losing or doubling a newline', () => {
    expect(new RestoreLines().toString()).toBe('');
    for (const n of [1, BLOCK_LINES - 1, BLOCK_LINES, BLOCK_LINES + 1, 2 * BLOCK_LINES, 4097]) {
      const l = new RestoreLines();
      for (let i = 0; i < n; i++) l.line(`l${i}`);
      const text = l.toString();
      expect(text.endsWith('\n')).toBe(true);
      expect(text.slice(0, -1).split('\n')).toEqual(Array.from({ length: n }, (_, i) => `l${i}`));
    }
  });
});

describe('applyRestore: pre-split lines store what their text stores', () => {
  // Values the fast path must decline or refuse exactly as the text path would.
  const names = [
    'KUBE-SEP-AAAA',
    'KUBE-SVC-BBBB',
    'KUBE-MARK-MASQ',
    'PREROUTING',
    'DNAT',
    'ACCEPT',
    'a"b',
    'has space',
    'tab\there',
    '',
    'ünï',
    '-dash',
    'X'.repeat(28),
    'X'.repeat(29),
  ];
  // Declared (as text) before the random lines, so that most random lines reach the rule paths.
  const declared = ['KUBE-SEP-AAAA', 'KUBE-SVC-BBBB', 'KUBE-MARK-MASQ', 'a"b', 'ünï', 'X'.repeat(28)];
  const name = fc.constantFrom(...names);
  const probability = fc.constantFrom(
    '0.5000000000',
    '0.3333333333',
    '0.1',
    '1.5',
    'abc',
    '',
    '"q"',
    '0x1',
    '1e-3',
  );
  const ip = fc.constantFrom(
    '10.0.0.1',
    '192.168.1.254',
    '10.0.0.01',
    '256.1.1.1',
    '10.0.0.1/32',
    '::1',
    ' 10.0.0.1',
    '',
  );
  const proto = fc.constantFrom('tcp', 'udp', 'sctp', 'TCP', 'tcp -p udp');
  const to = fc.constantFrom(
    '10.0.0.1:80',
    '10.0.0.1:65535',
    '10.0.0.1:0',
    '10.0.0.1:65536',
    '10.0.0.1',
    '10.0.0.1:080',
    '10.0.0.1:80-90',
  );
  const line = fc.oneof(
    { weight: 1, arbitrary: name.map((n) => (l: RestoreLines) => l.chain(n)) },
    {
      weight: 3,
      arbitrary: fc.tuple(name, name).map(
        ([c, t]) =>
          (l: RestoreLines) =>
            l.jump(c, t),
      ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(name, probability, name).map(
        ([c, p, t]) =>
          (l: RestoreLines) =>
            l.statistic(c, p, t),
      ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(name, ip, name).map(
        ([c, a, t]) =>
          (l: RestoreLines) =>
            l.masq(c, a, t),
      ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(name, proto, to).map(
        ([c, p, d]) =>
          (l: RestoreLines) =>
            l.dnat(c, p, d),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '-A KUBE-SVC-BBBB -j ACCEPT',
          '-X KUBE-SEP-AAAA',
          '-F',
          '# comment',
          'COMMIT',
          '*filter',
        )
        .map((t) => (l: RestoreLines) => l.line(t)),
    },
  );

  test('random payloads: same ruleset or same error, both ways', () => {
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('nat', 'filter'),
        (body, commit, noflush, table) => {
          const l = new RestoreLines();
          l.line(`*${table}`);
          for (const n of declared) l.line(`:${n} - [0:0]`);
          for (const add of body) add(l);
          if (commit) l.line('COMMIT');
          expectSameBothWays(l, emptyRuleset(), noflush);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a pre-split line outside a table block is refused as its text is', () => {
    const l = new RestoreLines();
    l.jump('KUBE-SVC-BBBB', 'KUBE-SEP-AAAA');
    const o = expectSameBothWays(l);
    expect(o).toEqual({ error: 'no table specified (a "*table" line must come first)', line: 1 });
  });

  test('a jump to a chain not declared: the same "does not exist" at the same line', () => {
    const l = RestoreLines.join(['*nat']);
    l.chain('KUBE-SVC-BBBB');
    l.jump('KUBE-SVC-BBBB', 'KUBE-SEP-AAAA');
    l.line('COMMIT');
    const o = expectSameBothWays(l);
    expect(o).toMatchObject({ line: 3 });
  });

  test('a chain deleted between two pre-split rules on it is gone for the second, as in the text', () => {
    const l = RestoreLines.join(['*nat']);
    l.chain('KUBE-SEP-AAAA');
    l.chain('KUBE-MARK-MASQ');
    l.masq('KUBE-SEP-AAAA', '10.0.0.1', 'KUBE-MARK-MASQ');
    l.line('-F KUBE-SEP-AAAA');
    l.line('-X KUBE-SEP-AAAA');
    l.masq('KUBE-SEP-AAAA', '10.0.0.2', 'KUBE-MARK-MASQ');
    l.line('COMMIT');
    expect(expectSameBothWays(l)).toMatchObject({ line: 7 });
  });

  for (const [label, spec] of [
    ['large-cluster mode (1,000 services, 10,000 endpoints)', { nodes: 20, services: 1000, replicas: 10 }],
    ['with endpoint comments (30 services)', { nodes: 3, services: 30, replicas: 3 }],
  ] as const) {
    test(`kube-proxy's payload on a generated cluster, ${label}`, () => {
      const state = generatedState(spec);
      const info = state.nodeInfo[0]!;
      const proxy = kubeProxyPayloadOf(state, info);
      expect(proxy.restoreLines.toString()).toBe(proxy.restorePayload);
      const o = expectSameBothWays(proxy.restoreLines);
      expect('ok' in o).toBe(true);
      const { kind } = proxy.restoreLines.columns();
      const presplit = kind.filter((k) => k !== RESTORE_LINE.TEXT && k !== RESTORE_LINE.CHAIN).length;
      const large = spec.services * spec.replicas > 1000;
      if (large) {
        // Nearly every rule is handed over pre-split and stored as a ShapedRule.
        expect(presplit / kind.length).toBeGreaterThan(0.6);
        const rs = applyRestore(emptyRuleset(), proxy.restoreLines, { noflush: true });
        const nat = rs.tables.find((t) => t.name === 'nat')!;
        const shaped = nat.chains.reduce(
          (n, c) => n + c.rules.filter((r) => r instanceof ShapedRule).length,
          0,
        );
        expect(shaped).toBeGreaterThanOrEqual(presplit);
      } else {
        // Endpoint rules carry comments: nothing is pre-split.
        expect(presplit).toBe(0);
      }
    });
  }
});

// applyRestore / applyIptablesCommand semantics, as observed with the real iptables-restore
// --noflush and iptables v1.8.9 (nf_tables) here (the kernel.test.ts differential checks the same
// on the live kernel; these run everywhere).
import { describe, expect, test } from 'vitest';
import {
  applyIptablesCommand,
  applyRestore,
  emptyRuleset,
  formatRule,
  IptablesParseError,
  parseIptablesSave,
  printIptablesSave,
  type Ruleset,
} from '../../../src/node/iptables/index.js';

function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

const chainNames = (rs: Ruleset, table: string) =>
  rs.tables.find((t) => t.name === table)?.chains.map((c) => c.name);
const rulesOf = (rs: Ruleset, table: string, chain: string) =>
  rs.tables
    .find((t) => t.name === table)
    ?.chains.find((c) => c.name === chain)
    ?.rules.map(formatRule);

describe('emptyRuleset', () => {
  test('mangle, filter, nat with their built-in chains, in the order iptables-save prints them', () => {
    expect(printIptablesSave(emptyRuleset())).toBe(
      [
        '*mangle',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        'COMMIT',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        'COMMIT',
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });
});

describe('applyRestore', () => {
  test('tables print in the fixed order mangle, security, raw, filter, nat whatever the creation order', () => {
    const rs = applyRestore(
      { tables: [] },
      '*nat\n:N - [0:0]\nCOMMIT\n*security\n:S - [0:0]\nCOMMIT\n*raw\n:R - [0:0]\nCOMMIT\n*mangle\n:M - [0:0]\nCOMMIT\n*filter\n:F - [0:0]\nCOMMIT\n',
      {
        noflush: true,
      },
    );
    expect(rs.tables.map((t) => t.name)).toEqual(['mangle', 'security', 'raw', 'filter', 'nat']);
  });

  test('user chains sort by name in byte order after the built-ins (uppercase before lowercase)', () => {
    const rs = applyRestore(
      emptyRuleset(),
      '*nat\n:a-lower - [0:0]\n:KUBE-Z - [0:0]\n:FOO - [0:0]\n:KUBE-A - [0:0]\n:AAA - [0:0]\nCOMMIT\n',
      { noflush: true },
    );
    expect(chainNames(rs, 'nat')).toEqual([
      'PREROUTING',
      'INPUT',
      'OUTPUT',
      'POSTROUTING',
      'AAA',
      'FOO',
      'KUBE-A',
      'KUBE-Z',
      'a-lower',
    ]);
  });

  test('--noflush: declaring an existing user chain flushes it; other chains keep their rules', () => {
    const base = applyRestore(
      emptyRuleset(),
      '*nat\n:A - [0:0]\n:B - [0:0]\n-A A -j RETURN\n-A B -j RETURN\nCOMMIT\n',
      { noflush: true },
    );
    const rs = applyRestore(base, '*nat\n:A - [0:0]\n-A A -j B\nCOMMIT\n', { noflush: true });
    expect(rulesOf(rs, 'nat', 'A')).toEqual(['-j B']);
    expect(rulesOf(rs, 'nat', 'B')).toEqual(['-j RETURN']);
  });

  test('without --noflush a table block replaces the table (user chains gone, built-ins emptied, policies kept)', () => {
    const base = applyRestore(
      emptyRuleset(),
      '*filter\n:FORWARD DROP [0:0]\n:A - [0:0]\n-A INPUT -j A\nCOMMIT\n',
      { noflush: true },
    );
    const rs = applyRestore(base, '*filter\n:B - [0:0]\nCOMMIT\n', { noflush: false });
    expect(chainNames(rs, 'filter')).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'B']);
    expect(rulesOf(rs, 'filter', 'INPUT')).toEqual([]);
    expect(rs.tables.find((t) => t.name === 'filter')?.chains[1]?.policy).toBe('DROP');
  });

  test('-X deletes a chain nothing jumps to, refuses one still referenced, and one with rules', () => {
    const base = applyRestore(emptyRuleset(), '*nat\n:A - [0:0]\n:B - [0:0]\n-A A -j B\nCOMMIT\n', {
      noflush: true,
    });
    expect(() => applyRestore(base, '*nat\n-X B\nCOMMIT\n', { noflush: true })).toThrow(/still referenced/);
    expect(() => applyRestore(base, '*nat\n-X A\nCOMMIT\n', { noflush: true })).toThrow(/not empty/);
    const rs = applyRestore(base, '*nat\n:A - [0:0]\n-X B\n-X A\nCOMMIT\n', { noflush: true });
    expect(chainNames(rs, 'nat')).toEqual(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
  });

  test('a failed restore names the line and changes nothing (all or nothing, and the input is never mutated)', () => {
    const base = deepFreeze(
      applyRestore(emptyRuleset(), '*nat\n:A - [0:0]\n-A A -j RETURN\nCOMMIT\n', { noflush: true }),
    );
    const before = printIptablesSave(base);
    try {
      applyRestore(base, '# kube-proxy\n*nat\n:A - [0:0]\n-A A -j KUBE-SVC-NOPE\nCOMMIT\n', {
        noflush: true,
        file: 'sync-42',
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IptablesParseError);
      expect((e as Error).message).toBe("sync-42:4: Chain 'KUBE-SVC-NOPE' does not exist");
    }
    expect(printIptablesSave(base)).toBe(before);
  });

  test('a successful restore returns a new Ruleset and reuses untouched tables', () => {
    const base = deepFreeze(
      applyRestore(emptyRuleset(), '*filter\n:F - [0:0]\n-A F -j ACCEPT\nCOMMIT\n', { noflush: true }),
    );
    const rs = applyRestore(base, '*nat\n:N - [0:0]\nCOMMIT\n', { noflush: true });
    expect(rs).not.toBe(base);
    expect(rs.tables.find((t) => t.name === 'filter')).toBe(base.tables.find((t) => t.name === 'filter'));
    expect(chainNames(base, 'nat')).not.toContain('N');
  });

  test('counters are taken from the payload only with counters: true (iptables-restore -c)', () => {
    const payload = '*filter\n:FORWARD ACCEPT [5:6]\n[7:8] -A FORWARD -j ACCEPT\nCOMMIT\n';
    const plain = applyRestore(emptyRuleset(), payload, { noflush: true });
    expect(printIptablesSave(plain, { counters: true })).toContain(':FORWARD ACCEPT [0:0]\n');
    expect(printIptablesSave(plain, { counters: true })).toContain('\n[0:0] -A FORWARD -j ACCEPT\n');
    const counted = applyRestore(emptyRuleset(), payload, { noflush: true, counters: true });
    expect(printIptablesSave(counted, { counters: true })).toContain(':FORWARD ACCEPT [5:6]\n');
    expect(printIptablesSave(counted, { counters: true })).toContain('\n[7:8] -A FORWARD -j ACCEPT\n');
  });

  test('a user chain declared with a policy is accepted and the policy ignored; "-" keeps a built-in policy', () => {
    const rs = applyRestore(
      emptyRuleset(),
      '*filter\n:A DROP [0:0]\n:FORWARD DROP [0:0]\nCOMMIT\n*filter\n:FORWARD - [0:0]\nCOMMIT\n',
      { noflush: true },
    );
    const filter = rs.tables.find((t) => t.name === 'filter');
    expect(filter?.chains.find((c) => c.name === 'A')?.policy).toBe('-');
    expect(filter?.chains.find((c) => c.name === 'FORWARD')?.policy).toBe('DROP');
  });

  test('a rule is stored canonicalised; parsing the printed result gives the same Ruleset', () => {
    const rs = applyRestore(
      emptyRuleset(),
      '*nat\n:KUBE-MARK-MASQ - [0:0]\n-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\nCOMMIT\n',
      { noflush: true },
    );
    expect(rulesOf(rs, 'nat', 'KUBE-MARK-MASQ')).toEqual(['-j MARK --set-xmark 0x4000/0x4000']);
    expect(parseIptablesSave(printIptablesSave(rs))).toEqual(rs);
  });

  test('linear in the payload: 100k rules in one restore', () => {
    const lines = ['*nat', ':KUBE-SERVICES - [0:0]'];
    for (let i = 0; i < 100_000; i++) {
      lines.push(
        `-A KUBE-SERVICES -m comment --comment "ns/svc${i}:p80 cluster IP" -m tcp -p tcp -d 172.30.${(i >> 8) & 255}.${i & 255} --dport 80 -j RETURN`,
      );
    }
    lines.push('COMMIT', '');
    const rs = applyRestore(emptyRuleset(), lines.join('\n'), { noflush: true });
    expect(rulesOf(rs, 'nat', 'KUBE-SERVICES')?.length).toBe(100_000);
  });
});

describe('applyIptablesCommand', () => {
  const base = deepFreeze(emptyRuleset());

  test('-I CHAIN [n] inserts at the 1-based position (default 1), -A appends', () => {
    let rs = applyIptablesCommand(base, {
      table: 'filter',
      op: 'append',
      chain: 'INPUT',
      args: ['-s', '10.0.0.1', '-j', 'ACCEPT'],
    });
    rs = applyIptablesCommand(rs, {
      table: 'filter',
      op: 'append',
      chain: 'INPUT',
      args: ['-s', '10.0.0.3', '-j', 'ACCEPT'],
    });
    rs = applyIptablesCommand(rs, {
      table: 'filter',
      op: 'insert',
      chain: 'INPUT',
      position: 2,
      args: ['-s', '10.0.0.2', '-j', 'ACCEPT'],
    });
    rs = applyIptablesCommand(rs, {
      table: 'filter',
      op: 'insert',
      chain: 'INPUT',
      args: ['-s', '10.0.0.0', '-j', 'ACCEPT'],
    });
    expect(rulesOf(rs, 'filter', 'INPUT')).toEqual([0, 1, 2, 3].map((k) => `-s 10.0.0.${k}/32 -j ACCEPT`));
    expect(rulesOf(base, 'filter', 'INPUT')).toEqual([]);
  });

  test('args are unquoted words: a comment with spaces is one argument, printed quoted', () => {
    const rs = applyIptablesCommand(base, {
      table: 'nat',
      op: 'append',
      chain: 'PREROUTING',
      args: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'ACCEPT'],
    });
    expect(rulesOf(rs, 'nat', 'PREROUTING')).toEqual([
      '-m comment --comment "kubernetes service portals" -j ACCEPT',
    ]);
  });

  test('-N creates (a table on first use, with all its built-ins), -P sets a built-in policy', () => {
    let rs = applyIptablesCommand(base, { table: 'raw', op: 'new-chain', chain: 'KPATH' });
    rs = applyIptablesCommand(rs, { table: 'filter', op: 'policy', chain: 'FORWARD', policy: 'DROP' });
    expect(chainNames(rs, 'raw')).toEqual(['PREROUTING', 'OUTPUT', 'KPATH']);
    expect(rs.tables.map((t) => t.name)).toEqual(['mangle', 'raw', 'filter', 'nat']);
    expect(printIptablesSave(rs)).toContain(':FORWARD DROP [0:0]');
  });

  test('errors as iptables gives them', () => {
    expect(() => applyIptablesCommand(base, { table: 'filter', op: 'new-chain', chain: 'INPUT' })).toThrow(
      /already exists/,
    );
    expect(() =>
      applyIptablesCommand(base, { table: 'filter', op: 'append', chain: 'NOPE', args: ['-j', 'ACCEPT'] }),
    ).toThrow(/does not exist/);
    expect(() =>
      applyIptablesCommand(base, {
        table: 'filter',
        op: 'insert',
        chain: 'INPUT',
        position: 3,
        args: ['-j', 'ACCEPT'],
      }),
    ).toThrow(/Index of insertion too big/);
    expect(() =>
      applyIptablesCommand(base, {
        table: 'nat',
        op: 'policy',
        chain: 'POSTROUTING',
        policy: 'REJECT' as 'DROP',
      }),
    ).toThrow(/bad policy/);
    expect(() =>
      applyIptablesCommand(base, {
        table: 'filter',
        op: 'append',
        chain: 'INPUT',
        args: ['-j', 'KUBE-FIREWALL'],
      }),
    ).toThrow(IptablesParseError);
  });
});

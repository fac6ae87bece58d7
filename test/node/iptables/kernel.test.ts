// Differential tests against the real kernel: the same payload goes through the real
// `iptables-restore --noflush` in a throwaway network namespace and through applyRestore; the real
// `iptables-save` must equal printIptablesSave line for line (date comment lines excepted).
// Needs root, iproute2, iptables (nf_tables backend) and ipset. With CI=true a missing prerequisite
// fails the suite; elsewhere the suite is skipped with the reason.
import { execFileSync, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  applyIptablesCommand,
  applyRestore,
  emptyRuleset,
  type IptablesCommand,
  IptablesParseError,
  printIptablesSave,
  type Ruleset,
} from '../../../src/node/iptables/index.js';
import { iptablesNetnsMissing } from '../../fixtures/kernel.js';
import { fixture, IPSETS, SCENARIOS, withoutDateLines } from './scenarios.js';

const missing = iptablesNetnsMissing(
  [
    ['ip', ['-V']],
    ['iptables-restore', ['--version']],
    ['ipset', ['version']],
  ],
  'apt-get install -y iproute2 iptables ipset',
);
if (missing && process.env.CI === 'true') {
  describe('kernel differential (iptables)', () => {
    test('prerequisites', () => {
      throw new Error(`kernel tests cannot run in CI: ${missing}`);
    });
  });
}

let counter = 0;
const created: string[] = [];

/** A fresh namespace shaped like a kubelet+kube-proxy node: mangle, filter, nat exist; the fixtures' ipsets exist. */
function freshNode(ipt = 'iptables'): string {
  const ns = `kpath-t-ipt${process.pid}-${counter++}`;
  execFileSync('ip', ['netns', 'add', ns]);
  created.push(ns);
  for (const t of ['mangle', 'filter', 'nat']) {
    inNs(ns, ipt, ['-t', t, '-N', 'KPATH-INIT']);
    inNs(ns, ipt, ['-t', t, '-X', 'KPATH-INIT']);
  }
  for (const [name, type] of IPSETS) inNs(ns, 'ipset', ['create', name, type]);
  return ns;
}

function inNs(ns: string, cmd: string, args: readonly string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, encoding: 'utf8', stdio: 'pipe' });
}

function tryRestore(ns: string, payload: string, ipt = 'iptables'): { ok: boolean; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, `${ipt}-restore`, '--noflush'], {
    input: payload,
    encoding: 'utf8',
  });
  return { ok: r.status === 0, stderr: r.stderr };
}

function kernelSave(ns: string, ipt = 'iptables'): string {
  return withoutDateLines(inNs(ns, `${ipt}-save`, []));
}

afterEach(() => {
  // Namespaces are deleted after every test, pass or fail.
  while (created.length) spawnSync('ip', ['netns', 'del', created.pop() as string]);
});

describe.skipIf(missing !== undefined)(
  `kernel differential (iptables)${missing ? ` — skipped: ${missing}` : ''}`,
  () => {
    for (const s of SCENARIOS) {
      test(`scenario ${s.name}`, () => {
        const ipt = s.family === 6 ? 'ip6tables' : 'iptables';
        const ns = freshNode(ipt);
        let rs = emptyRuleset();
        for (const p of s.payloads) {
          const r = tryRestore(ns, fixture(p), ipt);
          expect(r.stderr.replace(/^.*xt_iprange.*\n/gm, '')).toBe('');
          expect(r.ok).toBe(true);
          rs = applyRestore(rs, fixture(p), { noflush: true, file: p, family: s.family ?? 4 });
        }
        expect(printIptablesSave(rs)).toBe(kernelSave(ns, ipt));
      });
    }

    test('a fresh node (tables created, nothing in them) prints as emptyRuleset()', () => {
      const ns = freshNode();
      expect(printIptablesSave(emptyRuleset())).toBe(kernelSave(ns));
    });

    // Payloads the real iptables-restore refuses: applyRestore must refuse them too, naming a line.
    const refused: readonly [string, string][] = [
      ['bad ctstatus', '*filter\n:T - [0:0]\n-A T -m conntrack --ctstatus DNAT -j ACCEPT\nCOMMIT\n'],
      ['jump to a chain that does not exist', '*nat\n:A - [0:0]\n-A A -j NOPE\nCOMMIT\n'],
      ['jump to a chain declared later', '*nat\n:A - [0:0]\n-A A -j B\n:B - [0:0]\nCOMMIT\n'],
      ['jump to a built-in chain', '*nat\n:A - [0:0]\n-A A -j OUTPUT\nCOMMIT\n'],
      ['append to an undeclared chain', '*nat\n-A A -j ACCEPT\nCOMMIT\n'],
      ['missing COMMIT', '*nat\n:A - [0:0]\n-A A -j ACCEPT\n'],
      ['DNAT outside nat', '*filter\n:T - [0:0]\n-A T -p tcp -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n'],
      ['! -s 0.0.0.0/0', '*filter\n:T - [0:0]\n-A T ! -s 0.0.0.0/0 -j ACCEPT\nCOMMIT\n'],
      ['empty log prefix', '*filter\n:T - [0:0]\n-A T -j LOG --log-prefix ""\nCOMMIT\n'],
      ['log level alias warn', '*filter\n:T - [0:0]\n-A T -j LOG --log-level warn\nCOMMIT\n'],
      [
        'nth without --packet',
        '*filter\n:T - [0:0]\n-A T -m statistic --mode nth --every 3 -j ACCEPT\nCOMMIT\n',
      ],
      [
        'inverted --mode',
        '*filter\n:T - [0:0]\n-A T -m statistic ! --mode random --probability 0.5 -j ACCEPT\nCOMMIT\n',
      ],
      ['ambiguous icmp type', '*filter\n:T - [0:0]\n-A T -p icmp --icmp-type echo -j ACCEPT\nCOMMIT\n'],
      ['single-quoted comment', "*filter\n:T - [0:0]\n-A T -m comment --comment 'a b' -j ACCEPT\nCOMMIT\n"],
      [
        'MASQUERADE ports without a port protocol',
        '*nat\n:N - [0:0]\n-A N -j MASQUERADE --to-ports 1000\nCOMMIT\n',
      ],
      ['tcp-reset without -p tcp', '*filter\n:T - [0:0]\n-A T -j REJECT --reject-with tcp-reset\nCOMMIT\n'],
      ['delete a referenced chain', '*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-X B\nCOMMIT\n'],
      ['icmp match without --icmp-type', '*filter\n:T - [0:0]\n-A T -p icmp -m icmp -j ACCEPT\nCOMMIT\n'],
      [
        'multiport without a port protocol',
        '*filter\n:T - [0:0]\n-A T -m multiport --dports 1,2 -j ACCEPT\nCOMMIT\n',
      ],
      ['addrtype without a type', '*filter\n:T - [0:0]\n-A T -m addrtype -j ACCEPT\nCOMMIT\n'],
      [
        'recent --set with --seconds',
        '*filter\n:T - [0:0]\n-A T -m recent --set --seconds 5 -j ACCEPT\nCOMMIT\n',
      ],
      ['delete a chain that still has rules', '*filter\n:A - [0:0]\n-A A -j ACCEPT\n-X A\nCOMMIT\n'],
      ['policy on a user chain via -P', '*filter\n:A - [0:0]\n-P A DROP\nCOMMIT\n'],
      ['-N of an existing chain', '*filter\n:A - [0:0]\n-N A\nCOMMIT\n'],
      ['-D of a rule that is not there', '*filter\n:A - [0:0]\n-D A -j ACCEPT\nCOMMIT\n'],
      ['insert past the end', '*filter\n:A - [0:0]\n-I A 2 -j ACCEPT\nCOMMIT\n'],
      ['unknown table', '*nope\nCOMMIT\n'],
    ];
    for (const [what, payload] of refused) {
      test(`refused like the kernel: ${what}`, () => {
        const ns = freshNode();
        expect(tryRestore(ns, payload).ok).toBe(false);
        expect(() => applyRestore(emptyRuleset(), payload, { noflush: true })).toThrow(IptablesParseError);
      });
    }

    test('single iptables commands (-N, -A, -I n, -P) as kubelet, kube-proxy and flanneld make them', () => {
      const ns = freshNode();
      const cmds: IptablesCommand[] = [
        { table: 'filter', op: 'new-chain', chain: 'KUBE-FIREWALL' },
        {
          table: 'filter',
          op: 'append',
          chain: 'KUBE-FIREWALL',
          args: [
            '-m',
            'comment',
            '--comment',
            'block incoming localnet connections',
            '-d',
            '127.0.0.0/8',
            '!',
            '-s',
            '127.0.0.0/8',
            '-m',
            'conntrack',
            '!',
            '--ctstate',
            'RELATED,ESTABLISHED,DNAT',
            '-j',
            'DROP',
          ],
        },
        { table: 'filter', op: 'insert', chain: 'INPUT', args: ['-j', 'KUBE-FIREWALL'] },
        { table: 'filter', op: 'insert', chain: 'OUTPUT', position: 1, args: ['-j', 'KUBE-FIREWALL'] },
        {
          table: 'filter',
          op: 'append',
          chain: 'INPUT',
          args: ['-p', 'udp', '--dport', '8472', '-j', 'ACCEPT'],
        },
        { table: 'filter', op: 'insert', chain: 'INPUT', position: 2, args: ['-i', 'lo', '-j', 'ACCEPT'] },
        { table: 'filter', op: 'policy', chain: 'FORWARD', policy: 'DROP' },
        { table: 'mangle', op: 'new-chain', chain: 'KUBE-IPTABLES-HINT' },
        { table: 'mangle', op: 'new-chain', chain: 'KUBE-KUBELET-CANARY' },
        { table: 'raw', op: 'new-chain', chain: 'KPATH-RAW' },
        { table: 'nat', op: 'new-chain', chain: 'FLANNEL-POSTRTG' },
        {
          table: 'nat',
          op: 'append',
          chain: 'POSTROUTING',
          args: ['-m', 'comment', '--comment', 'flanneld masq', '-j', 'FLANNEL-POSTRTG'],
        },
        {
          table: 'nat',
          op: 'append',
          chain: 'FLANNEL-POSTRTG',
          args: [
            '-s',
            '10.244.0.0/16',
            '!',
            '-d',
            '224.0.0.0/4',
            '-m',
            'comment',
            '--comment',
            'flanneld masq',
            '-j',
            'MASQUERADE',
            '--random-fully',
          ],
        },
      ];
      let rs: Ruleset = emptyRuleset();
      for (const c of cmds) {
        const flag = { append: '-A', insert: '-I', 'new-chain': '-N', policy: '-P' }[c.op];
        const args = ['-t', c.table, flag, c.chain];
        if (c.op === 'insert' && c.position !== undefined) args.push(String(c.position));
        if (c.op === 'policy') args.push(c.policy as string);
        inNs(ns, 'iptables', [...args, ...(c.args ?? [])]);
        rs = applyIptablesCommand(rs, c);
      }
      expect(printIptablesSave(rs)).toBe(kernelSave(ns));
    });

    // Generated kube-proxy/flannel/Calico-shaped rules: whatever the values, we store what the kernel stores.
    const word = fc.stringMatching(/^[a-zA-Z0-9_\-/:. "'\\]{1,40}$/);
    const port = fc.integer({ min: 1, max: 65535 });
    const octet = fc.integer({ min: 0, max: 255 });
    const ip = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    const cidr = fc.tuple(ip, fc.integer({ min: 1, max: 32 })).map(([a, l]) => `${a}/${l}`);
    const neg = fc.boolean().map((b) => (b ? '! ' : ''));
    const hexn = fc.integer({ min: 0, max: 0xffffffff }).map((n) => `0x${n.toString(16)}`);
    const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    const piece = fc.oneof(
      word.map((w) => `-m comment --comment ${quote(w)}`),
      fc.tuple(neg, cidr).map(([n, c]) => `${n}-s ${c}`),
      fc.tuple(neg, ip).map(([n, c]) => `${n}-d ${c}`),
      fc
        .tuple(fc.constantFrom('tcp', 'udp', 'sctp'), neg, port, fc.option(port))
        .map(
          ([p, n, a, b]) =>
            `-m ${p} -p ${p} ${n}--dport ${b === null ? a : `${Math.min(a, b)}:${Math.max(a, b)}`}`,
        ),
      fc
        .tuple(neg, hexn, fc.option(hexn))
        .map(([n, v, m]) => `-m mark ${n}--mark ${v}${m === null ? '' : `/${m}`}`),
      fc
        .tuple(
          neg,
          fc.subarray(['NEW', 'RELATED', 'ESTABLISHED', 'INVALID', 'DNAT', 'SNAT', 'UNTRACKED'], {
            minLength: 1,
          }),
        )
        .map(([n, s]) => `-m conntrack ${n}--ctstate ${s.join(',')}`),
      fc
        .integer({ min: 1, max: 100000 })
        .map((k) => `-m statistic --mode random --probability ${(1 / k).toFixed(10)}`),
      fc
        .tuple(neg, fc.constantFrom('LOCAL', 'UNICAST', 'BROADCAST', 'MULTICAST'))
        .map(([n, t]) => `-m addrtype ${n}--dst-type ${t}`),
      fc
        .tuple(
          fc.integer({ min: 1, max: 9999 }),
          fc.constantFrom('second', 'minute', 'hour', 'day', 's', 'm', 'h', 'd'),
        )
        .map(([n, u]) => `-m limit --limit ${n}/${u}`),
    );
    const target = fc.oneof(
      fc.constantFrom(
        '-j ACCEPT',
        '-j DROP',
        '-j RETURN',
        '-j REJECT',
        '-j KUBE-MARK-MASQ',
        '-g KUBE-MARK-MASQ',
      ),
      fc
        .tuple(hexn, fc.constantFrom('--or-mark', '--xor-mark', '--and-mark', '--set-mark'))
        .map(([v, op]) => `-j MARK ${op} ${v}`),
      word.filter((w) => w.length <= 29).map((w) => `-j LOG --log-prefix ${quote(w)}`),
    );
    const rule = fc.tuple(fc.array(piece, { maxLength: 4 }), target).map(([ps, t]) => [...ps, t].join(' '));

    // nat-table shapes: kube-proxy SEP/SVC rules, flannel and CNI masquerade, with random values.
    const proto = fc.constantFrom('tcp', 'udp');
    const natRule = fc.oneof(
      fc
        .tuple(word, fc.option(word), proto, ip, port)
        .map(
          ([c, name, p, a, pt]) =>
            `-m comment --comment ${quote(c)}${name === null ? '' : ` -m recent --name ${name.replace(/[^A-Za-z0-9_-]/g, '') || 'X'} --set`} -m ${p} -p ${p} -j DNAT --to-destination ${a}:${pt}`,
        ),
      fc
        .tuple(word, fc.integer({ min: 1, max: 86400 }), fc.boolean())
        .map(
          ([c, secs, reap]) =>
            `-m comment --comment ${quote(c)} -m recent --name KUBE-SEP-X --rcheck --seconds ${secs}${reap ? ' --reap' : ''} -j KUBE-SEP-X`,
        ),
      fc
        .tuple(
          neg,
          cidr,
          neg,
          cidr,
          fc.constantFrom('', ' --random-fully', ' --random', ' --random --random-fully'),
        )
        .map(
          ([n1, s1, n2, d1, f]) =>
            `${n1}-s ${s1} ${n2}-d ${d1} -m comment --comment "flanneld masq" -j MASQUERADE${f}`,
        ),
      fc
        .tuple(proto, ip, fc.option(fc.tuple(port, port)))
        .map(
          ([p, a, r]) =>
            `-p ${p} -j SNAT --to-source ${a}${r === null ? '' : `:${Math.min(...r)}-${Math.max(...r)}`} --persistent`,
        ),
      fc.tuple(proto, port).map(([p, pt]) => `-p ${p} -j REDIRECT --to-ports ${pt}`),
      fc.tuple(hexn).map(([m]) => `-m mark ! --mark ${m}/${m} -j RETURN`),
    );

    test('generated nat rules: applyRestore stores what the kernel stores', () => {
      fc.assert(
        fc.property(fc.array(natRule, { minLength: 1, maxLength: 40 }), (rules) => {
          const payload = `*nat\n:KUBE-SEP-X - [0:0]\n:GEN - [0:0]\n${rules.map((r) => `-A GEN ${r}`).join('\n')}\nCOMMIT\n`;
          const ns = freshNode();
          try {
            const r = tryRestore(ns, payload);
            let ours: string | undefined;
            try {
              ours = printIptablesSave(applyRestore(emptyRuleset(), payload, { noflush: true }));
            } catch (e) {
              if (!(e instanceof IptablesParseError)) throw e;
            }
            expect(ours === undefined ? 'refused' : 'accepted').toBe(r.ok ? 'accepted' : 'refused');
            if (ours !== undefined) expect(ours).toBe(kernelSave(ns));
          } finally {
            spawnSync('ip', ['netns', 'del', ns]);
            created.splice(created.indexOf(ns), 1);
          }
        }),
        { numRuns: 20, seed: 20261122 },
      );
    });

    test('generated rules: applyRestore stores what the kernel stores', () => {
      fc.assert(
        fc.property(fc.array(rule, { minLength: 1, maxLength: 40 }), (rules) => {
          const payload = `*filter\n:KUBE-MARK-MASQ - [0:0]\n:GEN - [0:0]\n${rules.map((r) => `-A GEN ${r}`).join('\n')}\nCOMMIT\n`;
          const ns = freshNode();
          try {
            const r = tryRestore(ns, payload);
            let ours: string | undefined;
            try {
              ours = printIptablesSave(applyRestore(emptyRuleset(), payload, { noflush: true }));
            } catch (e) {
              if (!(e instanceof IptablesParseError)) throw e;
            }
            // Both accept and agree, or both refuse.
            expect(ours === undefined ? 'refused' : 'accepted').toBe(r.ok ? 'accepted' : 'refused');
            if (ours !== undefined) expect(ours).toBe(kernelSave(ns));
          } finally {
            spawnSync('ip', ['netns', 'del', ns]);
            created.splice(created.indexOf(ns), 1);
          }
        }),
        { numRuns: 25, seed: 20261121 },
      );
    });
  },
);

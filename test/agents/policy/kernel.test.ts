// The kube-router agent's state in the real kernel: its ipsets go in with `ipset restore`, its iptables
// calls run as iptables commands and its payload through `iptables-restore --noflush`, as the controller
// does, inside a throwaway network namespace. The kernel must accept every line, and `iptables-save` and
// `ipset save` must read back exactly what kpath prints for that node.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipsetMembership, ipsetRestore, ipsetSave } from '../../../src/agents/policy/ipset.js';
import { kubeRouterSync } from '../../../src/agents/policy/kube-router.js';
import { IPAddr } from '../../../src/net/ip.js';
import { makePacket } from '../../../src/net/packet.js';
import {
  applyIptablesCommand,
  applyRestore,
  emptyRuleset,
  printIptablesSave,
} from '../../../src/node/iptables/index.js';
import type { IpSet } from '../../../src/node/state.js';
import { inNetns, iptablesArgv, kernelToolsMissing, run } from '../../fixtures/kernel.js';
import { netpol, xyzState } from '../../policy/fixtures.js';
import { XYZ_SCENARIOS } from './xyz-scenarios.js';

const NS = `kpath-t-kr${process.pid}`;

const missing = kernelToolsMissing(
  [
    ['iptables-restore', '--version'],
    ['ipset', '--version'],
    ['ip', '-V'],
  ],
  'needs iptables-restore, ipset (apt-get install -y ipset) and ip',
);
const inNs = (args: string[], input?: string) => inNetns(NS, args, input);

// Every x/y/z scenario at once (ingress/egress, named ports, ipBlock with except, UDP/SCTP, both
// policyTypes), plus an endPort range and a 0.0.0.0/0 ipBlock that becomes two /1 halves.
const policies = [
  ...Object.values(XYZ_SCENARIOS).flat(),
  netpol('y', 'range-and-world', {
    podSelector: {},
    egress: [
      {
        to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.244.0.0/16'] } }],
        ports: [{ port: 8000, endPort: 8080 }],
      },
    ],
    policyTypes: ['Egress'],
  }),
];
const state = xyzState(policies);
const sync = kubeRouterSync(state, state.nodeInfo[0]!);
let rules = emptyRuleset();
for (const c of sync.commands) rules = applyIptablesCommand(rules, c);
rules = applyRestore(rules, sync.restorePayload, { noflush: true });

const filterOnly = (save: string) => {
  const lines = save.split('\n').filter((l) => !l.startsWith('#'));
  const start = lines.indexOf('*filter');
  return lines.slice(start, lines.indexOf('COMMIT', start) + 1).join('\n');
};

describe.skipIf(missing !== undefined)(
  `kube-router state in a real kernel${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    beforeAll(() => {
      run(['ip', 'netns', 'add', NS]);
      inNs(['ipset', 'restore'], ipsetRestore(sync.ipsets));
      for (const c of sync.commands) inNs(iptablesArgv(c));
      inNs(['iptables-restore', '--noflush'], sync.restorePayload);
    });
    afterAll(() => {
      run(['ip', 'netns', 'del', NS]);
    });

    it('iptables-save reads back the filter table kpath prints', () => {
      const real = filterOnly(inNs(['iptables-save', '-t', 'filter']));
      expect(filterOnly(printIptablesSave(rules, {}))).toBe(real);
    });

    it('ipset save reads back every set and member', () => {
      const real = inNs(['ipset', 'save'])
        .split('\n')
        .map((l) => l.replace(/ bucketsize \d+ initval 0x[0-9a-f]+$/, ''))
        .filter((l) => l !== '');
      const ours = ipsetSave(sync.ipsets).trimEnd().split('\n');
      // The kernel lists sets by name; members of one set in its own (hash) order.
      const bySet = (lines: string[]) => {
        const m = new Map<string, string[]>();
        for (const l of lines) {
          const name = l.split(' ')[1]!;
          m.set(name, [...(m.get(name) ?? []), l]);
        }
        return [...m].sort(([a], [b]) => a.localeCompare(b)).map(([n, ls]) => [n, ls[0], ls.slice(1).sort()]);
      };
      expect(bySet(ours)).toEqual(bySet(real));
      expect(real.length).toBeGreaterThan(20);
    });

    it('set membership (hash:ip, hash:net with nomatch, most specific entry first) is what `ipset test` says', () => {
      // Two ipBlock peers of one rule share a set: 10.0.0.0/8, and 10.1.0.0/16 except 10.1.2.0/24.
      const sets: IpSet[] = [
        {
          name: 'KPATH-T-NET',
          type: 'hash:net',
          family: 'inet',
          timeout: 0,
          members: [
            { member: '10.0.0.0/8', timeout: 0 },
            { member: '10.1.0.0/16', timeout: 0 },
            { member: '10.1.2.0/24', timeout: 0, nomatch: true },
            { member: '10.1.2.128/25', timeout: 0 },
            { member: '192.168.1.7/32', timeout: 0 },
          ],
        },
        {
          name: 'KPATH-T-IP',
          type: 'hash:ip',
          family: 'inet',
          timeout: 0,
          members: [{ member: '10.244.1.5', timeout: 0 }],
        },
      ];
      inNs(['ipset', 'restore'], ipsetRestore(sets));
      const member = ipsetMembership(sets);
      const probe = [
        '10.9.9.9',
        '10.1.1.1',
        '10.1.2.3',
        '10.1.2.200',
        '192.168.1.7',
        '192.168.1.8',
        '11.0.0.1',
        '10.244.1.5',
      ];
      for (const set of ['KPATH-T-NET', 'KPATH-T-IP']) {
        for (const ip of probe) {
          let kernel: boolean;
          try {
            execFileSync('ip', ['netns', 'exec', NS, 'ipset', 'test', set, ip], { stdio: 'ignore' });
            kernel = true;
          } catch {
            kernel = false;
          }
          const packet = makePacket({ src: IPAddr.parse(ip), dst: IPAddr.parse('10.0.0.1') });
          expect(member(set, ['src'], packet), `${set} ${ip}`).toBe(kernel);
        }
      }
      // The nomatch /24 hides 10.1.2.3 from the /8 too: one peer's except bites the other peer.
      expect(
        member(
          'KPATH-T-NET',
          ['src'],
          makePacket({ src: IPAddr.parse('10.1.2.3'), dst: IPAddr.parse('10.0.0.1') }),
        ),
      ).toBe(false);
    });
  },
);

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allOutcomes,
  type BranchPoint,
  natText,
  seededChoice,
  traverseChain,
} from '../../src/datapath/netfilter/traverse.js';
import { addrTypes, ctx, rulesetOf, tableOf, tcpPkt } from './helpers.js';
import { KUBE_PROXY_NODE } from './kube-proxy.fixture.js';

const rs = rulesetOf(KUBE_PROXY_NODE);
const nat = tableOf(rs, 'nat');
const filter = tableOf(rs, 'filter');
const c = ctx({ addrType: addrTypes(['192.168.1.10']) });

const dnats = (src: string, dst: string, dport: number) =>
  allOutcomes(nat, 'PREROUTING', tcpPkt(src, 40000, dst, dport), c).map((o) => ({
    p: o.probability,
    to: o.result.verdict.kind === 'NAT' ? natText(o.result.verdict.action) : o.result.verdict.kind,
    masq: (o.result.packet.mark & 0x4000) !== 0,
  }));

describe('kube-proxy shapes (nat PREROUTING)', () => {
  it('ClusterIP with three endpoints: one branch point listing 1/3, 1/3, 1/3 with the exact DNAT targets', () => {
    const points: BranchPoint[] = [];
    const r = traverseChain(nat, 'PREROUTING', tcpPkt('10.244.0.5', 40000, '10.96.0.15', 80), c, (bp) => {
      points.push(bp);
      return 1;
    });
    expect(points).toHaveLength(1);
    const bp = points[0] as BranchPoint;
    expect(bp.chain).toBe('KUBE-SVC-MYAPP');
    expect(bp.branches.map((b) => b.target)).toEqual(['KUBE-SEP-A', 'KUBE-SEP-B', 'KUBE-SEP-C']);
    for (const b of bp.branches) expect(b.probability).toBeCloseTo(1 / 3, 9);
    expect(bp.branches[1]?.rule?.text).toBe(
      '-A KUBE-SVC-MYAPP -m comment --comment "default/my-app -> 10.244.1.3:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-B',
    );
    expect(r.verdict).toMatchObject({ kind: 'NAT' });
    expect(r.verdict.kind === 'NAT' && natText(r.verdict.action)).toBe('10.244.1.3:8080');
    // pod source: no KUBE-MARK-MASQ
    expect(r.packet.mark).toBe(0);
    expect(r.matched.map((x) => `${x.chain}#${x.number}`)).toEqual([
      'PREROUTING#1',
      'KUBE-SERVICES#1',
      'KUBE-SVC-MYAPP#3',
      'KUBE-SEP-B#2',
    ]);
  });

  it('allOutcomes collects every endpoint like upstream tracer, probabilities summing to 1', () => {
    const out = dnats('10.244.0.5', '10.96.0.15', 80);
    expect(out.map((o) => o.to)).toEqual(['10.244.0.3:8080', '10.244.1.3:8080', '10.244.2.3:8080']);
    expect(out.reduce((s, o) => s + o.p, 0)).toBeCloseTo(1, 12);
  });

  it('off-cluster source to the ClusterIP: KUBE-MARK-MASQ sets 0x4000 and the walk continues to DNAT', () => {
    const out = dnats('192.168.1.10', '10.96.0.15', 80);
    expect(out.every((o) => o.masq)).toBe(true);
    expect(out.map((o) => o.to)).toHaveLength(3);
  });

  it('hairpin: the endpoint reaching its own service is masqueraded by the KUBE-SEP -s rule', () => {
    const r = traverseChain(nat, 'PREROUTING', tcpPkt('10.244.1.3', 40000, '10.96.0.15', 80), c, {
      dnatTo: '10.244.1.3:8080',
    });
    expect(r.packet.mark).toBe(0x4000);
    const other = traverseChain(nat, 'PREROUTING', tcpPkt('10.244.1.3', 40000, '10.96.0.15', 80), c, {
      dnatTo: '10.244.0.3:8080',
    });
    expect(other.packet.mark).toBe(0);
  });

  it('eTP Local NodePort: external clients get only the local endpoint, unmasqueraded', () => {
    expect(dnats('198.51.100.5', '192.168.1.10', 30080)).toEqual([
      { p: 1, to: '10.244.0.3:8080', masq: false },
    ]);
  });
  it('eTP Local NodePort: pods short-circuit to all cluster endpoints, unmasqueraded', () => {
    const out = dnats('10.244.2.7', '192.168.1.10', 30080);
    expect(out.map((o) => [o.to, o.masq])).toEqual([
      ['10.244.0.3:8080', false],
      ['10.244.1.3:8080', false],
      ['10.244.2.3:8080', false],
    ]);
  });
  it('eTP Local NodePort: the node itself (src LOCAL) is masqueraded and sent to all endpoints', () => {
    const out = dnats('192.168.1.10', '192.168.1.10', 30080);
    expect(out.every((o) => o.masq)).toBe(true);
    expect(out).toHaveLength(3);
  });

  it('loadBalancerSourceRanges: allowed sources go through KUBE-FW to KUBE-EXT; others leave nat un-DNATed', () => {
    expect(dnats('198.51.100.77', '203.0.113.50', 80)).toEqual([
      { p: 1, to: '10.244.0.3:8080', masq: false },
    ]);
    const denied = traverseChain(nat, 'PREROUTING', tcpPkt('203.0.113.9', 1, '203.0.113.50', 80), c, () => 0);
    expect(denied.verdict).toEqual({ kind: 'POLICY', policy: 'ACCEPT' });
    expect(denied.matched.map((r) => r.chain)).toContain('KUBE-FW-MYAPP');
    // ... and filter KUBE-PROXY-FIREWALL drops it, still addressed to the LB IP.
    const f = traverseChain(
      filter,
      'FORWARD',
      tcpPkt('203.0.113.9', 1, '203.0.113.50', 80),
      ctx({ hook: 'FORWARD' }),
      () => 0,
    );
    expect(f.verdict).toEqual({ kind: 'DROP' });
    expect(f.matched.at(-1)?.text).toBe(
      '-A KUBE-PROXY-FIREWALL -d 203.0.113.50/32 -p tcp -m comment --comment "default/my-app traffic not accepted by KUBE-FW-MYAPP" -m tcp --dport 80 -j DROP',
    );
  });

  it('a port the service does not define passes nat untouched (no rule in iptables mode)', () => {
    expect(dnats('10.244.0.5', '10.96.0.15', 81)).toEqual([{ p: 1, to: 'POLICY', masq: false }]);
  });
});

describe('filter chains', () => {
  it('a service without endpoints is REJECTed with icmp-port-unreachable, even for TCP (NEW only)', () => {
    const p = tcpPkt('10.244.0.5', 40000, '10.96.0.20', 80);
    const r = traverseChain(filter, 'FORWARD', p, ctx({ hook: 'FORWARD' }), () => 0);
    expect(r.verdict).toEqual({ kind: 'REJECT', with: 'icmp-port-unreachable' });
    const est = traverseChain(
      filter,
      'FORWARD',
      p,
      ctx({ hook: 'FORWARD', ct: { state: 'ESTABLISHED' } }),
      () => 0,
    );
    expect(est.verdict).toEqual({ kind: 'ACCEPT' });
  });
  it('KUBE-FORWARD accepts marked packets despite a DROP policy; unmarked unrelated traffic hits the policy', () => {
    const p = { ...tcpPkt('198.51.100.5', 1, '10.244.0.3', 8080), mark: 0x4000 };
    expect(traverseChain(filter, 'FORWARD', p, ctx({ hook: 'FORWARD' }), () => 0).verdict).toEqual({
      kind: 'ACCEPT',
    });
    const q = tcpPkt('198.51.100.5', 1, '10.244.0.3', 8080);
    expect(traverseChain(filter, 'FORWARD', q, ctx({ hook: 'FORWARD' }), () => 0).verdict).toEqual({
      kind: 'POLICY',
      policy: 'DROP',
    });
  });
  it('KUBE-FORWARD drops ctstate INVALID', () => {
    const q = tcpPkt('198.51.100.5', 1, '10.244.0.3', 8080, ['ACK']);
    const r = traverseChain(
      filter,
      'FORWARD',
      q,
      ctx({ hook: 'FORWARD', ct: { state: 'INVALID' } }),
      () => 0,
    );
    expect(r.verdict).toEqual({ kind: 'DROP' });
    expect(r.matched.at(-1)?.text).toBe('-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP');
  });
});

describe('KUBE-POSTROUTING', () => {
  it('unmarked packets RETURN to the POSTROUTING policy', () => {
    const r = traverseChain(
      nat,
      'POSTROUTING',
      tcpPkt('10.244.0.5', 1, '10.244.1.3', 8080),
      ctx({ hook: 'POSTROUTING' }),
      () => 0,
    );
    expect(r.verdict).toEqual({ kind: 'POLICY', policy: 'ACCEPT' });
  });
  it('marked packets get the bit cleared by XOR, then MASQUERADE --random-fully', () => {
    const p = { ...tcpPkt('198.51.100.5', 1, '10.244.1.3', 8080), mark: 0x4000 | 0x1 };
    const r = traverseChain(nat, 'POSTROUTING', p, ctx({ hook: 'POSTROUTING' }), () => 0);
    expect(r.packet.mark).toBe(0x1);
    expect(r.verdict).toEqual({
      kind: 'NAT',
      action: { type: 'MASQUERADE', random: false, randomFully: true },
    });
  });
});

describe('traversal semantics', () => {
  const t = tableOf(
    rulesetOf(`*filter
:INPUT DROP [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
-A INPUT -j LOG --log-prefix "in: "
-A INPUT -g A
-A INPUT -j ACCEPT
-A A -j MARK --set-mark 0x2
-A A -j B
-A A -j RETURN
-A B -j MARK --or-mark 0x10
-A C -j NOSUCHCHAIN
COMMIT`),
    'filter',
  );
  it('goto does not come back: RETURN in the goto-ed chain ends the built-in chain with its policy', () => {
    const r = traverseChain(
      t,
      'INPUT',
      tcpPkt('1.1.1.1', 1, '2.2.2.2', 2),
      ctx({ hook: 'INPUT', inIface: 'eth0' }),
      () => 0,
    );
    expect(r.verdict).toEqual({ kind: 'POLICY', policy: 'DROP' });
    expect(r.packet.mark).toBe(0x12);
    expect(r.logs).toEqual([
      'in: IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=1 DPT=2 WINDOW=0 RES=0x00 SYN URGP=0',
    ]);
  });
  it('a user chain traversed directly falls off with RETURN', () => {
    const r = traverseChain(t, 'B', tcpPkt('1.1.1.1', 1, '2.2.2.2', 2), ctx(), () => 0);
    expect(r.verdict).toEqual({ kind: 'RETURN' });
  });
  it('an unknown target is UNSUPPORTED naming the rule', () => {
    const r = traverseChain(t, 'C', tcpPkt('1.1.1.1', 1, '2.2.2.2', 2), ctx(), () => 0);
    expect(r.verdict).toMatchObject({
      kind: 'UNSUPPORTED',
      rule: { chain: 'C', number: 1, text: '-A C -j NOSUCHCHAIN' },
    });
  });
  it('seeded choice is deterministic', () => {
    const run = (seed: number) =>
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => {
        const r = traverseChain(
          nat,
          'PREROUTING',
          tcpPkt('10.244.0.5', 40000 + i, '10.96.0.15', 80),
          c,
          seededChoice(seed + i),
        );
        return r.verdict.kind === 'NAT' ? natText(r.verdict.action) : '';
      });
    expect(run(7)).toEqual(run(7));
    expect(new Set([...run(1), ...run(100), ...run(1000)]).size).toBe(3);
  });
  it('a forced DNAT destination that no branch reaches is reported, not guessed', () => {
    const r = traverseChain(nat, 'PREROUTING', tcpPkt('10.244.0.5', 1, '10.96.0.15', 80), c, {
      dnatTo: '10.9.9.9:1',
    });
    expect(r.verdict.kind).toBe('UNSUPPORTED');
  });
});

describe('property: kube-proxy cascades are uniform', () => {
  it('n statistic rules with probability %0.10f of 1/(n-i) give branches summing to 1, each 1/n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), (n) => {
        const lines = [':PREROUTING ACCEPT [0:0]', ':KUBE-SVC-X - [0:0]', '-A PREROUTING -j KUBE-SVC-X'];
        for (let i = 0; i < n; i++) lines.push(`:KUBE-SEP-${i} - [0:0]`);
        for (let i = 0; i < n; i++) {
          const stat =
            i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}` : '';
          lines.push(`-A KUBE-SVC-X${stat} -j KUBE-SEP-${i}`);
          lines.push(`-A KUBE-SEP-${i} -p tcp -j DNAT --to-destination 10.0.${i}.1:80`);
        }
        const tab = tableOf(rulesetOf(`*nat\n${lines.join('\n')}\nCOMMIT`), 'nat');
        const p = tcpPkt('10.1.1.1', 1, '10.96.0.1', 80);
        let point: BranchPoint | undefined;
        traverseChain(tab, 'PREROUTING', p, ctx(), (bp) => {
          point ??= bp;
          return 0;
        });
        const probs = n === 1 ? [1] : (point?.branches.map((b) => b.probability) ?? []);
        expect(probs).toHaveLength(n);
        expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        for (const q of probs) expect(Math.abs(q - 1 / n)).toBeLessThan(1e-8);
        const outs = allOutcomes(tab, 'PREROUTING', p, ctx());
        expect(
          outs.map((o) => (o.result.verdict.kind === 'NAT' ? natText(o.result.verdict.action) : '')),
        ).toEqual(Array.from({ length: n }, (_, i) => `10.0.${i}.1:80`));
      }),
      { numRuns: 60 },
    );
  });
});

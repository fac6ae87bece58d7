import { describe, expect, it } from 'vitest';
import { EMPTY_RECENT, matchRule } from '../../src/datapath/netfilter/match.js';
import { structureRule } from '../../src/datapath/netfilter/rule.js';
import { makePacket } from '../../src/net/packet.js';
import { ctx, ip, ruleOf, tcpPkt, udpPkt } from './helpers.js';

const m = (rule: string, p = tcpPkt('10.244.0.5', 45678, '10.96.0.15', 80), c = ctx()) =>
  matchRule(ruleOf(rule), p, c).kind;

describe('structureRule', () => {
  it('reads the canonical iptables-save form and the agent-written form the same way', () => {
    const canon = structureRule(
      ruleOf(
        '-d 10.96.0.15/32 -p tcp -m comment --comment "default/my-app cluster IP" -m tcp --dport 80 -j KUBE-SVC-X',
      ),
    );
    const agent = structureRule(
      ruleOf(
        '-m comment --comment "default/my-app cluster IP" -m tcp -p tcp -d 10.96.0.15 --dport 80 -j KUBE-SVC-X',
      ),
    );
    expect(canon.ok && agent.ok).toBe(true);
    if (!canon.ok || !agent.ok) return;
    const tcpOf = (r: typeof canon.rule) =>
      r.modules.find((x) => x.module === 'tcp')?.options.map((o) => o.flag);
    expect(tcpOf(canon.rule)).toEqual(['--dport']);
    expect(tcpOf(agent.rule)).toEqual(['--dport']);
    expect(canon.rule.target).toEqual({ name: 'KUBE-SVC-X', goto: false, builtin: false, options: [] });
  });

  it('loads the protocol module implicitly after -p', () => {
    const r = structureRule(ruleOf('-p udp --dport 53 -j ACCEPT'));
    expect(r.ok && r.rule.modules[0]).toMatchObject({ module: 'udp', implicit: true });
  });

  it('refuses unknown modules and options, never guessing', () => {
    expect(structureRule(ruleOf('-m hashlimit --hashlimit-upto 5/sec -j ACCEPT'))).toMatchObject({
      ok: false,
    });
    expect(structureRule(ruleOf('-m tcp -p tcp --tcp-option 2 -j ACCEPT'))).toMatchObject({ ok: false });
    expect(structureRule(ruleOf('--dport 80 -j ACCEPT'))).toMatchObject({ ok: false });
    expect(m('-m owner --uid-owner 0 -j ACCEPT')).toBe('unsupported');
  });
});

describe('base matches', () => {
  it('-s/-d with CIDR, bare address and negation; family mismatch never matches', () => {
    expect(m('-s 10.244.0.0/16')).toBe('match');
    expect(m('! -s 10.244.0.0/16')).toBe('nomatch');
    expect(m('-d 10.96.0.15')).toBe('match');
    expect(m('-d 10.96.0.0/255.240.0.0')).toBe('match');
    expect(m('-d 10.96.0.16/32')).toBe('nomatch');
    expect(m('-d fd00::/8')).toBe('nomatch');
  });
  it('-i/-o with + wildcards; an absent interface is the empty name', () => {
    const c = ctx({ inIface: 'veth1234', outIface: 'cni0' });
    expect(m('-i veth+', undefined, c)).toBe('match');
    expect(m('! -i veth+', undefined, c)).toBe('nomatch');
    expect(m('-i veth', undefined, c)).toBe('nomatch');
    expect(m('-o cni0', undefined, c)).toBe('match');
    expect(m('-o cni0', undefined, ctx())).toBe('nomatch');
    expect(m('! -o cni0', undefined, ctx())).toBe('match');
  });
  it('-p by name, number, all', () => {
    expect(m('-p tcp')).toBe('match');
    expect(m('-p 6')).toBe('match');
    expect(m('-p all')).toBe('match');
    expect(m('-p udp')).toBe('nomatch');
    expect(m('! -p udp')).toBe('match');
  });
  it('-f matches only non-first fragments', () => {
    const p = tcpPkt('10.0.0.1', 1, '10.0.0.2', 2);
    expect(m('-f', p)).toBe('nomatch');
    expect(m('-f', { ...p, ip: { ...p.ip, fragOffset: 185 } })).toBe('match');
  });
});

describe('tcp/udp/multiport/icmp', () => {
  it('ports, ranges, open ranges and negation', () => {
    expect(m('-p tcp -m tcp --dport 80')).toBe('match');
    expect(m('-p tcp -m tcp ! --dport 80')).toBe('nomatch');
    expect(m('-p tcp --dport 1:1023')).toBe('match');
    expect(m('-p tcp --dport :79')).toBe('nomatch');
    expect(m('-p tcp --sport 45678:')).toBe('match');
    expect(m('-p udp -m udp --dport 80')).toBe('nomatch');
  });
  it('tcp flags and --syn', () => {
    expect(m('-p tcp --syn')).toBe('match');
    expect(m('-p tcp --syn', tcpPkt('1.1.1.1', 1, '2.2.2.2', 2, ['SYN', 'ACK']))).toBe('nomatch');
    expect(m('-p tcp --tcp-flags SYN,ACK SYN,ACK', tcpPkt('1.1.1.1', 1, '2.2.2.2', 2, ['SYN', 'ACK']))).toBe(
      'match',
    );
    expect(m('-p tcp --tcp-flags RST RST')).toBe('nomatch');
  });
  it('multiport lists with ranges', () => {
    expect(m('-p tcp -m multiport --dports 22,80:90,443')).toBe('match');
    expect(m('-p tcp -m multiport --dports 22,443')).toBe('nomatch');
    expect(m('-p tcp -m multiport ! --dports 22,443')).toBe('match');
    expect(m('-p tcp -m multiport --ports 45678')).toBe('match');
  });
  it('icmp types by name and number', () => {
    const echo = makePacket({
      src: ip('10.0.0.1'),
      dst: ip('10.0.0.2'),
      l4: { kind: 'icmp', type: 8, code: 0, id: 1 },
    });
    expect(m('-p icmp -m icmp --icmp-type 8', echo)).toBe('match');
    expect(m('-p icmp --icmp-type echo-request', echo)).toBe('match');
    expect(m('-p icmp --icmp-type port-unreachable', echo)).toBe('nomatch');
    expect(m('-p icmp --icmp-type any', echo)).toBe('match');
  });
});

describe('state-dependent matches', () => {
  it('addrtype LOCAL via the netns callback, with negation', () => {
    const toNode = tcpPkt('198.51.100.5', 1, '192.168.1.10', 30080);
    expect(m('-m addrtype --dst-type LOCAL', toNode)).toBe('match');
    expect(m('-m addrtype --dst-type LOCAL')).toBe('nomatch');
    expect(m('-m addrtype ! --src-type LOCAL')).toBe('match');
    expect(
      m('-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8', tcpPkt('127.0.0.1', 1, '127.0.0.1', 30080)),
    ).toBe('nomatch');
  });
  it('mark value/mask and connmark', () => {
    const p = { ...tcpPkt('1.1.1.1', 1, '2.2.2.2', 2), mark: 0x4001, ctmark: 0x10 };
    expect(m('-m mark --mark 0x4000/0x4000', p)).toBe('match');
    expect(m('-m mark ! --mark 0x4000/0x4000', p)).toBe('nomatch');
    expect(m('-m mark --mark 0x4000', p)).toBe('nomatch');
    expect(m('-m connmark --mark 0x10/0xff', p)).toBe('match');
  });
  it('ctstate including the virtual DNAT state; RELATED,ESTABLISHED', () => {
    const entry = {
      id: 1,
      orig: { proto: 6, src: ip('10.244.0.5'), dst: ip('10.96.0.15'), sport: 1, dport: 80 },
      reply: { proto: 6, src: ip('10.244.1.3'), dst: ip('10.244.0.5'), sport: 8080, dport: 1 },
      status: { seenReply: false, assured: false, confirmed: false, snat: false, dnat: true },
      expires: 2000,
      created: 1000,
      mark: 0,
    };
    const c = ctx({ ct: { state: 'NEW', dir: 'ORIGINAL', entry } });
    expect(m('-m conntrack --ctstate NEW', undefined, c)).toBe('match');
    expect(m('-m conntrack --ctstate RELATED,ESTABLISHED', undefined, c)).toBe('nomatch');
    expect(m('-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT', undefined, c)).toBe('nomatch');
    expect(m('-m conntrack --ctorigdst 10.96.0.15 --ctorigdstport 80', undefined, c)).toBe('match');
    expect(m('-m conntrack --ctstate INVALID', undefined, ctx({ ct: { state: 'INVALID' } }))).toBe('match');
    expect(m('-m state --state ESTABLISHED', undefined, ctx({ ct: { state: 'ESTABLISHED', entry } }))).toBe(
      'match',
    );
    expect(m('-m conntrack --ctorigdst 10.96.0.15', undefined, ctx({ ct: { state: 'INVALID' } }))).toBe(
      'nomatch',
    );
  });
  it('physdev: routed packets match only inverted options (xt_physdev)', () => {
    expect(m('-m physdev --physdev-is-in')).toBe('nomatch');
    expect(m('-m physdev ! --physdev-is-in')).toBe('match');
    const br = ctx({ physdev: { in: 'veth1', out: 'veth2' } });
    expect(m('-m physdev --physdev-is-bridged', undefined, br)).toBe('match');
    expect(m('-m physdev --physdev-in veth+ --physdev-out veth2', undefined, br)).toBe('match');
    expect(m('-m physdev --physdev-out veth3', undefined, br)).toBe('nomatch');
    expect(m('-m physdev --physdev-is-bridged', undefined, ctx({ physdev: { in: 'veth1' } }))).toBe(
      'nomatch',
    );
  });
  it('iprange', () => {
    expect(m('-m iprange --src-range 10.244.0.1-10.244.0.9')).toBe('match');
    expect(m('-m iprange ! --dst-range 10.96.0.1-10.96.0.14')).toBe('match');
  });
  it('set membership via callback; an unknown set is UNSUPPORTED', () => {
    const c = ctx({
      ipset: (name, dirs, p) =>
        name === 'KUBE-CLUSTER-IP' ? dirs[0] === 'dst' && p.ip.dst.toString() === '10.96.0.15' : undefined,
    });
    expect(m('-m set --match-set KUBE-CLUSTER-IP dst,dst', undefined, c)).toBe('match');
    expect(m('-m set ! --match-set KUBE-CLUSTER-IP src,dst', undefined, c)).toBe('match');
    expect(m('-m set --match-set NOPE dst', undefined, c)).toBe('unsupported');
  });
  it('recent: --set records, --rcheck --seconds --reap sees it within the window', () => {
    const set = matchRule(
      ruleOf('-m recent --set --name KUBE-SEP-A --mask 255.255.255.255 --rsource'),
      udpPkt('10.244.0.5', 1, '10.96.0.10', 53),
      ctx({ now: 100 }),
    );
    expect(set.kind).toBe('match');
    const recent = set.kind === 'match' ? set.recent : undefined;
    expect(recent?.get('KUBE-SEP-A')?.get('10.244.0.5')).toEqual([100]);
    const check =
      '-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource';
    const p = udpPkt('10.244.0.5', 2, '10.96.0.10', 53);
    expect(matchRule(ruleOf(check), p, ctx({ now: 200, recent: recent ?? EMPTY_RECENT })).kind).toBe('match');
    const late = matchRule(ruleOf(check), p, ctx({ now: 100 + 10801, recent: recent ?? EMPTY_RECENT }));
    expect(late.kind).toBe('nomatch');
    expect(late.kind === 'nomatch' && late.recent?.get('KUBE-SEP-A')?.size).toBe(0);
    expect(
      matchRule(
        ruleOf(check),
        udpPkt('10.244.0.6', 2, '10.96.0.10', 53),
        ctx({ now: 200, recent: recent ?? EMPTY_RECENT }),
      ).kind,
    ).toBe('nomatch');
  });
  it('statistic random yields a branch with the kernel-rounded probability; nth counts packets', () => {
    const r = matchRule(
      ruleOf('-m statistic --mode random --probability 0.33333333349'),
      tcpPkt('1.1.1.1', 1, '2.2.2.2', 2),
      ctx(),
    );
    expect(r).toEqual({ kind: 'random', probability: 715827883 / 2 ** 31 });
    const nth = (k: number) =>
      matchRule(
        ruleOf('-m statistic --mode nth --every 3 --packet 1'),
        tcpPkt('1.1.1.1', 1, '2.2.2.2', 2),
        ctx({ ruleId: 'r', nthCount: () => k }),
      ).kind;
    expect([0, 1, 2, 3, 4, 5].map(nth)).toEqual([
      'nomatch',
      'match',
      'nomatch',
      'nomatch',
      'match',
      'nomatch',
    ]);
  });
  it('comment and nfacct always match', () => {
    expect(m('-m comment --comment "anything at all" -m nfacct --nfacct-name x')).toBe('match');
  });
});

describe('CNI and policy agent shapes', () => {
  it("Calico's MASQUERADE rule: two -m set modules, the second negated", () => {
    const pools = ctx({
      ipset: (name, dirs, p) => {
        const a = dirs[0] === 'src' ? p.ip.src : p.ip.dst;
        const inPools = a.toString().startsWith('10.244.');
        return name === 'cali40masq-ipam-pools' || name === 'cali40all-ipam-pools' ? inPools : undefined;
      },
    });
    const rule =
      '-m comment --comment "cali:x" -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully';
    expect(m(rule, tcpPkt('10.244.0.5', 1, '8.8.8.8', 53), pools)).toBe('match');
    expect(m(rule, tcpPkt('10.244.0.5', 1, '10.244.1.3', 53), pools)).toBe('nomatch');
  });
  it("kube-router's NFLOG rule with -m limit matches the traced packet", () => {
    expect(
      m(
        '-m comment --comment "rule to log dropped traffic" -m mark ! --mark 0x10000/0x10000 -j NFLOG --nflog-group 100 -m limit --limit 10/min --limit-burst 10',
      ),
    ).toBe('match');
  });
  it('flanneld masq RETURN rules', () => {
    expect(
      m(
        '-s 10.244.0.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
        tcpPkt('10.244.0.5', 1, '10.244.1.3', 80),
      ),
    ).toBe('match');
    expect(
      m(
        '-s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
        tcpPkt('10.244.0.5', 1, '224.0.0.5', 80),
      ),
    ).toBe('nomatch');
  });
});

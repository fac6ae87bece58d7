import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { structureRule } from '../../src/datapath/netfilter/rule.js';
import { applyTarget, parseNatRange, xmark } from '../../src/datapath/netfilter/target.js';
import type { Packet } from '../../src/net/packet.js';
import { ruleOf, tcpPkt } from './helpers.js';

function effect(rule: string, p: Packet = tcpPkt('10.0.0.1', 1, '10.0.0.2', 2)) {
  const s = structureRule(ruleOf(rule));
  if (!s.ok || !s.rule.target) throw new Error(`bad rule ${rule}`);
  return applyTarget(s.rule.target, p);
}
const markAfter = (rule: string, mark: number) => {
  const e = effect(rule, { ...tcpPkt('10.0.0.1', 1, '10.0.0.2', 2), mark, ctmark: 0xf0 });
  if (e.kind !== 'packet') throw new Error(e.kind);
  return e.packet;
};

describe('MARK and its spellings (xt_MARK is only ever XOR-with-mask)', () => {
  it('kube-proxy: --or-mark 0x4000 == --set-xmark 0x4000/0x4000; --xor-mark 0x4000 == --set-xmark 0x4000/0x0', () => {
    expect(markAfter('-j MARK --or-mark 0x4000', 0x1).mark).toBe(0x4001);
    expect(markAfter('-j MARK --set-xmark 0x4000/0x4000', 0x1).mark).toBe(0x4001);
    expect(markAfter('-j MARK --xor-mark 0x4000', 0x4001).mark).toBe(0x1);
    expect(markAfter('-j MARK --set-xmark 0x4000/0x0', 0x4001).mark).toBe(0x1);
  });
  it('--set-mark v/m zeroes m then ORs v; --and-mark ANDs', () => {
    expect(markAfter('-j MARK --set-mark 0x2/0xf', 0xff).mark).toBe(0xf2);
    expect(markAfter('-j MARK --set-mark 0x2', 0xff).mark).toBe(0x2);
    expect(markAfter('-j MARK --and-mark 0x0f', 0xff).mark).toBe(0x0f);
  });
  it('property: every spelling agrees with its --set-xmark translation', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(u32, u32, u32, (cur, v, m) => {
        const hex = (x: number) => `0x${x.toString(16)}`;
        expect(markAfter(`-j MARK --or-mark ${hex(v)}`, cur).mark).toBe(xmark(cur, v, v));
        expect(markAfter(`-j MARK --set-mark ${hex(v)}/${hex(m)}`, cur).mark).toBe(((cur & ~m) | v) >>> 0);
        expect(markAfter(`-j MARK --xor-mark ${hex(v)}`, cur).mark).toBe((cur ^ v) >>> 0);
        expect(markAfter(`-j MARK --and-mark ${hex(v)}`, cur).mark).toBe((cur & v) >>> 0);
      }),
    );
  });
});

describe('CONNMARK', () => {
  it('--save-mark copies mark into ctmark under masks; --restore-mark copies back', () => {
    expect(markAfter('-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff', 0x4000).ctmark).toBe(
      0x4000,
    );
    expect(markAfter('-j CONNMARK --save-mark --mask 0xff00', 0x4012).ctmark).toBe(
      (0xf0 & ~0xff00) ^ (0x4012 & 0xff00),
    );
    expect(markAfter('-j CONNMARK --restore-mark', 0x1).mark).toBe(0xf0);
    expect(markAfter('-j CONNMARK --set-xmark 0x1/0x1', 0).ctmark).toBe(0xf1);
  });
});

describe('verdicts and NAT targets', () => {
  it('REJECT defaults to icmp-port-unreachable and canonicalises the short spellings', () => {
    expect(effect('-j REJECT')).toEqual({ kind: 'reject', with: 'icmp-port-unreachable' });
    expect(effect('-j REJECT --reject-with tcp-rst')).toEqual({ kind: 'reject', with: 'tcp-reset' });
    expect(effect('-j REJECT --reject-with host-prohib')).toEqual({
      kind: 'reject',
      with: 'icmp-host-prohibited',
    });
    expect(effect('-j REJECT --reject-with bogus').kind).toBe('unsupported');
  });
  it('DNAT/SNAT/MASQUERADE options', () => {
    expect(effect('-j DNAT --to-destination 10.244.1.3:8080')).toMatchObject({
      kind: 'nat',
      action: { type: 'DNAT', to: { ports: [8080, 8080] } },
    });
    expect(effect('-j MASQUERADE --to-ports 20000-30000 --random-fully')).toMatchObject({
      kind: 'nat',
      action: { type: 'MASQUERADE', ports: [20000, 30000], randomFully: true },
    });
    expect(effect('-j SNAT --to-source 192.168.1.10')).toMatchObject({
      kind: 'nat',
      action: { type: 'SNAT' },
    });
    expect(effect('-j DNAT --to-destination nonsense').kind).toBe('unsupported');
    expect(parseNatRange('[fd00::1]:80')?.addrs?.[0].toString()).toBe('fd00::1');
    expect(parseNatRange(':8080')).toEqual({ ports: [8080, 8080] });
    expect(parseNatRange('10.0.0.1-10.0.0.9')?.addrs?.[1].toString()).toBe('10.0.0.9');
  });
  it('LOG, TRACE, NOTRACK and CT --notrack continue; other CT options are UNSUPPORTED', () => {
    expect(effect('-j LOG --log-prefix "x: "')).toEqual({ kind: 'log', prefix: 'x: ', level: 'warning' });
    expect(effect('-j TRACE')).toEqual({ kind: 'trace' });
    expect(effect('-j NOTRACK')).toEqual({ kind: 'notrack' });
    expect(effect('-j CT --notrack')).toEqual({ kind: 'notrack' });
    expect(structureRule(ruleOf('-j CT --zone 1'))).toMatchObject({ ok: false });
  });
});

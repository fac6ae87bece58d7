import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConntrackTable,
  ctConfirm,
  ctCreate,
  ctLookup,
  ctNatPacket,
  ctSetNat,
  EMPTY_CONNTRACK,
  formatConntrackList,
  invertTuple,
  packetTuple,
} from '../../src/datapath/conntrack.js';
import { type HookEnv, type NetfilterRoute, netfilterHooks } from '../../src/datapath/netfilter/hooks.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import { makePacket, type Packet, type TcpFlag } from '../../src/net/packet.js';
import { addrTypes, ip, rulesetOf, tcpPkt, udpPkt } from './helpers.js';

// The throwaway-netns topology the golden sample was captured on (see fixtures/conntrack-L.txt).
const NODE_RULES = rulesetOf(`*mangle
-A PREROUTING -p udp -j MARK --set-xmark 0x4000/0x4000
-A PREROUTING -p udp -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff
COMMIT
*nat
-A PREROUTING -d 198.51.100.1/32 -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.1.3:8080
-A PREROUTING -d 198.51.100.1/32 -p udp -m udp --dport 30053 -j DNAT --to-destination 10.244.1.3:53
-A POSTROUTING -o h6n1 -j MASQUERADE
COMMIT`);

const LOCAL = ['198.51.100.1', '10.244.1.1'];
const route = (p: Packet): NetfilterRoute => {
  if (LOCAL.some((a) => ip(a).equals(p.ip.dst))) return { kind: 'local' };
  if (Prefix.parse('10.244.1.0/24').contains(p.ip.dst)) return { kind: 'forward', outIface: 'h6n1' };
  if (Prefix.parse('198.51.100.0/24').contains(p.ip.dst)) return { kind: 'forward', outIface: 'h6n0' };
  return { kind: 'unreachable', reason: 'no route' };
};

function env(conntrack: ConntrackTable, now: number, ruleset = NODE_RULES): HookEnv {
  return {
    ruleset,
    conntrack,
    now,
    addrType: addrTypes(LOCAL),
    route,
    masqueradeAddress: (dev) =>
      dev === 'h6n1' ? ip('10.244.1.1') : dev === 'h6n0' ? ip('198.51.100.1') : undefined,
    choice: () => 0,
  };
}

/** Sends packets in order (each [time, packet, in-iface]); returns the final table. */
function play(steps: [number, Packet, string][], table = EMPTY_CONNTRACK): ConntrackTable {
  let t = table;
  for (const [now, p, dev] of steps) {
    const r = netfilterHooks(env(t, now), p, { kind: 'ingress', inIface: dev });
    expect(['FORWARDED', 'LOCAL_IN']).toContain(r.disposition);
    t = r.conntrack;
  }
  return t;
}

const C = '198.51.100.5';
const fromClient = (sport: number, flags: TcpFlag[]) => tcpPkt(C, sport, '198.51.100.1', 30080, flags);
// What the pod sends back: to the masquerade address, as the kernel delivered it.
const fromPod = (dport: number, flags: TcpFlag[]) => tcpPkt('10.244.1.3', 8080, '10.244.1.1', dport, flags);

function golden(): string[] {
  const text = readFileSync(new URL('./fixtures/conntrack-L.txt', import.meta.url), 'utf8');
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

describe('conntrack -L (golden sample captured from conntrack-tools 1.4.7)', () => {
  it('reproduces the first capture: TIME_WAIT/CLOSE TCP via DNAT+MASQUERADE, marked UDP, [UNREPLIED]', () => {
    const t = play([
      [100, fromClient(54321, ['SYN']), 'h6n0'],
      [100, fromPod(54321, ['SYN', 'ACK']), 'h6n1'],
      [100, fromClient(54321, ['ACK']), 'h6n0'],
      [100, fromClient(54321, ['PSH', 'ACK']), 'h6n0'],
      [100, fromPod(54321, ['PSH', 'ACK']), 'h6n1'],
      [100, fromPod(54321, ['FIN', 'ACK']), 'h6n1'],
      [100, fromClient(54321, ['ACK']), 'h6n0'],
      [100, fromClient(54321, ['FIN', 'ACK']), 'h6n0'],
      [100, fromPod(54321, ['ACK']), 'h6n1'],
      [100, udpPkt(C, 40000, '198.51.100.1', 30053), 'h6n0'],
      [100, udpPkt('10.244.1.3', 53, '10.244.1.1', 40000), 'h6n1'],
      [100, udpPkt(C, 40001, '198.51.100.1', 30054), 'h6n0'],
      [100, fromClient(54322, ['SYN']), 'h6n0'],
      [100, fromPod(54322, ['SYN', 'ACK']), 'h6n1'],
      [100, fromClient(54322, ['ACK']), 'h6n0'],
      [100, fromClient(54322, ['PSH', 'ACK']), 'h6n0'],
      [101, fromClient(54322, ['RST', 'ACK']), 'h6n0'],
    ]);
    const lines = formatConntrackList(t, 102).trimEnd().split('\n');
    // conntrack -L lists in kernel hash order; compare as sets.
    expect([...lines].sort()).toEqual(golden().slice(0, 4).sort());
  });

  it('reproduces the second capture: ICMP echo through MASQUERADE, CLOSE_WAIT', () => {
    const echo = (src: string, dst: string, type: number) =>
      makePacket({
        src: ip(src),
        dst: ip(dst),
        l4: { kind: 'icmp', type, code: 0, id: 4660, seq: 1 },
        payloadLength: 4,
      });
    const t = play([
      [200, fromClient(54321, ['SYN']), 'h6n0'],
      [200, fromPod(54321, ['SYN', 'ACK']), 'h6n1'],
      [200, fromClient(54321, ['ACK']), 'h6n0'],
      [200, fromClient(54321, ['PSH', 'ACK']), 'h6n0'],
      [200, echo(C, '10.244.1.3', 8), 'h6n0'],
      [200, echo('10.244.1.3', '10.244.1.1', 0), 'h6n1'],
      [201, fromClient(54321, ['FIN', 'ACK']), 'h6n0'],
      [201, fromPod(54321, ['ACK']), 'h6n1'],
    ]);
    expect([...formatConntrackList(t, 202).trimEnd().split('\n')].sort()).toEqual(golden().slice(4).sort());
  });

  it('a NEW packet dropped before confirmation leaves no entry (as the kernel did for the DROPped SYN)', () => {
    const rs = rulesetOf('*filter\n-A FORWARD -p tcp -m tcp --dport 9999 -j DROP\nCOMMIT');
    const r = netfilterHooks(env(EMPTY_CONNTRACK, 0, rs), tcpPkt(C, 54400, '10.244.1.3', 9999), {
      kind: 'ingress',
      inIface: 'h6n0',
    });
    expect(r.disposition).toBe('DROPPED');
    expect(formatConntrackList(r.conntrack, 0)).toBe('');
  });
});

describe('conntrack semantics', () => {
  it('first packet NEW, again NEW before a reply, ESTABLISHED after; RST without entry INVALID', () => {
    const p = udpPkt('10.0.0.1', 1000, '10.0.0.2', 53);
    expect(ctLookup(EMPTY_CONNTRACK, p, 0).state).toBe('NEW');
    const t = ctConfirm(EMPTY_CONNTRACK, ctCreate(EMPTY_CONNTRACK, p, 0));
    expect(ctLookup(t, p, 1).state).toBe('NEW');
    expect(ctLookup(t, udpPkt('10.0.0.2', 53, '10.0.0.1', 1000), 1)).toMatchObject({
      state: 'ESTABLISHED',
      dir: 'REPLY',
    });
    expect(ctLookup(t, p, 31).state).toBe('NEW'); // expired after the 30 s UDP timeout
    expect(ctLookup(EMPTY_CONNTRACK, tcpPkt('1.1.1.1', 1, '2.2.2.2', 2, ['RST']), 0).state).toBe('INVALID');
  });

  it('an ICMP error quoting a tracked connection is RELATED and is reverse-NATed with it', () => {
    const t = play([[0, fromClient(5000, ['SYN']), 'h6n0']]);
    // the pod's host answers the masqueraded SYN with port unreachable, quoting what it received
    const quoted = tcpPkt('10.244.1.1', 5000, '10.244.1.3', 8080);
    const err = makePacket({
      src: ip('10.244.1.3'),
      dst: ip('10.244.1.1'),
      l4: { kind: 'icmp', type: 3, code: 3, quoted },
    });
    const r = netfilterHooks(env(t, 1), err, { kind: 'ingress', inIface: 'h6n1' });
    const lookup = r.steps.find((s) => s.kind === 'conntrack');
    expect(lookup).toMatchObject({ state: 'RELATED' });
    expect(r.disposition).toBe('FORWARDED');
    expect(r.packet.ip.dst.toString()).toBe(C);
    expect(r.packet.ip.src.toString()).toBe('198.51.100.1');
    const q = r.packet.l4?.kind === 'icmp' ? r.packet.l4.quoted : undefined;
    expect(q?.ip.src.toString()).toBe(C);
    expect(q?.ip.dst.toString()).toBe('198.51.100.1');
    expect(q?.l4).toMatchObject({ sport: 5000, dport: 30080 });
  });

  it('MASQUERADE keeps the source port unless it clashes, then moves on', () => {
    const t = play([[0, tcpPkt('198.51.100.5', 40000, '10.244.1.3', 8080), 'h6n0']]);
    const t2 = play([[0, tcpPkt('198.51.100.6', 40000, '10.244.1.3', 8080), 'h6n0']], t);
    const replies = t2.entries.map((e) => `${e.reply.dst.toString()}:${e.reply.dport}`);
    expect(replies).toEqual(['10.244.1.1:40000', '10.244.1.1:40001']);
  });
});

describe('property: reverse NAT restores the original tuple', () => {
  const v4 = fc.integer({ min: 1, max: 0xfffffffe }).map((n) => IPAddr.fromBigInt(4, BigInt(n)));
  const port = fc.integer({ min: 1, max: 65535 });
  it('DNAT+SNAT on the way out, replies translated back to exactly the inverse of the original', () => {
    fc.assert(
      fc.property(
        v4,
        v4,
        port,
        port,
        v4,
        port,
        v4,
        port,
        fc.boolean(),
        (src, dst, sp, dp, dnatIp, dnatPort, snatIp, snatPort, isTcp) => {
          const l4 = isTcp
            ? { kind: 'tcp' as const, sport: sp, dport: dp, flags: ['SYN' as const] }
            : { kind: 'udp' as const, sport: sp, dport: dp };
          const p = makePacket({ src, dst, l4 });
          let e = ctCreate(EMPTY_CONNTRACK, p, 0);
          e = ctSetNat(e, 'DNAT', dnatIp, dnatPort);
          e = ctSetNat(e, 'SNAT', snatIp, snatPort);
          const out = ctNatPacket(e, ctNatPacket(e, p, 'ORIGINAL', 'dst'), 'ORIGINAL', 'src');
          expect(packetTuple(out)).toEqual({ ...invertTuple(e.reply) });
          // the server answers the translated packet
          const ot = packetTuple(out);
          const answer = makePacket({
            src: ot.dst,
            dst: ot.src,
            l4: isTcp
              ? { kind: 'tcp', sport: ot.dport, dport: ot.sport, flags: ['SYN', 'ACK'] }
              : { kind: 'udp', sport: ot.dport, dport: ot.sport },
          });
          const back = ctNatPacket(e, ctNatPacket(e, answer, 'REPLY', 'dst'), 'REPLY', 'src');
          const bt = packetTuple(back);
          const want = invertTuple(packetTuple(p));
          expect(
            bt.src.equals(want.src) &&
              bt.dst.equals(want.dst) &&
              bt.sport === want.sport &&
              bt.dport === want.dport,
          ).toBe(true);
        },
      ),
    );
  });
});

describe('connection reuse', () => {
  it('a new SYN on a TIME_WAIT entry starts a fresh connection (NEW, re-run nat) and replaces the entry', () => {
    const closed = play([
      [0, fromClient(6000, ['SYN']), 'h6n0'],
      [0, fromPod(6000, ['SYN', 'ACK']), 'h6n1'],
      [0, fromClient(6000, ['ACK']), 'h6n0'],
      [0, fromClient(6000, ['FIN', 'ACK']), 'h6n0'],
      [0, fromPod(6000, ['ACK']), 'h6n1'],
      [0, fromPod(6000, ['FIN', 'ACK']), 'h6n1'],
      [0, fromClient(6000, ['ACK']), 'h6n0'],
    ]);
    expect(formatConntrackList(closed, 1)).toContain('TIME_WAIT');
    expect(ctLookup(closed, fromClient(6000, ['SYN']), 1).state).toBe('NEW');
    expect(ctLookup(closed, fromClient(6000, ['ACK']), 1).state).toBe('ESTABLISHED');
    const again = play([[1, fromClient(6000, ['SYN']), 'h6n0']], closed);
    const lines = formatConntrackList(again, 1).trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^tcp {6}6 120 SYN_SENT src=198\.51\.100\.5 .* \[UNREPLIED\] src=10\.244\.1\.3 /,
    );
  });
});

describe('ICMP and IPv6', () => {
  const icmp = (src: string, dst: string, type: number) =>
    makePacket({ src: ip(src), dst: ip(dst), l4: { kind: 'icmp', type, code: 0, id: 7, seq: 1 } });
  it('only ICMP queries can start a connection', () => {
    expect(ctLookup(EMPTY_CONNTRACK, icmp('10.0.0.1', '10.0.0.2', 8), 0).state).toBe('NEW');
    expect(ctLookup(EMPTY_CONNTRACK, icmp('10.0.0.1', '10.0.0.2', 0), 0).state).toBe('INVALID');
    expect(ctLookup(EMPTY_CONNTRACK, icmp('fd00::1', 'fd00::2', 128), 0).state).toBe('NEW');
    expect(ctLookup(EMPTY_CONNTRACK, icmp('fd00::1', 'fd00::2', 129), 0).state).toBe('INVALID');
  });
  it('IPv6 DNAT with [addr]:port and the conntrack -L line', () => {
    const rs = rulesetOf(
      '*nat\n-A PREROUTING -d fd00:10:96::f/128 -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00:10:244:1::3]:8080\nCOMMIT',
    );
    const r = netfilterHooks(
      {
        ...env(EMPTY_CONNTRACK, 5, rs),
        route: () => ({ kind: 'forward', outIface: 'h6n1' }),
      },
      tcpPkt('fd00:10:244::5', 40000, 'fd00:10:96::f', 80),
      { kind: 'ingress', inIface: 'h6n0' },
    );
    expect(r.disposition).toBe('FORWARDED');
    expect(formatConntrackList(r.conntrack, 5)).toBe(
      'tcp      6 120 SYN_SENT src=fd00:10:244::5 dst=fd00:10:96::f sport=40000 dport=80 [UNREPLIED] src=fd00:10:244:1::3 dst=fd00:10:244::5 sport=8080 dport=40000 mark=0 use=1\n',
    );
  });
});

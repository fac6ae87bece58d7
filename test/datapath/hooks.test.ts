import { describe, expect, it } from 'vitest';
import { type ConntrackTable, EMPTY_CONNTRACK, formatConntrackList } from '../../src/datapath/conntrack.js';
import {
  type Arrival,
  type HookEnv,
  type HookResult,
  type NetfilterRoute,
  netfilterHooks,
  rejectReply,
} from '../../src/datapath/netfilter/hooks.js';
import { Prefix } from '../../src/net/ip.js';
import { formatPacket, type Packet } from '../../src/net/packet.js';
import { addrTypes, ip, rulesetOf, tcpPkt } from './helpers.js';
import { KUBE_PROXY_NODE } from './kube-proxy.fixture.js';

// node-1 of the demo cluster: eth0 192.168.1.10, cni0 10.244.0.1/24, flannel.1 10.244.0.0/32, plus flanneld's
// FORWARD accept rules (reference/cni-bgp.md) and a raw NOTRACK rule for one test port.
const RULES = rulesetOf(
  `${KUBE_PROXY_NODE.replace(
    'COMMIT',
    // flanneld appends (-A) after kube-proxy prepended its jumps.
    `:FLANNEL-FWD - [0:0]
-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
COMMIT`,
  )}
*raw
-A PREROUTING -p udp -m udp --dport 9999 -j CT --notrack
COMMIT
`,
);
const LOCAL = ['192.168.1.10', '10.244.0.1', '10.244.0.0'];
const route = (p: Packet): NetfilterRoute => {
  const d = p.ip.dst;
  if (LOCAL.some((a) => ip(a).equals(d)) || d.isLoopback()) return { kind: 'local' };
  if (Prefix.parse('10.244.0.0/24').contains(d)) return { kind: 'forward', outIface: 'cni0' };
  if (Prefix.parse('10.244.0.0/16').contains(d)) {
    return {
      kind: 'forward',
      outIface: 'flannel.1',
      nextHop: ip(`10.244.${Number((d.value >> 8n) & 255n)}.0`),
    };
  }
  return { kind: 'forward', outIface: 'eth0', nextHop: ip('192.168.1.1') };
};
const ADDR: Record<string, string> = { eth0: '192.168.1.10', cni0: '10.244.0.1', 'flannel.1': '10.244.0.0' };

function env(conntrack: ConntrackTable = EMPTY_CONNTRACK, over: Partial<HookEnv> = {}): HookEnv {
  return {
    ruleset: RULES,
    conntrack,
    now: 1000,
    addrType: addrTypes(LOCAL),
    route,
    masqueradeAddress: (dev) => (ADDR[dev] ? ip(ADDR[dev] as string) : undefined),
    choice: { dnatTo: '10.244.1.3:8080' },
    seed: 42,
    ...over,
  };
}

const hooksSeen = (r: HookResult) =>
  r.steps.map((s) =>
    s.kind === 'chain'
      ? `${s.table} ${s.hook}`
      : s.kind === 'route'
        ? s.reroute
          ? 'reroute'
          : 'route'
        : `ct ${s.action}`,
  );

const ingress = (dev: string): Arrival => ({ kind: 'ingress', inIface: dev });

describe('routed packets through the hooks', () => {
  it('pod -> ClusterIP: nat PREROUTING DNATs the first packet, routing after DNAT, filter FORWARD, confirm', () => {
    const r = netfilterHooks(env(), tcpPkt('10.244.0.5', 40000, '10.96.0.15', 80), ingress('cni0'));
    expect(r.disposition).toBe('FORWARDED');
    expect(r.outIface).toBe('flannel.1');
    expect(hooksSeen(r)).toEqual([
      'raw PREROUTING',
      'ct lookup',
      'nat PREROUTING',
      'ct nat',
      'ct translate',
      'route',
      'filter FORWARD',
      'nat POSTROUTING',
      'ct confirm',
    ]);
    expect(formatPacket(r.packet)).toBe('IP 10.244.0.5.40000 > 10.244.1.3.8080: Flags [S], length 0');
    expect(r.packet.ip.ttl).toBe(63);
    expect(formatConntrackList(r.conntrack, 1000)).toBe(
      'tcp      6 120 SYN_SENT src=10.244.0.5 dst=10.96.0.15 sport=40000 dport=80 [UNREPLIED] src=10.244.1.3 dst=10.244.0.5 sport=8080 dport=40000 mark=0 use=1\n',
    );
    // The filter FORWARD chain saw ctstate NEW+DNAT: KUBE-FORWARD did not accept it, FLANNEL-FWD did.
    const fwd = r.steps.find((s) => s.kind === 'chain' && s.hook === 'FORWARD');
    expect(fwd?.kind === 'chain' && fwd.result.matched.at(-1)?.chain).toBe('FLANNEL-FWD');
  });

  it('later packets skip the nat table and reuse the pinned binding; replies are un-DNATed', () => {
    const first = netfilterHooks(env(), tcpPkt('10.244.0.5', 40000, '10.96.0.15', 80), ingress('cni0'));
    const reply = netfilterHooks(
      env(first.conntrack, { now: 1001 }),
      tcpPkt('10.244.1.3', 8080, '10.244.0.5', 40000, ['SYN', 'ACK']),
      ingress('flannel.1'),
    );
    expect(reply.disposition).toBe('FORWARDED');
    expect(hooksSeen(reply)).not.toContain('nat PREROUTING');
    expect(formatPacket(reply.packet)).toBe('IP 10.96.0.15.80 > 10.244.0.5.40000: Flags [S.], length 0');
    const ack = netfilterHooks(
      env(reply.conntrack, { now: 1001, choice: () => 2 }),
      tcpPkt('10.244.0.5', 40000, '10.96.0.15', 80, ['ACK']),
      ingress('cni0'),
    );
    expect(hooksSeen(ack)).not.toContain('nat PREROUTING');
    expect(ack.packet.ip.dst.toString()).toBe('10.244.1.3');
    expect(formatConntrackList(ack.conntrack, 1001)).toContain('ESTABLISHED src=10.244.0.5 dst=10.96.0.15');
    expect(formatConntrackList(ack.conntrack, 1001)).toContain('[ASSURED]');
  });

  it('external client -> NodePort (eTP Local): local endpoint only, no masquerade, delivered via cni0', () => {
    const r = netfilterHooks(
      env(undefined, { choice: () => 0 }),
      tcpPkt('198.51.100.5', 50000, '192.168.1.10', 30080),
      ingress('eth0'),
    );
    expect(r.disposition).toBe('FORWARDED');
    expect(r.outIface).toBe('cni0');
    expect(formatPacket(r.packet)).toBe('IP 198.51.100.5.50000 > 10.244.0.3.8080: Flags [S], length 0');
  });

  it('a ClusterIP without endpoints is REJECTed in filter FORWARD and nothing is confirmed', () => {
    const p = tcpPkt('10.244.0.5', 40000, '10.96.0.20', 80);
    const r = netfilterHooks(env(), p, ingress('cni0'));
    expect(r.disposition).toBe('REJECTED');
    expect(r.rejectWith).toBe('icmp-port-unreachable');
    expect(r.rule?.text).toContain('default/empty has no endpoints');
    expect(r.conntrack.entries).toHaveLength(0);
    expect(formatPacket(rejectReply(r.packet, 'icmp-port-unreachable', ip('10.244.0.1')))).toBe(
      'IP 10.244.0.1 > 10.244.0.5: ICMP 10.96.0.20 tcp port 80 unreachable, length 48',
    );
  });

  it('CT --notrack in raw: UNTRACKED, no nat, no conntrack entry', () => {
    const p = {
      ...tcpPkt('10.244.0.5', 1, '10.96.0.15', 9999),
      l4: { kind: 'udp' as const, sport: 1, dport: 9999 },
    };
    const r = netfilterHooks(env(), { ...p, ip: { ...p.ip, protocol: 17 } }, ingress('cni0'));
    expect(hooksSeen(r)).toEqual(['raw PREROUTING', 'ct lookup', 'route', 'filter FORWARD']);
    expect(r.steps[1]).toMatchObject({ kind: 'conntrack', state: 'UNTRACKED' });
    expect(r.conntrack.entries).toHaveLength(0);
  });
});

describe('locally generated packets', () => {
  it('node -> ClusterIP: nat OUTPUT DNAT, reroute, KUBE-MARK-MASQ, MASQUERADE to the flannel.1 address', () => {
    const r = netfilterHooks(env(), tcpPkt('192.168.1.10', 33000, '10.96.0.15', 80), { kind: 'local-out' });
    expect(r.disposition).toBe('SENT');
    expect(hooksSeen(r)).toEqual([
      'route',
      'raw OUTPUT',
      'ct lookup',
      'nat OUTPUT',
      'ct nat',
      'ct translate',
      'filter OUTPUT',
      'reroute',
      'nat POSTROUTING',
      'ct nat',
      'ct translate',
      'ct confirm',
    ]);
    expect(r.outIface).toBe('flannel.1');
    expect(r.packet.mark).toBe(0);
    // KUBE-POSTROUTING uses --random-fully: the source port comes from the seed, deterministically.
    const port = r.packet.l4?.kind === 'tcp' ? r.packet.l4.sport : -1;
    expect(formatPacket(r.packet)).toBe(`IP 10.244.0.0.${port} > 10.244.1.3.8080: Flags [S], length 0`);
    expect(port).toBeGreaterThanOrEqual(1024);
    const again = netfilterHooks(env(), tcpPkt('192.168.1.10', 33000, '10.96.0.15', 80), {
      kind: 'local-out',
    });
    expect(again.packet).toEqual(r.packet);
    expect(formatConntrackList(r.conntrack, 1000)).toBe(
      `tcp      6 120 SYN_SENT src=192.168.1.10 dst=10.96.0.15 sport=33000 dport=80 [UNREPLIED] src=10.244.1.3 dst=10.244.0.0 sport=8080 dport=${port} mark=0 use=1\n`,
    );
  });
});

describe('bridged frames (br_netfilter)', () => {
  const p = tcpPkt('10.244.0.5', 40000, '10.244.0.3', 8080);
  const arrival: Arrival = { kind: 'bridged', bridge: 'cni0', physIn: 'veth1', physOut: 'veth2' };
  it('with bridge-nf-call-iptables=1 the frame takes PREROUTING/FORWARD/POSTROUTING with physdev set', () => {
    const rs = rulesetOf(
      '*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m physdev --physdev-in veth1 --physdev-out veth2 --physdev-is-bridged -i cni0 -o cni0 -j ACCEPT\nCOMMIT',
    );
    const r = netfilterHooks(env(undefined, { ruleset: rs, brNetfilter: true }), p, arrival);
    expect(r.disposition).toBe('BRIDGED');
    expect(hooksSeen(r)).toEqual(['ct lookup', 'filter FORWARD', 'ct confirm']);
    expect(r.packet.ip.ttl).toBe(64);
  });
  it('with bridge-nf-call-iptables=0 iptables never sees it', () => {
    const r = netfilterHooks(env(undefined, { brNetfilter: false }), p, arrival);
    expect(r.disposition).toBe('BRIDGED');
    expect(r.steps).toEqual([]);
  });
});

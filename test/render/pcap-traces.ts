// Hand-built traces in the seeds' demo topology (Flannel VXLAN, node-1 192.168.1.10, node-2 192.168.1.11,
// pods 10.244.0.5 on node-1 and 10.244.1.3 on node-2), for the pcap renderer's tests.
import { IPAddr } from '../../src/net/ip.js';
import { encapVxlan, makePacket, type Packet, tcp, udp } from '../../src/net/packet.js';
import type { Hop, Trace } from '../../src/trace/types.js';

const ip = IPAddr.parse;
export const POD_A = '10.244.0.5';
export const POD_B = '10.244.1.3';
export const NODE_1 = '192.168.1.10';
export const NODE_2 = '192.168.1.11';
const MAC = {
  podA: '0a:58:0a:f4:00:05',
  cni0n1: '0a:58:0a:f4:00:01',
  flannelN1: 'aa:aa:aa:00:00:0a',
  flannelN2: 'aa:aa:aa:00:00:0b',
  eth0n1: '52:54:00:00:01:0a',
  eth0n2: '52:54:00:00:01:0b',
  cni0n2: '0a:58:0a:f4:01:01',
  podB: '0a:58:0a:f4:01:03',
};

function hop(n: number, before: Packet, after: Packet, action: string, node = 'node-1'): Hop {
  return {
    n,
    layer: 'L3',
    at: { node, netns: 'root', owner: `node/${node}` },
    component: 'routing',
    action,
    before,
    after,
    explanation: action,
  };
}

function trace(hops: Hop[], ret: Hop[] | undefined, protocol: 'tcp' | 'udp'): Trace {
  return {
    request: {
      from: { spec: 'default/a', kind: 'pod', ip: POD_A },
      to: { spec: 'default/b', kind: 'pod', ip: POD_B, port: 8080 },
      protocol,
      seed: 1,
    },
    hops,
    disposition: 'DELIVERED',
    reason: 'delivered',
    branches: [],
    masquerade: false,
    conntrack: [],
    ...(ret ? { return: { hops: ret, disposition: 'DELIVERED' as const, reason: 'reply delivered' } } : {}),
  };
}

/** Pod A → pod B, TCP SYN to 8080 across flannel.1 (VNI 1, UDP 8472), and the SYN-ACK back. */
export function vxlanSynTrace(): Trace {
  const syn = { ...tcp(45678, 8080, ['SYN']), seq: 1000 };
  const atPod = makePacket({
    src: ip(POD_A),
    dst: ip(POD_B),
    l4: syn,
    id: 0x1c46,
    eth: { src: MAC.podA, dst: MAC.cni0n1 },
  });
  const routed = { ...atPod, ip: { ...atPod.ip, ttl: 63 } };
  const inner = { ...routed, eth: { src: MAC.flannelN1, dst: MAC.flannelN2 } };
  const outer = encapVxlan(inner, {
    src: ip(NODE_1),
    dst: ip(NODE_2),
    sport: 51234,
    dport: 8472,
    vni: 1,
    eth: { src: MAC.eth0n1, dst: MAC.eth0n2 },
  });
  const decapped = { ...inner, ip: { ...inner.ip, ttl: 62 }, eth: { src: MAC.cni0n2, dst: MAC.podB } };
  const synAck = { ...tcp(8080, 45678, ['SYN', 'ACK']), seq: 5000, ack: 1001 };
  const reply = makePacket({
    src: ip(POD_B),
    dst: ip(POD_A),
    l4: synAck,
    eth: { src: MAC.podB, dst: MAC.cni0n2 },
  });
  const replyInner = {
    ...reply,
    ip: { ...reply.ip, ttl: 63 },
    eth: { src: MAC.flannelN2, dst: MAC.flannelN1 },
  };
  const replyOuter = encapVxlan(replyInner, {
    src: ip(NODE_2),
    dst: ip(NODE_1),
    sport: 40000,
    dport: 8472,
    vni: 1,
    eth: { src: MAC.eth0n2, dst: MAC.eth0n1 },
  });
  const replyDelivered = {
    ...replyInner,
    ip: { ...replyInner.ip, ttl: 62 },
    eth: { src: MAC.cni0n1, dst: MAC.podA },
  };
  return trace(
    [
      hop(1, atPod, routed, 'route'),
      hop(2, routed, inner, 'forward'),
      hop(3, inner, outer, 'encapsulate'),
      hop(4, outer, decapped, 'decapsulate', 'node-2'),
    ],
    [
      hop(1, reply, replyInner, 'route', 'node-2'),
      hop(2, replyInner, replyOuter, 'encapsulate', 'node-2'),
      hop(3, replyOuter, replyDelivered, 'decapsulate'),
    ],
    'tcp',
  );
}

/** Pod A → pod B UDP 9999 where nothing listens: the reply is node-2's ICMP port unreachable quoting the datagram. */
export function portUnreachableTrace(): Trace {
  const dg = makePacket({
    src: ip(POD_A),
    dst: ip(POD_B),
    l4: udp(41000, 9999),
    payloadLength: 5,
    id: 0x2638,
  });
  const quoted = { ip: dg.ip, l4: dg.l4! };
  // Linux's icmp_send: TOS 0xc0 (internetwork control), DF clear, TTL 64.
  const icmp = makePacket({
    src: ip(POD_B),
    dst: ip(POD_A),
    l4: { kind: 'icmp', type: 3, code: 3, quoted },
    tos: 0xc0,
    df: false,
    id: 0x76c2,
  });
  return trace([hop(1, dg, dg, 'deliver', 'node-2')], [hop(1, icmp, icmp, 'deliver')], 'udp');
}

/** Pod A → a UDP service's ClusterIP 10.96.0.20:9000 (DNAT to pod B), and the reply un-DNATed on its way back. */
export function udpReplyTrace(): Trace {
  const q = makePacket({
    src: ip(POD_A),
    dst: ip('10.96.0.20'),
    l4: udp(53001, 9000),
    payloadLength: 40,
    id: 7,
  });
  const dnat = { ...q, ip: { ...q.ip, dst: ip(POD_B) } };
  const r = makePacket({ src: ip(POD_B), dst: ip(POD_A), l4: udp(9000, 53001), payloadLength: 56, id: 9 });
  const unnat = { ...r, ip: { ...r.ip, src: ip('10.96.0.20') } };
  return trace([hop(1, q, dnat, 'DNAT')], [hop(1, r, unnat, 'un-DNAT')], 'udp');
}

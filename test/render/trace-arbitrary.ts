// fast-check generators for Traces: random but well-formed (the shapes the engine produces), including VXLAN
// packets, IPv6, ICMP, random choices, unbreakable long words and every disposition.
import fc from 'fast-check';
import { IPAddr } from '../../src/net/ip.js';
import { encapVxlan, type L4Header, makePacket, type Packet, type TcpFlag } from '../../src/net/packet.js';
import type { Branch, Decision, Delivery, Hop, HopLocation, Leg, Trace } from '../../src/trace/types.js';
import { DISPOSITIONS, dnsLookup, ending } from './trace-fixtures.js';

const v4 = fc
  .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
  .map(([a, b, c, d]) => IPAddr.v4(a, b, c, d));
const v6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((v) => IPAddr.fromBigInt(6, v));
const port = fc.integer({ min: 1, max: 65535 });
const mac = fc
  .array(fc.nat(255), { minLength: 6, maxLength: 6 })
  .map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
const flags = fc.subarray<TcpFlag>(['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR']);

const l4: fc.Arbitrary<L4Header> = fc.oneof(
  fc.record({ kind: fc.constant('tcp' as const), sport: port, dport: port, flags }),
  fc.record({ kind: fc.constant('udp' as const), sport: port, dport: port }),
  fc.record({ kind: fc.constant('sctp' as const), sport: port, dport: port }),
  fc.record({ kind: fc.constant('icmp' as const), type: fc.constantFrom(0, 8), code: fc.constant(0) }),
);

function plainPacket(family: 4 | 6): fc.Arbitrary<Packet> {
  const addr = family === 4 ? v4 : v6;
  return fc
    .record({
      src: addr,
      dst: addr,
      l4,
      ttl: fc.integer({ min: 0, max: 255 }),
      mark: fc.nat(0xffffffff),
      eth: fc.option(fc.record({ src: mac, dst: mac }), { nil: undefined }),
      df: fc.boolean(),
    })
    .map((r) => makePacket({ ...r, ...(r.eth ? { eth: r.eth } : {}) }));
}

export const packet: fc.Arbitrary<Packet> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(4 as const, 6 as const).chain(plainPacket) },
  {
    weight: 1,
    arbitrary: fc
      .record({ inner: plainPacket(4), src: v4, dst: v4, sport: port, vni: fc.nat(0xffffff) })
      .map((r) => encapVxlan(r.inner, { src: r.src, dst: r.dst, sport: r.sport, dport: 8472, vni: r.vni })),
  },
);

const word = fc.oneof(
  { weight: 20, arbitrary: fc.stringMatching(/^[A-Za-z0-9./:"_-]{1,30}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z]{120,150}$/) },
);
export const sentence = fc.array(word, { minLength: 1, maxLength: 40 }).map((w) => w.join(' '));

const chain = fc.stringMatching(/^[A-Z][A-Z0-9-]{0,27}$/);
const decision: fc.Arbitrary<Decision> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('iptables-rule' as const, 'iptables-policy' as const),
    text: sentence,
    table: fc.constantFrom('raw', 'mangle', 'nat', 'filter'),
    chain,
    ruleNumber: fc.integer({ min: 1, max: 500 }),
  }),
  fc.record({
    kind: fc.constantFrom(
      'route' as const,
      'neighbour' as const,
      'fdb' as const,
      'conntrack' as const,
      'load-balancer' as const,
      'socket' as const,
    ),
    text: sentence,
  }),
);

const location: fc.Arbitrary<HopLocation> = fc.oneof(
  fc.record({
    node: fc.constantFrom('node-1', 'node-2', 'ip-10-0-12-34.eu-west-1.compute.internal'),
    netns: fc.constantFrom('root', 'cni-7f3a9c2e-1b4d-4e5f-8a6b-0c1d2e3f4a5b'),
    owner: fc.constantFrom('node/node-1', 'pod/default/a-very-long-deployment-name-6d8f7b9c5d-x7k2p'),
    iface: fc.constantFrom('eth0', 'cni0', 'flannel.1', 'veth1a2b3c4d'),
  }),
  fc.record({
    netns: fc.constantFrom('lb', 'underlay'),
    owner: fc.constantFrom('lb/203.0.113.50', 'underlay'),
  }),
);

const branch: fc.Arbitrary<Branch> = fc.record({
  probability: fc.oneof(
    fc.integer({ min: 1, max: 8 }).map((d) => 1 / d),
    fc.double({ min: 0, max: 1, noNaN: true }),
  ),
  target: fc.stringMatching(/^[a-z0-9.:-]{1,40}$/),
  dnat: fc.option(
    fc.tuple(v4, port).map(([a, p]) => a.joinPort(p)),
    { nil: undefined },
  ),
  chosen: fc.boolean(),
});

const hopBody = fc.record({
  layer: fc.constantFrom('L2' as const, 'L3' as const, 'L4' as const, 'L7' as const, 'DNS' as const),
  at: location,
  component: fc.constantFrom(
    'pod-netns' as const,
    'veth' as const,
    'bridge' as const,
    'br_netfilter' as const,
    'netfilter' as const,
    'conntrack' as const,
    'routing' as const,
    'neighbour' as const,
    'vxlan' as const,
    'underlay' as const,
    'load-balancer' as const,
    'socket' as const,
  ),
  action: fc.constantFrom('route', 'DNAT', 'SNAT', 'MASQUERADE', 'forward', 'encapsulate', 'deliver', 'jump'),
  decidedBy: fc.option(decision, { nil: undefined }),
  before: packet,
  after: packet,
  explanation: sentence,
  branches: fc.option(fc.array(branch, { minLength: 1, maxLength: 5 }), { nil: undefined }),
});

const hops = fc
  .array(hopBody, { minLength: 1, maxLength: 10 })
  .map((hs) => hs.map((h, i): Hop => ({ ...stripUndefined(h), n: i + 1 })));

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const delivery: fc.Arbitrary<Delivery> = fc.record({
  to: fc.constantFrom('default/my-app-6d8f7b9c5d-m4q9z', 'node-1', 'external/client'),
  ip: v4.map(String),
  port: fc.option(port, { nil: undefined }),
  observedSource: fc.tuple(v4, port).map(([a, p]) => a.joinPort(p)),
});

const leg: fc.Arbitrary<Leg> = fc
  .record({ hops, disposition: fc.constantFrom(...DISPOSITIONS), reason: sentence, delivered: delivery })
  .map((l) => {
    const { delivered, ...rest } = l;
    return l.disposition === 'DELIVERED' ? { ...rest, delivered } : rest;
  });

export const trace: fc.Arbitrary<Trace> = fc
  .record({
    leg,
    fromIp: v4,
    toIp: v4,
    toPort: fc.option(port, { nil: undefined }),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const, 'icmp' as const),
    seed: fc.nat(0xffffffff),
    forced: fc.option(fc.constant('default/my-app-6d8f7b9c5d-m4q9z'), { nil: undefined }),
    masquerade: fc.boolean(),
    back: fc.option(
      fc.tuple(
        leg,
        fc.option(
          fc.tuple(v4, port).map(([a, p]) => a.joinPort(p)),
          { nil: undefined },
        ),
      ),
      { nil: undefined },
    ),
    dns: fc.option(fc.constantFrom('DELIVERED' as const, 'DNS_NXDOMAIN' as const, 'DNS_TIMEOUT' as const), {
      nil: undefined,
    }),
    conntrack: fc.array(
      fc.record({ node: fc.constantFrom('node-1', 'node-2'), entries: fc.array(sentence) }),
      {
        maxLength: 3,
      },
    ),
  })
  .map((r) => ({
    ...r.leg,
    request: {
      from: { spec: 'external', kind: 'external' as const, ip: r.fromIp.toString() },
      to: {
        spec: 'svc/default/my-app',
        kind: 'service' as const,
        ip: r.toIp.toString(),
        ...(r.toPort !== undefined ? { port: r.toPort } : {}),
      },
      protocol: r.protocol,
      seed: r.seed,
      ...(r.forced ? { forcedEndpoint: r.forced } : {}),
    },
    branches: r.leg.hops.flatMap((h) => h.branches ?? []),
    masquerade: r.masquerade,
    conntrack: r.conntrack,
    ...(r.dns ? { dns: dnsLookup(r.dns, r.dns === 'DNS_TIMEOUT' ? undefined : ending('DROPPED')) } : {}),
    ...(r.back
      ? { return: { ...r.back[0], ...(r.back[1] !== undefined ? { observedSource: r.back[1] } : {}) } }
      : {}),
  }));

// Hand-built traces for the renderers: the seeds' north–south journey on the demo cluster (external client →
// LoadBalancer → NodePort on node-1 → DNAT to the pod on node-2 over VXLAN → reply through conntrack), plus a
// short trace for every disposition. Chain names are kube-proxy's real hashes for default/my-app.
import {
  clusterPolicyChain,
  endpointChain,
  externalChain,
} from '../../src/agents/kube-proxy/iptables/chain-names.js';
import { IPAddr } from '../../src/net/ip.js';
import { encapVxlan, makePacket, type Packet, tcp } from '../../src/net/packet.js';
import type {
  Branch,
  Decision,
  Disposition,
  Hop,
  HopLocation,
  Trace,
  TraceDns,
} from '../../src/trace/types.js';

export const ip = (s: string) => IPAddr.parse(s);

export const SVC = 'default/my-app';
export const SVC_CHAIN = clusterPolicyChain(SVC, 'tcp');
export const EXT_CHAIN = externalChain(SVC, 'tcp');
export const SEP = (ep: string) => endpointChain(SVC, 'tcp', ep);

export const CLIENT = 'external/client';
const node1: HopLocation = { node: 'node-1', netns: 'root', owner: 'node/node-1', iface: 'eth0' };
const node2: HopLocation = { node: 'node-2', netns: 'root', owner: 'node/node-2', iface: 'eth0' };
const pod2: HopLocation = {
  node: 'node-2',
  netns: 'cni-7f3a9c2e-1b4d-4e5f-8a6b-0c1d2e3f4a5b',
  owner: 'pod/default/my-app-6d8f7b9c5d-m4q9z',
  iface: 'eth0',
};
const client: HopLocation = { netns: CLIENT, owner: CLIENT, iface: 'eth0' };
const lb: HopLocation = { netns: 'lb', owner: 'lb/203.0.113.50' };

const rule = (table: string, chain: string, ruleNumber: number, text: string): Decision => ({
  kind: 'iptables-rule',
  table,
  chain,
  ruleNumber,
  text,
});

let n = 0;
function hop(
  at: HopLocation,
  h: Omit<Hop, 'n' | 'at' | 'after' | 'explanation'> & { after?: Packet; explanation?: string },
): Hop {
  n += 1;
  return { n, at, after: h.before, explanation: `Hop ${n}: ${h.action}.`, ...h };
}

const withDst = (p: Packet, dst: string, dport: number): Packet => ({
  ...p,
  ip: { ...p.ip, dst: ip(dst) },
  l4: { ...(p.l4 as ReturnType<typeof tcp>), dport },
});
const withSrc = (p: Packet, src: string, sport: number): Packet => ({
  ...p,
  ip: { ...p.ip, src: ip(src) },
  l4: { ...(p.l4 as ReturnType<typeof tcp>), sport },
});
const ttl = (p: Packet, t: number): Packet => ({ ...p, ip: { ...p.ip, ttl: t } });
const mark = (p: Packet, m: number): Packet => ({ ...p, mark: m });

const FLANNEL1_MAC_N1 = '3e:a1:5c:22:8f:01';
const FLANNEL1_MAC_N2 = '3e:a1:5c:22:8f:02';

export function northSouth(): Trace {
  n = 0;
  const p0 = makePacket({ src: ip('198.51.100.5'), dst: ip('203.0.113.50'), l4: tcp(54321, 80) });
  const pNode = withDst(p0, '192.168.1.10', 30080);
  const lbBranches: Branch[] = ['node-1', 'node-2', 'node-3'].map((t, i) => ({
    probability: 1 / 3,
    target: t,
    chosen: i === 0,
    decidedBy: { kind: 'load-balancer', text: `203.0.113.50:80 → ${t}:30080` },
  }));
  const eps = ['10.244.0.5:8080', '10.244.1.3:8080', '10.244.2.2:8080'];
  const statistic = [
    `-A ${SVC_CHAIN} -m comment --comment "${SVC} -> 10.244.0.5:8080" -m statistic --mode random --probability 0.33333333349 -j ${SEP(eps[0]!)}`,
    `-A ${SVC_CHAIN} -m comment --comment "${SVC} -> 10.244.1.3:8080" -m statistic --mode random --probability 0.50000000000 -j ${SEP(eps[1]!)}`,
    `-A ${SVC_CHAIN} -m comment --comment "${SVC} -> 10.244.2.2:8080" -j ${SEP(eps[2]!)}`,
  ];
  const svcBranches: Branch[] = eps.map((ep, i) => ({
    probability: 1 / 3,
    target: ep,
    dnat: ep,
    chosen: i === 1,
    decidedBy: rule('nat', SVC_CHAIN, i + 2, statistic[i]!),
  }));
  const marked = mark(pNode, 0x4000);
  const dnat = withDst(marked, '10.244.1.3', 8080);
  const routed = ttl(dnat, 63);
  const masq = mark(withSrc(routed, '10.244.0.0', 54321), 0);
  const innerEth = { ...masq, eth: { src: FLANNEL1_MAC_N1, dst: FLANNEL1_MAC_N2 } };
  const encap = encapVxlan(innerEth, {
    src: ip('192.168.1.10'),
    dst: ip('192.168.1.11'),
    sport: 41357,
    dport: 8472,
    vni: 1,
  });
  const decap = innerEth;
  const onBridge = { ...ttl(decap, 62), eth: { src: '7a:3c:00:11:22:01', dst: '0a:58:0a:f4:01:03' } };

  const hops: Hop[] = [
    hop(client, {
      layer: 'L3',
      component: 'routing',
      action: 'route',
      decidedBy: { kind: 'route', text: 'default via 198.51.100.1 dev eth0' },
      before: p0,
    }),
    hop(lb, {
      layer: 'L4',
      component: 'load-balancer',
      action: 'forward',
      decidedBy: {
        kind: 'load-balancer',
        text: '203.0.113.50:80 → NodePort 30080 on node-1, node-2, node-3',
      },
      before: p0,
      after: pNode,
      branches: lbBranches,
    }),
    hop(node1, {
      layer: 'L3',
      component: 'netfilter',
      action: 'jump',
      decidedBy: rule(
        'nat',
        'PREROUTING',
        1,
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      ),
      before: pNode,
    }),
    hop(node1, {
      layer: 'L3',
      component: 'netfilter',
      action: 'jump',
      decidedBy: rule(
        'nat',
        'KUBE-SERVICES',
        4,
        '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
      ),
      before: pNode,
    }),
    hop(node1, {
      layer: 'L3',
      component: 'netfilter',
      action: 'jump',
      decidedBy: rule(
        'nat',
        'KUBE-NODEPORTS',
        1,
        `-A KUBE-NODEPORTS -p tcp -m comment --comment "${SVC}" -m tcp --dport 30080 -j ${EXT_CHAIN}`,
      ),
      before: pNode,
    }),
    hop(node1, {
      layer: 'L3',
      component: 'netfilter',
      action: 'MARK',
      decidedBy: rule('nat', 'KUBE-MARK-MASQ', 1, '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'),
      before: pNode,
      after: marked,
    }),
    hop(node1, {
      layer: 'L3',
      component: 'netfilter',
      action: 'jump',
      decidedBy: svcBranches[1]!.decidedBy!,
      before: marked,
      branches: svcBranches,
    }),
    hop(node1, {
      layer: 'L3',
      component: 'netfilter',
      action: 'DNAT',
      decidedBy: rule(
        'nat',
        SEP(eps[1]!),
        2,
        `-A ${SEP(eps[1]!)} -p tcp -m comment --comment "${SVC}" -m tcp -j DNAT --to-destination 10.244.1.3:8080`,
      ),
      before: marked,
      after: dnat,
    }),
    hop(
      { ...node1, iface: 'flannel.1' },
      {
        layer: 'L3',
        component: 'routing',
        action: 'forward',
        decidedBy: { kind: 'route', text: '10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink' },
        before: dnat,
        after: routed,
      },
    ),
    hop(
      { ...node1, iface: 'flannel.1' },
      {
        layer: 'L3',
        component: 'netfilter',
        action: 'MASQUERADE',
        decidedBy: rule(
          'nat',
          'KUBE-POSTROUTING',
          3,
          '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
        ),
        before: routed,
        after: masq,
      },
    ),
    hop(
      { ...node1, iface: 'flannel.1' },
      {
        layer: 'L2',
        component: 'vxlan',
        action: 'encapsulate',
        decidedBy: { kind: 'fdb', text: `${FLANNEL1_MAC_N2} dev flannel.1 dst 192.168.1.11 self permanent` },
        before: masq,
        after: encap,
      },
    ),
    hop(
      { ...node2, iface: 'flannel.1' },
      { layer: 'L2', component: 'vxlan', action: 'decapsulate', before: encap, after: decap },
    ),
    hop(
      { ...node2, iface: 'cni0' },
      {
        layer: 'L3',
        component: 'routing',
        action: 'forward',
        decidedBy: { kind: 'route', text: '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1' },
        before: decap,
        after: onBridge,
      },
    ),
    hop(pod2, {
      layer: 'L4',
      component: 'socket',
      action: 'deliver',
      decidedBy: { kind: 'socket', text: 'LISTEN 0 4096 *:8080 *:*' },
      before: onBridge,
    }),
  ];

  // The reply: pod → node-1 over VXLAN, conntrack undoes MASQUERADE and DNAT, the LB undoes its own DNAT.
  n = 0;
  const r0 = makePacket({
    src: ip('10.244.1.3'),
    dst: ip('10.244.0.0'),
    l4: tcp(8080, 54321, ['SYN', 'ACK']),
  });
  const rEncap = encapVxlan(
    { ...ttl(r0, 63), eth: { src: FLANNEL1_MAC_N2, dst: FLANNEL1_MAC_N1 } },
    { src: ip('192.168.1.11'), dst: ip('192.168.1.10'), sport: 50212, dport: 8472, vni: 1 },
  );
  const rDecap = { ...ttl(r0, 63), eth: { src: FLANNEL1_MAC_N2, dst: FLANNEL1_MAC_N1 } };
  const rUnnat = withDst(withSrc(rDecap, '192.168.1.10', 30080), '198.51.100.5', 54321);
  const rOut = ttl(rUnnat, 62);
  const rLb = withSrc(rOut, '203.0.113.50', 80);
  const back: Hop[] = [
    hop(
      { ...pod2 },
      {
        layer: 'L3',
        component: 'routing',
        action: 'route',
        decidedBy: { kind: 'route', text: 'default via 10.244.1.1 dev eth0' },
        before: r0,
      },
    ),
    hop(
      { ...node2, iface: 'flannel.1' },
      {
        layer: 'L2',
        component: 'vxlan',
        action: 'encapsulate',
        decidedBy: { kind: 'route', text: '10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink' },
        before: r0,
        after: rEncap,
      },
    ),
    hop(
      { ...node1, iface: 'flannel.1' },
      { layer: 'L2', component: 'vxlan', action: 'decapsulate', before: rEncap, after: rDecap },
    ),
    hop(
      { ...node1, iface: 'flannel.1' },
      {
        layer: 'L3',
        component: 'conntrack',
        action: 'reverse NAT',
        decidedBy: {
          kind: 'conntrack',
          text: 'tcp      6 60 SYN_RECV src=198.51.100.5 dst=192.168.1.10 sport=54321 dport=30080 src=10.244.1.3 dst=10.244.0.0 sport=8080 dport=54321 mark=0 use=1',
        },
        before: rDecap,
        after: rUnnat,
      },
    ),
    hop(node1, {
      layer: 'L3',
      component: 'routing',
      action: 'forward',
      decidedBy: { kind: 'route', text: 'default via 192.168.1.1 dev eth0' },
      before: rUnnat,
      after: rOut,
    }),
    hop(lb, {
      layer: 'L4',
      component: 'load-balancer',
      action: 'reverse NAT',
      before: rOut,
      after: rLb,
    }),
    hop(client, { layer: 'L4', component: 'socket', action: 'deliver', before: rLb }),
  ];
  explain(hops, FORWARD_SENTENCES);
  explain(back, RETURN_SENTENCES);

  return {
    request: {
      from: { spec: 'external', kind: 'external', ip: '198.51.100.5' },
      to: { spec: 'svc/default/my-app', kind: 'service', ip: '203.0.113.50', port: 80 },
      protocol: 'tcp',
      seed: 1,
    },
    hops,
    disposition: 'DELIVERED',
    reason: 'default/my-app-6d8f7b9c5d-m4q9z accepts TCP on 10.244.1.3:8080.',
    delivered: {
      to: 'default/my-app-6d8f7b9c5d-m4q9z',
      ip: '10.244.1.3',
      port: 8080,
      observedSource: '10.244.0.0:54321',
    },
    branches: [...lbBranches, ...svcBranches],
    masquerade: true,
    conntrack: [
      {
        node: 'node-1',
        entries: [
          'tcp      6 60 SYN_RECV src=198.51.100.5 dst=192.168.1.10 sport=54321 dport=30080 src=10.244.1.3 dst=10.244.0.0 sport=8080 dport=54321 mark=0 use=1',
        ],
      },
      { node: 'node-2', entries: [] },
    ],
    return: {
      hops: back,
      disposition: 'DELIVERED',
      reason: 'the SYN-ACK reaches external/client at 198.51.100.5:54321.',
      delivered: { to: CLIENT, ip: '198.51.100.5', port: 54321, observedSource: '203.0.113.50:80' },
      observedSource: '203.0.113.50:80',
    },
  };
}

const FORWARD_SENTENCES = [
  'The client sends a SYN to the load balancer at 203.0.113.50:80 through its default route.',
  'The load balancer picks node-1 from its three healthy nodes and forwards the SYN to NodePort 30080 there.',
  "node-1's nat PREROUTING chain sends every packet to KUBE-SERVICES.",
  'No service IP matches, but 192.168.1.10 is a local address, so the packet goes to KUBE-NODEPORTS.',
  'Port 30080 belongs to default/my-app: on to its external-traffic chain.',
  'externalTrafficPolicy is Cluster, so the packet is marked 0x4000 to be masqueraded on the way out.',
  'kube-proxy picks one of three endpoints at random; the seed picks 10.244.1.3:8080 on node-2.',
  'The destination is rewritten to the pod: 10.244.1.3:8080.',
  "The pod lives on node-2: the route to node-2's pod subnet goes out flannel.1; forwarding lowers the TTL.",
  "The packet carries the 0x4000 mark, so KUBE-POSTROUTING masquerades it to flannel.1's address 10.244.0.0.",
  "flannel.1 looks up node-2's VTEP MAC in its FDB and wraps the frame in VXLAN to 192.168.1.11.",
  'node-2 receives the VXLAN packet on UDP 8472 and flannel.1 unwraps it.',
  "The pod subnet 10.244.1.0/24 is on cni0: the bridge hands the frame to the pod's veth.",
  'The app in default/my-app-6d8f7b9c5d-m4q9z is listening on 8080 and receives the SYN.',
];

const RETURN_SENTENCES = [
  "The pod answers 10.244.0.0 through its default route to node-2's cni0.",
  'node-2 routes 10.244.0.0 over flannel.1 and wraps the reply in VXLAN to node-1.',
  'node-1 unwraps the VXLAN packet.',
  'conntrack knows this connection: it undoes the masquerade and the DNAT, so the reply is from 192.168.1.10:30080.',
  'node-1 sends the reply out eth0 towards its default gateway.',
  "The load balancer replaces the node's address with its own, 203.0.113.50:80.",
  'The client receives the SYN-ACK from 203.0.113.50:80, the address it connected to.',
];

function explain(hops: Hop[], sentences: readonly string[]): void {
  hops.forEach((h, i) => {
    h.explanation = sentences[i] ?? h.explanation;
  });
}

export const DISPOSITIONS: readonly Disposition[] = [
  'DELIVERED',
  'DROPPED',
  'REJECTED',
  'NO_ROUTE',
  'NO_ENDPOINTS',
  'NO_NEIGHBOUR',
  'MTU_EXCEEDED',
  'TTL_EXCEEDED',
  'NOT_LISTENING',
  'UNSUPPORTED',
  'LOOP',
  'DNS_NXDOMAIN',
  'DNS_NODATA',
  'DNS_SERVFAIL',
  'DNS_TIMEOUT',
];

const RESOLV_CONF =
  'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n';

/** The name lookup before a connection from default/web-0: `my-app` → 10.96.0.15, or a DNS failure. */
export function dnsLookup(d: Disposition, journey?: Trace): TraceDns {
  const rcode = {
    DNS_NXDOMAIN: 'NXDOMAIN',
    DNS_NODATA: 'NOERROR',
    DNS_SERVFAIL: 'SERVFAIL',
    DNS_TIMEOUT: 'timeout',
  }[d as 'DNS_NXDOMAIN'];
  const name = d === 'DELIVERED' ? 'my-app' : 'no-such-svc';
  const fqdn = `${name}.default.svc.cluster.local.`;
  return {
    name,
    resolver: 'glibc',
    resolvConf: RESOLV_CONF,
    tried: [fqdn],
    queries: [
      {
        name: fqdn,
        type: 'A',
        server: '10.96.0.10',
        rcode: rcode ?? 'NOERROR',
        answer: d === 'DELIVERED' ? [`${fqdn}\t30\tIN\tA\t10.96.0.15`] : [],
        via: d === 'DNS_TIMEOUT' ? 'nobody' : 'coredns',
        ...(d === 'DNS_TIMEOUT' ? {} : { coredns: ['kubernetes cluster.local in-addr.arpa ip6.arpa'] }),
        ...(journey ? { journey } : { note: 'no reply within 5 s' }),
      },
    ],
    result:
      d === 'DELIVERED'
        ? { status: 'OK', addresses: ['10.96.0.15'] }
        : { status: 'EAI_NONAME', addresses: [] },
    waitedMs: d === 'DNS_TIMEOUT' ? 10000 : 0,
  };
}

/** The deciding line of a journey that ends in each disposition, quoted as the real tool prints it. */
const ENDINGS: Record<
  Disposition,
  { component: Hop['component']; action: string; decidedBy?: Decision; reason: string }
> = {
  DELIVERED: {
    component: 'socket',
    action: 'deliver',
    decidedBy: { kind: 'socket', text: 'LISTEN 0 4096 *:8080 *:*' },
    reason: 'shop/db-0 accepts TCP on 10.244.2.7:8080.',
  },
  DROPPED: {
    component: 'netfilter',
    action: 'DROP',
    decidedBy: rule(
      'filter',
      'KUBE-FIREWALL',
      1,
      '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    ),
    reason: 'filter KUBE-FIREWALL rule 1 drops it.',
  },
  REJECTED: {
    component: 'netfilter',
    action: 'REJECT',
    decidedBy: rule(
      'filter',
      'KUBE-SERVICES',
      1,
      '-A KUBE-SERVICES -d 10.96.0.42/32 -p tcp -m comment --comment "default/internal-api has no endpoints" -m tcp --dport 8080 -j REJECT --reject-with icmp-port-unreachable',
    ),
    reason: 'default/internal-api has no endpoints, so kube-proxy rejects with ICMP port unreachable.',
  },
  NO_ROUTE: {
    component: 'routing',
    action: 'route',
    reason: 'no route to 10.250.0.1 in table main (RTNETLINK answers: Network is unreachable).',
  },
  NO_ENDPOINTS: {
    component: 'netfilter',
    action: 'jump',
    reason: 'default/internal-api:8080 has no ready endpoints.',
  },
  NO_NEIGHBOUR: {
    component: 'neighbour',
    action: 'resolve',
    decidedBy: { kind: 'neighbour', text: '10.244.1.9 dev cni0 FAILED' },
    reason: 'nothing answers ARP for 10.244.1.9 on cni0.',
  },
  MTU_EXCEEDED: {
    component: 'vxlan',
    action: 'encapsulate',
    decidedBy: { kind: 'route', text: '10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink' },
    reason: 'a 1500-byte packet with DF set does not fit flannel.1 (mtu 1450).',
  },
  TTL_EXCEEDED: {
    component: 'routing',
    action: 'forward',
    reason: 'the TTL reached 0 while forwarding.',
  },
  NOT_LISTENING: {
    component: 'socket',
    action: 'RST',
    reason: 'nothing listens on 10.244.2.7:9090; the pod answers with a TCP RST.',
  },
  UNSUPPORTED: {
    component: 'netfilter',
    action: 'unsupported',
    decidedBy: rule('filter', 'FORWARD', 1, '-A FORWARD -m bpf --bytecode "4,48 0 0 9" -j ACCEPT'),
    reason: 'the bpf match cannot be evaluated by kpath.',
  },
  LOOP: {
    component: 'routing',
    action: 'forward',
    reason: 'the packet came back to node-1 eth0 a second time.',
  },
  DNS_NXDOMAIN: { component: 'socket', action: 'resolve', reason: 'no-such-svc does not exist (NXDOMAIN).' },
  DNS_NODATA: { component: 'socket', action: 'resolve', reason: 'no-such-svc has no A record (NODATA).' },
  DNS_SERVFAIL: {
    component: 'socket',
    action: 'resolve',
    reason: 'CoreDNS answered SERVFAIL for no-such-svc.',
  },
  DNS_TIMEOUT: {
    component: 'socket',
    action: 'resolve',
    reason: 'no DNS reply came within 2 attempts of 5 s.',
  },
};

/** A two-hop pod-to-pod trace ending in the given disposition. */
export function ending(d: Disposition): Trace {
  if (d.startsWith('DNS_')) {
    // The lookup failed, so no packet of the connection was ever sent (dns-step's unresolvedTrace).
    return {
      request: {
        from: { spec: 'default/web-0', kind: 'pod', ip: '10.244.0.7' },
        to: { spec: 'no-such-svc', kind: 'ip', ip: '', port: 80 },
        protocol: 'tcp',
        seed: 1,
      },
      hops: [],
      disposition: d,
      reason: ENDINGS[d].reason,
      branches: [],
      masquerade: false,
      conntrack: [],
      dns: dnsLookup(d, d === 'DNS_TIMEOUT' ? undefined : ending('DELIVERED')),
    };
  }
  n = 0;
  const end = ENDINGS[d];
  const p = makePacket({
    src: ip('10.244.0.5'),
    dst: ip('10.244.2.7'),
    l4: tcp(40000, 8080),
    eth: { src: '0a:58:0a:f4:00:05', dst: '0a:58:0a:f4:00:01' },
  });
  const first = hop(
    { node: 'node-1', netns: 'cni-1111', owner: 'pod/default/my-app-6d8f7b9c5d-x7k2p', iface: 'eth0' },
    {
      layer: 'L3',
      component: 'routing',
      action: 'route',
      decidedBy: { kind: 'route', text: 'default via 10.244.0.1 dev eth0' },
      before: p,
    },
  );
  const last = hop(
    { node: 'node-1', netns: 'root', owner: 'node/node-1', iface: 'cni0' },
    {
      layer: end.component === 'socket' ? 'L4' : 'L3',
      component: end.component,
      action: end.action,
      ...(end.decidedBy ? { decidedBy: end.decidedBy } : {}),
      before: p,
      ...(d === 'TTL_EXCEEDED' ? { after: ttl(p, 0) } : {}),
    },
  );
  return {
    request: {
      from: { spec: 'default/my-app-6d8f7b9c5d-x7k2p', kind: 'pod', ip: '10.244.0.5' },
      to: { spec: '10.244.2.7:8080', kind: 'ip', ip: '10.244.2.7', port: 8080 },
      protocol: 'tcp',
      seed: 7,
    },
    hops: [first, last],
    disposition: d,
    reason: end.reason,
    ...(d === 'DELIVERED'
      ? { delivered: { to: 'shop/db-0', ip: '10.244.2.7', port: 8080, observedSource: '10.244.0.5:40000' } }
      : {}),
    branches: [],
    masquerade: false,
    conntrack: [],
  };
}

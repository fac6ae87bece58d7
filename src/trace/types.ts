// A trace is plain data: the request, the ordered hops, the disposition, the return path.
// Every presentation (text, JSON, pcap, the web page) renders this one structure.
import type { Packet } from '../net/packet.js';

export type Protocol = 'tcp' | 'udp' | 'sctp' | 'icmp';

/** The few, exact ways a packet's journey ends. */
export type Disposition =
  | 'DELIVERED'
  | 'DROPPED'
  | 'REJECTED'
  | 'NO_ROUTE'
  | 'NO_ENDPOINTS'
  | 'NO_NEIGHBOUR'
  | 'MTU_EXCEEDED'
  | 'TTL_EXCEEDED'
  | 'NOT_LISTENING'
  | 'UNSUPPORTED'
  | 'LOOP'
  // The name given as TO did not resolve (getaddrinfo failed); the connection never started.
  | 'DNS_NXDOMAIN'
  | 'DNS_NODATA'
  | 'DNS_SERVFAIL'
  | 'DNS_TIMEOUT';

export type Layer = 'L2' | 'L3' | 'L4' | 'L7' | 'DNS';

export type Component =
  | 'pod-netns'
  | 'veth'
  | 'bridge'
  | 'br_netfilter'
  | 'netfilter'
  | 'conntrack'
  | 'routing'
  | 'neighbour'
  | 'vxlan'
  | 'underlay'
  | 'load-balancer'
  | 'socket';

export interface HopLocation {
  /** The node whose namespaces the hop happened in; absent on the underlay and external hosts. */
  node?: string;
  /** Network namespace: `root` for a node, the pod's netns name, or `external/NAME`, `underlay`, `lb`. */
  netns: string;
  /** Who owns the namespace, in the user's words: `node/node-1`, `pod/default/my-app-…`, `external/client`. */
  owner: string;
  /** The interface the hop is about (in or out), when there is one. */
  iface?: string;
}

/** What decided a hop, quoted as the real tool prints it. */
export interface Decision {
  kind:
    | 'iptables-rule'
    | 'iptables-policy'
    | 'route'
    | 'neighbour'
    | 'fdb'
    | 'conntrack'
    | 'load-balancer'
    | 'socket';
  /** e.g. `-A KUBE-SEP-… -p tcp -m comment --comment "default/my-app" -m tcp -j DNAT --to-destination 10.244.1.3:8080`. */
  text: string;
  table?: string;
  chain?: string;
  /** 1-based rule number inside the chain, as `iptables -L --line-numbers` counts. */
  ruleNumber?: number;
}

/** One alternative where the real system chooses at random (statistic match, LB node choice, ECMP). */
export interface Branch {
  /** Probability of this alternative overall (not conditional on earlier rules). */
  probability: number;
  /** Where it leads, in words: `10.244.1.3:8080`, `node-2`. */
  target: string;
  /** The DNAT destination `ip:port` when the branch is a service endpoint. */
  dnat?: string;
  /** The rule (or decision) that leads there. */
  decidedBy?: Decision;
  chosen: boolean;
}

export interface Hop {
  n: number;
  layer: Layer;
  at: HopLocation;
  component: Component;
  /** A short verb: `route`, `DNAT`, `MASQUERADE`, `forward`, `encapsulate`, `deliver`, ... */
  action: string;
  decidedBy?: Decision;
  before: Packet;
  after: Packet;
  /** One plain sentence, in the spirit of the seeds' walkthroughs. */
  explanation: string;
  /** Set at a random choice: every alternative with its probability, one of them `chosen`. */
  branches?: Branch[];
}

export interface Endpoint {
  /** How the user named it (`default/my-app-…`, `svc/default/my-app:80`, `node/node-1`, `198.51.100.5`). */
  spec: string;
  kind: 'pod' | 'service' | 'node' | 'ip' | 'external';
  ip: string;
  port?: number;
}

export interface TraceRequest {
  from: Endpoint;
  to: Endpoint;
  protocol: Protocol;
  /** The seed used for random choices. */
  seed: number;
  /** A backend the user forced with --endpoint. */
  forcedEndpoint?: string;
}

export interface Delivery {
  /** `ns/name` of the receiving pod, or the node / host name. */
  to: string;
  ip: string;
  port?: number;
  /** The source address (and port) the receiver observes: this is where SNAT shows. */
  observedSource: string;
}

export interface Leg {
  hops: Hop[];
  disposition: Disposition;
  /** One sentence: why the journey ended this way, naming the rule or route. */
  reason: string;
  delivered?: Delivery;
}

export interface Trace extends Leg {
  request: TraceRequest;
  /** Every random choice met on the way, flattened (the chosen branch marked). */
  branches: Branch[];
  /** True when the packet was marked for, or underwent, source NAT. */
  masquerade: boolean;
  /** `conntrack -L` lines on each node the packet crossed, after the forward journey. */
  conntrack: { node: string; entries: string[] }[];
  /** The reply's journey back through conntrack's reverse NAT; absent with --no-return or when not delivered. */
  return?: Leg & {
    /** What the original sender sees as the reply's source (`203.0.113.50:80` for a LoadBalancer). */
    observedSource?: string;
  };
  /** When TO was a name: how the pod's resolver turned it into an address, before the connection. */
  dns?: TraceDns;
}

/** One DNS query the pod's stub resolver sent, as a step of the journey. */
export interface DnsQueryStep {
  /** The absolute name asked (search domain appended). */
  name: string;
  type: string;
  /** The nameserver address from the pod's resolv.conf. */
  server: string;
  /** The reply's rcode, or `timeout` when none came. */
  rcode: string;
  /** The answer section as zone-file lines. */
  answer: string[];
  /** Who answered: CoreDNS behind the kube-dns Service, a server outside the cluster, or nobody. */
  via: 'coredns' | 'upstream' | 'nobody';
  /** CoreDNS's plugins that acted on it, with their Corefile lines. */
  coredns?: string[];
  /**
   * The UDP packet from the pod to the server and the reply back (kube-proxy's DNAT to a CoreDNS pod,
   * conntrack's reverse NAT). Queries sharing one socket (A and AAAA of a name) share one journey.
   */
  journey?: Trace;
  /** Why there is no journey (e.g. a server outside the modelled network). */
  note?: string;
}

export interface TraceDns {
  /** The name as the user gave it. */
  name: string;
  resolver: 'glibc' | 'musl';
  /** The pod's /etc/resolv.conf. */
  resolvConf: string;
  /** Every name tried, in order (search list expansion). */
  tried: string[];
  queries: DnsQueryStep[];
  /** What getaddrinfo returns: `OK` with addresses, or the EAI_* error. */
  result: { status: string; addresses: string[] };
  /** Time spent waiting on replies that never came, in milliseconds. */
  waitedMs: number;
}

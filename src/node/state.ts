// NodeState: the contract between the agents that program a node and everything that reads it
// (datapath, renderers, lab). It holds what `ip`, `bridge`, `iptables-save` and `sysctl` show on a real node.
import type { IPAddr, Prefix } from '../net/ip.js';
import type { Ruleset } from './iptables/types.js';

export type LinkKind = 'loopback' | 'ether' | 'veth' | 'bridge' | 'vxlan' | 'ipip' | 'wireguard' | 'dummy';

export interface VxlanInfo {
  vni: number;
  local: IPAddr;
  /** The underlay device (`dev eth0`). */
  dev: string;
  dstport: number;
  learning: boolean;
  /** `srcport MIN MAX`; 0 0 means the kernel's default range. */
  srcportMin: number;
  srcportMax: number;
  ttl?: number;
  ageing: number;
}

export interface Link {
  index: number;
  name: string;
  kind: LinkKind;
  mtu: number;
  /** `aa:bb:cc:dd:ee:ff`; loopback is 00:00:00:00:00:00. */
  mac: string;
  /** As `ip link` prints them inside <...>: LOOPBACK, BROADCAST, MULTICAST, UP, LOWER_UP, NOARP. */
  flags: string[];
  operState: 'UP' | 'DOWN' | 'UNKNOWN' | 'LOWERLAYERDOWN';
  qdisc: string;
  /** Bridge this link is enslaved to. */
  master?: string;
  /** The other end of a veth pair: its namespace name, interface name and index there. */
  peer?: { netns: string; ifname: string; ifindex: number };
  vxlan?: VxlanInfo;
  /** Bridge port flags (`bridge link`). */
  bridgePort?: { hairpin: boolean };
}

export type AddressScope = 'host' | 'link' | 'global';

export interface Address {
  ifname: string;
  ip: IPAddr;
  len: number;
  scope: AddressScope;
  /** IPv4 broadcast (`brd`), when set. */
  broadcast?: IPAddr;
}

export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw';

export interface Route {
  /** `main` and `local` are the kernel's tables 254 and 255. */
  table: 'main' | 'local' | number;
  type: RouteType;
  dst: Prefix;
  via?: IPAddr;
  dev?: string;
  /** `kernel`, `boot` (never printed), `static`, `dhcp`, `bird`, or a number. */
  protocol: string;
  scope: 'host' | 'link' | 'global';
  src?: IPAddr;
  metric?: number;
  onlink?: boolean;
  mtu?: number;
}

export type NeighbourState =
  | 'PERMANENT'
  | 'REACHABLE'
  | 'STALE'
  | 'DELAY'
  | 'PROBE'
  | 'FAILED'
  | 'NOARP'
  | 'INCOMPLETE';

export interface Neighbour {
  ip: IPAddr;
  dev: string;
  lladdr?: string;
  state: NeighbourState;
  router?: boolean;
}

export interface FdbEntry {
  mac: string;
  dev: string;
  /** Bridge the entry belongs to (`master cni0`), for bridge-learned or static entries. */
  master?: string;
  /** Remote VTEP for VXLAN entries (`dst 192.168.1.11`). */
  dst?: IPAddr;
  vlan?: number;
  /** `self` entries live in the device's own table (VXLAN); others in the bridge's. */
  self: boolean;
  state: 'permanent' | 'static' | 'dynamic';
}

/** One member of an ipset, as `ipset save` lists it (`add NAME 10.244.1.5 timeout 0`, `... nomatch`). */
export interface IpSetEntry {
  /** `10.244.1.5`, `10.0.0.0/8`, or for `hash:ip,port` `10.244.1.5,tcp:80`. */
  readonly member: string;
  /** hash:net `nomatch`: a packet matching this (more specific) entry is not in the set. */
  readonly nomatch?: boolean;
  readonly timeout?: number;
}

/** A kernel ipset (`ipset save` / `ipset restore`); `-m set --match-set NAME src` matches against it. */
export interface IpSet {
  readonly name: string;
  /** `hash:ip`, `hash:net`, `hash:ip,port`, ... */
  readonly type: string;
  readonly family: 'inet' | 'inet6';
  /** The set's default timeout (`timeout 0` = entries never expire, as kube-router creates them). */
  readonly timeout?: number;
  readonly members: readonly IpSetEntry[];
}

export interface NetnsOwnerNode {
  kind: 'node';
  node: string;
}

export interface NetnsOwnerPod {
  kind: 'pod';
  node: string;
  namespace: string;
  name: string;
}

/** One Linux network namespace: the node's root namespace, or a pod sandbox's. */
export interface NetnsState {
  /** `root` for the node itself; the CNI's netns name (`cni-…`) for a pod. */
  name: string;
  owner: NetnsOwnerNode | NetnsOwnerPod;
  links: Link[];
  addresses: Address[];
  routes: Route[];
  neighbours: Neighbour[];
  fdb: FdbEntry[];
  iptables: Ruleset;
  ip6tables?: Ruleset;
  /** Kernel ipsets of this namespace (policy agents keep pod and CIDR sets here). */
  ipsets?: IpSet[];
  sysctls: Record<string, string>;
}

export interface NodeState {
  node: string;
  host: NetnsState;
  pods: NetnsState[];
}

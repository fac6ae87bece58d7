// The world around the nodes: every network namespace of every node, the underlay L2 segments with their
// gateway router, the external hosts beyond it, the cloud load balancer's VIPs and the sockets that listen.
// Lazy: what the API server knows (pods, their IPs, services, node addresses and subnets) is indexed from
// ClusterState once; a node's NodeState is asked for only when a walk enters that node (or needs an address
// only that node's devices hold), so one trace on a 1,000-node cluster programs the few nodes on its path.
import { derivedMac } from '../agents/cni/mac.js';
import type { ClusterState, ExternalHost, NodeInfo, UnderlaySubnet } from '../model/cluster.js';
import type { Pod, Service } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import type { Chain, Ruleset, Table } from '../node/iptables/types.js';
import type { Link, NetnsState, NodeState } from '../node/state.js';

export type L4Proto = 'tcp' | 'udp' | 'sctp';

/** One network namespace somewhere in the world. */
export interface NetnsHandle {
  /** `node-1/root`, `node-1/cni-…`. */
  readonly key: string;
  readonly node: string;
  readonly ns: NetnsState;
  /** `node/node-1`, `pod/default/my-app-…`. */
  readonly owner: string;
  readonly pod?: Pod;
  /** Whether any netfilter table holds a rule or a non-ACCEPT policy (else no hook is registered). */
  readonly netfilter: boolean;
}

/** A device on an L2 segment: where a frame to its MAC lands. */
export interface L2Member {
  readonly mac: string;
  readonly ips: readonly IPAddr[];
  /** The namespace and interface that receive the frame; absent for the underlay gateway. */
  readonly at?: { readonly nsKey: string; readonly ifname: string };
  /** How a user names it: `cni0 of node-1`, `eth0 of pod default/x`, `gateway 192.168.1.1`. */
  readonly label: string;
}

/** An L2 segment, asked by address (ARP) or by MAC (the FDB); the underlay one programs only the node it finds. */
export interface L2Segment {
  readonly id: string;
  /** The device that answers ARP for `ip` on this segment. */
  memberByIp(ip: IPAddr): L2Member | undefined;
  /**
   * The device whose MAC is `mac`. `hint` is the address the MAC was resolved for (a neighbour entry): the
   * underlay looks only at that address's owner, never at every node.
   */
  memberByMac(mac: string, hint?: IPAddr): L2Member | undefined;
}

export interface UnderlaySegment {
  readonly subnet: UnderlaySubnet;
  readonly segmentId: string;
  readonly gatewayMac?: string;
}

export interface LoadBalancerVip {
  readonly ip: IPAddr;
  readonly service: Service;
}

export interface Listener {
  readonly proto: L4Proto;
  readonly port: number;
  /** `pod/default/my-app-…:8080 (container app)`. */
  readonly label: string;
}

export interface AddressOwner {
  readonly kind: 'pod' | 'node' | 'external' | 'lb' | 'service' | 'gateway';
  /** The namespace holding the address, when known without programming a node (a node's root). */
  readonly nsKey?: string;
  /** The node holding the address (pods and nodes). */
  readonly node?: string;
  /** `ns/name` of the pod holding it; its namespace key comes from World.podNetns. */
  readonly pod?: string;
  readonly label: string;
}

export interface World {
  readonly state: ClusterState;
  readonly underlay: readonly UnderlaySegment[];
  readonly externals: readonly ExternalHost[];
  /** A node's programmed state (asked of the twin on first use); undefined for an unknown node. */
  node(name: string): NodeState | undefined;
  /** The namespace behind a key (`node-1/root`, `node-1/cni-…`); programs its node on first use. */
  netns(key: string): NetnsHandle | undefined;
  /** The L2 segment the interface `ifname` of namespace `nsKey` sits on. */
  segmentAt(nsKey: string, ifname: string): L2Segment | undefined;
  /** An underlay segment by its id (`underlay/192.168.0.0/16`). */
  underlaySegment(id: string): L2Segment | undefined;
  /** A cloud load balancer VIP. */
  vip(ip: IPAddr): LoadBalancerVip | undefined;
  /** The sockets listening in a namespace. */
  listeners(nsKey: string): readonly Listener[];
  /** Who owns an address (a pod, a node, an external host, an LB VIP, a ClusterIP, the gateway). */
  owner(ip: IPAddr): AddressOwner | undefined;
  /** Pod `ns/name` → its namespace key (programs the pod's node). */
  podNetns(pod: string): string | undefined;
  /** Pod by `ns/name`. */
  pod(key: string): Pod | undefined;
  /** The pod whose status.podIP is `ip`. */
  podByIP(ip: string): Pod | undefined;
  /** Service by `ns/name`. */
  service(key: string): Service | undefined;
  /** Nodes whose state the world has asked for, in order of first use. */
  programmed(): readonly string[];
}

export function hasNetfilter(rs: Ruleset): boolean {
  return rs.tables.some((t) => t.chains.some((c) => c.rules.length > 0 || c.policy === 'DROP'));
}

function podKey(p: Pod): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
}

export function svcKey(svc: Service): string {
  return `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
}

function listenersOf(pods: readonly Pod[], label: (p: Pod) => string): Listener[] {
  const out: Listener[] = [];
  for (const p of pods) {
    for (const c of p.spec.containers ?? []) {
      for (const cp of c.ports ?? []) {
        const proto = (cp.protocol ?? 'TCP').toLowerCase() as L4Proto;
        out.push({
          proto,
          port: cp.containerPort,
          label: `${label(p)}:${cp.containerPort} (container ${c.name})`,
        });
      }
    }
  }
  return out;
}

/** The MAC the world gives the underlay gateway of a segment (a real router has its own burned-in one). */
export function gatewayMac(subnet: UnderlaySubnet): string {
  return derivedMac(`gateway/${subnet.cidr.toString()}`);
}

/** What one node contributes, indexed when the node is first entered. */
interface NodeWorld {
  readonly state: NodeState;
  readonly handles: ReadonlyMap<string, NetnsHandle>;
  readonly podNetns: ReadonlyMap<string, string>;
  /** `nsKey/ifname` → the bridge segment (this node's bridges only). */
  readonly bridgeOf: ReadonlyMap<string, L2Segment>;
  /** Global-scope addresses of the root namespace → owner. */
  readonly hostOwners: ReadonlyMap<string, AddressOwner>;
  readonly uplink?: L2Member;
}

/** A segment whose members are all known (a node's bridge). */
function fixedSegment(id: string, members: readonly L2Member[]): L2Segment {
  return {
    id,
    memberByIp: (ip) => members.find((m) => m.ips.some((a) => a.equals(ip))),
    memberByMac: (mac) => members.find((m) => m.mac === mac),
  };
}

function indexNode(n: NodeState, podByKey: ReadonlyMap<string, Pod>): NodeWorld {
  const handles = new Map<string, NetnsHandle>();
  const podNetns = new Map<string, string>();
  const hostKey = `${n.node}/${n.host.name}`;
  handles.set(hostKey, {
    key: hostKey,
    node: n.node,
    ns: n.host,
    owner: `node/${n.node}`,
    netfilter: hasNetfilter(n.host.iptables),
  });
  const hostOwners = new Map<string, AddressOwner>();
  for (const a of n.host.addresses) {
    if (a.scope === 'host' || a.scope === 'link') continue;
    hostOwners.set(a.ip.toString(), {
      kind: 'node',
      nsKey: hostKey,
      node: n.node,
      label: `node/${n.node} (${a.ifname})`,
    });
  }
  for (const ns of n.pods) {
    const key = `${n.node}/${ns.name}`;
    const owner = ns.owner;
    const pod = owner.kind === 'pod' ? podByKey.get(`${owner.namespace}/${owner.name}`) : undefined;
    const onNode = pod && pod.spec.nodeName === n.node ? pod : undefined;
    const label = owner.kind === 'pod' ? `pod/${owner.namespace}/${owner.name}` : `node/${n.node}`;
    handles.set(key, {
      key,
      node: n.node,
      ns,
      owner: label,
      ...(onNode ? { pod: onNode } : {}),
      netfilter: hasNetfilter(ns.iptables),
    });
    if (owner.kind === 'pod') podNetns.set(`${owner.namespace}/${owner.name}`, key);
  }

  // Each bridge is one segment: the bridge itself + the device at the far end of every port.
  const bridgeOf = new Map<string, L2Segment>();
  for (const br of n.host.links.filter((l) => l.kind === 'bridge')) {
    const members: L2Member[] = [
      {
        mac: br.mac,
        ips: n.host.addresses.filter((a) => a.ifname === br.name && a.ip.family === 4).map((a) => a.ip),
        at: { nsKey: hostKey, ifname: br.name },
        label: `${br.name} of node/${n.node}`,
      },
    ];
    const seg = fixedSegment(`bridge/${n.node}/${br.name}`, members);
    bridgeOf.set(`${hostKey}/${br.name}`, seg);
    for (const port of n.host.links.filter((l) => l.master === br.name)) {
      bridgeOf.set(`${hostKey}/${port.name}`, seg);
      const peer = peerOf(n, port);
      if (!peer) continue;
      const peerKey = `${n.node}/${peer.ns.name}`;
      bridgeOf.set(`${peerKey}/${peer.link.name}`, seg);
      members.push({
        mac: peer.link.mac,
        ips: peer.ns.addresses
          .filter((a) => a.ifname === peer.link.name && a.ip.family === 4)
          .map((a) => a.ip),
        at: { nsKey: peerKey, ifname: peer.link.name },
        label: `${peer.link.name} of ${handles.get(peerKey)?.owner ?? peerKey}`,
      });
    }
  }
  return { state: n, handles, podNetns, bridgeOf, hostOwners };
}

function withUplink(w: NodeWorld, info: NodeInfo): NodeWorld {
  const n = w.state;
  const uplink = uplinkOf(n, info);
  if (!uplink) return w;
  return {
    ...w,
    uplink: {
      mac: uplink.mac,
      ips: n.host.addresses.filter((a) => a.ifname === uplink.name && a.ip.family === 4).map((a) => a.ip),
      at: { nsKey: `${n.node}/${n.host.name}`, ifname: uplink.name },
      label: `${uplink.name} of node/${n.node}`,
    },
  };
}

/**
 * The world of a cluster. `nodeState` is asked for a node's NodeState only when a walk needs that node (the
 * twin memoises programming); everything the control plane knows comes from `state` directly.
 */
export function buildWorld(state: ClusterState, nodeState: (name: string) => NodeState): World {
  const infos = new Map(state.nodeInfo.map((i) => [i.name, i]));
  const byInternalIP = new Map(state.nodeInfo.map((i) => [i.internalIP.toString(), i]));
  const nodeWorlds = new Map<string, NodeWorld>();
  const order: string[] = [];

  let podIndex:
    | {
        byKey: Map<string, Pod>;
        byIP: Map<string, Pod>;
        sandboxByIP: Map<string, Pod>;
        hostNet: Map<string, Pod[]>;
      }
    | undefined;
  const pods = () => {
    if (podIndex) return podIndex;
    const byKey = new Map<string, Pod>();
    const byIP = new Map<string, Pod>();
    const sandboxByIP = new Map<string, Pod>();
    const hostNet = new Map<string, Pod[]>();
    for (const p of state.pods) {
      if (!byKey.has(podKey(p))) byKey.set(podKey(p), p);
      const ip = p.status?.podIP;
      if (ip && !byIP.has(ip)) byIP.set(ip, p);
      // kubelet tears a finished pod's sandbox down (CNI DEL): its address is no longer held.
      const finished = p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
      if (ip && p.spec.nodeName && !p.spec.hostNetwork && !finished && !sandboxByIP.has(ip))
        sandboxByIP.set(ip, p);
      if (p.spec.hostNetwork && p.spec.nodeName) {
        const list = hostNet.get(p.spec.nodeName) ?? [];
        list.push(p);
        hostNet.set(p.spec.nodeName, list);
      }
    }
    podIndex = { byKey, byIP, sandboxByIP, hostNet };
    return podIndex;
  };

  const nodeWorld = (name: string): NodeWorld | undefined => {
    let w = nodeWorlds.get(name);
    if (w) return w;
    const info = infos.get(name);
    if (!info) return undefined;
    w = withUplink(indexNode(nodeState(name), pods().byKey), info);
    nodeWorlds.set(name, w);
    order.push(name);
    return w;
  };
  const nodeOfKey = (nsKey: string) => nsKey.slice(0, Math.max(0, nsKey.indexOf('/')));

  // Underlay: one segment per subnet: the gateway + every node's uplink, found by the node's InternalIP.
  const underlay: UnderlaySegment[] = [];
  const underlaySegs = new Map<string, L2Segment>();
  for (const subnet of uniqueSubnets(state.config.underlay, state.nodeInfo)) {
    const id = `underlay/${subnet.cidr.toString()}`;
    const gwMac = subnet.gateway ? gatewayMac(subnet) : undefined;
    const gateway: L2Member | undefined =
      subnet.gateway && gwMac
        ? { mac: gwMac, ips: [subnet.gateway], label: `gateway ${subnet.gateway.toString()}` }
        : undefined;
    const nodeMember = (ip: IPAddr): L2Member | undefined => {
      const info = byInternalIP.get(ip.toString());
      if (!info?.underlay.cidr.equals(subnet.cidr)) return undefined;
      const up = nodeWorld(info.name)?.uplink;
      return up?.ips.some((a) => a.equals(ip)) ? up : undefined;
    };
    underlaySegs.set(id, {
      id,
      memberByIp: (ip) => (gateway?.ips.some((a) => a.equals(ip)) ? gateway : nodeMember(ip)),
      memberByMac: (mac, hint) => {
        if (gateway?.mac === mac) return gateway;
        const m = hint ? nodeMember(hint) : undefined;
        return m?.mac === mac ? m : undefined;
      },
    });
    underlay.push({ subnet, segmentId: id, ...(gwMac ? { gatewayMac: gwMac } : {}) });
  }

  let svcIndex:
    | { byKey: Map<string, Service>; vips: Map<string, LoadBalancerVip>; clusterIPs: Map<string, Service> }
    | undefined;
  const services = () => {
    if (svcIndex) return svcIndex;
    const byKey = new Map<string, Service>();
    const vips = new Map<string, LoadBalancerVip>();
    const clusterIPs = new Map<string, Service>();
    for (const svc of state.services) {
      if (!byKey.has(svcKey(svc))) byKey.set(svcKey(svc), svc);
      for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
        const ip = ing.ip ? IPAddr.tryParse(ing.ip) : undefined;
        // The last service claiming a VIP wins, as the eager index did.
        if (ip) vips.set(ip.toString(), { ip, service: svc });
      }
      for (const c of svc.spec.clusterIPs ?? (svc.spec.clusterIP ? [svc.spec.clusterIP] : [])) {
        const ip = IPAddr.tryParse(c);
        if (ip && !clusterIPs.has(ip.toString())) clusterIPs.set(ip.toString(), svc);
      }
    }
    svcIndex = { byKey, vips, clusterIPs };
    return svcIndex;
  };

  const owners = new Map<string, AddressOwner | undefined>();
  const findOwner = (ip: IPAddr): AddressOwner | undefined => {
    const text = ip.toString();
    const ext = state.config.externalHosts.find((e) => e.ip.equals(ip));
    if (ext) return { kind: 'external', label: `external/${ext.name}` };
    if (underlay.some((u) => u.subnet.gateway?.equals(ip)))
      return { kind: 'gateway', label: `gateway ${text}` };
    // A pod's address lives in its sandbox, which its node's CNI created only inside the node's podCIDR.
    const pod = pods().sandboxByIP.get(text);
    const podNode = pod?.spec.nodeName ? infos.get(pod.spec.nodeName) : undefined;
    if (pod && podNode?.podCIDR.contains(ip)) {
      const key = podKey(pod);
      return { kind: 'pod', node: podNode.name, pod: key, label: `pod/${key}` };
    }
    // A node's own addresses: the InternalIP on its uplink, or one in its podCIDR (cni0's gateway,
    // flannel.1's VTEP address) which only that node's programmed devices can tell.
    const info = byInternalIP.get(text) ?? state.nodeInfo.find((i) => i.podCIDR.contains(ip));
    const hostOwner = info ? nodeWorld(info.name)?.hostOwners.get(text) : undefined;
    if (hostOwner) return hostOwner;
    const svcs = services();
    const vip = svcs.vips.get(text);
    if (vip) return { kind: 'lb', label: `load balancer of svc/${svcKey(vip.service)}` };
    const svc = svcs.clusterIPs.get(text);
    if (svc) return { kind: 'service', label: `svc/${svcKey(svc)}` };
    return undefined;
  };

  const listenerCache = new Map<string, readonly Listener[]>();

  return {
    state,
    underlay,
    externals: state.config.externalHosts,
    node: (name) => nodeWorld(name)?.state,
    netns: (key) => nodeWorld(nodeOfKey(key))?.handles.get(key),
    segmentAt(nsKey, ifname) {
      const w = nodeWorld(nodeOfKey(nsKey));
      if (!w) return undefined;
      const br = w.bridgeOf.get(`${nsKey}/${ifname}`);
      if (br) return br;
      const up = w.uplink?.at;
      if (up?.nsKey !== nsKey || up.ifname !== ifname) return undefined;
      const info = infos.get(w.state.node);
      const seg = info ? underlay.find((u) => u.subnet.cidr.equals(info.underlay.cidr)) : undefined;
      return seg ? underlaySegs.get(seg.segmentId) : undefined;
    },
    underlaySegment: (id) => underlaySegs.get(id),
    vip: (ip) => services().vips.get(ip.toString()),
    listeners(nsKey) {
      let l = listenerCache.get(nsKey);
      if (l) return l;
      const node = nodeOfKey(nsKey);
      const w = nodeWorld(node);
      const h = w?.handles.get(nsKey);
      // hostNetwork pods listen in the node's root namespace; every other pod in its own sandbox.
      if (!h) l = [];
      else if (h.ns === w?.state.host)
        l = listenersOf(pods().hostNet.get(node) ?? [], (p) => `pod/${podKey(p)} (hostNetwork)`);
      else l = h.pod ? listenersOf([h.pod], (p) => `pod/${podKey(p)}`) : [];
      listenerCache.set(nsKey, l);
      return l;
    },
    owner(ip) {
      const text = ip.toString();
      if (owners.has(text)) return owners.get(text);
      const o = findOwner(ip);
      owners.set(text, o);
      return o;
    },
    podNetns(key) {
      const pod = pods().byKey.get(key);
      const node = pod?.spec.nodeName;
      return node ? nodeWorld(node)?.podNetns.get(key) : undefined;
    },
    pod: (key) => pods().byKey.get(key),
    podByIP: (ip) => pods().byIP.get(ip),
    service: (key) => services().byKey.get(key),
    programmed: () => order,
  };
}

/** The namespace an owned address lives in (a pod's sandbox is looked up, programming its node). */
export function ownerNetns(world: World, owner: AddressOwner): string | undefined {
  return owner.nsKey ?? (owner.pod ? world.podNetns(owner.pod) : undefined);
}

function uniqueSubnets(configured: readonly UnderlaySubnet[], infos: readonly NodeInfo[]): UnderlaySubnet[] {
  const out: UnderlaySubnet[] = [];
  for (const s of [...configured, ...infos.map((i) => i.underlay)]) {
    if (!out.some((o) => o.cidr.equals(s.cidr))) out.push(s);
  }
  return out;
}

/** The node's uplink: the device holding its InternalIP (eth0 on every kpath node). */
function uplinkOf(n: NodeState, info: NodeInfo): Link | undefined {
  const a = n.host.addresses.find((x) => x.ip.equals(info.internalIP));
  return n.host.links.find((l) => l.name === (a?.ifname ?? 'eth0'));
}

function peerOf(n: NodeState, link: Link): { ns: NetnsState; link: Link } | undefined {
  if (!link.peer) return undefined;
  const ns = n.pods.find((p) => p.name === link.peer?.netns);
  const l = ns?.links.find((x) => x.name === link.peer?.ifname);
  return ns && l ? { ns, link: l } : undefined;
}

/** The namespace at the other end of a veth, as a world key. */
export function vethPeer(
  world: World,
  nsKey: string,
  link: Link,
): { nsKey: string; ifname: string } | undefined {
  if (!link.peer) return undefined;
  const h = world.netns(nsKey);
  if (!h) return undefined;
  const key = `${h.node}/${link.peer.netns}`;
  return world.netns(key) ? { nsKey: key, ifname: link.peer.ifname } : undefined;
}

const chainIndexes = new WeakMap<Table, Map<string, Chain>>();
/** Chains of a table by name, indexed once per table. */
export function chainByName(table: Table, name: string): Chain | undefined {
  let idx = chainIndexes.get(table);
  if (!idx) {
    idx = new Map(table.chains.map((c) => [c.name, c]));
    chainIndexes.set(table, idx);
  }
  return idx.get(name);
}

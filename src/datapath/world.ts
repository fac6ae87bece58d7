// The world around the nodes: every network namespace of every node, the underlay L2 segments with their
// gateway router, the external hosts beyond it, the cloud load balancer's VIPs and the sockets that listen.
// Built once per cluster (indexes by address, MAC and name), then read by every hop of every walk.
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

export interface L2Segment {
  readonly id: string;
  readonly members: readonly L2Member[];
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
  /** The namespace holding the address, when it lives in one. */
  readonly nsKey?: string;
  readonly label: string;
}

export interface World {
  readonly state: ClusterState;
  readonly nodes: ReadonlyMap<string, NodeState>;
  readonly netns: ReadonlyMap<string, NetnsHandle>;
  /** `nsKey/ifname` → the L2 segment the interface sits on. */
  readonly segmentOf: ReadonlyMap<string, string>;
  readonly segments: ReadonlyMap<string, L2Segment>;
  readonly underlay: readonly UnderlaySegment[];
  readonly externals: readonly ExternalHost[];
  readonly vips: ReadonlyMap<string, LoadBalancerVip>;
  readonly listeners: ReadonlyMap<string, readonly Listener[]>;
  /** Address (text) → who owns it. */
  readonly owners: ReadonlyMap<string, AddressOwner>;
  /** Pod `ns/name` → its namespace key. */
  readonly podNetns: ReadonlyMap<string, string>;
}

export function hasNetfilter(rs: Ruleset): boolean {
  return rs.tables.some((t) => t.chains.some((c) => c.rules.length > 0 || c.policy === 'DROP'));
}

function podKey(p: Pod): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
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

/** Builds the indexes of a world from the cluster state and every node's programmed state. */
export function buildWorld(state: ClusterState, nodeStates: readonly NodeState[]): World {
  const nodes = new Map(nodeStates.map((n) => [n.node, n]));
  const netns = new Map<string, NetnsHandle>();
  const owners = new Map<string, AddressOwner>();
  const listeners = new Map<string, Listener[]>();
  const podNetns = new Map<string, string>();
  const podsByNode = new Map<string, Pod[]>();
  for (const p of state.pods) {
    if (!p.spec.nodeName) continue;
    const list = podsByNode.get(p.spec.nodeName) ?? [];
    list.push(p);
    podsByNode.set(p.spec.nodeName, list);
  }
  for (const n of nodeStates) {
    const hostKey = `${n.node}/${n.host.name}`;
    netns.set(hostKey, {
      key: hostKey,
      node: n.node,
      ns: n.host,
      owner: `node/${n.node}`,
      netfilter: hasNetfilter(n.host.iptables),
    });
    const onNode = podsByNode.get(n.node) ?? [];
    listeners.set(
      hostKey,
      listenersOf(
        onNode.filter((p) => p.spec.hostNetwork),
        (p) => `pod/${podKey(p)} (hostNetwork)`,
      ),
    );
    for (const a of n.host.addresses) {
      if (a.scope === 'host' || a.scope === 'link') continue;
      owners.set(a.ip.toString(), { kind: 'node', nsKey: hostKey, label: `node/${n.node} (${a.ifname})` });
    }
    for (const ns of n.pods) {
      const key = `${n.node}/${ns.name}`;
      const owner = ns.owner;
      const pod =
        owner.kind === 'pod'
          ? onNode.find(
              (p) =>
                p.metadata.name === owner.name && (p.metadata.namespace ?? 'default') === owner.namespace,
            )
          : undefined;
      const label = owner.kind === 'pod' ? `pod/${owner.namespace}/${owner.name}` : `node/${n.node}`;
      netns.set(key, {
        key,
        node: n.node,
        ns,
        owner: label,
        ...(pod ? { pod } : {}),
        netfilter: hasNetfilter(ns.iptables),
      });
      if (owner.kind === 'pod') podNetns.set(`${owner.namespace}/${owner.name}`, key);
      listeners.set(key, pod ? listenersOf([pod], (p) => `pod/${podKey(p)}`) : []);
      for (const a of ns.addresses) {
        if (a.scope === 'host' || a.scope === 'link') continue;
        owners.set(a.ip.toString(), { kind: 'pod', nsKey: key, label });
      }
    }
  }

  // L2 segments: each node's bridges (the bridge itself + the device at the far end of every port), and
  // one underlay segment per subnet (every node's uplink + the gateway).
  const segments = new Map<string, L2Segment>();
  const segmentOf = new Map<string, string>();
  for (const n of nodeStates) {
    const hostKey = `${n.node}/${n.host.name}`;
    for (const br of n.host.links.filter((l) => l.kind === 'bridge')) {
      const id = `bridge/${n.node}/${br.name}`;
      const members: L2Member[] = [
        {
          mac: br.mac,
          ips: n.host.addresses.filter((a) => a.ifname === br.name && a.ip.family === 4).map((a) => a.ip),
          at: { nsKey: hostKey, ifname: br.name },
          label: `${br.name} of node/${n.node}`,
        },
      ];
      segmentOf.set(`${hostKey}/${br.name}`, id);
      for (const port of n.host.links.filter((l) => l.master === br.name)) {
        segmentOf.set(`${hostKey}/${port.name}`, id);
        const peer = peerOf(n, port);
        if (!peer) continue;
        const peerKey = `${n.node}/${peer.ns.name}`;
        segmentOf.set(`${peerKey}/${peer.link.name}`, id);
        members.push({
          mac: peer.link.mac,
          ips: peer.ns.addresses
            .filter((a) => a.ifname === peer.link.name && a.ip.family === 4)
            .map((a) => a.ip),
          at: { nsKey: peerKey, ifname: peer.link.name },
          label: `${peer.link.name} of ${netns.get(peerKey)?.owner ?? peerKey}`,
        });
      }
      segments.set(id, { id, members });
    }
  }
  const underlay: UnderlaySegment[] = [];
  const subnets = uniqueSubnets(state.config.underlay, state.nodeInfo);
  for (const subnet of subnets) {
    const id = `underlay/${subnet.cidr.toString()}`;
    const members: L2Member[] = [];
    const gwMac = subnet.gateway ? gatewayMac(subnet) : undefined;
    if (subnet.gateway && gwMac) {
      members.push({ mac: gwMac, ips: [subnet.gateway], label: `gateway ${subnet.gateway.toString()}` });
      owners.set(subnet.gateway.toString(), {
        kind: 'gateway',
        label: `gateway ${subnet.gateway.toString()}`,
      });
    }
    for (const info of state.nodeInfo.filter((i) => i.underlay.cidr.equals(subnet.cidr))) {
      const n = nodes.get(info.name);
      if (!n) continue;
      const hostKey = `${n.node}/${n.host.name}`;
      const uplink = uplinkOf(n, info);
      if (!uplink) continue;
      segmentOf.set(`${hostKey}/${uplink.name}`, id);
      members.push({
        mac: uplink.mac,
        ips: n.host.addresses.filter((a) => a.ifname === uplink.name && a.ip.family === 4).map((a) => a.ip),
        at: { nsKey: hostKey, ifname: uplink.name },
        label: `${uplink.name} of node/${n.node}`,
      });
    }
    segments.set(id, { id, members });
    underlay.push({ subnet, segmentId: id, ...(gwMac ? { gatewayMac: gwMac } : {}) });
  }

  const vips = new Map<string, LoadBalancerVip>();
  for (const svc of state.services) {
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
      const ip = ing.ip ? IPAddr.tryParse(ing.ip) : undefined;
      if (!ip) continue;
      vips.set(ip.toString(), { ip, service: svc });
      if (!owners.has(ip.toString()))
        owners.set(ip.toString(), { kind: 'lb', label: `load balancer of svc/${svcKey(svc)}` });
    }
    for (const c of svc.spec.clusterIPs ?? (svc.spec.clusterIP ? [svc.spec.clusterIP] : [])) {
      const ip = IPAddr.tryParse(c);
      if (ip && !owners.has(ip.toString()))
        owners.set(ip.toString(), { kind: 'service', label: `svc/${svcKey(svc)}` });
    }
  }
  for (const e of state.config.externalHosts) {
    owners.set(e.ip.toString(), { kind: 'external', label: `external/${e.name}` });
  }
  return {
    state,
    nodes,
    netns,
    segmentOf,
    segments,
    underlay,
    externals: state.config.externalHosts,
    vips,
    listeners,
    owners,
    podNetns,
  };
}

export function svcKey(svc: Service): string {
  return `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
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
  const h = world.netns.get(nsKey);
  if (!h) return undefined;
  const key = `${h.node}/${link.peer.netns}`;
  return world.netns.has(key) ? { nsKey: key, ifname: link.peer.ifname } : undefined;
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

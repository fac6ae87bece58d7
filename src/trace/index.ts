// Entry points of the packet walk: a connection between two named things, or one raw packet injected
// at a node's interface (like an iptables TRACE). Both return the same Trace structure.

import { formatConntrackList } from '../datapath/conntrack.js';
import { routeLookup } from '../datapath/routing.js';
import { EPHEMERAL, type Place, type WalkEnd, Walker } from '../datapath/walk.js';
import { buildWorld, ownerNetns, svcKey, type World } from '../datapath/world.js';
import { NotFoundError } from '../model/errors.js';
import type { Pod } from '../model/k8s.js';
import { seededRandom } from '../model/seeded-random.js';
import { IPAddr } from '../net/ip.js';
import { type L4Header, makePacket, type Packet } from '../net/packet.js';
import type { Ruleset } from '../node/iptables/types.js';
import type { Twin } from '../twin.js';
import type { Endpoint, Hop, Leg, Protocol, Trace } from './types.js';

export interface TraceQuery {
  /** `ns/name`, `pod/ns/name`, `svc/ns/name[:port]`, `node/name`, `IP`, `IP:port`, `external[:IP]`. */
  from: string;
  to: string;
  port?: number;
  protocol: Protocol;
  /** Picks the branch at each random choice; the same seed gives the same trace. */
  seed: number;
  /** `ns/pod`: force this backend wherever kube-proxy chooses at random. */
  endpoint?: string;
  /** Skip the reply's journey. */
  noReturn?: boolean;
  /** L4 payload bytes of the first packet (default 0), for MTU questions. */
  payloadBytes?: number;
}

export interface InjectQuery {
  node: string;
  /** The interface the packet arrives on (default: the node's eth0); `local` for a locally generated packet. */
  iface?: string;
  src: string; // IP[:port]
  dst: string; // IP:port
  protocol: Protocol;
  seed: number;
  /** Replace a node's generated netfilter state with rules imported from a real node (`iptables-save` text parsed). */
  iptablesOverride?: Ruleset;
  /** L4 payload bytes (default 0). */
  payloadBytes?: number;
  /** Skip the reply's journey. */
  noReturn?: boolean;
}

const worlds = new WeakMap<Twin, World>();

/**
 * The world of a twin, made once and reused by every trace. It is lazy: a node is programmed (twin.node)
 * only when a walk enters it, so a trace on a 1,000-node cluster programs the nodes on its path.
 */
export function worldOf(twin: Twin): World {
  let w = worlds.get(twin);
  if (!w) {
    w = buildWorld(twin.state, (name) => twin.node(name));
    worlds.set(twin, w);
  }
  return w;
}

/** A resolved FROM or TO. */
export interface Resolved {
  endpoint: Endpoint;
  /** Where packets from it start (absent for services and LB VIPs, which never send). */
  place?: Place;
  /** The service port's protocol when TO named a service port. */
  protocol?: Protocol;
}

function listOf(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, 30).join(', ');
  return names.length > 30 ? `${shown} and ${names.length - 30} more` : shown;
}

function podName(p: Pod): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
}

function splitPort(text: string): { head: string; port?: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  if (m?.[1] !== undefined && m[2] !== undefined && !m[1].includes(':'))
    return { head: m[1], port: Number(m[2]) };
  return { head: text };
}

function resolvePod(world: World, spec: string, name: string): Resolved {
  const pod = world.pod(name);
  if (!pod) {
    throw new NotFoundError(
      `pod "${name}" not found; the cluster's pods are ${listOf(world.state.pods.map(podName))}`,
    );
  }
  const ip = pod.status?.podIP;
  if (!ip) throw new NotFoundError(`pod "${name}" has no IP address (not scheduled or not running)`);
  const node = pod.spec.nodeName ?? '';
  const nsKey = pod.spec.hostNetwork ? `${node}/root` : world.podNetns(name);
  if (!nsKey || !world.netns(nsKey))
    throw new NotFoundError(`pod "${name}" has no network namespace on ${node}`);
  return { endpoint: { spec, kind: 'pod', ip }, place: { kind: 'netns', nsKey } };
}

function resolveService(world: World, spec: string, body: string, outside: boolean): Resolved {
  const m = /^([^/]+)\/([^/:]+)(?::(.+))?$/.exec(body);
  const name = m ? `${m[1]}/${m[2]}` : body;
  const svc = world.service(name);
  if (!svc) {
    throw new NotFoundError(
      `service "${name}" not found; the cluster's services are ${listOf(world.state.services.map(svcKey))}`,
    );
  }
  const ip = svc.spec.clusterIP;
  if (!ip || ip === 'None') {
    throw new NotFoundError(
      `service "${name}" is headless (clusterIP None): trace to one of its pods instead`,
    );
  }
  const ports = svc.spec.ports ?? [];
  const want = m?.[3];
  const sp = want === undefined ? ports[0] : ports.find((p) => p.name === want || String(p.port) === want);
  if (!sp) {
    throw new NotFoundError(
      `service "${name}" has no port "${want ?? ''}"; its ports are ${listOf(ports.map((p) => (p.name ? `${p.name} (${p.port})` : String(p.port))))}`,
    );
  }
  const protocol = (sp.protocol ?? 'TCP').toLowerCase() as Protocol;
  // A client outside the cluster cannot reach a ClusterIP: it uses what the service exposes to the outside,
  // the load balancer's address, an externalIP, or a NodePort on the first node.
  if (outside) {
    const lb = svc.status?.loadBalancer?.ingress?.find((i) => i.ip && i.ipMode !== 'Proxy')?.ip;
    const external = lb ?? svc.spec.externalIPs?.[0];
    if (external) return { endpoint: { spec, kind: 'service', ip: external, port: sp.port }, protocol };
    const node = world.state.nodeInfo[0];
    if (sp.nodePort && node) {
      return {
        endpoint: { spec, kind: 'service', ip: node.internalIP.toString(), port: sp.nodePort },
        protocol,
      };
    }
  }
  return { endpoint: { spec, kind: 'service', ip, port: sp.port }, protocol };
}

function resolveNode(world: World, spec: string, name: string): Resolved {
  const info = world.state.nodeInfo.find((n) => n.name === name);
  if (!info) {
    throw new NotFoundError(
      `node "${name}" not found; the cluster's nodes are ${listOf(world.state.nodeInfo.map((n) => n.name))}`,
    );
  }
  return {
    endpoint: { spec, kind: 'node', ip: info.internalIP.toString() },
    place: { kind: 'netns', nsKey: `${name}/root` },
  };
}

function resolveExternal(world: World, spec: string, ipText?: string): Resolved {
  const hosts = world.externals;
  const host =
    ipText === undefined
      ? hosts[0]
      : hosts.find((h) => h.ip.toString() === IPAddr.tryParse(ipText)?.toString());
  if (!host) {
    throw new NotFoundError(
      `external host ${ipText ?? ''} not found; the cluster's external hosts are ${listOf(hosts.map((h) => `${h.name} (${h.ip})`))}`,
    );
  }
  return { endpoint: { spec, kind: 'external', ip: host.ip.toString() }, place: { kind: 'external', host } };
}

function resolveIP(world: World, spec: string, ip: IPAddr, port?: number): Resolved {
  const owner = world.owner(ip);
  const withPort = (e: Endpoint): Endpoint => (port === undefined ? e : { ...e, port });
  if (!owner) {
    throw new NotFoundError(
      `nothing in the cluster owns ${ip}: give a pod's, a node's, a service's, a load balancer's or an external host's address`,
    );
  }
  const text = ip.toString();
  switch (owner.kind) {
    case 'pod':
    case 'node': {
      const nsKey = ownerNetns(world, owner);
      return {
        endpoint: withPort({ spec, kind: owner.kind, ip: text }),
        ...(nsKey ? { place: { kind: 'netns', nsKey } } : {}),
      };
    }
    case 'external': {
      const host = world.externals.find((h) => h.ip.equals(ip));
      return {
        endpoint: withPort({ spec, kind: 'external', ip: text }),
        ...(host ? { place: { kind: 'external', host } } : {}),
      };
    }
    default:
      return { endpoint: withPort({ spec, kind: owner.kind === 'service' ? 'service' : 'ip', ip: text }) };
  }
}

/**
 * Resolves a FROM/TO spec to an endpoint (and, for senders, the place packets start from). `outside` says the
 * sender is an external host, for which a service means its externally reachable address.
 */
export function resolveEndpoint(world: World, spec: string, opts: { outside?: boolean } = {}): Resolved {
  const s = spec.trim();
  if (s === 'external') return resolveExternal(world, s);
  if (s.startsWith('external:')) return resolveExternal(world, s, s.slice('external:'.length));
  if (s.startsWith('svc/')) return resolveService(world, s, s.slice(4), opts.outside ?? false);
  if (s.startsWith('node/')) return resolveNode(world, s, s.slice(5));
  if (s.startsWith('pod/')) return resolvePod(world, s, s.slice(4));
  const { head, port } = splitPort(s);
  const ip = IPAddr.tryParse(head);
  if (ip) return resolveIP(world, s, ip, port);
  if (/^[^/]+\/[^/]+$/.test(s)) return resolvePod(world, s, s);
  throw new NotFoundError(
    `cannot read "${spec}": use ns/name or pod/ns/name, svc/ns/name[:port], node/name, an IP or IP:port, external or external:IP`,
  );
}

/** A pod's first container port (of the protocol, if one is asked), the default port for traces to it. */
function firstContainerPort(world: World, ip: string, protocol: Protocol): number | undefined {
  const pod = world.podByIP(ip);
  for (const c of pod?.spec.containers ?? []) {
    for (const cp of c.ports ?? []) {
      if ((cp.protocol ?? 'TCP').toLowerCase() === protocol) return cp.containerPort;
    }
  }
  return undefined;
}

function seededPort(seed: number): number {
  // Deterministic per seed, spread over the ephemeral range like the kernel's choice.
  const x = seededRandom(seed)();
  return EPHEMERAL[0] + Math.floor(x * (EPHEMERAL[1] - EPHEMERAL[0] + 1));
}

function l4For(protocol: Protocol, sport: number, dport: number | undefined, seed: number): L4Header {
  if (protocol === 'icmp') return { kind: 'icmp', type: 8, code: 0, id: (seed >>> 0) % 65536, seq: 1 };
  const d = dport ?? 0;
  if (protocol === 'tcp') return { kind: 'tcp', sport, dport: d, flags: ['SYN'] };
  return { kind: protocol, sport, dport: d };
}

function sourceAddress(world: World, from: Resolved, dst: IPAddr): IPAddr {
  const place = from.place;
  if (place?.kind === 'netns' && from.endpoint.kind === 'node') {
    // A node's socket takes the source the route picks (flannel.1's 10.244.N.0 toward remote pods).
    const h = world.netns(place.nsKey);
    const d = h ? routeLookup(h.ns, dst) : undefined;
    if (d && (d.kind === 'unicast' || d.kind === 'local') && d.src) return d.src;
  }
  return IPAddr.parse(from.endpoint.ip);
}

function number(hops: readonly Omit<Hop, 'n'>[], start: number): Hop[] {
  return hops.map((h, i) => ({ n: start + i, ...h }) as Hop);
}

function legOf(hops: Hop[], end: WalkEnd): Leg {
  return {
    hops,
    disposition: end.disposition,
    reason: end.reason,
    ...(end.delivered ? { delivered: end.delivered } : {}),
  };
}

function observed(end: WalkEnd): string | undefined {
  return end.delivered?.observedSource;
}

function forcedIP(world: World, endpoint: string | undefined): IPAddr | undefined {
  if (!endpoint) return undefined;
  const name = endpoint.startsWith('pod/') ? endpoint.slice(4) : endpoint;
  const pod = world.pod(name);
  if (!pod?.status?.podIP) {
    throw new NotFoundError(
      `endpoint pod "${name}" not found; the cluster's pods are ${listOf(world.state.pods.filter((p) => p.status?.podIP).map(podName))}`,
    );
  }
  return IPAddr.parse(pod.status.podIP);
}

function run(
  walker: Walker,
  request: Trace['request'],
  start: () => WalkEnd,
  origin: Place | undefined,
  noReturn: boolean,
): Trace {
  walker.startLeg('request');
  const end = start();
  const hops = number(walker.hops, 1);
  const branches = [...walker.branches];
  const masquerade = walker.masquerade;
  const conntrack = walker.crossed.map((node) => ({
    node,
    entries: formatConntrackList(
      walker.conntrack.get(`${node}/root`) ?? { entries: [], nextId: 1 },
      walker.clock,
    )
      .split('\n')
      .filter((l) => l !== ''),
  }));
  const trace: Trace = {
    request,
    ...legOf(hops, end),
    branches,
    masquerade,
    conntrack,
  };
  if (!noReturn && end.answer && origin) {
    walker.startLeg('reply', origin);
    const back = walker.send(end.answer.from, end.answer.packet);
    const rhops = number(walker.hops, hops.length + 1);
    const seen = observed(back);
    trace.return = { ...legOf(rhops, back), ...(seen ? { observedSource: seen } : {}) };
  }
  return trace;
}

export function traceConnection(twin: Twin, query: TraceQuery): Trace {
  const world = worldOf(twin);
  const from = resolveEndpoint(world, query.from);
  const to = resolveEndpoint(world, query.to, { outside: from.endpoint.kind === 'external' });
  if (!from.place) {
    throw new NotFoundError(
      `"${query.from}" cannot send packets: trace from a pod, a node or an external host`,
    );
  }
  const protocol = query.protocol;
  const dstPort =
    protocol === 'icmp'
      ? undefined
      : (to.endpoint.port ?? query.port ?? firstContainerPort(world, to.endpoint.ip, protocol));
  if (protocol !== 'icmp' && dstPort === undefined) {
    throw new NotFoundError(`no destination port for ${query.to}: give one with :PORT or --port`);
  }
  const dst = IPAddr.parse(to.endpoint.ip);
  const src = sourceAddress(world, from, dst);
  const sport = seededPort(query.seed);
  const packet: Packet = makePacket({
    src,
    dst,
    l4: l4For(protocol, sport, dstPort, query.seed),
    payloadLength: query.payloadBytes ?? 0,
  });
  const forced = forcedIP(world, query.endpoint);
  const walker = new Walker(world, { seed: query.seed, ...(forced ? { forcedEndpoint: forced } : {}) });
  const request: Trace['request'] = {
    from: { ...from.endpoint, ip: src.toString(), ...(protocol === 'icmp' ? {} : { port: sport }) },
    to: { ...to.endpoint, ...(dstPort !== undefined ? { port: dstPort } : {}) },
    protocol,
    seed: query.seed,
    ...(query.endpoint ? { forcedEndpoint: query.endpoint } : {}),
  };
  const place = from.place;
  return run(walker, request, () => walker.send(place, packet), place, query.noReturn === true);
}

export function traceInjected(twin: Twin, query: InjectQuery): Trace {
  const world = worldOf(twin);
  const nodeKey = `${query.node}/root`;
  const h = world.netns(nodeKey);
  if (!h) {
    throw new NotFoundError(
      `node "${query.node}" not found; the cluster's nodes are ${listOf(world.state.nodeInfo.map((n) => n.name))}`,
    );
  }
  const iface = query.iface ?? 'eth0';
  if (iface !== 'local' && !h.ns.links.some((l) => l.name === iface)) {
    throw new NotFoundError(
      `node "${query.node}" has no interface "${iface}"; its interfaces are ${listOf(h.ns.links.map((l) => l.name))}`,
    );
  }
  const s = splitPort(query.src);
  const d = splitPort(query.dst);
  const src = IPAddr.tryParse(s.head);
  const dst = IPAddr.tryParse(d.head);
  if (!src) throw new NotFoundError(`cannot read the source "${query.src}": give IP or IP:port`);
  if (!dst) throw new NotFoundError(`cannot read the destination "${query.dst}": give IP:port`);
  if (query.protocol !== 'icmp' && d.port === undefined) {
    throw new NotFoundError(`the destination "${query.dst}" needs a port for ${query.protocol}`);
  }
  const sport = s.port ?? seededPort(query.seed);
  const packet = makePacket({
    src,
    dst,
    l4: l4For(query.protocol, sport, d.port, query.seed),
    payloadLength: query.payloadBytes ?? 0,
  });
  const walker = new Walker(world, {
    seed: query.seed,
    ...(query.iptablesOverride ? { iptablesOverride: new Map([[query.node, query.iptablesOverride]]) } : {}),
  });
  const request: Trace['request'] = {
    from: {
      spec: query.src,
      kind: 'ip',
      ip: src.toString(),
      ...(query.protocol === 'icmp' ? {} : { port: sport }),
    },
    to: {
      spec: query.dst,
      kind: 'ip',
      ip: dst.toString(),
      ...(d.port !== undefined ? { port: d.port } : {}),
    },
    protocol: query.protocol,
    seed: query.seed,
  };
  // The reply is followed only back to a sender the world knows (a pod, a node, an external host).
  const owner = world.owner(src);
  const ext = world.externals.find((e) => e.ip.equals(src));
  const originKey = owner && !ext ? ownerNetns(world, owner) : undefined;
  const origin: Place | undefined = ext
    ? { kind: 'external', host: ext }
    : originKey
      ? { kind: 'netns', nsKey: originKey }
      : undefined;
  const start = (): WalkEnd =>
    iface === 'local'
      ? walker.send({ kind: 'netns', nsKey: nodeKey }, packet)
      : walker.inject(nodeKey, iface, packet);
  return run(walker, request, start, origin, query.noReturn === true);
}

// The packet walk: a kernel simulator that moves one packet through the namespaces of the world, executing
// only what NodeState holds — routing, netfilter with conntrack, neighbours, veth pairs, the bridge with
// br_netfilter, VXLAN — plus the underlay gateway, the external hosts and the cloud load balancer.

import { ipsetMembership } from '../agents/policy/ipset.js';
import type { ExternalHost } from '../model/cluster.js';
import { seededRandom } from '../model/seeded-random.js';
import { IPAddr } from '../net/ip.js';
import {
  encapVxlan,
  type IcmpHeader,
  type L4Header,
  makePacket,
  type Packet,
  withAddresses,
  withPorts,
} from '../net/packet.js';
import type { Ruleset, Table } from '../node/iptables/types.js';
import { routeLine } from '../node/render/ip-route.js';
import type { Link, NetnsState } from '../node/state.js';
import type { Branch, Delivery, Disposition, HopLocation } from '../trace/types.js';
import { type ConntrackTable, EMPTY_CONNTRACK } from './conntrack.js';
import { addrTypeOf } from './netfilter/addrtype.js';
import {
  type Arrival,
  type HookResult,
  type NetfilterRoute,
  netfilterHooks,
  rejectReply,
} from './netfilter/hooks.js';
import type { AddrType } from './netfilter/match.js';
import { type BranchPoint, seededChoice } from './netfilter/traverse.js';
import {
  type LookupOptions,
  routeLookup as lookupRoute,
  type RouteDecision,
  selectSourceAddress,
} from './routing.js';
import { addrPort, dnatOfChain, formatProbability, hopsFromSteps, type NewHop } from './walk-hops.js';
import { type L2Member, type NetnsHandle, svcKey, vethPeer, type World } from './world.js';

/** Where a packet starts or ends outside the nodes' namespaces. */
export type Place =
  | { readonly kind: 'netns'; readonly nsKey: string }
  | { readonly kind: 'external'; readonly host: ExternalHost }
  /** The underlay gateway itself (the router, and the node resolver it usually serves). */
  | { readonly kind: 'gateway'; readonly ip: IPAddr };

export interface WalkEnd {
  readonly disposition: Disposition;
  readonly reason: string;
  readonly delivered?: Delivery;
  /** Where the packet landed (DELIVERED, NOT_LISTENING) or was stopped. */
  readonly place?: Place;
  /** The packet as it arrived or was stopped. */
  readonly packet?: Packet;
  /** What goes back toward the sender: the receiver's reply, a RST, or an ICMP error. */
  readonly answer?: { readonly from: Place; readonly packet: Packet };
}

export interface WalkerOptions {
  readonly seed: number;
  /** Seconds on the conntrack clock. */
  readonly now?: number;
  /** Force this endpoint IP wherever kube-proxy chooses at random (a `statistic` cascade that can reach it). */
  readonly forcedEndpoint?: IPAddr;
  /** Per node: a ruleset that replaces the generated one (imported from a real node). */
  readonly iptablesOverride?: ReadonlyMap<string, Ruleset>;
}

/** An LB flow: what the cloud load balancer remembers to translate the reply back. */
interface LbFlow {
  readonly client: IPAddr;
  readonly clientPort: number;
  readonly vip: IPAddr;
  readonly vport: number;
  readonly node: IPAddr;
  readonly nodePort: number;
  /** The source the node sees (the client, or the VIP in snat mode). */
  readonly seenSource: IPAddr;
  readonly proto: number;
}

/** A guard for loops the TTL cannot end (bridging, local delivery); a 64-hop routed loop takes ~1,000 steps. */
const MAX_HOPS = 4000;

// Per-namespace lookups built once and shared by every walk over the same state.
const addrTypeCache = new WeakMap<NetnsState, (ip: IPAddr, dev?: string) => AddrType>();
const ipsetCache = new WeakMap<NetnsState, ReturnType<typeof ipsetMembership>>();
const routeCache = new WeakMap<NetnsState, Map<string, RouteDecision>>();
const ROUTE_CACHE_SIZE = 4096;

/**
 * routeLookup, remembered per namespace: the answer depends only on the (immutable) namespace state, the
 * destination, the input interface and the source, and a node with 1,000 routes makes the scan the walk's
 * largest cost.
 */
function routeLookup(ns: NetnsState, dst: IPAddr, opts: LookupOptions = {}): RouteDecision {
  let m = routeCache.get(ns);
  if (!m) {
    m = new Map();
    routeCache.set(ns, m);
  }
  const key = `${dst.toString()}|${opts.iif ?? ''}|${opts.src?.toString() ?? ''}`;
  let d = m.get(key);
  if (!d) {
    d = lookupRoute(ns, dst, opts);
    if (m.size >= ROUTE_CACHE_SIZE) m.clear();
    m.set(key, d);
  }
  return d;
}

/** The kernel's default ephemeral range (net.ipv4.ip_local_port_range), which VXLAN's srcport 0 0 falls back to. */
export const EPHEMERAL: readonly [number, number] = [32768, 60999];

function mix(h: number, v: number): number {
  let x = (h ^ v) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A flow hash of the inner packet. The kernel's skb_get_hash is a keyed jhash we cannot reproduce, but like it
 * this one is symmetric (__flow_hash_consistentify orders the endpoints): a connection's two directions get the
 * same VXLAN source port, as observed on this machine's kernel (both outer flows used sport 60400).
 */
export function flowHash(p: Packet): number {
  const l4 = p.l4;
  const sp = l4 && l4.kind !== 'icmp' ? l4.sport : 0;
  const dp = l4 && l4.kind !== 'icmp' ? l4.dport : 0;
  const a = { ip: Number(p.ip.src.value & 0xffffffffn), port: sp };
  const b = { ip: Number(p.ip.dst.value & 0xffffffffn), port: dp };
  const [lo, hi] = a.ip < b.ip || (a.ip === b.ip && a.port <= b.port) ? [a, b] : [b, a];
  let h = mix(0x9e3779b9, p.ip.protocol);
  h = mix(h, lo.ip);
  h = mix(h, hi.ip);
  return mix(h, ((lo.port << 16) | hi.port) >>> 0);
}

/** udp_flow_src_port(): the hash scaled into [min, max]. */
export function vxlanSourcePort(p: Packet, min: number, max: number): number {
  const [lo, hi] = min === 0 && max === 0 ? EPHEMERAL : [min, max];
  return lo + Math.floor(((flowHash(p) >>> 0) / 2 ** 32) * (hi - lo + 1));
}

/** The packet a receiver sends back: SYN-ACK (or ACK), the UDP answer, the ICMP echo reply. */
export function replyTo(p: Packet): Packet {
  const l4 = p.l4;
  let r: L4Header | undefined;
  if (l4?.kind === 'tcp') {
    r = {
      kind: 'tcp',
      sport: l4.dport,
      dport: l4.sport,
      flags: l4.flags.includes('SYN') ? ['SYN', 'ACK'] : ['ACK'],
    };
  } else if (l4?.kind === 'udp' || l4?.kind === 'sctp') {
    r = { ...l4, sport: l4.dport, dport: l4.sport };
  } else if (l4?.kind === 'icmp') {
    const ic: IcmpHeader = {
      kind: 'icmp',
      type: 0,
      code: 0,
      ...(l4.id !== undefined ? { id: l4.id } : {}),
      ...(l4.seq !== undefined ? { seq: l4.seq } : {}),
    };
    r = ic;
  }
  return makePacket({ src: p.ip.dst, dst: p.ip.src, ...(r ? { l4: r } : {}) });
}

function protoName(p: Packet): 'tcp' | 'udp' | 'sctp' | 'icmp' | undefined {
  return p.l4?.kind;
}

export class Walker {
  hops: NewHop[] = [];
  branches: Branch[] = [];
  masquerade = false;
  /** Nodes whose namespaces the packet crossed, in order of first visit. */
  readonly crossed: string[] = [];
  readonly conntrack = new Map<string, ConntrackTable>();
  private readonly lbFlows: LbFlow[] = [];
  private readonly choose: (point: BranchPoint) => number;
  private readonly rng: () => number;
  private readonly now: number;
  private mode: 'request' | 'reply' = 'request';
  private origin: Place | undefined;

  constructor(
    private readonly world: World,
    private readonly opts: WalkerOptions,
  ) {
    this.choose = seededChoice(opts.seed ^ 0x5bd1e995);
    this.rng = seededRandom(opts.seed ^ 0x27d4eb2f);
    this.now = opts.now ?? 1000;
  }

  /** Starts a new leg: `reply` legs end when the packet reaches `origin`. */
  startLeg(mode: 'request' | 'reply', origin?: Place): void {
    this.mode = mode;
    this.origin = origin;
    this.hops = [];
  }

  get clock(): number {
    return this.now;
  }

  /** A packet sent by a socket (or an external host) at `from`. */
  send(from: Place, packet: Packet): WalkEnd {
    if (from.kind === 'gateway') return this.router(packet, false);
    if (from.kind === 'external') {
      this.hop({
        layer: 'L3',
        at: { netns: `external/${from.host.name}`, owner: `external/${from.host.name}` },
        component: 'underlay',
        action: 'send',
        before: packet,
        after: packet,
        explanation: `${from.host.name} (${from.host.ip}) sends the packet toward its default gateway; it crosses the outside world to the cluster's underlay gateway.`,
      });
      return this.router(packet, true);
    }
    const h = this.ns(from.nsKey);
    if (!h) return this.end('UNSUPPORTED', `no network namespace ${from.nsKey}`);
    return this.emit(h, packet);
  }

  /** A raw packet arriving at a node's interface (traceInjected). */
  inject(nsKey: string, ifname: string, packet: Packet): WalkEnd {
    return this.arrive(nsKey, ifname, packet);
  }

  // ---- plumbing ---------------------------------------------------------------------------------

  private ns(key: string): NetnsHandle | undefined {
    return this.world.netns(key);
  }

  private at(h: NetnsHandle, iface?: string): HopLocation {
    return { node: h.node, netns: h.ns.name, owner: h.owner, ...(iface ? { iface } : {}) };
  }

  private hop(h: NewHop): void {
    this.hops.push(h);
  }

  private end(disposition: Disposition, reason: string, extra: Partial<WalkEnd> = {}): WalkEnd {
    return { disposition, reason, ...extra };
  }

  private visit(h: NetnsHandle): void {
    if (!this.crossed.includes(h.node)) this.crossed.push(h.node);
  }

  private ruleset(h: NetnsHandle): Ruleset {
    if (h.ns.name === 'root') return this.opts.iptablesOverride?.get(h.node) ?? h.ns.iptables;
    return h.ns.iptables;
  }

  private hasNetfilter(h: NetnsHandle): boolean {
    return h.ns.name === 'root' && this.opts.iptablesOverride?.has(h.node) ? true : h.netfilter;
  }

  private addrType(h: NetnsHandle): (ip: IPAddr, dev?: string) => AddrType {
    let f = addrTypeCache.get(h.ns);
    if (!f) {
      f = addrTypeOf(h.ns);
      addrTypeCache.set(h.ns, f);
    }
    return f;
  }

  private ipsetOf(h: NetnsHandle): ReturnType<typeof ipsetMembership> | undefined {
    const sets = h.ns.ipsets;
    if (!sets || sets.length === 0) return undefined;
    let f = ipsetCache.get(h.ns);
    if (!f) {
      f = ipsetMembership(sets);
      ipsetCache.set(h.ns, f);
    }
    return f;
  }

  private choiceFor(rs: Ruleset): (point: BranchPoint) => number {
    const forced = this.opts.forcedEndpoint;
    if (!forced) return this.choose;
    return (point) => {
      const table = rs.tables.find((t) => t.name === point.table);
      const want = forced.toString();
      const i = point.branches.findIndex((b) => {
        const target = b.rule ? /\s-[jg] (\S+)/.exec(b.rule.text)?.[1] : undefined;
        const to = table && target ? dnatOfChain(table, target) : undefined;
        return to !== undefined && (to === want || to.startsWith(`${want}:`));
      });
      return i >= 0 ? i : this.choose(point);
    };
  }

  /** Runs the netfilter hooks of one namespace and records their hops. */
  private hooks(h: NetnsHandle, packet: Packet, arrival: Arrival, iif?: string): HookResult {
    this.visit(h);
    const rs = this.ruleset(h);
    const routes: { decision: RouteDecision; dst: IPAddr; iif?: string; src?: IPAddr }[] = [];
    const route = (p: Packet): NetfilterRoute => {
      const decision = routeLookup(h.ns, p.ip.dst, iif ? { iif, src: p.ip.src } : {});
      routes.push({ decision, dst: p.ip.dst, ...(iif ? { iif, src: p.ip.src } : {}) });
      return netfilterRoute(decision, p.ip.dst);
    };
    const ipset = this.ipsetOf(h);
    const res = netfilterHooks(
      {
        ruleset: rs,
        ...(ipset ? { ipset } : {}),
        conntrack: this.conntrack.get(h.key) ?? EMPTY_CONNTRACK,
        now: this.now,
        addrType: this.addrType(h),
        route,
        masqueradeAddress: (dev, nextHop) =>
          selectSourceAddress(h.ns, dev, nextHop ?? packet.ip.dst, 'global'),
        choice: this.choiceFor(rs),
        seed: this.opts.seed,
        brNetfilter: h.ns.sysctls['net.bridge.bridge-nf-call-iptables'] === '1',
        mtu: (dev) => {
          const last = routes[routes.length - 1]?.decision;
          if (last?.kind === 'unicast' && last.dev === dev) return last.mtu;
          return h.ns.links.find((l) => l.name === dev)?.mtu;
        },
      },
      packet,
      arrival,
    );
    this.conntrack.set(h.key, res.conntrack);
    const tables = (name: string): Table | undefined => rs.tables.find((t) => t.name === name);
    const at = this.at(
      h,
      arrival.kind === 'ingress' ? arrival.inIface : arrival.kind === 'bridged' ? arrival.bridge : undefined,
    );
    for (const hp0 of hopsFromSteps(at, res.steps, tables, routes, this.now)) {
      const hp =
        hp0.action === 'SNAT'
          ? this.explainMasquerade(h, hp0)
          : hp0.action === 'DNAT' && hp0.component === 'netfilter'
            ? this.namePod(hp0)
            : hp0;
      this.hop(hp);
      if (hp.branches) for (const b of hp.branches) this.branches.push(b);
      if (hp.action === 'SNAT' || hp.action === 'MASQUERADE' || hp.action === 'KUBE-MARK-MASQ')
        this.masquerade = true;
    }
    return res;
  }

  /** Names the pod a DNAT rule sends the packet to (`to pod default/my-app-… 10.244.1.3:8080`). */
  private namePod(hop: NewHop): NewHop {
    const m = /--to-destination (\d+\.\d+\.\d+\.\d+)/.exec(hop.decidedBy?.text ?? '');
    const ip = m?.[1] ? IPAddr.tryParse(m[1]) : undefined;
    const owner = ip ? this.world.owner(ip) : undefined;
    if (owner?.kind !== 'pod' && owner?.kind !== 'node') return hop;
    const who = owner.label.replace(/ \(.*\)$/, '');
    return { ...hop, explanation: hop.explanation.replace(' to ', ` to ${who} `) };
  }

  /** Where the textbook says "the node's IP": MASQUERADE takes the outgoing interface's own address. */
  private explainMasquerade(h: NetnsHandle, hop: NewHop): NewHop {
    const dev = h.ns.links.find((l) => l.name === hop.at.iface);
    const src = hop.after.ip.src;
    if (dev?.kind === 'vxlan') {
      return {
        ...hop,
        explanation: `${hop.explanation} The source becomes ${src}, ${dev.name}'s address, not the node's ${h.ns.addresses.find((a) => a.ifname !== dev.name && a.scope === 'global' && a.ip.family === 4 && h.ns.links.find((l) => l.name === a.ifname)?.kind === 'ether')?.ip ?? 'uplink address'}: MASQUERADE uses the address of the interface the packet leaves by (${dev.name}), so the pod sees ${src}.`,
      };
    }
    if (dev?.kind === 'bridge') {
      return {
        ...hop,
        explanation: `${hop.explanation} The source becomes ${src}, ${dev.name}'s address: the packet leaves by the bridge, so the pod sees the bridge's gateway address.`,
      };
    }
    return hop;
  }

  private guard(): WalkEnd | undefined {
    if (this.hops.length > MAX_HOPS)
      return this.end('LOOP', `the packet took more than ${MAX_HOPS} steps: a forwarding loop`);
    return undefined;
  }

  // ---- a namespace sends ------------------------------------------------------------------------

  private emit(h: NetnsHandle, packet: Packet): WalkEnd {
    const g = this.guard();
    if (g) return g;
    if (!this.hasNetfilter(h)) {
      const d = routeLookup(h.ns, packet.ip.dst);
      this.routeHop(h, packet, d);
      if (d.kind === 'local' || d.kind === 'broadcast') return this.deliverLocal(h, 'lo', packet);
      if (d.kind !== 'unicast') return this.noRoute(h, packet, d);
      return this.xmit(h, d.dev, d.nextHop, packet, false, d.mtu);
    }
    const res = this.hooks(h, packet, { kind: 'local-out' });
    return this.afterHooks(h, res, undefined, false);
  }

  private routeHop(h: NetnsHandle, p: Packet, d: RouteDecision, iif?: string): void {
    const route = 'route' in d ? d.route : undefined;
    this.hop({
      layer: 'L3',
      at: this.at(h, d.kind === 'unicast' ? d.dev : undefined),
      component: 'routing',
      action: 'route',
      ...(route
        ? { decidedBy: { kind: 'route' as const, text: routeLine(route, route.table !== 'main').trimEnd() } }
        : {}),
      before: p,
      after: p,
      explanation:
        d.kind === 'unicast'
          ? `${h.owner} routes ${p.ip.dst} out ${d.dev}${d.gateway ? ` via ${d.gateway}` : ' (on-link)'}${iif ? '' : d.src ? `, source ${d.src}` : ''}.`
          : d.kind === 'local'
            ? `${p.ip.dst} is a local address of ${h.owner}.`
            : `No route in ${h.owner} for ${p.ip.dst}.`,
    });
  }

  private noRoute(h: NetnsHandle, p: Packet, d: RouteDecision): WalkEnd {
    const why =
      d.kind === 'no-route'
        ? `ip route get ${p.ip.dst} in ${h.owner}: RTNETLINK answers: Network is unreachable (no route matches)`
        : d.kind === 'unreachable'
          ? `${h.owner}: ${d.reason}`
          : `${h.owner}: a ${d.kind} route for ${p.ip.dst}`;
    return this.end(d.kind === 'blackhole' ? 'DROPPED' : 'NO_ROUTE', why, {
      packet: p,
      place: { kind: 'netns', nsKey: h.key },
    });
  }

  // ---- after netfilter --------------------------------------------------------------------------

  private afterHooks(
    h: NetnsHandle,
    res: HookResult,
    inPort: string | undefined,
    forwarded: boolean,
  ): WalkEnd {
    const p = res.packet;
    const place: Place = { kind: 'netns', nsKey: h.key };
    const rule = res.rule
      ? `${res.rule.table} ${res.rule.chain} rule ${res.rule.number}: ${res.rule.text}`
      : undefined;
    switch (res.disposition) {
      case 'LOCAL_IN':
        return this.deliverLocal(h, res.outIface ?? 'lo', p);
      case 'SENT':
      case 'FORWARDED': {
        const out = res.outIface ?? 'lo';
        if (out === 'lo') return this.deliverLocal(h, 'lo', p);
        const d = routeLookup(h.ns, p.ip.dst);
        const mtu = d.kind === 'unicast' ? d.mtu : undefined;
        return this.xmit(
          h,
          out,
          res.nextHop ?? p.ip.dst,
          p,
          forwarded || res.disposition === 'FORWARDED',
          mtu,
        );
      }
      case 'BRIDGED':
        return this.bridgeOut(h, res.outIface ?? '', p, inPort, true);
      case 'DROPPED':
        return this.end('DROPPED', rule ? `dropped by ${rule}` : `dropped: ${res.reason ?? 'by netfilter'}`, {
          packet: p,
          place,
        });
      case 'REJECTED': {
        const local = this.addrType(h)(p.ip.dst) === 'LOCAL';
        const src = local ? p.ip.dst : (routeSource(h, p.ip.src) ?? p.ip.dst);
        const answer = rejectReply(p, res.rejectWith ?? 'icmp-port-unreachable', src);
        return this.end(
          'REJECTED',
          `rejected by ${rule ?? 'a REJECT rule'} (answer: ${res.rejectWith === 'tcp-reset' ? 'TCP RST' : `ICMP ${res.rejectWith ?? 'port-unreachable'}`})`,
          { packet: p, place, answer: { from: place, packet: answer } },
        );
      }
      case 'NO_ROUTE':
        return this.end('NO_ROUTE', `${h.owner}: ${res.reason ?? `no route to ${p.ip.dst}`}`, {
          packet: p,
          place,
        });
      case 'MTU_EXCEEDED': {
        const dev = res.outIface ?? '?';
        const limit = h.ns.links.find((l) => l.name === dev)?.mtu ?? 0;
        return this.fragNeeded(h, p, dev, limit);
      }
      case 'TTL_EXCEEDED': {
        // ip_forward: ICMP time exceeded (11/0) from the address the route back picks.
        const icmp = rejectReply(p, 'icmp-port-unreachable', routeSource(h, p.ip.src) ?? p.ip.dst);
        const answer: Packet = { ...icmp, l4: { ...(icmp.l4 as IcmpHeader), type: 11, code: 0 } };
        return this.end('TTL_EXCEEDED', `${h.owner}: the TTL ran out while forwarding to ${p.ip.dst}`, {
          packet: p,
          place,
          answer: { from: place, packet: answer },
        });
      }
      case 'UNSUPPORTED':
        return this.end('UNSUPPORTED', `${rule ? `${rule}: ` : ''}${res.reason ?? 'not modelled'}`, {
          packet: p,
          place,
        });
    }
  }

  // ---- a namespace receives ---------------------------------------------------------------------

  private arrive(nsKey: string, ifname: string, packet: Packet): WalkEnd {
    const g = this.guard();
    if (g) return g;
    const h = this.ns(nsKey);
    if (!h) return this.end('UNSUPPORTED', `no network namespace ${nsKey}`);
    const link = h.ns.links.find((l) => l.name === ifname);
    if (!link) return this.end('UNSUPPORTED', `${h.owner} has no interface ${ifname}`);
    if (link.master) return this.bridgeIn(h, link, packet);
    if (this.hasNetfilter(h)) {
      const res = this.hooks(h, packet, { kind: 'ingress', inIface: ifname }, ifname);
      return this.afterHooks(h, res, undefined, true);
    }
    this.visit(h);
    const d = routeLookup(h.ns, packet.ip.dst, { iif: ifname, src: packet.ip.src });
    this.routeHop(h, packet, d, ifname);
    if (d.kind === 'local' || d.kind === 'broadcast') return this.deliverLocal(h, ifname, packet);
    if (d.kind !== 'unicast') return this.noRoute(h, packet, d);
    if (packet.ip.ttl <= 1) return this.end('TTL_EXCEEDED', `${h.owner}: TTL exhausted`, { packet });
    const fwd = { ...packet, ip: { ...packet.ip, ttl: packet.ip.ttl - 1 } };
    return this.xmit(h, d.dev, d.nextHop, fwd, true, d.mtu);
  }

  // ---- the Linux bridge -------------------------------------------------------------------------

  private bridgeIn(h: NetnsHandle, port: Link, packet: Packet): WalkEnd {
    const bridge = h.ns.links.find((l) => l.name === port.master);
    if (!bridge) return this.end('UNSUPPORTED', `${port.name}'s bridge ${port.master ?? '?'} does not exist`);
    const dmac = packet.eth?.dst;
    const toHost = dmac === bridge.mac;
    const outPort = toHost ? undefined : this.fdbPort(h, bridge, dmac ?? '');
    this.hop({
      layer: 'L2',
      at: this.at(h, port.name),
      component: 'bridge',
      action: toHost ? 'to host' : 'bridge',
      ...(outPort
        ? { decidedBy: { kind: 'fdb' as const, text: `${dmac} dev ${outPort.name} master ${bridge.name} ` } }
        : {}),
      before: packet,
      after: packet,
      explanation: toHost
        ? `The frame enters ${bridge.name} on port ${port.name} addressed to the bridge's own MAC ${bridge.mac}: it goes up to the node's IP stack to be routed.`
        : outPort
          ? `The frame enters ${bridge.name} on port ${port.name}; the bridge's FDB has ${dmac} behind port ${outPort.name}, so it is switched there (no routing, TTL unchanged).`
          : `The frame enters ${bridge.name} on port ${port.name} for ${dmac ?? '?'}, which no port has learned.`,
    });
    if (!toHost && !outPort) {
      return this.end(
        'DROPPED',
        `${bridge.name} of ${h.owner}: no port owns ${dmac ?? 'the destination MAC'}`,
        { packet },
      );
    }
    const brnf = h.ns.sysctls['net.bridge.bridge-nf-call-iptables'] === '1' && this.hasNetfilter(h);
    if (!brnf) {
      if (toHost) {
        if (this.hasNetfilter(h)) {
          const res = this.hooks(h, packet, { kind: 'ingress', inIface: bridge.name }, bridge.name);
          return this.afterHooks(h, res, port.name, true);
        }
        return this.arriveRouted(h, bridge.name, packet);
      }
      return this.bridgeOut(h, bridge.name, packet, port.name, false, outPort);
    }
    // br_netfilter: the bridged IPv4 frame takes the iptables hooks with physdev information.
    const arrival: Arrival = {
      kind: 'bridged',
      bridge: bridge.name,
      physIn: port.name,
      ...(outPort ? { physOut: outPort.name } : {}),
      toHost,
    };
    const res = this.hooks(h, packet, arrival, bridge.name);
    if (res.disposition === 'BRIDGED' && outPort && res.packet.ip.dst.equals(packet.ip.dst)) {
      // Not DNATed: the frame goes on to the port the FDB lookup chose before the hooks.
      return this.bridgeOut(h, bridge.name, res.packet, port.name, false, outPort);
    }
    return this.afterHooks(h, res, port.name, true);
  }

  private arriveRouted(h: NetnsHandle, ifname: string, packet: Packet): WalkEnd {
    const d = routeLookup(h.ns, packet.ip.dst, { iif: ifname, src: packet.ip.src });
    this.routeHop(h, packet, d, ifname);
    if (d.kind === 'local' || d.kind === 'broadcast') return this.deliverLocal(h, ifname, packet);
    if (d.kind !== 'unicast') return this.noRoute(h, packet, d);
    const fwd = { ...packet, ip: { ...packet.ip, ttl: packet.ip.ttl - 1 } };
    return this.xmit(h, d.dev, d.nextHop, fwd, true, d.mtu);
  }

  /** The bridge port whose attached device owns `mac` (the FDB entry the bridge learned). */
  private fdbPort(h: NetnsHandle, bridge: Link, mac: string): Link | undefined {
    const member = this.world.segmentAt(h.key, bridge.name)?.memberByMac(mac);
    if (!member?.at) return undefined;
    const at = member.at;
    return h.ns.links.find(
      (l) =>
        l.master === bridge.name &&
        l.peer &&
        `${h.node}/${l.peer.netns}` === at.nsKey &&
        l.peer.ifname === at.ifname,
    );
  }

  /**
   * A frame leaving through the bridge: after a bridged pass (`inPort` set) or routed out of the bridge
   * device. Resolves the destination MAC when needed, then the port, then crosses the veth.
   */
  private bridgeOut(
    h: NetnsHandle,
    bridgeName: string,
    packet: Packet,
    inPort: string | undefined,
    afterHooks: boolean,
    known?: Link,
  ): WalkEnd {
    const bridge = h.ns.links.find((l) => l.name === bridgeName);
    if (!bridge) return this.end('UNSUPPORTED', `no bridge ${bridgeName} in ${h.owner}`);
    let frame = packet;
    let port = known;
    if (!port) {
      // After DNAT the frame needs the new destination's MAC (br_nf_pre_routing_finish_bridge).
      const n = this.neighbour(h, bridge.name, packet.ip.dst, packet);
      if ('end' in n) return n.end;
      frame = { ...packet, eth: { src: packet.eth?.src ?? bridge.mac, dst: n.mac } };
      port = this.fdbPort(h, bridge, n.mac);
      if (!port) return this.end('DROPPED', `${bridgeName} of ${h.owner}: no port owns ${n.mac}`, { packet });
      if (afterHooks) {
        this.hop({
          layer: 'L2',
          at: this.at(h, port.name),
          component: 'bridge',
          action: 'bridge',
          decidedBy: { kind: 'fdb', text: `${n.mac} dev ${port.name} master ${bridge.name} ` },
          before: packet,
          after: frame,
          explanation: `The DNATed frame stays on ${bridge.name} (br_netfilter bridged DNAT): it is switched to port ${port.name}, TTL unchanged.`,
        });
      }
    }
    if (inPort && port.name === inPort && !port.bridgePort?.hairpin) {
      return this.end(
        'DROPPED',
        `${bridgeName} of ${h.owner} does not send a frame back out the port it came in on (${inPort}): hairpin mode is off`,
        { packet: frame },
      );
    }
    if (inPort && port.name === inPort) {
      this.hop({
        layer: 'L2',
        at: this.at(h, port.name),
        component: 'bridge',
        action: 'hairpin',
        before: frame,
        after: frame,
        explanation: `The frame leaves ${bridgeName} by the port it came in on (${port.name}): allowed because the port has hairpin mode on (the CNI's hairpinMode).`,
      });
    }
    return this.crossVeth(h, port, frame);
  }

  private crossVeth(h: NetnsHandle, link: Link, frame: Packet): WalkEnd {
    const peer = vethPeer(this.world, h.key, link);
    if (!peer)
      return this.end('UNSUPPORTED', `${link.name} in ${h.owner} has no modelled peer`, { packet: frame });
    const ph = this.ns(peer.nsKey);
    this.hop({
      layer: 'L2',
      at: this.at(h, link.name),
      component: 'veth',
      action: 'veth',
      before: frame,
      after: frame,
      explanation: `veth pair: the frame leaving ${link.name} in ${h.owner} arrives on ${peer.ifname} in ${ph?.owner ?? peer.nsKey}.`,
    });
    return this.arrive(peer.nsKey, peer.ifname, frame);
  }

  // ---- neighbours and transmission --------------------------------------------------------------

  private neighbour(
    h: NetnsHandle,
    dev: string,
    ip: IPAddr,
    packet: Packet,
  ): { mac: string; member?: L2Member } | { end: WalkEnd } {
    const st = h.ns.neighbours.find(
      (n) => n.dev === dev && n.ip.equals(ip) && n.lladdr && n.state !== 'FAILED' && n.state !== 'INCOMPLETE',
    );
    if (st?.lladdr) {
      this.hop({
        layer: 'L2',
        at: this.at(h, dev),
        component: 'neighbour',
        action: 'neighbour',
        decidedBy: { kind: 'neighbour', text: `${ip} dev ${dev} lladdr ${st.lladdr} ${st.state}` },
        before: packet,
        after: packet,
        explanation: `The neighbour table already maps ${ip} to ${st.lladdr} (${st.state}${st.state === 'PERMANENT' ? ', written by the agent' : ''}); no ARP needed.`,
      });
      return { mac: st.lladdr };
    }
    const member = this.world.segmentAt(h.key, dev)?.memberByIp(ip);
    if (!member) {
      return {
        end: this.end(
          'NO_NEIGHBOUR',
          `ARP for ${ip} on ${dev} of ${h.owner} got no answer: nothing on that segment owns it`,
        ),
      };
    }
    this.hop({
      layer: 'L2',
      at: this.at(h, dev),
      component: 'neighbour',
      action: 'ARP',
      decidedBy: { kind: 'neighbour', text: `${ip} dev ${dev} lladdr ${member.mac} REACHABLE` },
      before: packet,
      after: packet,
      explanation: `ARP: who-has ${ip} on ${dev}? ${member.label} answers with ${member.mac}.`,
    });
    return { mac: member.mac, member };
  }

  private xmit(
    h: NetnsHandle,
    dev: string,
    nextHop: IPAddr,
    packet: Packet,
    forwarded: boolean,
    mtu: number | undefined,
  ): WalkEnd {
    const g = this.guard();
    if (g) return g;
    const link = h.ns.links.find((l) => l.name === dev);
    if (!link) return this.end('UNSUPPORTED', `${h.owner} has no interface ${dev}`);
    const limit = mtu ?? link.mtu;
    if (packet.ip.totalLength > limit && packet.ip.df) {
      const place: Place = { kind: 'netns', nsKey: h.key };
      const reason = `${packet.ip.totalLength}-byte packet with DF set does not fit ${dev}'s MTU ${limit} in ${h.owner}`;
      if (!forwarded)
        return this.end('MTU_EXCEEDED', `${reason} (the sender's socket gets EMSGSIZE)`, { packet, place });
      return this.fragNeeded(h, packet, dev, limit);
    }
    switch (link.kind) {
      case 'loopback':
        return this.deliverLocal(h, 'lo', packet);
      case 'vxlan':
        return this.vxlanXmit(h, link, nextHop, packet);
      case 'bridge':
        return this.bridgeOut(
          h,
          link.name,
          { ...packet, eth: { src: link.mac, dst: packet.eth?.dst ?? '' } },
          undefined,
          false,
          undefined,
        );
      case 'veth': {
        const n = this.neighbour(h, dev, nextHop, packet);
        if ('end' in n) return n.end;
        return this.crossVeth(h, link, { ...packet, eth: { src: link.mac, dst: n.mac } });
      }
      case 'ether': {
        const n = this.neighbour(h, dev, nextHop, packet);
        if ('end' in n) return n.end;
        const frame = { ...packet, eth: { src: link.mac, dst: n.mac } };
        const member = n.member ?? this.world.segmentAt(h.key, dev)?.memberByMac(n.mac, nextHop);
        this.hop({
          layer: 'L2',
          at: this.at(h, dev),
          component: 'underlay',
          action: 'transmit',
          before: packet,
          after: frame,
          explanation: `The frame leaves ${h.owner} on ${dev} onto the underlay segment, addressed to ${member?.label ?? n.mac}.`,
        });
        if (member?.at) return this.arrive(member.at.nsKey, member.at.ifname, frame);
        return this.router(frame, true);
      }
      default:
        return this.end('UNSUPPORTED', `transmitting on a ${link.kind} device (${dev}) is not modelled`, {
          packet,
        });
    }
  }

  /** ip_forward's answer to a DF packet larger than the next MTU: ICMP 3/4 from the route's source toward the sender. */
  private fragNeeded(h: NetnsHandle, packet: Packet, dev: string, limit: number): WalkEnd {
    const place: Place = { kind: 'netns', nsKey: h.key };
    const src = routeSource(h, packet.ip.src) ?? packet.ip.dst;
    const icmp = rejectReply(packet, 'icmp-port-unreachable', src);
    const answer: Packet = { ...icmp, l4: { ...(icmp.l4 as IcmpHeader), type: 3, code: 4 } };
    return this.end(
      'MTU_EXCEEDED',
      `${packet.ip.totalLength}-byte packet with DF set does not fit ${dev}'s MTU ${limit} in ${h.owner}: ICMP fragmentation needed (mtu = ${limit}) goes back to ${packet.ip.src}`,
      { packet, place, answer: { from: place, packet: answer } },
    );
  }

  // ---- VXLAN ------------------------------------------------------------------------------------

  private vxlanXmit(h: NetnsHandle, link: Link, nextHop: IPAddr, packet: Packet): WalkEnd {
    const vx = link.vxlan;
    if (!vx) return this.end('UNSUPPORTED', `${link.name} has no VXLAN settings`);
    const n = this.neighbour(h, link.name, nextHop, packet);
    if ('end' in n) return n.end;
    const fdb = h.ns.fdb.find((e) => e.dev === link.name && e.mac === n.mac && e.dst);
    if (!fdb?.dst) {
      return this.end(
        'NO_NEIGHBOUR',
        `${link.name} of ${h.owner} has no FDB entry for ${n.mac}: the VXLAN driver does not know the remote VTEP`,
        {
          packet,
        },
      );
    }
    this.hop({
      layer: 'L2',
      at: this.at(h, link.name),
      component: 'vxlan',
      action: 'fdb',
      decidedBy: { kind: 'fdb', text: `${fdb.mac} dev ${fdb.dev} dst ${fdb.dst} self ${fdb.state}` },
      before: packet,
      after: packet,
      explanation: `${link.name}'s FDB says the VTEP with MAC ${fdb.mac} is at ${fdb.dst}.`,
    });
    const inner: Packet = { ...packet, eth: { src: link.mac, dst: n.mac } };
    const outer0 = encapVxlan(inner, {
      src: vx.local,
      dst: fdb.dst,
      sport: vxlanSourcePort(inner, vx.srcportMin, vx.srcportMax),
      dport: vx.dstport,
      vni: vx.vni,
      ...(vx.ttl ? { ttl: vx.ttl } : {}),
    });
    // The tunnel keeps skb->mark within one netns (skb_scrub_packet with xnet=false); conntrack starts afresh.
    const outer: Packet = { ...outer0, mark: packet.mark };
    this.hop({
      layer: 'L2',
      at: this.at(h, link.name),
      component: 'vxlan',
      action: 'encapsulate',
      before: inner,
      after: outer,
      explanation: `${link.name} wraps the frame in VXLAN (VNI ${vx.vni}): outer ${vx.local} → ${fdb.dst}, UDP ${outer.l4?.kind === 'udp' ? outer.l4.sport : '?'} → ${vx.dstport} (source port from a hash of the inner flow); the inner packet is unchanged.`,
    });
    return this.emit(h, outer);
  }

  // ---- local delivery ---------------------------------------------------------------------------

  private deliverLocal(h: NetnsHandle, ifname: string, packet: Packet): WalkEnd {
    const place: Place = { kind: 'netns', nsKey: h.key };
    const l4 = packet.l4;
    // A UDP datagram to a VXLAN device's port on a local address is decapsulated (vxlan_rcv).
    if (packet.encap?.kind === 'vxlan' && l4?.kind === 'udp') {
      const dev = h.ns.links.find(
        (l) =>
          l.kind === 'vxlan' && l.vxlan && l.vxlan.dstport === l4.dport && l.vxlan.vni === packet.encap?.vni,
      );
      if (dev) {
        const inner = packet.encap.inner;
        this.hop({
          layer: 'L2',
          at: this.at(h, dev.name),
          component: 'vxlan',
          action: 'decapsulate',
          before: packet,
          after: inner,
          explanation: `UDP ${l4.dport} to a local address is the VXLAN socket: ${dev.name} (VNI ${dev.vxlan?.vni}) strips the outer headers and the inner frame enters ${dev.name} to be routed again.`,
        });
        return this.arrive(h.key, dev.name, inner);
      }
    }
    const to = h.pod ? `${h.pod.metadata.namespace ?? 'default'}/${h.pod.metadata.name}` : h.node;
    const port = l4 && l4.kind !== 'icmp' ? l4.dport : undefined;
    const delivered: Delivery = {
      to,
      ip: packet.ip.dst.toString(),
      ...(port !== undefined ? { port } : {}),
      observedSource: addrPort(packet, 's'),
    };
    if (this.mode === 'reply' || (l4?.kind === 'icmp' && l4.type !== 8)) {
      const home = this.origin?.kind === 'netns' && this.origin.nsKey === h.key;
      this.hop({
        layer: 'L4',
        at: this.at(h, ifname),
        component: 'socket',
        action: 'deliver',
        before: packet,
        after: packet,
        explanation: home
          ? `The answer reaches the original socket in ${h.owner}, from ${addrPort(packet, 's')}.`
          : `The packet is delivered to ${h.owner}.`,
      });
      return this.end('DELIVERED', `delivered to ${h.owner}`, { delivered, place, packet });
    }
    if (l4?.kind === 'icmp') {
      this.hop({
        layer: 'L4',
        at: this.at(h, ifname),
        component: 'socket',
        action: 'deliver',
        before: packet,
        after: packet,
        explanation: `${h.owner}'s kernel answers the ICMP echo request itself.`,
      });
      return this.end('DELIVERED', `the echo request reached ${h.owner}`, {
        delivered,
        place,
        packet,
        answer: { from: place, packet: replyTo(packet) },
      });
    }
    const proto = protoName(packet);
    const listener = this.world.listeners(h.key).find((l) => l.proto === proto && l.port === port);
    if (listener) {
      this.hop({
        layer: 'L4',
        at: this.at(h, ifname),
        component: 'socket',
        action: 'deliver',
        decidedBy: { kind: 'socket', text: `${proto?.toUpperCase()} *:${port} LISTEN (${listener.label})` },
        before: packet,
        after: packet,
        explanation: `A socket listens on ${proto}/${port} in ${h.owner}: delivered; it sees the source ${addrPort(packet, 's')}.`,
      });
      return this.end('DELIVERED', `delivered to ${listener.label}`, {
        delivered,
        place,
        packet,
        answer: { from: place, packet: replyTo(packet) },
      });
    }
    this.hop({
      layer: 'L4',
      at: this.at(h, ifname),
      component: 'socket',
      action: 'not listening',
      before: packet,
      after: packet,
      explanation: `Nothing listens on ${proto}/${port} in ${h.owner}: the kernel answers with ${proto === 'tcp' ? 'a TCP RST' : proto === 'udp' ? 'ICMP port unreachable' : 'nothing modelled'}.`,
    });
    let answer: Packet | undefined;
    if (proto === 'tcp') answer = rejectReply(packet, 'tcp-reset', packet.ip.dst);
    else if (proto === 'udp') answer = rejectReply(packet, 'icmp-port-unreachable', packet.ip.dst);
    return this.end('NOT_LISTENING', `nothing listens on ${proto}/${port} in ${h.owner}`, {
      delivered,
      place,
      packet,
      ...(answer ? { answer: { from: place, packet: answer } } : {}),
    });
  }

  // ---- outside the nodes: the underlay gateway, the external hosts, the cloud load balancer --------

  private router(packet: Packet, decrement: boolean): WalkEnd {
    const g = this.guard();
    if (g) return g;
    let p = packet;
    if (decrement) {
      if (p.ip.ttl <= 1)
        return this.end('TTL_EXCEEDED', 'the TTL ran out at the underlay gateway', { packet: p });
      p = { ...p, ip: { ...p.ip, ttl: p.ip.ttl - 1 } };
    }
    const flow = this.lbFlows.find(
      (f) =>
        f.proto === p.ip.protocol &&
        p.ip.src.equals(f.node) &&
        p.ip.dst.equals(f.seenSource) &&
        portsOf(p)?.sport === f.nodePort &&
        portsOf(p)?.dport === f.clientPort,
    );
    if (flow) return this.lbReverse(flow, p);
    const dst = p.ip.dst;
    if (this.world.vip(dst)) return this.lbIn(p);
    const seg = this.world.underlay.find((u) => u.subnet.cidr.contains(dst));
    if (seg?.subnet.gateway?.equals(dst)) return this.deliverGateway(dst, p);
    if (seg) {
      const member = this.world.underlaySegment(seg.segmentId)?.memberByIp(dst);
      this.hop({
        layer: 'L3',
        at: { netns: 'underlay', owner: `gateway ${seg.subnet.gateway ?? seg.subnet.cidr}` },
        component: 'underlay',
        action: 'route',
        ...(member
          ? { decidedBy: { kind: 'neighbour' as const, text: `${dst} lladdr ${member.mac} REACHABLE` } }
          : {}),
        before: packet,
        after: p,
        explanation: member
          ? `The underlay gateway routes ${dst} onto ${seg.subnet.cidr} and ARP finds it at ${member.label}.`
          : `The underlay gateway routes ${dst} onto ${seg.subnet.cidr}, but nothing there answers ARP for it.`,
      });
      if (!member?.at)
        return this.end('NO_NEIGHBOUR', `nothing on ${seg.subnet.cidr} owns ${dst}`, { packet: p });
      return this.arrive(member.at.nsKey, member.at.ifname, {
        ...p,
        eth: { src: seg.gatewayMac ?? '00:00:00:00:00:00', dst: member.mac },
      });
    }
    const ext = this.world.externals.find((e) => e.ip.equals(dst));
    if (ext) return this.deliverExternal(ext, p);
    return this.end(
      'NO_ROUTE',
      `the underlay gateway has no route to ${dst}: only the underlay subnets, load balancer VIPs and external hosts are reachable outside the nodes`,
      { packet: p },
    );
  }

  /** A packet for the gateway's own address: the router answers itself (it stands for its services, such as DNS). */
  private deliverGateway(ip: IPAddr, p: Packet): WalkEnd {
    const place: Place = { kind: 'gateway', ip };
    this.hop({
      layer: 'L4',
      at: { netns: 'underlay', owner: `gateway ${ip}` },
      component: 'socket',
      action: 'deliver',
      before: p,
      after: p,
      explanation:
        this.mode === 'reply'
          ? `The answer reaches the gateway ${ip}.`
          : `The underlay gateway ${ip} receives the packet from ${addrPort(p, 's')}; it stands for the router's own services and answers on any port.`,
    });
    const ports = portsOf(p);
    const delivered: Delivery = {
      to: `gateway ${ip}`,
      ip: ip.toString(),
      ...(ports ? { port: ports.dport } : {}),
      observedSource: addrPort(p, 's'),
    };
    const isErr = p.l4?.kind === 'icmp' && p.l4.type !== 8;
    return this.end('DELIVERED', `delivered to the gateway ${ip}`, {
      delivered,
      place,
      packet: p,
      ...(this.mode === 'request' && !isErr ? { answer: { from: place, packet: replyTo(p) } } : {}),
    });
  }

  private deliverExternal(ext: ExternalHost, p: Packet): WalkEnd {
    const place: Place = { kind: 'external', host: ext };
    this.hop({
      layer: 'L4',
      at: { netns: `external/${ext.name}`, owner: `external/${ext.name}` },
      component: 'socket',
      action: 'deliver',
      before: p,
      after: p,
      explanation:
        this.mode === 'reply'
          ? `The answer reaches ${ext.name}, which sees it come from ${addrPort(p, 's')}.`
          : `${ext.name} (${ext.ip}) receives the packet from ${addrPort(p, 's')}; an external host stands for any server and answers on any port.`,
    });
    const ports = portsOf(p);
    const delivered: Delivery = {
      to: `external/${ext.name}`,
      ip: p.ip.dst.toString(),
      ...(ports ? { port: ports.dport } : {}),
      observedSource: addrPort(p, 's'),
    };
    const isErr = p.l4?.kind === 'icmp' && p.l4.type !== 8;
    return this.end('DELIVERED', `delivered to external/${ext.name}`, {
      delivered,
      place,
      packet: p,
      ...(this.mode === 'request' && !isErr ? { answer: { from: place, packet: replyTo(p) } } : {}),
    });
  }

  /** The cloud load balancer: picks a healthy node for the VIP's port and forwards to its NodePort. */
  private lbIn(p: Packet): WalkEnd {
    const vip = this.world.vip(p.ip.dst);
    const ports = portsOf(p);
    const proto = (protoName(p) ?? '').toUpperCase();
    if (!vip || !ports)
      return this.end('DROPPED', `the load balancer at ${p.ip.dst} only forwards TCP/UDP/SCTP`, {
        packet: p,
      });
    const svc = vip.service;
    const sp = (svc.spec.ports ?? []).find((x) => x.port === ports.dport && (x.protocol ?? 'TCP') === proto);
    const at: HopLocation = { netns: 'lb', owner: `load-balancer ${vip.ip}` };
    if (!sp?.nodePort) {
      return this.end(
        'DROPPED',
        `the load balancer ${vip.ip} has no listener for ${ports.dport}/${proto} (svc/${svcKey(svc)})`,
        {
          packet: p,
        },
      );
    }
    const nodePort = sp.nodePort;
    const local = svc.spec.externalTrafficPolicy === 'Local';
    const hc = svc.spec.healthCheckNodePort;
    const nodes = this.world.state.nodeInfo.filter((n) => n.ready);
    const withEndpoint = local ? this.nodesWithLocalEndpoint(svcKey(svc)) : undefined;
    const healthy = nodes.filter((n) => !withEndpoint || withEndpoint.has(n.name));
    if (healthy.length === 0) {
      return this.end(
        'DROPPED',
        `the load balancer ${vip.ip} has no healthy node: every node fails the health check${hc ? ` on :${hc}` : ''}`,
        { packet: p },
      );
    }
    // The LB's choice follows the seed only: a forced endpoint (--endpoint) steers kube-proxy's choices, not the cloud's.
    const chosen = Math.min(healthy.length - 1, Math.floor(this.rng() * healthy.length));
    const target = healthy[chosen];
    if (!target) return this.end('DROPPED', 'no node chosen');
    const passes = new Set(healthy);
    const branches: Branch[] = nodes.map((n) => {
      const ok = passes.has(n);
      return {
        probability: ok ? 1 / healthy.length : 0,
        target: ok
          ? `${n.name} ${n.internalIP}:${nodePort}`
          : `${n.name} ${n.internalIP}:${nodePort} (fails the health check on :${hc ?? '?'}: no local ready endpoint)`,
        decidedBy: {
          kind: 'load-balancer',
          text: local
            ? `health check http://${n.internalIP}:${hc ?? '?'}/healthz → ${ok ? '200' : '503'}`
            : `health check tcp ${n.internalIP}:${nodePort} → ok`,
        },
        chosen: n === target,
      };
    });
    for (const b of branches) this.branches.push(b);
    const snat = this.world.state.config.loadBalancer.sourceMode === 'snat';
    const seenSource = snat ? vip.ip : p.ip.src;
    const out0 = withAddresses(p, seenSource, target.internalIP);
    const out = withPorts(out0, undefined, nodePort);
    this.lbFlows.push({
      client: p.ip.src,
      clientPort: ports.sport,
      vip: vip.ip,
      vport: ports.dport,
      node: target.internalIP,
      nodePort,
      seenSource,
      proto: p.ip.protocol,
    });
    this.hop({
      layer: 'L4',
      at,
      component: 'load-balancer',
      action: 'forward',
      decidedBy: {
        kind: 'load-balancer',
        text: `${vip.ip}:${ports.dport}/${proto} -> ${target.internalIP}:${nodePort} (${target.name})`,
      },
      before: p,
      after: out,
      explanation: `The cloud load balancer for svc/${svcKey(svc)} picks ${target.name} (${healthy.length} healthy of ${nodes.length}, ${formatProbability(1 / healthy.length)} each${local ? '; externalTrafficPolicy Local: only nodes with a local ready endpoint pass the health check' : ''}) and forwards to its NodePort ${nodePort}, ${snat ? `rewriting the source to its own ${vip.ip}` : 'keeping the client address as the source'}.`,
      branches,
    });
    return this.router(out, false);
  }

  private lbReverse(f: LbFlow, p: Packet): WalkEnd {
    const back = withPorts(withAddresses(p, f.vip, f.client), f.vport, undefined);
    this.hop({
      layer: 'L4',
      at: { netns: 'lb', owner: `load-balancer ${f.vip}` },
      component: 'load-balancer',
      action: 'reverse',
      decidedBy: {
        kind: 'load-balancer',
        text: `${f.node}:${f.nodePort} -> ${f.vip}:${f.vport} (flow of ${f.client.joinPort(f.clientPort)})`,
      },
      before: p,
      after: back,
      explanation: `The reply belongs to a flow the load balancer forwarded: it restores its VIP ${f.vip.joinPort(f.vport)} as the source${f.seenSource.equals(f.vip) ? ' and the client as the destination' : ''}.`,
    });
    return this.router(back, false);
  }

  /** Nodes holding a ready endpoint of the service: the ones whose healthCheckNodePort answers 200. */
  private nodesWithLocalEndpoint(svc: string): ReadonlySet<string> {
    const [ns, name] = svc.split('/');
    const out = new Set<string>();
    for (const s of this.world.state.endpointSlices) {
      if ((s.metadata.namespace ?? 'default') !== ns) continue;
      if (s.metadata.labels?.['kubernetes.io/service-name'] !== name) continue;
      for (const e of s.endpoints) if (e.nodeName && e.conditions?.ready !== false) out.add(e.nodeName);
    }
    return out;
  }
}

function portsOf(p: Packet): { sport: number; dport: number } | undefined {
  const l4 = p.l4;
  if (!l4 || l4.kind === 'icmp') return undefined;
  return { sport: l4.sport, dport: l4.dport };
}

function netfilterRoute(d: RouteDecision, dst: IPAddr): NetfilterRoute {
  switch (d.kind) {
    case 'local':
    case 'broadcast':
      return { kind: 'local' };
    case 'unicast':
      return { kind: 'forward', outIface: d.dev, nextHop: d.nextHop };
    case 'unreachable':
      return { kind: 'unreachable', reason: d.reason };
    case 'blackhole':
    case 'prohibit':
      return { kind: 'unreachable', reason: `${d.kind} route ${d.route.dst} for ${dst}` };
    case 'no-route':
      return {
        kind: 'unreachable',
        reason: `ip route get ${dst}: RTNETLINK answers: Network is unreachable`,
      };
  }
}

/** The source the kernel picks for a packet it originates toward `dst` (ICMP errors, resets). */
function routeSource(h: NetnsHandle, dst: IPAddr): IPAddr | undefined {
  const d = routeLookup(h.ns, dst);
  return d.kind === 'unicast' || d.kind === 'local' ? d.src : undefined;
}

// The netfilter hooks of one network namespace in the kernel's priority order, with conntrack and NAT where the
// kernel puts them. Routing is a callback: this module only knows what happens around the routing decision.
import type { IPAddr } from '../../net/ip.js';
import { IPPROTO, icmpQuoteLength, type Packet } from '../../net/packet.js';
import type { Ruleset, Table, TableName } from '../../node/iptables/types.js';
import {
  type ConntrackEntry,
  type ConntrackTable,
  type CtDir,
  type CtInfo,
  ctConfirm,
  ctCreate,
  ctLookup,
  ctNatPacket,
  ctReplace,
  ctSetNat,
  ctUpdate,
  pickSnatPort,
} from '../conntrack.js';
import type { AddrType, Hook, MatchContext, PhysdevInfo, RecentState } from './match.js';
import { type NatAction, REJECT_ICMP } from './target.js';
import { type Choice, type RuleRef, type TraversalResult, traverseChain } from './traverse.js';

export type NetfilterRoute =
  | { readonly kind: 'local' }
  | { readonly kind: 'forward'; readonly outIface: string; readonly nextHop?: IPAddr }
  | { readonly kind: 'unreachable'; readonly reason: string };

/** Where the packet enters netfilter. */
export type Arrival =
  /** Received on an interface and routed. */
  | { readonly kind: 'ingress'; readonly inIface: string }
  /** Sent by a local socket. */
  | { readonly kind: 'local-out' }
  /** A frame the bridge forwards between two ports (br_netfilter, net.bridge.bridge-nf-call-iptables=1). */
  | {
      readonly kind: 'bridged';
      readonly bridge: string;
      readonly physIn: string;
      /** The port the FDB picked; absent when the frame is addressed to the bridge itself. */
      readonly physOut?: string;
      /**
       * The frame's destination MAC is the bridge's own: unless DNAT changes the destination it goes up to
       * IP routing (br_pass_frame_up; ip_sabotage_in keeps PREROUTING from running twice).
       */
      readonly toHost?: boolean;
    };

export interface HookEnv {
  readonly ruleset: Ruleset;
  readonly conntrack: ConntrackTable;
  /** Seconds. */
  readonly now: number;
  readonly addrType: (ip: IPAddr, dev?: string) => AddrType;
  readonly route: (packet: Packet) => NetfilterRoute;
  /** The address MASQUERADE uses on an interface (the kernel's inet_select_addr: primary address, same subnet as the next hop preferred). */
  readonly masqueradeAddress: (outIface: string, nextHop?: IPAddr) => IPAddr | undefined;
  readonly ipset?: MatchContext['ipset'];
  readonly choice: Choice;
  /** Seed for --random-fully port choice. */
  readonly seed?: number;
  readonly recent?: RecentState;
  readonly nthCount?: (ruleId: string) => number;
  /** net.bridge.bridge-nf-call-iptables; bridged frames skip iptables when false. */
  readonly brNetfilter?: boolean;
  /** The MTU toward a forwarding decision (route mtu, else the device's); ip_forward checks it before FORWARD. */
  readonly mtu?: (outIface: string, nextHop?: IPAddr) => number | undefined;
}

export type HookStep =
  | {
      readonly kind: 'chain';
      readonly hook: Hook;
      readonly table: TableName;
      readonly chain: string;
      readonly result: TraversalResult;
      readonly before: Packet;
      readonly after: Packet;
    }
  | {
      readonly kind: 'conntrack';
      readonly hook: Hook;
      /** lookup: classified; nat: binding pinned; translate: binding applied; confirm: entry committed. */
      readonly action: 'lookup' | 'nat' | 'translate' | 'confirm';
      readonly state: CtInfo['state'];
      readonly entry?: ConntrackEntry;
      readonly before: Packet;
      readonly after: Packet;
    }
  | {
      readonly kind: 'route';
      readonly decision: NetfilterRoute;
      readonly packet: Packet;
      readonly reroute: boolean;
      /** For a forwarded packet: after ip_forward decremented its TTL. */
      readonly forwarded?: Packet;
    };

export type HookDisposition =
  | 'LOCAL_IN'
  | 'FORWARDED'
  | 'SENT'
  | 'BRIDGED'
  | 'DROPPED'
  | 'REJECTED'
  | 'NO_ROUTE'
  | 'TTL_EXCEEDED'
  /** A forwarded packet with DF set is larger than the outgoing MTU: ICMP fragmentation needed (ip_forward). */
  | 'MTU_EXCEEDED'
  | 'UNSUPPORTED';

export interface HookResult {
  readonly disposition: HookDisposition;
  readonly packet: Packet;
  readonly outIface?: string;
  readonly nextHop?: IPAddr;
  readonly conntrack: ConntrackTable;
  readonly recent?: RecentState;
  readonly steps: readonly HookStep[];
  /** The rule that dropped/rejected the packet, or could not be evaluated. */
  readonly rule?: RuleRef;
  readonly rejectWith?: string;
  readonly reason?: string;
}

interface Walk {
  packet: Packet;
  conntrack: ConntrackTable;
  recent: RecentState | undefined;
  steps: HookStep[];
  ct: CtInfo;
  entry: ConntrackEntry | undefined;
  dir: CtDir | undefined;
  /** The entry is new (unconfirmed): the nat table runs for it. */
  fresh: boolean;
  untracked: boolean;
  inIface: string | undefined;
  outIface: string | undefined;
  nextHop: IPAddr | undefined;
  physdev: PhysdevInfo | undefined;
}

type Stop = { stop: HookResult };

const builtinChains = new WeakMap<Ruleset, Map<string, Table>>();

/** The table holding `chain` as a built-in hook chain, indexed once per ruleset (`table/CHAIN` → table). */
function hookTable(rs: Ruleset, table: TableName, chain: string): Table | undefined {
  let idx = builtinChains.get(rs);
  if (!idx) {
    idx = new Map();
    for (const t of rs.tables) for (const c of t.chains) idx.set(`${t.name}/${c.name}`, t);
    builtinChains.set(rs, idx);
  }
  return idx.get(`${table}/${chain}`);
}

function finish(w: Walk, disposition: HookDisposition, extra: Partial<HookResult> = {}): HookResult {
  return {
    disposition,
    packet: w.packet,
    ...(w.outIface ? { outIface: w.outIface } : {}),
    ...(w.nextHop ? { nextHop: w.nextHop } : {}),
    conntrack: w.conntrack,
    ...(w.recent ? { recent: w.recent } : {}),
    steps: w.steps,
    ...extra,
  };
}

function ctInfoNow(w: Walk): CtInfo {
  if (w.untracked) return { state: 'UNTRACKED' };
  if (!w.entry) return w.ct;
  return { ...w.ct, entry: { ...w.entry, mark: w.packet.ctmark } };
}

/** Runs one table's chain at a hook; returns the stop result on DROP/REJECT/UNSUPPORTED, or the NAT action. */
function runTable(env: HookEnv, w: Walk, hook: Hook, table: TableName): Stop | { nat?: NatAction } {
  const t = hookTable(env.ruleset, table, hook);
  if (!t) return {};
  const ctx: MatchContext = {
    hook,
    ...(w.inIface !== undefined ? { inIface: w.inIface } : {}),
    ...(w.outIface !== undefined ? { outIface: w.outIface } : {}),
    addrType: env.addrType,
    ct: table === 'raw' ? { state: 'INVALID' } : ctInfoNow(w),
    ...(env.ipset ? { ipset: env.ipset } : {}),
    ...(w.physdev ? { physdev: w.physdev } : {}),
    ...(w.recent ? { recent: w.recent } : {}),
    now: env.now,
    ...(env.nthCount ? { nthCount: env.nthCount } : {}),
  };
  const before = w.packet;
  const res = traverseChain(t, hook, w.packet, ctx, env.choice);
  w.packet = res.packet;
  if (res.recent) w.recent = res.recent;
  if (res.notrack) w.untracked = true;
  w.steps.push({ kind: 'chain', hook, table, chain: hook, result: res, before, after: w.packet });
  const v = res.verdict;
  const last = res.matched[res.matched.length - 1];
  switch (v.kind) {
    case 'DROP':
      return { stop: finish(w, 'DROPPED', last ? { rule: last } : {}) };
    case 'POLICY':
      return v.policy === 'DROP'
        ? { stop: finish(w, 'DROPPED', { reason: `${table} ${hook} policy DROP` }) }
        : {};
    case 'REJECT':
      return { stop: finish(w, 'REJECTED', { rejectWith: v.with, ...(last ? { rule: last } : {}) }) };
    case 'UNSUPPORTED':
      return {
        stop: finish(w, 'UNSUPPORTED', { reason: v.reason, ...(v.rule ? { rule: v.rule } : {}) }),
      };
    case 'NAT':
      return { nat: v.action };
    default:
      return {};
  }
}

function conntrackIn(env: HookEnv, w: Walk, hook: Hook): void {
  const before = w.packet;
  if (w.untracked) {
    w.ct = { state: 'UNTRACKED' };
    w.steps.push({ kind: 'conntrack', hook, action: 'lookup', state: 'UNTRACKED', before, after: before });
    return;
  }
  const info = ctLookup(w.conntrack, w.packet, env.now);
  w.ct = info;
  if (info.state === 'INVALID') {
    w.steps.push({ kind: 'conntrack', hook, action: 'lookup', state: 'INVALID', before, after: before });
    return;
  }
  if (!info.entry) {
    w.entry = ctCreate(w.conntrack, w.packet, env.now);
    w.dir = 'ORIGINAL';
    w.fresh = true;
    // The new entry takes the next id now, so a fork that confirms it later stays consistent.
    w.conntrack = { ...w.conntrack, nextId: w.conntrack.nextId + 1 };
  } else if (info.state === 'RELATED') {
    w.entry = info.entry;
    w.dir = info.dir;
  } else {
    w.entry = ctUpdate(info.entry, w.packet, info.dir ?? 'ORIGINAL', env.now);
    w.dir = info.dir;
    w.conntrack = ctReplace(w.conntrack, w.entry);
  }
  w.ct = { state: info.state, ...(w.dir ? { dir: w.dir } : {}), entry: w.entry };
  w.packet = { ...w.packet, ctmark: w.entry.mark };
  w.steps.push({
    kind: 'conntrack',
    hook,
    action: 'lookup',
    state: info.state,
    entry: w.entry,
    before,
    after: w.packet,
  });
}

function unsupportedNat(w: Walk, reason: string): Stop {
  return { stop: finish(w, 'UNSUPPORTED', { reason }) };
}

/** nat table for a hook (first packet only), then the binding applied to this packet. */
function natHook(env: HookEnv, w: Walk, hook: Hook, manip: 'src' | 'dst'): Stop | undefined {
  if (w.untracked || !w.entry) return undefined;
  if (w.fresh) {
    const r = runTable(env, w, hook, 'nat');
    if ('stop' in r) return r;
    const a = r.nat;
    if (a) {
      const before = w.packet;
      if (a.type === 'DNAT') {
        if (manip !== 'dst') return unsupportedNat(w, `DNAT in ${hook}`);
        const addrs = a.to.addrs;
        if ((addrs && !addrs[0].equals(addrs[1])) || (a.to.ports && a.to.ports[0] !== a.to.ports[1])) {
          return unsupportedNat(
            w,
            'DNAT to an address or port range is not modelled (the kernel picks by hash)',
          );
        }
        w.entry = ctSetNat(w.entry, 'DNAT', addrs ? addrs[0] : w.packet.ip.dst, a.to.ports?.[0]);
      } else {
        if (manip !== 'src') return unsupportedNat(w, `${a.type} in ${hook}`);
        let addr: IPAddr | undefined;
        if (a.type === 'MASQUERADE' && hook !== 'POSTROUTING') {
          return unsupportedNat(w, `MASQUERADE in ${hook} (the kernel only allows it in POSTROUTING)`);
        }
        if (a.type === 'MASQUERADE') {
          addr = w.outIface ? env.masqueradeAddress(w.outIface, w.nextHop) : undefined;
          // MASQUERADE with no usable address on the outgoing interface drops the packet (NF_DROP).
          if (!addr)
            return {
              stop: finish(w, 'DROPPED', { reason: `MASQUERADE: no address on ${w.outIface ?? '?'}` }),
            };
        } else {
          const addrs = a.to.addrs;
          if (addrs && !addrs[0].equals(addrs[1])) {
            return unsupportedNat(w, 'SNAT to an address range is not modelled (the kernel picks by hash)');
          }
          addr = addrs ? addrs[0] : w.packet.ip.src;
        }
        const range = a.type === 'MASQUERADE' ? a.ports : a.to.ports;
        const port = pickSnatPort(w.conntrack, w.entry, addr, {
          randomFully: a.randomFully,
          seed: env.seed ?? 0,
          ...(range ? { range: [range[0], range[1]] as [number, number] } : {}),
        });
        w.entry = ctSetNat(w.entry, 'SNAT', addr, port);
      }
      w.ct = { ...w.ct, entry: w.entry };
      w.steps.push({
        kind: 'conntrack',
        hook,
        action: 'nat',
        state: w.ct.state,
        entry: w.entry,
        before,
        after: before,
      });
    }
  }
  if (!w.dir) return undefined;
  const before = w.packet;
  const after = ctNatPacket(w.entry, w.packet, w.dir, manip);
  if (
    !after.ip.src.equals(before.ip.src) ||
    !after.ip.dst.equals(before.ip.dst) ||
    portsDiffer(before, after)
  ) {
    w.packet = after;
    w.steps.push({
      kind: 'conntrack',
      hook,
      action: 'translate',
      state: w.ct.state,
      entry: w.entry,
      before,
      after,
    });
  }
  return undefined;
}

function portsDiffer(a: Packet, b: Packet): boolean {
  const x = a.l4;
  const y = b.l4;
  if (x === y) return false;
  if (x && y && x.kind !== 'icmp' && y.kind !== 'icmp') return x.sport !== y.sport || x.dport !== y.dport;
  // ICMP errors carry a quoted header that NAT rewrites too: compare the whole header.
  return JSON.stringify(x, bigintSafe) !== JSON.stringify(y, bigintSafe);
}

function bigintSafe(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object' && 'family' in v && 'value' in v) return String(v);
  return v;
}

function confirm(w: Walk, hook: Hook): void {
  if (w.untracked || !w.entry) return;
  const before = w.packet;
  // The ctmark CONNMARK wrote travels with the entry.
  const entry = { ...w.entry, mark: w.packet.ctmark };
  if (w.fresh) {
    w.conntrack = ctConfirm(w.conntrack, entry);
    w.steps.push({
      kind: 'conntrack',
      hook,
      action: 'confirm',
      state: w.ct.state,
      entry,
      before,
      after: before,
    });
  } else if (w.ct.state !== 'RELATED') {
    w.conntrack = ctReplace(w.conntrack, entry);
  }
}

function route(env: HookEnv, w: Walk, reroute: boolean): NetfilterRoute {
  const d = env.route(w.packet);
  w.steps.push({ kind: 'route', decision: d, packet: w.packet, reroute });
  return d;
}

function runAll(env: HookEnv, w: Walk, hook: Hook, tables: readonly TableName[]): Stop | undefined {
  for (const t of tables) {
    const r = runTable(env, w, hook, t);
    if ('stop' in r) return r;
    if (r.nat) return unsupportedNat(w, `${r.nat.type} in table ${t}`);
  }
  return undefined;
}

function postrouting(env: HookEnv, w: Walk, disposition: HookDisposition): HookResult {
  const s = runAll(env, w, 'POSTROUTING', ['mangle']) ?? natHook(env, w, 'POSTROUTING', 'src');
  if (s) return s.stop;
  confirm(w, 'POSTROUTING');
  return finish(w, disposition);
}

function localIn(env: HookEnv, w: Walk): HookResult {
  w.outIface = undefined;
  const s = runAll(env, w, 'INPUT', ['mangle', 'filter', 'security']) ?? natHook(env, w, 'INPUT', 'src');
  if (s) return s.stop;
  confirm(w, 'INPUT');
  return finish(w, 'LOCAL_IN');
}

/**
 * A packet to a local address leaves by lo and comes straight back in (loopback_xmit → ip_rcv) with its conntrack
 * entry attached and already confirmed: raw/mangle PREROUTING and mangle/filter INPUT see it, but the nat chains
 * are not consulted again (nf_nat_initialized) — checked against the kernel's rule counters.
 */
function loopback(env: HookEnv, w: Walk): HookResult {
  const s = runAll(env, w, 'POSTROUTING', ['mangle']) ?? natHook(env, w, 'POSTROUTING', 'src');
  if (s) return s.stop;
  confirm(w, 'POSTROUTING');
  w.fresh = false;
  w.inIface = 'lo';
  w.outIface = undefined;
  w.nextHop = undefined;
  const again = runAll(env, w, 'PREROUTING', ['raw', 'mangle']) ?? natHook(env, w, 'PREROUTING', 'dst');
  if (again) return again.stop;
  return localIn(env, w);
}

function forward(env: HookEnv, w: Walk, disposition: HookDisposition): HookResult {
  const s = runAll(env, w, 'FORWARD', ['mangle', 'filter', 'security']);
  if (s) return s.stop;
  return postrouting(env, w, disposition);
}

/**
 * Moves a packet through the netfilter hooks of one netns and returns each step. Ingress: raw PREROUTING,
 * conntrack, mangle PREROUTING, nat PREROUTING (first packet only), routing, then INPUT (mangle, filter, nat) or
 * FORWARD (mangle, filter) + POSTROUTING (mangle, nat), conntrack confirm. Local out: routing, raw/conntrack/
 * mangle/nat/filter OUTPUT, rerouting if the destination or mark changed, POSTROUTING. Bridged frames take the
 * same hooks with the bridge as in/out device and physdev information.
 */
export function netfilterHooks(env: HookEnv, packet: Packet, arrival: Arrival): HookResult {
  const w: Walk = {
    packet,
    conntrack: env.conntrack,
    recent: env.recent,
    steps: [],
    ct: { state: 'INVALID' },
    entry: undefined,
    dir: undefined,
    fresh: false,
    untracked: false,
    inIface: undefined,
    outIface: undefined,
    nextHop: undefined,
    physdev: undefined,
  };
  if (arrival.kind === 'local-out') {
    const d = route(env, w, false);
    if (d.kind === 'unreachable') return finish(w, 'NO_ROUTE', { reason: d.reason });
    w.outIface = d.kind === 'forward' ? d.outIface : 'lo';
    w.nextHop = d.kind === 'forward' ? d.nextHop : undefined;
    let s = runAll(env, w, 'OUTPUT', ['raw']);
    if (s) return s.stop;
    conntrackIn(env, w, 'OUTPUT');
    const before = w.packet;
    s =
      runAll(env, w, 'OUTPUT', ['mangle']) ??
      natHook(env, w, 'OUTPUT', 'dst') ??
      runAll(env, w, 'OUTPUT', ['filter', 'security']);
    if (s) return s.stop;
    // ip_route_me_harder: a changed destination or mark sends the packet through routing again.
    if (!before.ip.dst.equals(w.packet.ip.dst) || before.mark !== w.packet.mark) {
      const d2 = route(env, w, true);
      if (d2.kind === 'unreachable') return finish(w, 'NO_ROUTE', { reason: d2.reason });
      w.outIface = d2.kind === 'forward' ? d2.outIface : 'lo';
      w.nextHop = d2.kind === 'forward' ? d2.nextHop : undefined;
    }
    return w.outIface === 'lo' ? loopback(env, w) : postrouting(env, w, 'SENT');
  }
  if (arrival.kind === 'bridged') {
    if (!env.brNetfilter) {
      return finish(w, 'BRIDGED', { outIface: arrival.bridge });
    }
    w.inIface = arrival.bridge;
    w.physdev = { in: arrival.physIn };
  } else {
    w.inIface = arrival.inIface;
  }
  let s = runAll(env, w, 'PREROUTING', ['raw']);
  if (s) return s.stop;
  conntrackIn(env, w, 'PREROUTING');
  const before = w.packet;
  s = runAll(env, w, 'PREROUTING', ['mangle']) ?? natHook(env, w, 'PREROUTING', 'dst');
  if (s) return s.stop;
  const dnated = !before.ip.dst.equals(w.packet.ip.dst);
  if (arrival.kind === 'bridged' && !dnated && !arrival.toHost) {
    // br_netfilter: an un-NATed bridged frame stays on the bridge; FORWARD/POSTROUTING see both bridge ports.
    w.outIface = arrival.bridge;
    w.physdev = { in: arrival.physIn, ...(arrival.physOut ? { out: arrival.physOut } : {}) };
    return forward(env, w, 'BRIDGED');
  }
  const d = route(env, w, false);
  if (d.kind === 'unreachable') return finish(w, 'NO_ROUTE', { reason: d.reason });
  if (d.kind === 'local') return localIn(env, w);
  w.outIface = d.outIface;
  w.nextHop = d.nextHop;
  // br_nf_pre_routing_finish: a DNATed frame routed back out of its own bridge stays bridged (no TTL change).
  const bridgedDnat = arrival.kind === 'bridged' && dnated && d.outIface === arrival.bridge;
  if (bridgedDnat) {
    w.physdev = { in: arrival.physIn, ...(arrival.physOut ? { out: arrival.physOut } : {}) };
  } else {
    // ip_forward: TTL first (time exceeded at 1), then the MTU with DF set, then the decrement, then FORWARD.
    if (w.packet.ip.ttl <= 1) return finish(w, 'TTL_EXCEEDED');
    const mtu = env.mtu?.(d.outIface, d.nextHop);
    if (mtu !== undefined && w.packet.ip.df && w.packet.ip.totalLength > mtu) {
      return finish(w, 'MTU_EXCEEDED', {
        reason: `${w.packet.ip.totalLength} > mtu ${mtu} of ${d.outIface}`,
      });
    }
    w.packet = { ...w.packet, ip: { ...w.packet.ip, ttl: w.packet.ip.ttl - 1 } };
    // The routing step is where the trace shows the decrement.
    const last = w.steps.length - 1;
    const step = w.steps[last];
    if (step?.kind === 'route') w.steps[last] = { ...step, forwarded: w.packet };
  }
  return forward(env, w, bridgedDnat ? 'BRIDGED' : 'FORWARDED');
}

/**
 * The packet a REJECT sends back: an ICMP error quoting the rejected packet's header (from `src`, the address the
 * kernel's icmp_send picks), or for tcp-reset a RST from the original destination (nf_send_reset).
 */
export function rejectReply(rejected: Packet, withType: string, src: IPAddr): Packet {
  const ip = rejected.ip;
  const l4 = rejected.l4;
  if (withType === 'tcp-reset' && l4?.kind === 'tcp') {
    return {
      ip: { ...ip, src: ip.dst, dst: ip.src, ttl: 64, totalLength: (ip.version === 4 ? 20 : 40) + 20, id: 0 },
      l4: {
        kind: 'tcp',
        sport: l4.dport,
        dport: l4.sport,
        flags: l4.flags.includes('ACK') ? ['RST'] : ['RST', 'ACK'],
      },
      mark: 0,
      ctmark: 0,
      payloadLength: 0,
    };
  }
  const icmp = REJECT_ICMP[withType] ?? { type: 3, code: 3 };
  const quotedLen = icmpQuoteLength({ ip }, ip.version);
  return {
    ip: {
      ...ip,
      src,
      dst: ip.src,
      ttl: 64,
      protocol: ip.version === 4 ? IPPROTO.icmp : IPPROTO.icmpv6,
      df: false,
      tos: 0xc0,
      totalLength: (ip.version === 4 ? 20 : 40) + 8 + quotedLen,
    },
    l4: { kind: 'icmp', type: icmp.type, code: icmp.code, quoted: { ip, ...(l4 ? { l4 } : {}) } },
    mark: 0,
    ctmark: 0,
    payloadLength: 0,
  };
}

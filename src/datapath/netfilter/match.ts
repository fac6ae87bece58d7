// Match semantics of the iptables base matches and the match extensions the Kubernetes agents use, as the
// kernel's xt_* modules evaluate them.
import { IPAddr, Prefix } from '../../net/ip.js';
import { IPPROTO, type Packet, ports, type TcpFlag } from '../../net/packet.js';
import type { Rule, RuleOption } from '../../node/iptables/types.js';
import type { CtInfo } from '../conntrack.js';
import { type BaseMatch, type ModuleMatch, type StructuredRule, structureRule } from './rule.js';

export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** Route types as `-m addrtype` names them (RTN_*). */
export type AddrType =
  | 'UNSPEC'
  | 'UNICAST'
  | 'LOCAL'
  | 'BROADCAST'
  | 'ANYCAST'
  | 'MULTICAST'
  | 'BLACKHOLE'
  | 'UNREACHABLE'
  | 'PROHIBIT'
  | 'THROW'
  | 'NAT'
  | 'XRESOLVE';

/** Bridge ports of a bridged frame (br_netfilter); absent for routed packets. */
export interface PhysdevInfo {
  readonly in?: string;
  readonly out?: string;
}

/** xt_recent lists: list name → address → timestamps (seconds), oldest first. */
export type RecentState = ReadonlyMap<string, ReadonlyMap<string, readonly number[]>>;

export const EMPTY_RECENT: RecentState = new Map();

export interface MatchContext {
  readonly hook: Hook;
  readonly inIface?: string;
  readonly outIface?: string;
  /** The route type of an address in this netns (`dev` set for --limit-iface-in/out). Routing lives elsewhere. */
  readonly addrType?: (ip: IPAddr, dev?: string) => AddrType;
  readonly ct: CtInfo;
  /** ipset membership: the packet's parts picked by `dirs` (src/dst per set dimension); undefined = no such set. */
  readonly ipset?: (name: string, dirs: readonly ('src' | 'dst')[], packet: Packet) => boolean | undefined;
  readonly physdev?: PhysdevInfo;
  readonly recent?: RecentState;
  /** Seconds; used by `recent`. */
  readonly now?: number;
  /** How many packets already reached this `statistic --mode nth` rule. */
  readonly nthCount?: (ruleId: string) => number;
  /** Identity of the rule being evaluated (`table/chain/number`), for per-rule counters. */
  readonly ruleId?: string;
}

export type MatchResult =
  | { readonly kind: 'match'; readonly recent?: RecentState; readonly nthHit?: string }
  | { readonly kind: 'nomatch'; readonly recent?: RecentState; readonly nthHit?: string }
  /** Every other condition holds; `statistic --mode random` decides with this probability. */
  | { readonly kind: 'random'; readonly probability: number }
  | { readonly kind: 'unsupported'; readonly reason: string };

class Unsupported extends Error {}

function unsupported(reason: string): never {
  throw new Unsupported(reason);
}

const PROTO_NUMBERS: Readonly<Record<string, number>> = {
  tcp: 6,
  udp: 17,
  sctp: 132,
  icmp: 1,
  icmpv6: 58,
  'ipv6-icmp': 58,
  esp: 50,
  ah: 51,
  gre: 47,
  ipip: 4,
  udplite: 136,
  dccp: 33,
};

function protoNumber(name: string): number | 'all' {
  const n = name.toLowerCase();
  if (n === 'all' || n === '0') return 'all';
  if (/^\d+$/.test(n)) return Number(n);
  const v = PROTO_NUMBERS[n];
  if (v === undefined) unsupported(`protocol "${name}" is not modelled`);
  return v;
}

const addressMatches = new Map<string, Prefix>();

/** `10.0.0.0/8`, `10.0.0.1`, or the mask form `10.0.0.0/255.0.0.0` iptables also accepts. */
export function parseAddressMatch(text: string): Prefix {
  // Rules are evaluated far more often than they change: parse each address text once.
  const hit = addressMatches.get(text);
  if (hit) return hit;
  const p = parseAddressMatchText(text);
  if (addressMatches.size < 1_000_000) addressMatches.set(text, p);
  return p;
}

function parseAddressMatchText(text: string): Prefix {
  const p = Prefix.tryParse(text);
  if (p) return p;
  const [a, m] = text.split('/');
  const addr = a ? IPAddr.tryParse(a) : undefined;
  const mask = m ? IPAddr.tryParse(m) : undefined;
  if (addr && mask && mask.family === addr.family) {
    const bits = mask.value.toString(2).padStart(addr.bits, '0');
    if (/^1*0*$/.test(bits)) return Prefix.of(addr, bits.indexOf('0') < 0 ? addr.bits : bits.indexOf('0'));
  }
  return unsupported(
    `address "${text}" is not an address or CIDR (host names and non-contiguous masks are not modelled)`,
  );
}

/** Interface name match with the `+` wildcard (`veth+` matches every name starting with `veth`). */
export function ifaceMatches(pattern: string, name: string | undefined): boolean {
  const n = name ?? '';
  if (pattern.endsWith('+')) return n.startsWith(pattern.slice(0, -1));
  return n === pattern;
}

function baseMatches(m: BaseMatch, p: Packet, ctx: MatchContext): boolean {
  let r: boolean;
  switch (m.field) {
    case 'src':
    case 'dst': {
      const pre = parseAddressMatch(m.value);
      r = pre.contains(m.field === 'src' ? p.ip.src : p.ip.dst);
      break;
    }
    case 'in':
      r = ifaceMatches(m.value, ctx.inIface);
      break;
    case 'out':
      r = ifaceMatches(m.value, ctx.outIface);
      break;
    case 'proto': {
      const n = protoNumber(m.value);
      r = n === 'all' || p.ip.protocol === n;
      break;
    }
    case 'fragment':
      r = (p.ip.fragOffset ?? 0) > 0;
      break;
  }
  return r !== m.negated;
}

function parseNumber(text: string): number {
  const v = text.startsWith('0x') || text.startsWith('0X') ? Number.parseInt(text, 16) : Number(text);
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) unsupported(`"${text}" is not a 32-bit number`);
  return v >>> 0;
}

/** `value[/mask]` as the mark and connmark matches read it (mask defaults to 0xffffffff). */
const valueMasks = new Map<string, { value: number; mask: number }>();

export function parseValueMask(text: string): { value: number; mask: number } {
  const hit = valueMasks.get(text);
  if (hit) return hit;
  const [v, m] = text.split('/');
  const r = { value: parseNumber(v ?? ''), mask: m === undefined ? 0xffffffff : parseNumber(m) };
  if (valueMasks.size < 100_000) valueMasks.set(text, r);
  return r;
}

function parsePort(text: string): number {
  if (!/^\d+$/.test(text)) unsupported(`port "${text}" is not numeric (service names are not modelled)`);
  const n = Number(text);
  if (n > 65535) unsupported(`port ${n} out of range`);
  return n;
}

/** `80`, `1000:2000`, `:1023`, `1024:` as the tcp/udp/multiport matches read them. */
export function parsePortRange(text: string): [number, number] {
  const i = text.indexOf(':');
  if (i < 0) {
    const p = parsePort(text);
    return [p, p];
  }
  const lo = i === 0 ? 0 : parsePort(text.slice(0, i));
  const hi = i === text.length - 1 ? 65535 : parsePort(text.slice(i + 1));
  return [lo, hi];
}

function inRange(port: number, [lo, hi]: [number, number]): boolean {
  return port >= lo && port <= hi;
}

const TCP_FLAG_NAMES: Readonly<Record<string, readonly TcpFlag[]>> = {
  SYN: ['SYN'],
  ACK: ['ACK'],
  FIN: ['FIN'],
  RST: ['RST'],
  URG: ['URG'],
  PSH: ['PSH'],
  ALL: ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'],
  NONE: [],
};

function parseTcpFlags(text: string): Set<TcpFlag> {
  const out = new Set<TcpFlag>();
  for (const w of text.split(',')) {
    const f = TCP_FLAG_NAMES[w.toUpperCase()];
    if (!f) unsupported(`TCP flag "${w}" is not known`);
    for (const x of f) out.add(x);
  }
  return out;
}

const ICMP_TYPES: Readonly<Record<string, [number, number | undefined]>> = {
  any: [-1, undefined],
  'echo-reply': [0, undefined],
  pong: [0, undefined],
  'destination-unreachable': [3, undefined],
  'network-unreachable': [3, 0],
  'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2],
  'port-unreachable': [3, 3],
  'fragmentation-needed': [3, 4],
  'source-route-failed': [3, 5],
  'network-unknown': [3, 6],
  'host-unknown': [3, 7],
  'network-prohibited': [3, 9],
  'host-prohibited': [3, 10],
  'TOS-network-unreachable': [3, 11],
  'TOS-host-unreachable': [3, 12],
  'communication-prohibited': [3, 13],
  'host-precedence-violation': [3, 14],
  'precedence-cutoff': [3, 15],
  'source-quench': [4, undefined],
  redirect: [5, undefined],
  'echo-request': [8, undefined],
  ping: [8, undefined],
  'router-advertisement': [9, undefined],
  'router-solicitation': [10, undefined],
  'time-exceeded': [11, undefined],
  'ttl-exceeded': [11, undefined],
  'ttl-zero-during-transit': [11, 0],
  'ttl-zero-during-reassembly': [11, 1],
  'parameter-problem': [12, undefined],
  'timestamp-request': [13, undefined],
  'timestamp-reply': [14, undefined],
  'address-mask-request': [17, undefined],
  'address-mask-reply': [18, undefined],
};

function icmpTypeMatches(text: string, p: Packet): boolean {
  const l4 = p.l4;
  if (l4?.kind !== 'icmp') return false;
  let type: number;
  let code: number | undefined;
  const named = ICMP_TYPES[text];
  if (named) [type, code] = named;
  else if (/^\d+(\/\d+)?$/.test(text)) {
    const [t, c] = text.split('/');
    type = Number(t);
    code = c === undefined ? undefined : Number(c);
  } else return unsupported(`ICMP type "${text}" is not known`);
  if (type === -1) return true;
  return l4.type === type && (code === undefined || l4.code === code);
}

function optArg(o: RuleOption, i = 0): string {
  const a = o.args[i];
  if (a === undefined) unsupported(`option ${o.flag} lacks an argument`);
  return a;
}

const STATE_NAMES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'SNAT', 'DNAT'];

function ctBits(ct: CtInfo): Set<string> {
  const s = new Set<string>([ct.state]);
  if (ct.entry?.status.snat) s.add('SNAT');
  if (ct.entry?.status.dnat) s.add('DNAT');
  return s;
}

function statusBits(ct: CtInfo): Set<string> {
  const s = new Set<string>();
  const st = ct.entry?.status;
  if (!st) return s;
  if (st.seenReply) s.add('SEEN_REPLY');
  if (st.assured) s.add('ASSURED');
  if (st.confirmed) s.add('CONFIRMED');
  if (!st.seenReply && !st.assured && !st.confirmed) s.add('NONE');
  return s;
}

function conntrackOption(o: RuleOption, ctx: MatchContext): boolean {
  const ct = ctx.ct;
  switch (o.flag) {
    case '--ctstate':
    case '--state': {
      const want = optArg(o).split(',');
      const have = ctBits(ct);
      // -m state knows only the five real states; the SNAT/DNAT virtual states are conntrack's.
      const known = o.flag === '--state' ? STATE_NAMES.slice(0, 5) : STATE_NAMES;
      for (const w of want) {
        if (!known.includes(w)) {
          unsupported(`conntrack state "${w}" is not known`);
        }
      }
      return want.some((w) => have.has(w)) !== o.negated;
    }
    case '--ctstatus': {
      const have = statusBits(ct);
      return (
        optArg(o)
          .split(',')
          .some((w) => have.has(w)) !== o.negated
      );
    }
    case '--ctdir':
      if (!ct.dir) return false;
      return (optArg(o).toUpperCase() === ct.dir) !== o.negated;
  }
  const e = ct.entry;
  // Without a conntrack entry the kernel's conntrack match fails every non-state test.
  if (!e) return false;
  switch (o.flag) {
    case '--ctproto': {
      const n = protoNumber(optArg(o));
      return (n === 'all' || e.orig.proto === n) !== o.negated;
    }
    case '--ctorigsrc':
      return parseAddressMatch(optArg(o)).contains(e.orig.src) !== o.negated;
    case '--ctorigdst':
      return parseAddressMatch(optArg(o)).contains(e.orig.dst) !== o.negated;
    case '--ctreplsrc':
      return parseAddressMatch(optArg(o)).contains(e.reply.src) !== o.negated;
    case '--ctrepldst':
      return parseAddressMatch(optArg(o)).contains(e.reply.dst) !== o.negated;
    case '--ctorigsrcport':
      return inRange(e.orig.sport, parsePortRange(optArg(o))) !== o.negated;
    case '--ctorigdstport':
      return inRange(e.orig.dport, parsePortRange(optArg(o))) !== o.negated;
    case '--ctreplsrcport':
      return inRange(e.reply.sport, parsePortRange(optArg(o))) !== o.negated;
    case '--ctrepldstport':
      return inRange(e.reply.dport, parsePortRange(optArg(o))) !== o.negated;
  }
  return unsupported(`conntrack option ${o.flag} is not modelled`);
}

function physdevMatches(m: ModuleMatch, ctx: MatchContext): boolean {
  const opts = new Map(m.options.map((o) => [o.flag, o]));
  const bridged = ctx.physdev;
  if (!bridged) {
    // xt_physdev on a routed packet: matches only when every option used is inverted.
    return m.options.every((o) => o.negated);
  }
  const bo = opts.get('--physdev-is-bridged');
  if (bo && (bridged.out !== undefined) === bo.negated) return false;
  const io = opts.get('--physdev-is-in');
  if (io && (bridged.in !== undefined) === io.negated) return false;
  const oo = opts.get('--physdev-is-out');
  if (oo && (bridged.out !== undefined) === oo.negated) return false;
  const inOpt = opts.get('--physdev-in');
  if (inOpt && bridged.in !== undefined && ifaceMatches(optArg(inOpt), bridged.in) === inOpt.negated)
    return false;
  const outOpt = opts.get('--physdev-out');
  if (outOpt) {
    if (bridged.out === undefined) return false;
    return ifaceMatches(optArg(outOpt), bridged.out) !== outOpt.negated;
  }
  return true;
}

function parseRange(text: string): [IPAddr, IPAddr] {
  const [a, b] = text.split('-');
  const lo = a ? IPAddr.tryParse(a) : undefined;
  const hi = b === undefined ? lo : IPAddr.tryParse(b);
  if (!lo || !hi) return unsupported(`address range "${text}" is not valid`);
  return [lo, hi];
}

function addrInRange(ip: IPAddr, [lo, hi]: [IPAddr, IPAddr]): boolean {
  return ip.family === lo.family && ip.compare(lo) >= 0 && ip.compare(hi) <= 0;
}

const ADDR_TYPES = new Set<string>([
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
]);

function recentMatch(m: ModuleMatch, p: Packet, ctx: MatchContext): { ok: boolean; recent: RecentState } {
  const flags = new Map(m.options.map((o) => [o.flag, o]));
  const name = flags.get('--name')?.args[0] ?? 'DEFAULT';
  const modes = ['--set', '--rcheck', '--update', '--remove'].filter((f) => flags.has(f));
  if (modes.length !== 1) unsupported('recent needs exactly one of --set/--rcheck/--update/--remove');
  if (flags.has('--rttl')) unsupported('recent --rttl is not modelled');
  const mode = modes[0] as string;
  const invert = m.options.some(
    (o) => ['--set', '--rcheck', '--update', '--remove'].includes(o.flag) && o.negated,
  );
  const useDst = flags.has('--rdest');
  let addr = useDst ? p.ip.dst : p.ip.src;
  const maskOpt = flags.get('--mask');
  if (maskOpt) {
    const mask = IPAddr.tryParse(optArg(maskOpt));
    if (!mask || mask.family !== addr.family)
      unsupported(`recent --mask "${maskOpt.args[0] ?? ''}" is not valid`);
    addr = IPAddr.fromBigInt(addr.family, addr.value & mask.value);
  }
  const now = ctx.now ?? 0;
  const seconds = Number(flags.get('--seconds')?.args[0] ?? 0);
  const hitcount = Number(flags.get('--hitcount')?.args[0] ?? 0);
  const state = ctx.recent ?? EMPTY_RECENT;
  const list = new Map(state.get(name) ?? []);
  const key = addr.toString();
  const stamps = list.get(key);
  let ret = invert;
  // xt_recent keeps at most ip_pkt_list_tot (default 20) timestamps per address.
  const touch = () => list.set(key, [...(list.get(key) ?? []), now].slice(-20));
  if (mode === '--set') {
    touch();
    ret = !ret;
  } else if (stamps) {
    if (mode === '--remove') {
      list.delete(key);
      ret = !ret;
    } else {
      let hits = 0;
      for (const t of stamps) {
        if (seconds && t < now - seconds) continue;
        if (!hitcount || ++hits >= hitcount) {
          ret = !ret;
          break;
        }
      }
      if (flags.has('--reap') && seconds) {
        for (const [k, v] of list) if ((v[v.length - 1] ?? 0) < now - seconds) list.delete(k);
      }
      if (mode === '--update' && ret !== invert) touch();
    }
  }
  const next = new Map(state);
  next.set(name, list);
  return { ok: ret, recent: next };
}

/** Kernel statistic: `--probability p` is stored as round(p·2^31) and compared with a 31-bit random number. */
export function kernelProbability(text: string): number {
  const p = Number(text);
  if (!Number.isFinite(p) || p < 0 || p > 1) unsupported(`probability "${text}" is not valid`);
  return Math.round(p * 0x80000000) / 0x80000000;
}

interface ModuleEval {
  ok: boolean;
  random?: number;
  recent?: RecentState;
  nthHit?: string;
}

function moduleMatches(
  m: ModuleMatch,
  p: Packet,
  ctx: MatchContext,
  recent: RecentState | undefined,
): ModuleEval {
  const all = (f: (o: RuleOption) => boolean): ModuleEval => ({ ok: m.options.every(f) });
  switch (m.module) {
    case 'comment':
    case 'nfacct':
      return { ok: true };
    case 'limit':
      // xt_limit's token bucket starts full (--limit-burst tokens), so the packet of a trace is within the limit.
      return { ok: !m.options.some((o) => o.negated) };
    case 'tcp':
    case 'udp':
    case 'sctp': {
      const l4 = p.l4;
      if (!l4 || l4.kind !== m.module) return { ok: false };
      return all((o) => {
        switch (o.flag) {
          case '--sport':
          case '--source-port':
            return inRange(l4.sport, parsePortRange(optArg(o))) !== o.negated;
          case '--dport':
          case '--destination-port':
            return inRange(l4.dport, parsePortRange(optArg(o))) !== o.negated;
          case '--tcp-flags': {
            if (l4.kind !== 'tcp') return false;
            const mask = parseTcpFlags(optArg(o, 0));
            const comp = parseTcpFlags(optArg(o, 1));
            const ok = [...mask].every((f) => l4.flags.includes(f) === comp.has(f));
            return ok !== o.negated;
          }
          case '--syn': {
            if (l4.kind !== 'tcp') return false;
            const f = l4.flags;
            const ok = f.includes('SYN') && !f.includes('ACK') && !f.includes('RST') && !f.includes('FIN');
            return ok !== o.negated;
          }
        }
        return unsupported(`${m.module} option ${o.flag} is not modelled`);
      });
    }
    case 'icmp':
      if (p.ip.protocol !== IPPROTO.icmp) return { ok: false };
      return all((o) => icmpTypeMatches(optArg(o), p) !== o.negated);
    case 'icmp6':
      return unsupported('icmp6 type matching is not modelled');
    case 'multiport': {
      const pp = ports(p);
      if (!pp) return { ok: false };
      return all((o) => {
        const ranges = optArg(o).split(',').map(parsePortRange);
        const hit = (port: number) => ranges.some((r) => inRange(port, r));
        let ok: boolean;
        if (o.flag === '--sports' || o.flag === '--source-ports') ok = hit(pp.sport);
        else if (o.flag === '--dports' || o.flag === '--destination-ports') ok = hit(pp.dport);
        else ok = hit(pp.sport) || hit(pp.dport);
        return ok !== o.negated;
      });
    }
    case 'addrtype': {
      const lookup = ctx.addrType;
      if (!lookup) return unsupported('addrtype needs the netns address types');
      const limitIn = m.options.some((o) => o.flag === '--limit-iface-in');
      const limitOut = m.options.some((o) => o.flag === '--limit-iface-out');
      const dev = limitIn ? ctx.inIface : limitOut ? ctx.outIface : undefined;
      return all((o) => {
        if (o.flag === '--limit-iface-in' || o.flag === '--limit-iface-out') return true;
        const types = optArg(o).split(',');
        for (const t of types) if (!ADDR_TYPES.has(t)) unsupported(`address type "${t}" is not known`);
        const ip = o.flag === '--src-type' ? p.ip.src : p.ip.dst;
        return types.includes(lookup(ip, dev)) !== o.negated;
      });
    }
    case 'mark':
    case 'connmark':
      return all((o) => {
        const { value, mask } = parseValueMask(optArg(o));
        const have = m.module === 'mark' ? p.mark : p.ctmark;
        return ((have & mask) >>> 0 === value) !== o.negated;
      });
    case 'conntrack':
    case 'state':
      return all((o) => conntrackOption(o, ctx));
    case 'statistic': {
      const flags = new Map(m.options.map((o) => [o.flag, o]));
      const mode = flags.get('--mode')?.args[0];
      if (mode === 'random') {
        const po = flags.get('--probability');
        if (!po) return unsupported('statistic --mode random without --probability');
        const prob = kernelProbability(optArg(po));
        return { ok: true, random: po.negated ? 1 - prob : prob };
      }
      if (mode === 'nth') {
        const every = Number(flags.get('--every')?.args[0] ?? Number.NaN);
        const packet = Number(flags.get('--packet')?.args[0] ?? 0);
        if (!Number.isInteger(every) || every < 1) return unsupported('statistic --mode nth needs --every');
        if (!ctx.nthCount || !ctx.ruleId)
          return unsupported('statistic --mode nth needs per-rule packet counters');
        // xt_statistic nth: the k-th packet reaching the rule (from 0) matches when k mod every == packet.
        const k = ctx.nthCount(ctx.ruleId);
        const hit = k % every === packet;
        const neg = flags.get('--every')?.negated === true;
        return { ok: hit !== neg, nthHit: ctx.ruleId };
      }
      return unsupported(`statistic mode "${mode ?? ''}" is not modelled`);
    }
    case 'recent': {
      const r = recentMatch(m, p, { ...ctx, recent: recent ?? ctx.recent ?? EMPTY_RECENT });
      return { ok: r.ok, recent: r.recent };
    }
    case 'set':
      return all((o) => {
        if (o.flag !== '--match-set' && o.flag !== '--set')
          return unsupported(`set option ${o.flag} is not modelled`);
        const name = optArg(o, 0);
        const dirs = optArg(o, 1).split(',');
        for (const d of dirs) if (d !== 'src' && d !== 'dst') unsupported(`set flag "${d}" is not valid`);
        if (!ctx.ipset) return unsupported(`ipset "${name}" membership is not available`);
        const member = ctx.ipset(name, dirs as ('src' | 'dst')[], p);
        if (member === undefined) return unsupported(`ipset "${name}" does not exist`);
        return member !== o.negated;
      });
    case 'physdev':
      return { ok: physdevMatches(m, ctx) };
    case 'iprange':
      return all((o) => {
        const ip = o.flag === '--src-range' ? p.ip.src : p.ip.dst;
        return addrInRange(ip, parseRange(optArg(o))) !== o.negated;
      });
    case 'mac':
      return all((o) => {
        const src = p.eth?.src;
        if (!src) return false;
        return (src.toLowerCase() === optArg(o).toLowerCase()) !== o.negated;
      });
  }
  return unsupported(`match module "${m.module}" is not modelled`);
}

/**
 * Whether a rule matches a packet. A rule with `statistic --mode random` returns `random` (every other
 * condition holds) unless `randomDecision` settles it. Effects (`recent` lists, `nth` counters) come back as data.
 */
export function matchRule(
  rule: Rule | StructuredRule,
  packet: Packet,
  ctx: MatchContext,
  randomDecision?: boolean,
): MatchResult {
  let s: StructuredRule;
  if ('options' in rule) {
    const r = structureRule(rule);
    if (!r.ok) return { kind: 'unsupported', reason: r.reason };
    s = r.rule;
  } else s = rule;
  try {
    for (const b of s.base) {
      if (b.field === 'src' || b.field === 'dst') {
        const pre = parseAddressMatch(b.value);
        if (pre.family !== packet.ip.version) return { kind: 'nomatch' };
      }
      if (!baseMatches(b, packet, ctx)) return { kind: 'nomatch' };
    }
    let recent: RecentState | undefined;
    let nthHit: string | undefined;
    let probability: number | undefined;
    for (const m of s.modules) {
      const r = moduleMatches(m, packet, ctx, recent);
      if (r.recent) recent = r.recent;
      if (r.nthHit) nthHit = r.nthHit;
      if (r.random !== undefined) {
        if (randomDecision === undefined) {
          probability = r.random;
          continue;
        }
        if (!randomDecision)
          return { kind: 'nomatch', ...(recent ? { recent } : {}), ...(nthHit ? { nthHit } : {}) };
        continue;
      }
      if (!r.ok) return { kind: 'nomatch', ...(recent ? { recent } : {}), ...(nthHit ? { nthHit } : {}) };
    }
    if (probability !== undefined) return { kind: 'random', probability };
    return { kind: 'match', ...(recent ? { recent } : {}), ...(nthHit ? { nthHit } : {}) };
  } catch (e) {
    if (e instanceof Unsupported) return { kind: 'unsupported', reason: e.message };
    throw e;
  }
}

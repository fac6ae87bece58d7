// The `-m` matches kpath knows (those kube-proxy, flannel, the CNI bridge plugin, Calico and
// kube-router write), each turning its options into the order and spelling iptables-save prints
// (the extension's save function in iptables 1.8.9, nf_tables backend).
import { arg, type Extension, type ExtensionContext, extension, opt } from './extension.js';
import { protocolNumber } from './protocols.js';
import type { RuleOption } from './types.js';
import {
  formatHostOrNet,
  formatPortRange,
  hex,
  IptablesRuleError,
  parseAddrMask,
  parseMarkMask,
  parsePortRange,
  parseUint,
  parseV4,
  v4Text,
} from './values.js';
import { needsQuotes } from './words.js';

type Opts = ReadonlyMap<string, RuleOption>;

/** Adds a port option; returns false when it was a negated full range, which iptables-nft drops. */
function ports(o: RuleOption | undefined, flag: string, out: RuleOption[]): boolean {
  if (!o) return true;
  const r = parsePortRange(arg(o));
  // iptables-nft stores no port match for the full range 0:65535 (a negated one drops the whole match).
  if (r[0] === 0 && r[1] === 65535) return !o.negated;
  out.push(opt(flag, [formatPortRange(r)], o.negated));
  return true;
}

const TCP_FLAGS: readonly (readonly [string, number])[] = [
  ['FIN', 1],
  ['SYN', 2],
  ['RST', 4],
  ['PSH', 8],
  ['ACK', 16],
  ['URG', 32],
];

function parseTcpFlags(text: string): number {
  let v = 0;
  for (const part of text.split(',')) {
    const p = part.toUpperCase();
    if (p === 'ALL') v |= 63;
    else if (p === 'NONE') continue;
    else {
      const f = TCP_FLAGS.find(([n]) => n === p);
      if (!f) throw new IptablesRuleError(`Unknown TCP flag "${part}"`);
      v |= f[1];
    }
  }
  return v;
}

function formatTcpFlags(v: number): string {
  if (v === 0) return 'NONE';
  return TCP_FLAGS.filter(([, b]) => v & b)
    .map(([n]) => n)
    .join(',');
}

const tcp = extension(
  [
    ['--sport', '--source-port'],
    ['--dport', '--destination-port'],
    ['--tcp-flags'],
    ['--syn'],
    ['--tcp-option'],
  ],
  ['--sport', '--dport', '--tcp-flags', '--syn', '--tcp-option'],
  (o) => {
    const out: RuleOption[] = [];
    const kept = ports(o.get('--sport'), '--sport', out) && ports(o.get('--dport'), '--dport', out);
    const option = o.get('--tcp-option');
    if (option)
      out.push(opt('--tcp-option', [String(parseUint(arg(option), 'TCP option', 255))], option.negated));
    const syn = o.get('--syn');
    const flags = o.get('--tcp-flags');
    if (syn && flags) throw new IptablesRuleError('tcp: only one of --syn or --tcp-flags allowed');
    // --syn is stored as --tcp-flags FIN,SYN,RST,ACK SYN.
    if (syn) out.push(opt('--tcp-flags', ['FIN,SYN,RST,ACK', 'SYN'], syn.negated));
    if (flags) {
      const mask = parseTcpFlags(arg(flags, 0));
      const cmp = parseTcpFlags(arg(flags, 1));
      out.push(opt('--tcp-flags', [formatTcpFlags(mask), formatTcpFlags(cmp)], flags.negated));
    }
    return kept || out.length > 0 ? out : null;
  },
);

const udp = extension(
  [
    ['--sport', '--source-port'],
    ['--dport', '--destination-port'],
  ],
  ['--sport', '--dport'],
  (o) => {
    const out: RuleOption[] = [];
    const kept = ports(o.get('--sport'), '--sport', out) && ports(o.get('--dport'), '--dport', out);
    return kept || out.length > 0 ? out : null;
  },
);

// sctp stays an xtables match under iptables-nft: every given port is printed, full range included.
const sctp = extension(
  [
    ['--sport', '--source-port'],
    ['--dport', '--destination-port'],
  ],
  ['--sport', '--dport'],
  (o) => {
    const out: RuleOption[] = [];
    for (const f of ['--sport', '--dport']) {
      const v = o.get(f);
      if (v) out.push(opt(f, [formatPortRange(parsePortRange(arg(v)))], v.negated));
    }
    return out;
  },
);

function portList(text: string): string {
  const items = text.split(',');
  if (items.length > 15) throw new IptablesRuleError('multiport: too many ports specified');
  return items.map((p) => formatPortRange(parsePortRange(p))).join(',');
}

const multiport = extension(
  [['--sports', '--source-ports'], ['--dports', '--destination-ports'], ['--ports']],
  ['--sports', '--dports', '--ports'],
  (o, ctx) => {
    if (![6, 17, 136, 132, 33].includes(ctx.proto)) {
      throw new IptablesRuleError("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'");
    }
    if (o.size !== 1) throw new IptablesRuleError('multiport: exactly one of --sports, --dports, --ports');
    const [flag, v] = [...o][0] as [string, RuleOption];
    return [opt(flag, [portList(arg(v))], v.negated)];
  },
);

const comment = extension([['--comment']], [], (o) => {
  const c = o.get('--comment');
  if (!c) throw new IptablesRuleError('comment: option "--comment" must be specified');
  const text = arg(c);
  if (text.length > 255) throw new IptablesRuleError('comment: comment too long (max 255 characters)');
  return [opt('--comment', [text], false, [needsQuotes(text)])];
});

const ADDR_TYPES = [
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
];

function typeList(text: string, names: readonly string[], what: string): string {
  const set = new Set<number>();
  for (const part of text.split(',')) {
    const k = names.indexOf(part.toUpperCase());
    if (k < 0) throw new IptablesRuleError(`${what}: bad type "${part}"`);
    set.add(k);
  }
  return names.filter((_, k) => set.has(k)).join(',');
}

const addrtype = extension(
  [['--src-type'], ['--dst-type'], ['--limit-iface-in'], ['--limit-iface-out']],
  ['--src-type', '--dst-type'],
  (o) => {
    if (!o.has('--src-type') && !o.has('--dst-type')) {
      throw new IptablesRuleError('addrtype: you must specify --src-type or --dst-type');
    }
    const out: RuleOption[] = [];
    for (const f of ['--src-type', '--dst-type']) {
      const v = o.get(f);
      if (v) out.push(opt(f, [typeList(arg(v), ADDR_TYPES, 'addrtype')], v.negated));
    }
    if (o.has('--limit-iface-in') && o.has('--limit-iface-out')) {
      throw new IptablesRuleError("addrtype: you can't specify both --limit-iface-in and --limit-iface-out");
    }
    if (o.has('--limit-iface-in')) out.push(opt('--limit-iface-in'));
    if (o.has('--limit-iface-out')) out.push(opt('--limit-iface-out'));
    return out;
  },
);

function markValue(o: RuleOption): RuleOption {
  const [v, m] = parseMarkMask(arg(o), 'mark');
  return opt('--mark', [m === 0xffffffff ? hex(v) : `${hex(v)}/${hex(m)}`], o.negated);
}

const mark = extension([['--mark']], ['--mark'], (o) => {
  const v = o.get('--mark');
  if (!v) throw new IptablesRuleError('mark: option "--mark" must be specified');
  return [markValue(v)];
});

const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];
const CT_STATUS = ['NONE', 'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];

function ctAddr(o: RuleOption, family: 4 | 6): string {
  // libxt_conntrack keeps the address as written (host bits are not cleared).
  return formatHostOrNet(parseAddrMask(arg(o), family, false));
}

const CT_ADDRS = ['--ctorigsrc', '--ctorigdst', '--ctreplsrc', '--ctrepldst'];
const CT_PORTS = ['--ctorigsrcport', '--ctorigdstport', '--ctreplsrcport', '--ctrepldstport'];

const conntrack = extension(
  [
    ['--ctstate'],
    ['--ctproto'],
    ...CT_ADDRS.map((f) => [f]),
    ...CT_PORTS.map((f) => [f]),
    ['--ctstatus'],
    ['--ctdir'],
  ],
  ['--ctstate', '--ctproto', ...CT_ADDRS, ...CT_PORTS, '--ctstatus'],
  (o, ctx) => {
    // libxt_conntrack's save order (conntrack_dump).
    const out: RuleOption[] = [];
    const st = o.get('--ctstate');
    if (st) out.push(opt('--ctstate', [typeList(arg(st), CT_STATES, 'conntrack: bad ctstate')], st.negated));
    const pr = o.get('--ctproto');
    if (pr) {
      const n = protocolNumber(arg(pr));
      if (n === undefined || n === 0) throw new IptablesRuleError(`conntrack: bad ctproto "${arg(pr)}"`);
      out.push(opt('--ctproto', [String(n)], pr.negated));
    }
    for (const f of CT_ADDRS) {
      const v = o.get(f);
      if (v) out.push(opt(f, [ctAddr(v, ctx.family)], v.negated));
    }
    for (const f of CT_PORTS) {
      const v = o.get(f);
      if (v) out.push(opt(f, [formatPortRange(parsePortRange(arg(v)))], v.negated));
    }
    const ss = o.get('--ctstatus');
    if (ss) {
      const parts = arg(ss).split(',');
      for (const p of parts) {
        if (!CT_STATUS.includes(p.toUpperCase())) throw new IptablesRuleError(`Bad ctstatus "${p}"`);
      }
      out.push(opt('--ctstatus', [typeList(arg(ss), CT_STATUS, 'conntrack')], ss.negated));
    }
    const dir = o.get('--ctdir');
    if (dir) {
      const d = arg(dir).toUpperCase();
      if (d !== 'ORIGINAL' && d !== 'REPLY')
        throw new IptablesRuleError(`conntrack: bad ctdir "${arg(dir)}"`);
      out.push(opt('--ctdir', [d]));
    }
    return out;
  },
);

const state = extension([['--state']], ['--state'], (o) => {
  const v = o.get('--state');
  if (!v) throw new IptablesRuleError('state: option "--state" must be specified');
  return [opt('--state', [typeList(arg(v), CT_STATES.slice(0, 5), 'state')], v.negated)];
});

/** `%.11f` of probability/2^31, rounded exactly as glibc printf does (half to even on the exact value). */
export function formatProbability(stored: number): string {
  const scaled = BigInt(stored) * 10n ** 11n;
  const den = 1n << 31n;
  let q = scaled / den;
  const r2 = (scaled % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  const s = q.toString().padStart(12, '0');
  return `${s.slice(0, -11)}.${s.slice(-11)}`;
}

/** How the kernel stores --probability: lround(p · 2^31). */
export function storedProbability(text: string): number {
  if (!/^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new IptablesRuleError(`statistic: bad probability "${text}"`);
  const p = Number(text);
  if (p < 0 || p > 1) throw new IptablesRuleError(`statistic: probability "${text}" out of range`);
  return Math.round(p * 0x80000000);
}

const statistic = extension(
  [['--mode'], ['--probability'], ['--every'], ['--packet']],
  ['--probability', '--every'],
  (o) => {
    const mode = o.get('--mode');
    if (!mode) throw new IptablesRuleError('statistic: no --mode specified');
    const m = arg(mode);
    if (m === 'random') {
      const p = o.get('--probability');
      if (!p) throw new IptablesRuleError('statistic: --mode random requires --probability');
      if (o.has('--every') || o.has('--packet'))
        throw new IptablesRuleError('statistic: --every/--packet need --mode nth');
      return [
        opt('--mode', ['random']),
        opt('--probability', [formatProbability(storedProbability(arg(p)))], p.negated),
      ];
    }
    if (m === 'nth') {
      const every = o.get('--every');
      const packet = o.get('--packet');
      if (!every || !packet)
        throw new IptablesRuleError('statistic: option "--every" also requires "--packet".');
      const e = parseUint(arg(every), 'every');
      const pk = parseUint(arg(packet), 'packet');
      if (e === 0 || pk > e - 1) throw new IptablesRuleError('statistic: --packet must be less than --every');
      return [
        opt('--mode', ['nth']),
        opt('--every', [String(e)], every.negated),
        opt('--packet', [String(pk)]),
      ];
    }
    throw new IptablesRuleError(`statistic: bad mode "${m}"`);
  },
);

const RECENT_CMDS = ['--set', '--rcheck', '--update', '--remove'];

const recent = extension(
  [
    ...RECENT_CMDS.map((f) => [f]),
    ['--seconds'],
    ['--reap'],
    ['--hitcount'],
    ['--rttl'],
    ['--name'],
    ['--mask'],
    ['--rsource'],
    ['--rdest'],
  ],
  RECENT_CMDS,
  (o, ctx) => {
    // libxt_recent's save order; name defaults to DEFAULT, mask to all ones, side to source.
    const cmds = RECENT_CMDS.filter((f) => o.has(f));
    if (cmds.length !== 1)
      throw new IptablesRuleError('recent: you must specify one of --set, --rcheck, --update or --remove');
    const cmd = o.get(cmds[0] as string) as RuleOption;
    // xt_recent refuses modifiers on --set/--remove (EINVAL).
    if (
      (cmd.flag === '--set' || cmd.flag === '--remove') &&
      ['--seconds', '--hitcount', '--reap', '--rttl'].some((f) => o.has(f))
    ) {
      throw new IptablesRuleError(
        `recent: ${cmd.flag} cannot be combined with --seconds, --hitcount, --reap or --rttl (Invalid argument)`,
      );
    }
    const out: RuleOption[] = [opt(cmd.flag, [], cmd.negated)];
    const secs = o.get('--seconds');
    if (secs) {
      const n = parseUint(arg(secs), 'seconds');
      if (n) out.push(opt('--seconds', [String(n)]));
    }
    if (o.has('--reap')) {
      if (!secs) throw new IptablesRuleError('recent: --reap requires --seconds');
      out.push(opt('--reap'));
    }
    const hit = o.get('--hitcount');
    if (hit) {
      const n = parseUint(arg(hit), 'hitcount');
      if (n) out.push(opt('--hitcount', [String(n)]));
    }
    if (o.has('--rttl')) out.push(opt('--rttl'));
    const name = o.get('--name');
    out.push(opt('--name', [name ? arg(name) : 'DEFAULT']));
    const mask = o.get('--mask');
    let maskText: string;
    if (ctx.family === 4) maskText = mask ? v4Text(parseV4(arg(mask), 'mask')) : '255.255.255.255';
    else maskText = mask ? arg(mask) : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    out.push(opt('--mask', [maskText]));
    if (o.has('--rsource') && o.has('--rdest'))
      throw new IptablesRuleError('recent: --rsource and --rdest are exclusive');
    out.push(opt(o.has('--rdest') ? '--rdest' : '--rsource'));
    return out;
  },
);

const set = extension(
  [['--match-set'], ['--return-nomatch'], ['--update-counters'], ['--update-subcounters']],
  ['--match-set', '--update-counters', '--update-subcounters'],
  (o) => {
    const ms = o.get('--match-set');
    if (!ms) throw new IptablesRuleError('set: you must specify --match-set');
    const dirs = arg(ms, 1).split(',');
    if (dirs.some((d) => d !== 'src' && d !== 'dst'))
      throw new IptablesRuleError(`set: bad direction "${arg(ms, 1)}"`);
    const out = [opt('--match-set', [arg(ms, 0), arg(ms, 1)], ms.negated)];
    if (o.has('--return-nomatch')) out.push(opt('--return-nomatch'));
    for (const f of ['--update-counters', '--update-subcounters']) {
      const v = o.get(f);
      if (v) out.push(opt(f, [], v.negated));
    }
    return out;
  },
);

const physdev = extension(
  [['--physdev-in'], ['--physdev-out'], ['--physdev-is-in'], ['--physdev-is-out'], ['--physdev-is-bridged']],
  ['--physdev-in', '--physdev-out', '--physdev-is-in', '--physdev-is-out', '--physdev-is-bridged'],
  (o) => {
    const out: RuleOption[] = [];
    // libxt_physdev's save order.
    for (const f of [
      '--physdev-is-in',
      '--physdev-in',
      '--physdev-is-out',
      '--physdev-out',
      '--physdev-is-bridged',
    ]) {
      const v = o.get(f);
      if (v) out.push(opt(f, v.args.length ? [arg(v)] : [], v.negated));
    }
    if (out.length === 0) throw new IptablesRuleError('physdev: at least one option must be specified');
    return out;
  },
);

function ipRange(text: string): string {
  const dash = text.indexOf('-');
  const lo = dash < 0 ? text : text.slice(0, dash);
  const hi = dash < 0 ? text : text.slice(dash + 1);
  return `${v4Text(parseV4(lo, 'iprange'))}-${v4Text(parseV4(hi, 'iprange'))}`;
}

const iprange = extension([['--src-range'], ['--dst-range']], ['--src-range', '--dst-range'], (o, ctx) => {
  const out: RuleOption[] = [];
  for (const f of ['--src-range', '--dst-range']) {
    const v = o.get(f);
    if (v) out.push(opt(f, [ctx.family === 4 ? ipRange(arg(v)) : arg(v)], v.negated));
  }
  return out;
});

// xtables icmp_codes: name → [type, code min, code max].
const ICMP_TYPES: Record<string, [number, number, number]> = {
  any: [255, 0, 255],
  'echo-reply': [0, 0, 255],
  pong: [0, 0, 255],
  'destination-unreachable': [3, 0, 255],
  'network-unreachable': [3, 0, 0],
  'host-unreachable': [3, 1, 1],
  'protocol-unreachable': [3, 2, 2],
  'port-unreachable': [3, 3, 3],
  'fragmentation-needed': [3, 4, 4],
  'source-route-failed': [3, 5, 5],
  'network-unknown': [3, 6, 6],
  'host-unknown': [3, 7, 7],
  'network-prohibited': [3, 9, 9],
  'host-prohibited': [3, 10, 10],
  'TOS-network-unreachable': [3, 11, 11],
  'TOS-host-unreachable': [3, 12, 12],
  'communication-prohibited': [3, 13, 13],
  'host-precedence-violation': [3, 14, 14],
  'precedence-cutoff': [3, 15, 15],
  'source-quench': [4, 0, 255],
  redirect: [5, 0, 255],
  'network-redirect': [5, 0, 0],
  'host-redirect': [5, 1, 1],
  'TOS-network-redirect': [5, 2, 2],
  'TOS-host-redirect': [5, 3, 3],
  'echo-request': [8, 0, 255],
  ping: [8, 0, 255],
  'router-advertisement': [9, 0, 255],
  'router-solicitation': [10, 0, 255],
  'time-exceeded': [11, 0, 255],
  'ttl-exceeded': [11, 0, 255],
  'ttl-zero-during-transit': [11, 0, 0],
  'ttl-zero-during-reassembly': [11, 1, 1],
  'parameter-problem': [12, 0, 255],
  'ip-header-bad': [12, 0, 0],
  'required-option-missing': [12, 1, 1],
  'timestamp-request': [13, 0, 255],
  'timestamp-reply': [14, 0, 255],
  'address-mask-request': [17, 0, 255],
  'address-mask-reply': [18, 0, 255],
};

function icmpType(text: string): string {
  let t: [number, number, number] | undefined = ICMP_TYPES[text];
  if (!t) {
    const lower = Object.keys(ICMP_TYPES).filter((k) => k.toLowerCase().startsWith(text.toLowerCase()));
    if (lower.length === 1) t = ICMP_TYPES[lower[0] as string];
  }
  if (!t) {
    const m = /^(\d+)(?:\/(\d+))?$/.exec(text);
    if (!m) throw new IptablesRuleError(`icmp: invalid ICMP type "${text}"`);
    const type = parseUint(m[1] as string, 'ICMP type', 255);
    const code = m[2] === undefined ? undefined : parseUint(m[2], 'ICMP code', 255);
    t = code === undefined ? [type, 0, 255] : [type, code, code];
  }
  // libxt_icmp prints type 255 with the full code range as "any", a full range as the bare type.
  if (t[0] === 255 && t[1] === 0 && t[2] === 255) return 'any';
  if (t[1] === 0 && t[2] === 255) return String(t[0]);
  return `${t[0]}/${t[1]}`;
}

const icmp = extension([['--icmp-type']], ['--icmp-type'], (o) => {
  const v = o.get('--icmp-type');
  if (!v) throw new IptablesRuleError('icmp: option "--icmp-type" must be specified');
  return [opt('--icmp-type', [icmpType(arg(v))], v.negated)];
});

const LIMIT_SCALE = 10000;
const RATES: readonly (readonly [string, number])[] = [
  ['day', 86400 * LIMIT_SCALE],
  ['hour', 3600 * LIMIT_SCALE],
  ['min', 60 * LIMIT_SCALE],
  ['sec', LIMIT_SCALE],
];

/** The kernel's period for `N[/unit]` (xtables parse_rate: unit is any prefix of second/minute/hour/day). */
export function limitPeriod(text: string): number {
  const slash = text.indexOf('/');
  let mult = 1;
  if (slash >= 0) {
    const u = text.slice(slash + 1).toLowerCase();
    if (!u) throw new IptablesRuleError(`bad rate "${text}"`);
    if ('second'.startsWith(u)) mult = 1;
    else if ('minute'.startsWith(u)) mult = 60;
    else if ('hour'.startsWith(u)) mult = 3600;
    else if ('day'.startsWith(u)) mult = 86400;
    else throw new IptablesRuleError(`bad rate "${text}"`);
  }
  const n = Number.parseInt(slash >= 0 ? text.slice(0, slash) : text, 10);
  if (!n) throw new IptablesRuleError(`bad rate "${text}"`);
  const period = Math.floor((LIMIT_SCALE * mult) / n);
  if (period === 0) throw new IptablesRuleError(`Rate too fast "${text}"`);
  return period;
}

/** libxt_limit print_rate: the coarsest unit that still represents the period well. */
export function formatLimit(period: number): string {
  let i = 1;
  for (; i < RATES.length; i++) {
    const mult = (RATES[i] as [string, number])[1];
    if (period > mult || Math.floor(mult / period) < mult % period) break;
  }
  const [name, mult] = RATES[i - 1] as [string, number];
  return `${Math.floor(mult / period)}/${name}`;
}

const limit = extension([['--limit'], ['--limit-burst']], [], (o) => {
  const rate = o.get('--limit');
  const out = [opt('--limit', [formatLimit(limitPeriod(rate ? arg(rate) : '3/hour'))])];
  const burst = o.get('--limit-burst');
  if (burst) {
    const b = parseUint(arg(burst), 'limit-burst', 10000);
    if (b !== 5) out.push(opt('--limit-burst', [String(b)]));
  }
  return out;
});

const connmark = extension([['--mark']], ['--mark'], (o) => {
  const v = o.get('--mark');
  if (!v) throw new IptablesRuleError('connmark: option "--mark" must be specified');
  return [markValue(v)];
});

/** Matches by name. tcp/udp/sctp/icmp are also loaded implicitly by `-p` when their options appear. */
export const MATCHES: ReadonlyMap<string, Extension> = new Map<string, Extension>([
  ['tcp', tcp],
  ['udp', udp],
  ['sctp', sctp],
  ['icmp', icmp],
  ['multiport', multiport],
  ['comment', comment],
  ['addrtype', addrtype],
  ['mark', mark],
  ['connmark', connmark],
  ['conntrack', conntrack],
  ['state', state],
  ['statistic', statistic],
  ['recent', recent],
  ['set', set],
  ['physdev', physdev],
  ['iprange', iprange],
  ['limit', limit],
]);

/** The match `-p` loads implicitly for a protocol (libxtables load_proto). */
export function protocolMatch(proto: number): string | undefined {
  return proto === 6
    ? 'tcp'
    : proto === 17
      ? 'udp'
      : proto === 132
        ? 'sctp'
        : proto === 1
          ? 'icmp'
          : undefined;
}

export type { ExtensionContext, Opts };

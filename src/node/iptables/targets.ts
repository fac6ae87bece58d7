// The `-j` targets kpath knows, each turning its options into the order and spelling
// iptables-save prints (the target's save function in iptables 1.8.9, nf_tables backend).
import { arg, type Extension, extension, opt } from './extension.js';
import type { RuleOption } from './types.js';
import {
  CANONICAL_V4_PORT,
  hex,
  IptablesRuleError,
  parseMarkMask,
  parseUint,
  parseV4,
  v4Text,
} from './values.js';
import { needsQuotes } from './words.js';

const none = extension([], [], () => []);

const REJECT_V4: Record<string, string> = {
  'icmp-net-unreachable': 'icmp-net-unreachable',
  'net-unreach': 'icmp-net-unreachable',
  'icmp-host-unreachable': 'icmp-host-unreachable',
  'host-unreach': 'icmp-host-unreachable',
  'icmp-proto-unreachable': 'icmp-proto-unreachable',
  'proto-unreach': 'icmp-proto-unreachable',
  'icmp-port-unreachable': 'icmp-port-unreachable',
  'port-unreach': 'icmp-port-unreachable',
  'icmp-net-prohibited': 'icmp-net-prohibited',
  'net-prohib': 'icmp-net-prohibited',
  'icmp-host-prohibited': 'icmp-host-prohibited',
  'host-prohib': 'icmp-host-prohibited',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
  'icmp-admin-prohibited': 'icmp-admin-prohibited',
  'admin-prohib': 'icmp-admin-prohibited',
};

const REJECT_V6: Record<string, string> = {
  'icmp6-no-route': 'icmp6-no-route',
  'no-route': 'icmp6-no-route',
  'icmp6-adm-prohibited': 'icmp6-adm-prohibited',
  'adm-prohibited': 'icmp6-adm-prohibited',
  'icmp6-addr-unreachable': 'icmp6-addr-unreachable',
  'addr-unreach': 'icmp6-addr-unreachable',
  'icmp6-port-unreachable': 'icmp6-port-unreachable',
  'port-unreach': 'icmp6-port-unreachable',
  'icmp6-policy-fail': 'icmp6-policy-fail',
  'icmp6-reject-route': 'icmp6-reject-route',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
};

const reject = extension([['--reject-with']], [], (o, ctx) => {
  const w = o.get('--reject-with');
  const table = ctx.family === 4 ? REJECT_V4 : REJECT_V6;
  // An absent --reject-with is stored as the port-unreachable default, and printed.
  const v = w ? table[arg(w)] : ctx.family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable';
  if (!v) throw new IptablesRuleError(`REJECT: unknown reject type "${w ? arg(w) : ''}"`);
  if (v === 'tcp-reset' && ctx.proto !== 6)
    throw new IptablesRuleError('REJECT: --reject-with tcp-reset requires -p tcp');
  return [opt('--reject-with', [v])];
});

const MARK_OPS = ['--set-xmark', '--set-mark', '--or-mark', '--and-mark', '--xor-mark'];

/** The xmark pair (value, mask) every MARK/CONNMARK spelling becomes; the kernel keeps only this. */
function xmark(o: RuleOption, what: string): [number, number] {
  const text = arg(o);
  switch (o.flag) {
    case '--set-xmark':
      return parseMarkMask(text, what);
    case '--set-mark': {
      // "zero the mask bits, then set value" is the xmark pair value/(mask|value) (libxt_MARK v2).
      const [v, m] = parseMarkMask(text, what);
      return [v, (m | v) >>> 0];
    }
    case '--or-mark': {
      const v = parseUint(text, what);
      return [v, v];
    }
    case '--and-mark':
      return [0, ~parseUint(text, what) >>> 0];
    default: {
      const v = parseUint(text, what);
      return [v, 0];
    }
  }
}

function onlyOne(o: ReadonlyMap<string, RuleOption>, flags: readonly string[], what: string): RuleOption {
  const present = flags.filter((f) => o.has(f));
  if (present.length !== 1)
    throw new IptablesRuleError(`${what}: exactly one of ${flags.join(', ')} is required`);
  return o.get(present[0] as string) as RuleOption;
}

const markTarget = extension(
  MARK_OPS.map((f) => [f]),
  [],
  (o) => {
    const op = onlyOne(o, MARK_OPS, 'MARK');
    const [v, m] = xmark(op, 'MARK');
    return [opt('--set-xmark', [`${hex(v)}/${hex(m)}`])];
  },
);

const connmarkTarget = extension(
  [...MARK_OPS.map((f) => [f]), ['--save-mark'], ['--restore-mark'], ['--mask'], ['--nfmask'], ['--ctmask']],
  [],
  (o) => {
    const op = onlyOne(o, [...MARK_OPS, '--save-mark', '--restore-mark'], 'CONNMARK');
    if (op.flag === '--save-mark' || op.flag === '--restore-mark') {
      const mask = o.get('--mask');
      const all = mask ? parseUint(arg(mask), 'mask') : 0xffffffff;
      const nf = o.get('--nfmask');
      const ct = o.get('--ctmask');
      return [
        opt(op.flag),
        opt('--nfmask', [hex(nf ? parseUint(arg(nf), 'nfmask') : all)]),
        opt('--ctmask', [hex(ct ? parseUint(arg(ct), 'ctmask') : all)]),
      ];
    }
    const [v, m] = xmark(op, 'CONNMARK');
    return [opt('--set-xmark', [`${hex(v)}/${hex(m)}`])];
  },
);

const LOG_LEVELS = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'];
const LOG_FLAGS = [
  '--log-tcp-sequence',
  '--log-tcp-options',
  '--log-ip-options',
  '--log-uid',
  '--log-macdecode',
];

// iptables 1.8.9 knows exactly these names (no "warn"/"err" aliases) or a number 0-7.
function logLevel(text: string): number {
  const k = LOG_LEVELS.indexOf(text);
  if (k >= 0) return k;
  if (!/^\d+$/.test(text)) throw new IptablesRuleError(`log level "${text}" unknown`);
  return parseUint(text, 'log level', 7);
}

const log = extension([['--log-prefix'], ['--log-level'], ...LOG_FLAGS.map((f) => [f])], [], (o) => {
  const out: RuleOption[] = [];
  const p = o.get('--log-prefix');
  if (p) {
    if (arg(p) === '') throw new IptablesRuleError('Argument must have a minimum length of 1 characters');
    if (arg(p).length > 29) throw new IptablesRuleError('LOG: Maximum prefix length 29 for --log-prefix');
    out.push(opt('--log-prefix', [arg(p)], false, [needsQuotes(arg(p))]));
  }
  const l = o.get('--log-level');
  if (l) {
    const n = logLevel(arg(l));
    // LOG's default level is 4 (warning) and is not printed.
    if (n !== 4) out.push(opt('--log-level', [String(n)]));
  }
  for (const f of LOG_FLAGS) if (o.has(f)) out.push(opt(f));
  return out;
});

const nflog = extension(
  [['--nflog-prefix'], ['--nflog-group'], ['--nflog-size'], ['--nflog-range'], ['--nflog-threshold']],
  [],
  (o) => {
    const out: RuleOption[] = [];
    const p = o.get('--nflog-prefix');
    if (p && arg(p) !== '') {
      if (arg(p).length > 63)
        throw new IptablesRuleError('NFLOG: Maximum prefix length 64 for --nflog-prefix');
      out.push(opt('--nflog-prefix', [arg(p)], false, [needsQuotes(arg(p))]));
    }
    const g = o.get('--nflog-group');
    const group = g ? parseUint(arg(g), 'nflog-group', 65535) : 0;
    if (group) out.push(opt('--nflog-group', [String(group)]));
    const size = o.get('--nflog-size');
    if (size) out.push(opt('--nflog-size', [String(parseUint(arg(size), 'nflog-size'))]));
    const range = o.get('--nflog-range');
    if (range && !size) {
      const n = parseUint(arg(range), 'nflog-range');
      if (n) out.push(opt('--nflog-range', [String(n)]));
    }
    const t = o.get('--nflog-threshold');
    const th = t ? parseUint(arg(t), 'nflog-threshold', 65535) : 0;
    // XT_NFLOG_DEFAULT_THRESHOLD is 0; anything else is printed.
    if (th) out.push(opt('--nflog-threshold', [String(th)]));
    return out;
  },
);

/** `addr[-addr][:port[-port]]` as libxt_NAT prints it: equal ends collapse. IPv6 is kept as written. */
function natRange(text: string, family: 4 | 6): string {
  if (family === 6 || text.startsWith('[')) return text;
  // One canonical address and port (what kube-proxy writes for every endpoint) prints as written.
  if (CANONICAL_V4_PORT.test(text)) return text;
  const colon = text.indexOf(':');
  const addrs = colon < 0 ? text : text.slice(0, colon);
  const portsText = colon < 0 ? undefined : text.slice(colon + 1);
  let s = '';
  if (addrs) {
    const [lo, hi = lo] = addrs.split('-') as [string, string?];
    const a = v4Text(parseV4(lo, 'IP address'));
    const b = v4Text(parseV4(hi, 'IP address'));
    s = a === b ? a : `${a}-${b}`;
  }
  if (portsText !== undefined) {
    const [lo, hi = lo] = portsText.split('-') as [string, string?];
    const p = parseUint(lo, 'port', 65535);
    const q = parseUint(hi, 'port', 65535);
    if (p > q) throw new IptablesRuleError(`bad port range "${portsText}"`);
    s += p === q ? `:${p}` : `:${p}-${q}`;
  }
  return s;
}

function natFlags(
  o: ReadonlyMap<string, RuleOption>,
  out: RuleOption[],
  flags: readonly string[],
): RuleOption[] {
  for (const f of flags) if (o.has(f)) out.push(opt(f));
  return out;
}

function portsNeedProto(text: string, proto: number, what: string): void {
  if (text.includes(':') && ![6, 17, 132, 33, 136].includes(proto)) {
    throw new IptablesRuleError(`${what}: Need TCP, UDP, SCTP or DCCP with port specification`);
  }
}

const dnat = extension([['--to-destination', '--to'], ['--random'], ['--persistent']], [], (o, ctx) => {
  const to = o.get('--to-destination');
  if (!to) throw new IptablesRuleError('DNAT: option "--to-destination" must be specified');
  portsNeedProto(arg(to), ctx.proto, 'DNAT');
  return natFlags(
    o,
    [opt('--to-destination', [natRange(arg(to), ctx.family)])],
    ['--random', '--persistent'],
  );
});

const snat = extension(
  [['--to-source', '--to'], ['--random'], ['--random-fully'], ['--persistent']],
  [],
  (o, ctx) => {
    const to = o.get('--to-source');
    if (!to) throw new IptablesRuleError('SNAT: option "--to-source" must be specified');
    portsNeedProto(arg(to), ctx.proto, 'SNAT');
    return natFlags(
      o,
      [opt('--to-source', [natRange(arg(to), ctx.family)])],
      ['--random', '--random-fully', '--persistent'],
    );
  },
);

function toPorts(o: ReadonlyMap<string, RuleOption>, ctx: { proto: number }, what: string): RuleOption[] {
  const p = o.get('--to-ports');
  if (!p) return [];
  if (![6, 17, 132, 33].includes(ctx.proto)) {
    throw new IptablesRuleError(`${what}: Need TCP, UDP, SCTP or DCCP with port specification`);
  }
  const [lo, hi = lo] = arg(p).split('-') as [string, string?];
  const a = parseUint(lo, 'port', 65535);
  const b = parseUint(hi, 'port', 65535);
  return [opt('--to-ports', [a === b ? String(a) : `${a}-${b}`])];
}

const masquerade = extension([['--to-ports'], ['--random'], ['--random-fully']], [], (o, ctx) =>
  natFlags(o, toPorts(o, ctx, 'MASQUERADE'), ['--random', '--random-fully']),
);

const redirect = extension([['--to-ports'], ['--random']], [], (o, ctx) =>
  natFlags(o, toPorts(o, ctx, 'REDIRECT'), ['--random']),
);

const ct = extension([['--notrack']], [], (o) => {
  if (!o.has('--notrack')) throw new IptablesRuleError('CT: no options');
  return [opt('--notrack')];
});

/** Targets by name; anything else after `-j` is a chain name (or an unknown extension, kept verbatim). */
export const TARGETS: ReadonlyMap<string, Extension> = new Map<string, Extension>([
  ['ACCEPT', none],
  ['DROP', none],
  ['RETURN', none],
  ['REJECT', reject],
  ['MARK', markTarget],
  ['CONNMARK', connmarkTarget],
  ['LOG', log],
  ['NFLOG', nflog],
  ['DNAT', dnat],
  ['SNAT', snat],
  ['MASQUERADE', masquerade],
  ['REDIRECT', redirect],
  ['NOTRACK', none],
  ['TRACE', none],
  ['CT', ct],
]);

/** Targets valid only in some tables, as the kernel enforces (xt_nat, xt_CT, TRACE). */
export const TARGET_TABLES: ReadonlyMap<string, readonly string[]> = new Map([
  ['DNAT', ['nat']],
  ['SNAT', ['nat']],
  ['MASQUERADE', ['nat']],
  ['REDIRECT', ['nat']],
  ['NOTRACK', ['raw']],
  ['CT', ['raw']],
  ['TRACE', ['raw']],
]);

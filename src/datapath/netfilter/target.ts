// Target semantics: the verdicts, the NAT actions (applied later through conntrack), and the non-terminating
// targets that rewrite the packet's marks or only observe it.
import { IPAddr } from '../../net/ip.js';
import type { Packet } from '../../net/packet.js';
import type { RuleOption } from '../../node/iptables/types.js';
import { parsePortRange, parseValueMask } from './match.js';
import type { RuleTarget } from './rule.js';

export interface NatRange {
  /** Inclusive address range; absent keeps the address (e.g. `--to-destination :8080`). */
  readonly addrs?: readonly [IPAddr, IPAddr];
  readonly ports?: readonly [number, number];
}

export type NatAction =
  | { readonly type: 'DNAT'; readonly to: NatRange; readonly random: boolean; readonly persistent: boolean }
  | {
      readonly type: 'SNAT';
      readonly to: NatRange;
      readonly random: boolean;
      readonly randomFully: boolean;
      readonly persistent: boolean;
    }
  | {
      readonly type: 'MASQUERADE';
      readonly ports?: readonly [number, number];
      readonly random: boolean;
      readonly randomFully: boolean;
    };

export type TargetEffect =
  | { readonly kind: 'verdict'; readonly verdict: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { readonly kind: 'reject'; readonly with: string }
  | { readonly kind: 'nat'; readonly action: NatAction }
  /** Continue with a rewritten packet (MARK, CONNMARK). */
  | { readonly kind: 'packet'; readonly packet: Packet }
  | { readonly kind: 'log'; readonly prefix: string; readonly level: string }
  | { readonly kind: 'trace' }
  | { readonly kind: 'notrack' }
  | { readonly kind: 'unsupported'; readonly reason: string };

const REJECT_ALIASES: Readonly<Record<string, string>> = {
  'icmp-net-unreachable': 'icmp-net-unreachable',
  'net-unreach': 'icmp-net-unreachable',
  'icmp-host-unreachable': 'icmp-host-unreachable',
  'host-unreach': 'icmp-host-unreachable',
  'icmp-port-unreachable': 'icmp-port-unreachable',
  'port-unreach': 'icmp-port-unreachable',
  'icmp-proto-unreachable': 'icmp-proto-unreachable',
  'proto-unreach': 'icmp-proto-unreachable',
  'icmp-net-prohibited': 'icmp-net-prohibited',
  'net-prohib': 'icmp-net-prohibited',
  'icmp-host-prohibited': 'icmp-host-prohibited',
  'host-prohib': 'icmp-host-prohibited',
  'icmp-admin-prohibited': 'icmp-admin-prohibited',
  'admin-prohib': 'icmp-admin-prohibited',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
  'icmp6-no-route': 'icmp6-no-route',
  'no-route': 'icmp6-no-route',
  'icmp6-adm-prohibited': 'icmp6-adm-prohibited',
  'adm-prohibited': 'icmp6-adm-prohibited',
  'icmp6-addr-unreachable': 'icmp6-addr-unreachable',
  'addr-unreach': 'icmp6-addr-unreachable',
  'icmp6-port-unreachable': 'icmp6-port-unreachable',
};

/** The ICMP type/code a REJECT answers with (tcp-reset answers with a TCP RST instead). */
export const REJECT_ICMP: Readonly<Record<string, { type: number; code: number }>> = {
  'icmp-net-unreachable': { type: 3, code: 0 },
  'icmp-host-unreachable': { type: 3, code: 1 },
  'icmp-proto-unreachable': { type: 3, code: 2 },
  'icmp-port-unreachable': { type: 3, code: 3 },
  'icmp-net-prohibited': { type: 3, code: 9 },
  'icmp-host-prohibited': { type: 3, code: 10 },
  'icmp-admin-prohibited': { type: 3, code: 13 },
  'icmp6-no-route': { type: 1, code: 0 },
  'icmp6-adm-prohibited': { type: 1, code: 1 },
  'icmp6-addr-unreachable': { type: 1, code: 3 },
  'icmp6-port-unreachable': { type: 1, code: 4 },
};

function opt(options: readonly RuleOption[], flag: string): RuleOption | undefined {
  return options.find((o) => o.flag === flag);
}

/** `10.244.1.3:8080`, `[fd00::1]:80`, `10.0.0.1-10.0.0.9`, `:8080`, `10.0.0.1:1000-2000`. */
export function parseNatRange(text: string): NatRange | undefined {
  let addrPart = text;
  let portPart: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    addrPart = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest.startsWith(':')) portPart = rest.slice(1);
    else if (rest !== '') return undefined;
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const i = text.indexOf(':');
    addrPart = text.slice(0, i);
    portPart = text.slice(i + 1);
  }
  let addrs: [IPAddr, IPAddr] | undefined;
  if (addrPart !== '') {
    const [a, b] = addrPart.split('-');
    const lo = a ? IPAddr.tryParse(a) : undefined;
    const hi = b === undefined ? lo : IPAddr.tryParse(b);
    if (!lo || !hi) return undefined;
    addrs = [lo, hi];
  }
  let portRange: [number, number] | undefined;
  if (portPart !== undefined) {
    const [a, b] = portPart.split('-');
    if (!a || !/^\d+$/.test(a) || (b !== undefined && !/^\d+$/.test(b))) return undefined;
    portRange = [Number(a), Number(b ?? a)];
  }
  return { ...(addrs ? { addrs } : {}), ...(portRange ? { ports: portRange } : {}) };
}

/** xt_MARK: mark = (mark & ~mask) ^ value; the other spellings are rewritten to this by iptables. */
export function xmark(current: number, value: number, mask: number): number {
  return ((current & ~mask) ^ value) >>> 0;
}

function markOperation(options: readonly RuleOption[], current: number): number | string {
  for (const o of options) {
    const a = o.args[0];
    if (a === undefined) continue;
    const { value, mask } = parseValueMask(a);
    switch (o.flag) {
      case '--set-xmark':
        return xmark(current, value, mask);
      case '--set-mark':
        // --set-mark v/m is --set-xmark v/(m|v): zero the masked bits, then OR.
        return xmark(current, value, (mask | value) >>> 0);
      case '--or-mark':
        return xmark(current, value, value);
      case '--and-mark':
        return xmark(current, 0, ~value >>> 0);
      case '--xor-mark':
        return xmark(current, value, 0);
    }
  }
  return 'MARK needs one of --set-xmark/--set-mark/--or-mark/--and-mark/--xor-mark';
}

/** What the rule's target does to this packet. Jumps to user chains are handled by the traversal. */
export function applyTarget(target: RuleTarget, packet: Packet): TargetEffect {
  const o = target.options;
  try {
    switch (target.name) {
      case 'ACCEPT':
      case 'DROP':
      case 'RETURN':
        return { kind: 'verdict', verdict: target.name };
      case 'REJECT': {
        const w = opt(o, '--reject-with')?.args[0];
        const def = packet.ip.version === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable';
        const canon = w === undefined ? def : REJECT_ALIASES[w];
        if (!canon) return { kind: 'unsupported', reason: `REJECT --reject-with ${w ?? ''} is not known` };
        return { kind: 'reject', with: canon };
      }
      case 'DNAT':
      case 'SNAT': {
        const flag = target.name === 'DNAT' ? '--to-destination' : '--to-source';
        const text = opt(o, flag)?.args[0];
        const to = text === undefined ? undefined : parseNatRange(text);
        if (!to)
          return { kind: 'unsupported', reason: `${target.name} ${flag} "${text ?? ''}" is not valid` };
        const random = opt(o, '--random') !== undefined;
        const persistent = opt(o, '--persistent') !== undefined;
        if (target.name === 'DNAT') return { kind: 'nat', action: { type: 'DNAT', to, random, persistent } };
        const randomFully = opt(o, '--random-fully') !== undefined;
        return { kind: 'nat', action: { type: 'SNAT', to, random, randomFully, persistent } };
      }
      case 'MASQUERADE': {
        const tp = opt(o, '--to-ports')?.args[0];
        const range = tp === undefined ? undefined : parsePortRange(tp.replace('-', ':'));
        return {
          kind: 'nat',
          action: {
            type: 'MASQUERADE',
            ...(range ? { ports: range } : {}),
            random: opt(o, '--random') !== undefined,
            randomFully: opt(o, '--random-fully') !== undefined,
          },
        };
      }
      case 'MARK': {
        const m = markOperation(o, packet.mark);
        if (typeof m === 'string') return { kind: 'unsupported', reason: m };
        return { kind: 'packet', packet: { ...packet, mark: m } };
      }
      case 'CONNMARK':
        return connmark(o, packet);
      case 'LOG':
        return {
          kind: 'log',
          prefix: opt(o, '--log-prefix')?.args[0] ?? '',
          level: opt(o, '--log-level')?.args[0] ?? 'warning',
        };
      case 'NFLOG':
        // Non-terminating like LOG; the copy goes to the nflog group instead of the kernel log.
        return {
          kind: 'log',
          prefix: opt(o, '--nflog-prefix')?.args[0] ?? '',
          level: `nflog-group ${opt(o, '--nflog-group')?.args[0] ?? '0'}`,
        };
      case 'TRACE':
        return { kind: 'trace' };
      case 'NOTRACK':
        return { kind: 'notrack' };
      case 'CT':
        if (opt(o, '--notrack') && o.length === 1) return { kind: 'notrack' };
        return { kind: 'unsupported', reason: 'CT target options other than --notrack are not modelled' };
    }
  } catch (e) {
    return { kind: 'unsupported', reason: e instanceof Error ? e.message : String(e) };
  }
  return { kind: 'unsupported', reason: `target ${target.name} is not modelled` };
}

function connmark(o: readonly RuleOption[], p: Packet): TargetEffect {
  const mask = (flag: string): number | undefined => {
    const v = opt(o, flag)?.args[0];
    return v === undefined ? undefined : parseValueMask(v).value;
  };
  const both = mask('--mask');
  const nfmask = mask('--nfmask') ?? both ?? 0xffffffff;
  const ctmask = mask('--ctmask') ?? both ?? 0xffffffff;
  if (opt(o, '--save-mark')) {
    // xt_CONNMARK save: ctmark = (ctmark & ~ctmask) ^ (mark & nfmask).
    return { kind: 'packet', packet: { ...p, ctmark: ((p.ctmark & ~ctmask) ^ (p.mark & nfmask)) >>> 0 } };
  }
  if (opt(o, '--restore-mark')) {
    // xt_CONNMARK restore: mark = (mark & ~nfmask) ^ (ctmark & ctmask).
    return { kind: 'packet', packet: { ...p, mark: ((p.mark & ~nfmask) ^ (p.ctmark & ctmask)) >>> 0 } };
  }
  const m = markOperation(
    o.filter((x) => x.flag !== '--mask' && x.flag !== '--nfmask' && x.flag !== '--ctmask'),
    p.ctmark,
  );
  if (typeof m === 'string') return { kind: 'unsupported', reason: `CONNMARK: ${m}` };
  return { kind: 'packet', packet: { ...p, ctmark: m } };
}

/** The kernel's LOG line body (nf_log_ip): `IN=eth0 OUT= SRC=... DST=... LEN=60 TOS=0x00 PREC=0x00 TTL=64 ...`. */
export function formatLogLine(prefix: string, p: Packet, inIface?: string, outIface?: string): string {
  const ip = p.ip;
  const tos = ip.tos & 0xfc;
  const parts = [
    `${prefix}IN=${inIface ?? ''}`,
    `OUT=${outIface ?? ''}`,
    `SRC=${ip.src.toString()}`,
    `DST=${ip.dst.toString()}`,
    `LEN=${ip.totalLength}`,
    `TOS=0x${(tos & 0x1e).toString(16).padStart(2, '0').toUpperCase()}`,
    `PREC=0x${(tos & 0xe0).toString(16).padStart(2, '0').toUpperCase()}`,
    `TTL=${ip.ttl}`,
    `ID=${ip.id}`,
  ];
  if (ip.df) parts.push('DF');
  const l4 = p.l4;
  if (l4?.kind === 'tcp' || l4?.kind === 'udp') {
    parts.push(`PROTO=${l4.kind.toUpperCase()}`, `SPT=${l4.sport}`, `DPT=${l4.dport}`);
    if (l4.kind === 'udp') parts.push(`LEN=${8 + (p.payloadLength ?? 0)}`);
    else {
      parts.push('WINDOW=0', 'RES=0x00');
      for (const f of ['CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN'] as const) {
        if (l4.flags.includes(f)) parts.push(f);
      }
      parts.push('URGP=0');
    }
  } else if (l4?.kind === 'icmp') {
    parts.push('PROTO=ICMP', `TYPE=${l4.type}`, `CODE=${l4.code}`);
  } else parts.push(`PROTO=${ip.protocol}`);
  return parts.join(' ');
}

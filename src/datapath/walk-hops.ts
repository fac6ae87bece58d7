// Turning what the netfilter engine did (its steps) into trace hops, each quoting the rule, route or
// conntrack entry as the real tool prints it, with one plain sentence of explanation.
import type { IPAddr } from '../net/ip.js';
import type { Packet } from '../net/packet.js';
import type { Table } from '../node/iptables/types.js';
import { routeLine } from '../node/render/ip-route.js';
import type { Branch, Hop, HopLocation } from '../trace/types.js';
import { type ConntrackEntry, formatConntrackEntry } from './conntrack.js';
import type { HookStep } from './netfilter/hooks.js';
import type { BranchTaken, RuleRef } from './netfilter/traverse.js';
import { formatRouteGet, type RouteDecision } from './routing.js';
import { chainByName } from './world.js';

export type NewHop = Omit<Hop, 'n'>;

/** `-j TARGET` (or `-g`) of a rule as iptables-save prints it. */
export function ruleTarget(text: string): string | undefined {
  const m = /\s-[jg] (\S+)/.exec(text);
  return m?.[1];
}

/** The `--to-destination` a KUBE-SEP (or any) chain DNATs to, if one rule of it does. */
export function dnatOfChain(table: Table, chain: string): string | undefined {
  const c = chainByName(table, chain);
  if (!c) return undefined;
  for (const r of c.rules) {
    const j = r.options.findIndex((o) => (o.flag === '-j' || o.flag === '--jump') && o.args[0] === 'DNAT');
    if (j < 0) continue;
    const to = r.options.find((o) => o.flag === '--to-destination');
    if (to?.args[0]) return to.args[0];
  }
  return undefined;
}

function ruleExplanation(r: RuleRef, target: string | undefined, after: Packet): string {
  const where = `${r.table} ${r.chain} rule ${r.number}`;
  if (target === 'KUBE-SERVICES')
    return `${where} sends the packet to kube-proxy's KUBE-SERVICES chain, which lists every service address.`;
  if (target === 'KUBE-NODEPORTS' && r.table === 'filter')
    return `${where} sends the packet to filter KUBE-NODEPORTS (kube-proxy's health check NodePorts).`;
  if (target === 'KUBE-NODEPORTS')
    return `The destination is an address of this node (addrtype LOCAL), so kube-proxy checks its NodePorts (${where}).`;
  if (target === 'KUBE-MARK-MASQ')
    return `${where} jumps to KUBE-MARK-MASQ: the packet is marked 0x4000 so kube-proxy masquerades it in POSTROUTING.`;
  if (target === 'MARK' && r.chain === 'KUBE-MARK-MASQ')
    return `KUBE-MARK-MASQ sets mark 0x4000 (now ${hex(after.mark)}) and returns; the decision to SNAT is taken later.`;
  if (target === 'MARK' && r.chain === 'KUBE-POSTROUTING')
    return 'KUBE-POSTROUTING clears the 0x4000 mark before masquerading, so it is not seen again after re-routing.';
  if (target === 'DNAT') {
    const to = /--to-destination (\S+)/.exec(r.text)?.[1] ?? '?';
    return `kube-proxy's ${r.chain} chain rewrote the destination to ${to} (DNAT); conntrack remembers this so the reply is un-NATed.`;
  }
  if (target === 'MASQUERADE')
    return `${where} masquerades the packet: its source becomes the outgoing interface's address.`;
  if (target === 'RETURN') return `${where} returns to the calling chain.`;
  if (target === 'ACCEPT') return `${where} accepts the packet.`;
  if (target === 'DROP') return `${where} drops the packet.`;
  if (target === 'REJECT') return `${where} rejects the packet and answers with an ICMP error.`;
  if (target?.startsWith('KUBE-SVC-') || target?.startsWith('KUBE-SVL-'))
    return `${where} matches the service address and port: on to the service chain ${target}.`;
  if (target?.startsWith('KUBE-EXT-'))
    return `${where} matches: external traffic goes through ${target} (externalTrafficPolicy handling).`;
  if (target?.startsWith('KUBE-SEP-')) return `${where} picks the endpoint chain ${target}.`;
  if (target) return `${where} matches: on to ${target}.`;
  return `${where} matches (no target: counts only).`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Every alternative of the random choices a traversal met, with overall probabilities and DNAT targets. */
export function branchesOf(table: Table | undefined, taken: readonly BranchTaken[]): Branch[][] {
  let scale = 1;
  return taken.map((t) => {
    const out = t.point.branches.map((b, i): Branch => {
      const target = b.rule ? (ruleTarget(b.rule.text) ?? b.target ?? '') : '(falls through)';
      const dnat = table && target ? dnatOfChain(table, target) : undefined;
      return {
        probability: scale * b.probability,
        target: dnat ?? target,
        ...(dnat ? { dnat } : {}),
        ...(b.rule
          ? {
              decidedBy: {
                kind: 'iptables-rule' as const,
                text: b.rule.text,
                table: b.rule.table,
                chain: b.rule.chain,
                ruleNumber: b.rule.number,
              },
            }
          : {}),
        chosen: i === t.chosen,
      };
    });
    scale *= t.point.branches[t.chosen]?.probability ?? 1;
    return out;
  });
}

/** The direction of a packet in its connection, read off its source (address and port) before translation. */
function ctDirection(entry: ConntrackEntry, p: Packet): 'ORIGINAL' | 'REPLY' {
  const sport = p.l4 && p.l4.kind !== 'icmp' ? p.l4.sport : undefined;
  const isReplySource =
    p.ip.src.equals(entry.reply.src) && (sport === undefined || sport === entry.reply.sport);
  const isOrigSource = p.ip.src.equals(entry.orig.src) && (sport === undefined || sport === entry.orig.sport);
  return isReplySource && !isOrigSource ? 'REPLY' : 'ORIGINAL';
}

/** Hops for the steps of one pass through a namespace's netfilter hooks. */
export function hopsFromSteps(
  at: HopLocation,
  steps: readonly HookStep[],
  tables: (name: string) => Table | undefined,
  routes: readonly { decision: RouteDecision; dst: IPAddr; iif?: string; src?: IPAddr }[],
  now: number,
): NewHop[] {
  const hops: NewHop[] = [];
  let r = 0;
  // Hooks after the routing decision happen on the way out: name the outgoing interface there.
  let outIface: string | undefined;
  const where = (hook: string): HopLocation =>
    outIface && (hook === 'FORWARD' || hook === 'POSTROUTING' || hook === 'OUTPUT')
      ? { ...at, iface: outIface }
      : at;
  for (const s of steps) {
    if (s.kind === 'route') {
      const rd = routes[r++];
      const d = rd?.decision;
      const via = s.decision.kind === 'forward' ? ` out ${s.decision.outIface}` : '';
      if (s.decision.kind === 'forward') outIface = s.decision.outIface;
      const viaHop =
        s.decision.kind === 'forward' && s.decision.nextHop && !s.decision.nextHop.equals(s.packet.ip.dst)
          ? ` via ${s.decision.nextHop}`
          : ' directly (on-link)';
      const get = rd
        ? (formatRouteGet(rd.dst, rd.decision, {
            ...(rd.iif ? { iif: rd.iif } : {}),
            ...(rd.src ? { src: rd.src } : {}),
          }).split('\n')[0] ?? '')
        : '';
      hops.push({
        layer: 'L3',
        at: { ...at, ...(s.decision.kind === 'forward' ? { iface: s.decision.outIface } : {}) },
        component: 'routing',
        action: s.reroute ? 'reroute' : 'route',
        ...(d && 'route' in d && d.route
          ? {
              decidedBy: {
                kind: 'route' as const,
                text: routeLine(d.route, d.route.table !== 'main').trimEnd(),
              },
            }
          : {}),
        before: s.packet,
        after: s.forwarded ?? s.packet,
        explanation:
          (s.forwarded
            ? `Forwarding: ip_forward decrements the TTL (${s.packet.ip.ttl} → ${s.forwarded.ip.ttl}). `
            : '') +
          (s.decision.kind === 'local'
            ? `The routing table says ${s.packet.ip.dst} is a local address: the packet is delivered to this namespace (ip route get: ${get.trim()}).`
            : s.decision.kind === 'forward'
              ? `${s.reroute ? 'After NAT changed the destination, routing is done again: ' : ''}${s.packet.ip.dst} goes${via}${viaHop} (ip route get: ${get.trim()}).`
              : `No usable route for ${s.packet.ip.dst}: ${s.decision.reason}.`),
      });
      continue;
    }
    if (s.kind === 'conntrack') {
      if (s.action === 'nat') continue;
      const entry = s.entry;
      if (s.action === 'lookup') {
        if (s.state === 'NEW' || !entry) {
          hops.push({
            layer: 'L3',
            at: where(s.hook),
            component: 'conntrack',
            action: s.state === 'NEW' ? 'new connection' : s.state,
            before: s.before,
            after: s.after,
            explanation:
              s.state === 'NEW'
                ? `conntrack has no entry for this flow: a NEW connection (${s.hook}), so the nat table gets to choose its translation.`
                : s.state === 'UNTRACKED'
                  ? 'The raw table exempted this packet from connection tracking (UNTRACKED).'
                  : 'conntrack cannot place this packet in any connection (INVALID).',
          });
        } else {
          hops.push({
            layer: 'L3',
            at: where(s.hook),
            component: 'conntrack',
            action: s.state === 'RELATED' ? 'related' : 'established',
            decidedBy: { kind: 'conntrack', text: formatConntrackEntry(entry, now) },
            before: s.before,
            after: s.after,
            explanation:
              s.state === 'RELATED'
                ? 'conntrack ties this ICMP error to the connection it quotes (RELATED): it is translated along with it.'
                : `conntrack knows this flow (${s.state}); the nat table is not consulted again, the stored translation applies.`,
          });
        }
        continue;
      }
      if (s.action === 'translate' && entry) {
        const dir = ctDirection(entry, s.before);
        const dstChanged =
          !s.before.ip.dst.equals(s.after.ip.dst) || portOf(s.before, 'd') !== portOf(s.after, 'd');
        const action =
          dir === 'ORIGINAL' ? (dstChanged ? 'DNAT' : 'SNAT') : dstChanged ? 'un-SNAT' : 'un-DNAT';
        const what = dstChanged
          ? `destination ${addrPort(s.before, 'd')} → ${addrPort(s.after, 'd')}`
          : `source ${addrPort(s.before, 's')} → ${addrPort(s.after, 's')}`;
        const why =
          action === 'DNAT'
            ? 'the binding chosen by the nat table is applied'
            : action === 'SNAT'
              ? 'the masquerade binding is applied; conntrack will reverse it for the reply'
              : action === 'un-SNAT'
                ? 'this is a reply: conntrack reverses the earlier source NAT'
                : 'this is a reply: conntrack reverses the earlier DNAT, so the sender sees the address it connected to';
        hops.push({
          layer: 'L3',
          at: where(s.hook),
          component: 'conntrack',
          action,
          decidedBy: { kind: 'conntrack', text: formatConntrackEntry(entry, now) },
          before: s.before,
          after: s.after,
          explanation: `${action} (${s.hook}): ${what}; ${why}.`,
        });
        continue;
      }
      if (s.action === 'confirm' && entry) {
        hops.push({
          layer: 'L3',
          at: where(s.hook),
          component: 'conntrack',
          action: 'confirm',
          decidedBy: { kind: 'conntrack', text: formatConntrackEntry(entry, now) },
          before: s.before,
          after: s.after,
          explanation:
            'conntrack commits the new connection as it leaves the hooks; `conntrack -L` now lists it.',
        });
      }
      continue;
    }
    // A chain: one hop per rule that matched, in order.
    const res = s.result;
    const table = tables(s.table);
    const groups = branchesOf(table, res.branches);
    // Each rule's hop shows the packet as that rule left it: MARK rewrites are pinned to their own rule,
    // the chain's final effect (NAT binding, verdict) to the last one.
    let current = s.before;
    res.matched.forEach((m, i) => {
      const target = ruleTarget(m.text);
      const last = i === res.matched.length - 1;
      const before = current;
      if (m.after) current = m.after;
      const after = last ? s.after : current;
      current = after;
      const bi = res.branches.findIndex((b) => {
        const chosen = b.point.branches[b.chosen];
        return chosen?.rule?.chain === m.chain && chosen.rule.number === m.number;
      });
      const branches = bi >= 0 ? groups[bi] : undefined;
      hops.push({
        layer: 'L3',
        at: where(s.hook),
        component: 'netfilter',
        action: target ?? 'match',
        decidedBy: {
          kind: 'iptables-rule',
          text: m.text,
          table: m.table,
          chain: m.chain,
          ruleNumber: m.number,
        },
        before,
        after,
        explanation:
          branches && branches.length > 1
            ? `${ruleExplanation(m, target, s.after)} This is a random choice (statistic): ${branches
                .map((b) => `${b.target} ${formatProbability(b.probability)}`)
                .join(', ')}.`
            : ruleExplanation(m, target, s.after),
        ...(branches ? { branches } : {}),
      });
    });
    if (res.verdict.kind === 'POLICY' && res.verdict.policy === 'DROP') {
      hops.push({
        layer: 'L3',
        at: where(s.hook),
        component: 'netfilter',
        action: 'DROP',
        decidedBy: { kind: 'iptables-policy', text: `:${s.hook} DROP`, table: s.table, chain: s.hook },
        before: s.before,
        after: s.after,
        explanation: `No rule of ${s.table} ${s.hook} accepted the packet and the chain's policy is DROP.`,
      });
    }
  }
  return hops;
}

/** `1/3` style when the probability is a simple fraction, else a percentage. */
export function formatProbability(p: number): string {
  for (let d = 1; d <= 64; d++) {
    const n = Math.round(p * d);
    if (n > 0 && Math.abs(n / d - p) < 1e-6) return `${n}/${d}`;
  }
  return `${(p * 100).toFixed(2)}%`;
}

function portOf(p: Packet, which: 's' | 'd'): number | undefined {
  const l4 = p.l4;
  if (!l4 || l4.kind === 'icmp') return undefined;
  return which === 's' ? l4.sport : l4.dport;
}

export function addrPort(p: Packet, which: 's' | 'd'): string {
  const ip = which === 's' ? p.ip.src : p.ip.dst;
  const port = portOf(p, which);
  return port === undefined ? ip.toString() : ip.joinPort(port);
}

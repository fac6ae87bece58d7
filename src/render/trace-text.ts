// A trace as terminal text: numbered hops grouped by where they happen, the deciding rule quoted exactly,
// the packet before → after in tcpdump style with its changes marked, then the disposition, the delivery,
// the return path and conntrack. `explain` swaps the packet detail for one plain sentence per hop.
import { formatPacket, type Packet } from '../net/packet.js';
import type { Branch, Decision, Hop, Leg, Trace, TraceDns, TraceRequest } from '../trace/types.js';
import {
  type Direction,
  formatProbability,
  hopChanges,
  outerText,
  type PacketChange,
} from './trace-changes.js';

export interface TraceTextOptions {
  /** One sentence per hop instead of rules and packets. */
  explain?: boolean;
  /** ANSI colour (the CLI turns it on only for a TTY without NO_COLOR). */
  color?: boolean;
  /** Wrap width in columns (default 100). */
  width?: number;
}

interface Style {
  bold(s: string): string;
  dim(s: string): string;
  head(s: string): string;
  good(s: string): string;
  bad(s: string): string;
  mark(s: string): string;
}

const plain: Style = { bold: id, dim: id, head: id, good: id, bad: id, mark: id };
const ansi: Style = {
  bold: (s) => `\x1b[1m${s}\x1b[22m`,
  dim: (s) => `\x1b[2m${s}\x1b[22m`,
  head: (s) => `\x1b[36m${s}\x1b[39m`,
  good: (s) => `\x1b[32m${s}\x1b[39m`,
  bad: (s) => `\x1b[31m${s}\x1b[39m`,
  mark: (s) => `\x1b[33m${s}\x1b[39m`,
};

function id(s: string): string {
  return s;
}

// Hop detail lines: an 8-column label after a 6-space indent, so values start at column 14.
const INDENT = '      ';
const LABEL_WIDTH = 8;

export function renderTraceText(trace: Trace, opts: TraceTextOptions = {}): string {
  const width = Math.max(60, opts.width ?? 100);
  const st = opts.color ? ansi : plain;
  const out: string[] = [];
  out.push(...requestLines(trace.request, st, width), '');
  if (trace.dns) out.push(...dnsLines(trace.dns, st, width), '');
  out.push(...legLines(trace, 'forward', trace.request, st, width, !!opts.explain));
  out.push(...outcomeLines(trace, trace.request, st, width));

  out.push('', st.bold('Return path'));
  if (trace.return) {
    out.push('');
    out.push(...legLines(trace.return, 'return', trace.request, st, width, !!opts.explain));
    out.push(...returnOutcomeLines(trace, st, width));
  } else {
    out.push(
      ...wrap(
        trace.disposition === 'DELIVERED'
          ? 'not traced (--no-return).'
          : 'none: the packet was not delivered, so there is no reply.',
        width,
        '  ',
        '  ',
      ),
    );
  }

  if (!opts.explain && trace.conntrack.some((c) => c.entries.length > 0)) {
    out.push('', st.bold('Conntrack') + st.dim('  (conntrack -L on each node the packet crossed)'));
    for (const c of trace.conntrack) {
      if (c.entries.length === 0) continue;
      out.push(st.head(`  ${c.node}`));
      for (const e of c.entries) out.push(...conntrackLines(e, width));
    }
  }
  return `${out.join('\n')}\n`;
}

function endpointDisplay(e: TraceRequest['from']): string {
  const addr = e.port === undefined ? e.ip : joinHostPort(e.ip, e.port);
  return e.spec === addr || e.spec === e.ip ? addr : `${e.spec} (${addr})`;
}

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function requestLines(r: TraceRequest, st: Style, width: number): string[] {
  const head = `trace ${endpointDisplay(r.from)} → ${endpointDisplay(r.to)}`;
  const tail = `${r.protocol}, seed ${r.seed}`;
  // `tcp, seed 2` stays together: on the first line when it fits, else on a line of its own.
  const lines =
    head.length + 2 + tail.length <= width
      ? [`${head}  ${tail}`]
      : [...wrap(head, width, '', '      '), `      ${tail}`];
  lines[0] = st.bold('trace') + lines[0]!.slice('trace'.length);
  if (r.forcedEndpoint) lines.push(`      endpoint forced to ${r.forcedEndpoint} (--endpoint)`);
  return lines;
}

/** The name lookup before the connection: what getaddrinfo asked, who answered, what it returned. */
function dnsLines(dns: TraceDns, st: Style, width: number): string[] {
  const result = dns.result.status === 'OK' ? `OK ${dns.result.addresses.join(', ')}` : dns.result.status;
  const out = wrap(
    `${st.bold('DNS')}  getaddrinfo("${dns.name}") with the ${dns.resolver} resolver: ${result}`,
    width,
    '',
    '      ',
  );
  const conf = dns.resolvConf.split('\n').filter((l) => l.trim() !== '');
  conf.forEach((l, i) => {
    out.push(...labelled(i === 0 ? 'resolv' : '', l, width));
  });
  dns.queries.forEach((q, i) => {
    const who = q.via === 'coredns' ? 'CoreDNS' : q.via === 'upstream' ? 'upstream server' : 'no answer';
    out.push(
      ...labelled(i === 0 ? 'query' : '', `${q.name} ${q.type} @${q.server} → ${q.rcode} (${who})`, width),
    );
    for (const a of q.answer) out.push(...labelled('', a, width));
    if (q.journey) {
      const back = q.journey.return ? `; reply ${q.journey.return.disposition}` : '';
      out.push(
        ...labelled('', `packet: ${q.journey.hops.length} hops, ${q.journey.disposition}${back}`, width),
      );
    } else if (q.note) {
      out.push(...labelled('', q.note, width));
    }
  });
  if (dns.waitedMs > 0)
    out.push(...labelled('waited', `${dns.waitedMs} ms for replies that never came`, width));
  return out;
}

function locationKey(h: Hop): string {
  return `${h.at.node ?? ''}|${h.at.netns}|${h.at.owner}`;
}

function locationHeader(h: Hop, width: number): string[] {
  const parts = [h.at.owner];
  if (h.at.netns !== h.at.owner && !h.at.owner.endsWith(`/${h.at.netns}`)) parts.push(`netns ${h.at.netns}`);
  if (h.at.iface) parts.push(`dev ${h.at.iface}`);
  const line = parts.join(' · ');
  // Long pod and netns names: the owner alone, then where inside it.
  return line.length <= width || parts.length === 1 ? [line] : [parts[0]!, `  ${parts.slice(1).join(' · ')}`];
}

function legLines(
  leg: Leg,
  dir: Direction,
  req: TraceRequest,
  st: Style,
  width: number,
  explain: boolean,
): string[] {
  const out: string[] = [];
  let where = '';
  let iface: string | undefined;
  const prefix = dir === 'return' ? 'r' : '';
  const numWidth = Math.max(2, ...leg.hops.map((h) => `${prefix}${h.n}`.length));
  for (const hop of leg.hops) {
    // A new group when the namespace changes, or the interface does (a hop with no interface stays in its group).
    const key = locationKey(hop);
    if (key !== where || (hop.at.iface !== undefined && hop.at.iface !== iface)) {
      if (where !== '') out.push('');
      out.push(...locationHeader(hop, width).map((l) => st.head(l)));
      where = key;
      iface = hop.at.iface;
    }
    const num = `${prefix}${hop.n}`.padStart(numWidth);
    if (explain) {
      const lead = `  ${num}  `;
      out.push(
        ...wrap(hop.explanation, width, lead, ' '.repeat(lead.length)).map((l, i) =>
          i === 0 ? boldNum(l, st) : l,
        ),
      );
      continue;
    }
    out.push(boldNum(hopTitle(hop, num, width), st));
    if (hop.decidedBy) out.push(...decisionLines(hop.decidedBy, width));
    if (hop.branches?.length) out.push(...branchLines(hop.branches, req, width));
    out.push(...packetLines(hop, dir, st, width));
  }
  return out;
}

function boldNum(line: string, st: Style): string {
  const m = /^(\s*)(r?\d+)(.*)$/s.exec(line);
  return m ? `${m[1]}${st.bold(m[2]!)}${m[3]}` : line;
}

function hopTitle(hop: Hop, num: string, width: number): string {
  const left = `  ${num}  ${hop.layer.padEnd(3)} ${hop.component} · ${hop.action}`;
  const d = hop.decidedBy;
  const where =
    d && (d.kind === 'iptables-rule' || d.kind === 'iptables-policy') && d.chain
      ? [d.table, d.chain, d.ruleNumber !== undefined ? `#${d.ruleNumber}` : undefined]
          .filter(Boolean)
          .join(' ')
      : '';
  if (!where) return left;
  const gap = width - left.length - where.length;
  return gap >= 2 ? left + ' '.repeat(gap) + where : `${left}  ${where}`;
}

const DECISION_LABEL: Record<Decision['kind'], string> = {
  'iptables-rule': 'rule',
  'iptables-policy': 'policy',
  route: 'route',
  neighbour: 'neigh',
  fdb: 'fdb',
  conntrack: 'ct',
  'load-balancer': 'lb',
  socket: 'socket',
};

function labelled(label: string, text: string, width: number): string[] {
  return wrap(
    text,
    width,
    `${INDENT}${label.padEnd(LABEL_WIDTH)}`,
    `${INDENT}${' '.repeat(LABEL_WIDTH + 2)}`,
  );
}

function decisionLines(d: Decision, width: number): string[] {
  return labelled(DECISION_LABEL[d.kind], d.text, width);
}

function branchLines(branches: readonly Branch[], req: TraceRequest, width: number): string[] {
  const probs = branches.map((b) => formatProbability(b.probability));
  const pw = Math.max(...probs.map((p) => p.length));
  return branches.flatMap((b, i) => {
    const via = b.decidedBy ? jumpTarget(b.decidedBy) : undefined;
    const dnat = b.dnat && b.dnat !== b.target ? ` (${b.dnat})` : '';
    const why = req.forcedEndpoint && b.dnat ? 'forced by --endpoint' : `seed ${req.seed}`;
    const text = [
      `${probs[i]!.padStart(pw)} → ${b.target}${dnat}`,
      via ? `via ${via}` : '',
      b.chosen ? `(followed, ${why})` : '',
    ]
      .filter(Boolean)
      .join('  ');
    return wrap(
      text,
      width,
      `${INDENT}${(i === 0 ? 'choice' : '').padEnd(LABEL_WIDTH)}`,
      `${INDENT}${' '.repeat(LABEL_WIDTH + 2)}`,
    );
  });
}

/** The chain an iptables rule jumps to (`KUBE-SEP-…`), the useful part of a statistic rule. */
function jumpTarget(d: Decision): string | undefined {
  if (d.kind !== 'iptables-rule') return undefined;
  return /(?:^|\s)-[jg] (KUBE-[A-Z0-9-]+)/.exec(d.text)?.[1];
}

/** tcpdump-style lines for one packet; VXLAN shows `outer … [VXLAN vni N]` then `inner …`. */
export function packetText(p: Packet): string[] {
  if (!p.encap) return [formatPacket(p)];
  const inner = p.encap.inner;
  return [
    `outer ${p.ip.version === 4 ? 'IP' : 'IP6'} ${outerText(p)}`,
    `inner ${packetText(inner).join(' ')}`,
  ];
}

function packetLines(hop: Hop, dir: Direction, st: Style, width: number): string[] {
  const changes = hopChanges(hop, dir);
  if (changes.length === 0) return packetBlock('packet', hop.after, width);
  const marked = changedTokens(changes);
  return [
    ...packetBlock('before', hop.before, width),
    ...packetBlock('after', hop.after, width).map((l) => highlight(l, marked, st)),
    ...labelled('change', changes.map(changeText).join('; '), width).map((l) => st.mark(l)),
  ];
}

function packetBlock(label: string, p: Packet, width: number): string[] {
  return packetText(p).flatMap((line, i) => labelled(i === 0 ? label : '', line, width));
}

export function changeText(c: PacketChange): string {
  if (c.tag === 'encapsulate') return `encapsulated: outer ${c.to}`;
  if (c.tag === 'decapsulate') return `decapsulated: outer ${c.from}`;
  return `${c.field} ${c.from} → ${c.to}${c.tag ? ` (${c.tag})` : ''}`;
}

/** The new addresses as tcpdump writes them (`10.244.1.3.8080`), to highlight in the after line. */
function changedTokens(changes: readonly PacketChange[]): string[] {
  return changes
    .filter((c) => /(^|\s)(src|dst)$/.test(c.field))
    .map((c) => c.to.replace(/^\[?([^\]]*?)\]?:(\d+)$/, '$1.$2'));
}

function highlight(line: string, tokens: readonly string[], st: Style): string {
  if (st === plain) return line;
  let s = line;
  for (const t of tokens) {
    // Whole tokens only: `10.244.1.3.8080` must not light up inside `10.244.1.3.80801`.
    s = s.replace(new RegExp(`(?<=[\\s>])${escapeRe(t)}(?=[:\\s]|$)`), (m) => st.mark(m));
  }
  return s;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function dispositionWord(d: string, st: Style): string {
  return d === 'DELIVERED' ? st.good(st.bold(d)) : st.bad(st.bold(d));
}

function outcomeLines(trace: Trace, req: TraceRequest, st: Style, width: number): string[] {
  const out = [''];
  out.push(
    ...wrap(`${trace.disposition}  ${trace.reason}`, width, '', '  ').map((l, i) =>
      i === 0 ? colourFirstWord(l, trace.disposition, st) : l,
    ),
  );
  const d = trace.delivered;
  if (d && trace.disposition !== 'DELIVERED') {
    // Reached the receiver's stack, which refused it (NOT_LISTENING): where, and from whom it came.
    const at = d.port === undefined ? d.ip : joinHostPort(d.ip, d.port);
    out.push(...wrap(`reached ${d.to} on ${at}, sent from ${d.observedSource}`, width, '  ', '    '));
  } else if (d) {
    const at = d.port === undefined ? d.ip : joinHostPort(d.ip, d.port);
    out.push(...wrap(`received by ${d.to} on ${at}`, width, '  ', '    '));
    const sentFrom = req.from.ip;
    const nat = observedIp(d.observedSource) !== sentFrom ? `: source NAT, the sender was ${sentFrom}` : '';
    out.push(...wrap(`it sees the connection come from ${d.observedSource}${nat}`, width, '  ', '    '));
  }
  if (trace.branches.length) {
    const chosen = trace.branches.filter((b) => b.chosen).map((b) => b.target);
    if (chosen.length)
      out.push(
        ...wrap(`random choices followed: ${chosen.join(', ')} (seed ${req.seed})`, width, '  ', '    '),
      );
  }
  if (trace.masquerade) out.push('  the packet was marked for, or underwent, source NAT (masquerade).');
  return out;
}

function returnOutcomeLines(trace: Trace, st: Style, width: number): string[] {
  const r = trace.return!;
  const out = [''];
  out.push(
    ...wrap(`${r.disposition}  ${r.reason}`, width, '', '  ').map((l, i) =>
      i === 0 ? colourFirstWord(l, r.disposition, st) : l,
    ),
  );
  if (r.observedSource) {
    const from = trace.request.from;
    const who = from.spec === from.ip ? from.ip : `${from.spec} (${from.ip})`;
    out.push(...wrap(`${who} sees the reply come from ${r.observedSource}`, width, '  ', '    '));
  }
  return out;
}

function colourFirstWord(line: string, word: string, st: Style): string {
  return line.startsWith(word) ? dispositionWord(word, st) + line.slice(word.length) : line;
}

/** The address part of `ip:port`, `[v6]:port` or a bare address. */
function observedIp(s: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (v6) return v6[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::\d+)?$/.exec(s);
  return v4 ? v4[1]! : s;
}

/** A `conntrack -L` line, broken before the reply tuple the way people paste them (original, then reply). */
function conntrackLines(entry: string, width: number): string[] {
  const first = entry.indexOf(' src=');
  const second = first >= 0 ? entry.indexOf(' src=', first + 1) : -1;
  if (second < 0 || entry.length + 4 <= width) return wrap(entry, width, '    ', '        ');
  return [
    ...wrap(entry.slice(0, second), width, '    ', '        '),
    ...wrap(entry.slice(second + 1), width, '        ', '        '),
  ];
}

/** Word wrap with a first-line and a continuation prefix; a word longer than the line is kept whole. */
export function wrap(text: string, width: number, first: string, rest: string): string[] {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const w of words) {
    if (!empty && line.length + 1 + w.length > width) {
      lines.push(line);
      line = rest + w;
    } else {
      line += (empty ? '' : ' ') + w;
    }
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => l.trimEnd());
}

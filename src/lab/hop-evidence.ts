// Per-rule evidence from the kernel for `lab verify --hops N`: for one connection at a time, every node's
// rule counters are zeroed, the connection is made, and `iptables-save -c` is read back. Each iptables
// rule the twin's trace says the packet matched on a node (forced to the endpoint that really answered)
// must show a non-zero packet counter there. The converse is not asserted: replies, ACKs and the
// namespaces' own IPv6 chatter also move counters.
import { traceConnection } from '../trace/index.js';
import type { Twin } from '../twin.js';
import { type Attempt, connectFrom, parseReply } from './client.js';
import type { Difference } from './compare.js';
import type { LabJournal } from './journal.js';
import { run } from './kernel.js';
import type { Probe } from './probes.js';

/** `table chain ruleNumber` → packets, from `iptables-save -c` output. */
export function parseRuleCounters(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const perChain = new Map<string, number>();
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1).trim();
      perChain.clear();
      continue;
    }
    const m = /^\[(\d+):\d+\] -A (\S+)/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const n = (perChain.get(m[2]) ?? 0) + 1;
    perChain.set(m[2], n);
    out.set(`${table} ${m[2]} ${n}`, BigInt(m[1]));
  }
  return out;
}

const TABLES = ['raw', 'mangle', 'nat', 'filter'];

/**
 * Zeroes the rule counters and empties conntrack: a trace starts from an empty conntrack table, so the
 * kernel must too — otherwise an earlier probe's flow (e.g. the outer VXLAN UDP flow between two nodes,
 * whose source port is a hash of the inner flow) is ESTABLISHED and skips the nat rules the trace names.
 */
function resetNode(netns: string): void {
  run([
    'ip',
    'netns',
    'exec',
    netns,
    'sh',
    '-c',
    [...TABLES.map((t) => `iptables -t ${t} -Z 2>/dev/null`), 'conntrack -F 2>/dev/null', 'true'].join('; '),
  ]);
}

export interface HopCheck {
  probe: Probe;
  attempt?: Attempt;
  /** Rules the trace claims, with the kernel's packet count. */
  rules: { node: string; rule: string; packets: bigint }[];
  differences: Difference[];
}

/** Runs the probes one at a time (counters are per namespace, so nothing else may run meanwhile). */
export async function checkHops(
  twin: Twin,
  journal: LabJournal,
  probes: readonly Probe[],
): Promise<HopCheck[]> {
  const nodes = journal.namespaces.filter((n) => n.role === 'node' && n.node);
  const out: HopCheck[] = [];
  for (const probe of probes) {
    for (const n of nodes) resetNode(n.name);
    const [attempt] = await connectFrom(probe.fromNetns, [
      { id: probe.id, protocol: probe.protocol, ip: probe.ip, port: probe.port, count: 1 },
    ]);
    const counters = new Map(
      nodes.map((n) => [
        n.node ?? '',
        parseRuleCounters(run(['ip', 'netns', 'exec', n.name, 'iptables-save', '-c'])),
      ]),
    );
    const reply = attempt?.reply ? parseReply(attempt.reply) : undefined;
    const check: HopCheck = { probe, rules: [], differences: [], ...(attempt ? { attempt } : {}) };
    out.push(check);
    if (!reply) continue;
    const isPod = twin.state.pods.some(
      (p) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}` === reply.endpoint,
    );
    const trace = traceConnection(twin, {
      from: probe.from,
      to: `${probe.ip}:${probe.port}`,
      protocol: probe.protocol,
      seed: 1,
      noReturn: true,
      ...(isPod ? { endpoint: reply.endpoint } : {}),
    });
    for (const h of trace.hops) {
      const d = h.decidedBy;
      if (
        d?.kind !== 'iptables-rule' ||
        !h.at.node ||
        h.at.netns !== 'root' ||
        !d.table ||
        !d.chain ||
        !d.ruleNumber
      )
        continue;
      const key = `${d.table} ${d.chain} ${d.ruleNumber}`;
      const packets = counters.get(h.at.node)?.get(key) ?? 0n;
      check.rules.push({ node: h.at.node, rule: d.text, packets });
      if (packets === 0n) {
        check.differences.push({
          kind: 'counters',
          text: `the trace says ${h.at.node} matched ${d.table} ${d.chain} rule ${d.ruleNumber} (${d.text}); the kernel's counter is 0`,
        });
      }
    }
  }
  return out;
}

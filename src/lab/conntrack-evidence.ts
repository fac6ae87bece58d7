// Per-hop evidence from the kernel for `lab verify`: the conntrack entry of a real connection on the node
// where kube-proxy's DNAT happens (the client pod's node), found by the client's own source port. Its
// reply tuple names the endpoint the kernel chose there; it must be the endpoint that answered.
import type { Attempt } from './client.js';
import { parseReply } from './client.js';
import type { Difference } from './compare.js';
import { run } from './kernel.js';

export interface ConntrackTuple {
  protocol: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  replySrc: string;
  replySport: number;
  replyDst: string;
}

/** Parses `conntrack -L` lines (the tool's default output) into original + reply tuples. */
export function parseConntrack(text: string): ConntrackTuple[] {
  const out: ConntrackTuple[] = [];
  for (const line of text.split('\n')) {
    const proto = /^(tcp|udp)\s/.exec(line)?.[1];
    if (!proto) continue;
    const kv = [...line.matchAll(/(src|dst|sport|dport)=(\S+)/g)].map((m) => [m[1], m[2]] as const);
    const first = new Map<string, string>();
    const second = new Map<string, string>();
    for (const [k, v] of kv) {
      if (k && v !== undefined) {
        if (!first.has(k)) first.set(k, v);
        else if (!second.has(k)) second.set(k, v);
      }
    }
    out.push({
      protocol: proto,
      src: first.get('src') ?? '',
      dst: first.get('dst') ?? '',
      sport: Number(first.get('sport')),
      dport: Number(first.get('dport')),
      replySrc: second.get('src') ?? '',
      replySport: Number(second.get('sport')),
      replyDst: second.get('dst') ?? '',
    });
  }
  return out;
}

export function dumpConntrack(netns: string): ConntrackTuple[] {
  return parseConntrack(run(['ip', 'netns', 'exec', netns, 'conntrack', '-L']));
}

/**
 * For each answered connection, the entry on the DNAT node must exist and its reply source must be the
 * answering endpoint's address (`endpointIp` maps `ns/pod` to its IP). `sameDestination` is every
 * connection this client made to this address and port (other probes' and priming ones included): a
 * source port two of them used is no evidence, since the table holds only the latest — a SYN that
 * meets a TIME_WAIT entry reopens it, and kube-proxy's DNAT chooses afresh (nf_conntrack_proto_tcp).
 */
export function conntrackDifferences(
  table: readonly ConntrackTuple[],
  client: { ip: string; protocol: string; dst: string; dport: number; node: string },
  attempts: readonly Attempt[],
  endpointIp: (endpoint: string) => string | undefined,
  sameDestination: readonly Attempt[] = attempts,
): Difference[] {
  const uses = new Map<number, number>();
  for (const a of sameDestination) {
    if (a.localPort !== undefined) uses.set(a.localPort, (uses.get(a.localPort) ?? 0) + 1);
  }
  const out: Difference[] = [];
  for (const a of attempts) {
    const r = a.reply ? parseReply(a.reply) : undefined;
    if (!r || a.localPort === undefined || (uses.get(a.localPort) ?? 0) > 1) continue;
    const e = table.find(
      (t) =>
        t.protocol === client.protocol &&
        t.src === client.ip &&
        t.sport === a.localPort &&
        t.dst === client.dst &&
        t.dport === client.dport,
    );
    const want = endpointIp(r.endpoint);
    if (!e) {
      out.push({
        kind: 'conntrack',
        text: `no conntrack entry on ${client.node} for source port ${a.localPort}`,
      });
    } else if (want && e.replySrc !== want) {
      out.push({
        kind: 'conntrack',
        text: `conntrack on ${client.node} DNATed to ${e.replySrc}:${e.replySport}, but ${r.endpoint} (${want}) answered`,
      });
    }
    if (out.length) break;
  }
  return out;
}

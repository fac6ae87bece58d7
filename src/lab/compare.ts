// Expected versus actual for one probe: pure. The prediction is the set of outcomes the twin allows
// (every branch at every random choice); the kernel's answer must be one of them, and over repeated
// connections every predicted endpoint must show up.
import type { Disposition } from '../trace/types.js';
import { type Attempt, parseReply } from './client.js';
import type { Probe } from './probes.js';

/** What a connection comes to, as a client can tell: answered, refused (RST/ICMP), or lost. */
export type OutcomeClass = 'delivered' | 'refused' | 'lost' | 'unsupported';

export interface PredictedOutcome {
  disposition: Disposition;
  /** `ns/pod` that receives the connection (delivered only). */
  endpoint?: string;
  /** The client address the endpoint observes (delivered only): SNAT shows here. */
  observedIp?: string;
  /** Why the journey ended (the trace's reason). */
  reason: string;
}

export interface Prediction {
  outcomes: PredictedOutcome[];
  /** Endpoints with a non-zero probability: each should answer at least once. */
  endpoints: string[];
}

export function classOf(d: Disposition): OutcomeClass {
  switch (d) {
    case 'DELIVERED':
      return 'delivered';
    // The kernel answers these with a TCP RST or an ICMP port/host unreachable the client sees.
    case 'NOT_LISTENING':
    case 'REJECTED':
    case 'NO_ENDPOINTS':
      return 'refused';
    case 'UNSUPPORTED':
      return 'unsupported';
    default:
      return 'lost';
  }
}

export function attemptClass(a: Attempt): OutcomeClass {
  if (a.outcome === 'answered') return 'delivered';
  if (a.outcome === 'refused') return 'refused';
  return 'lost';
}

/** How many connections make missing one of k equally likely endpoints unlikely (< 1e-6 per probe). */
export function attemptsFor(endpoints: number): number {
  if (endpoints <= 1) return 1;
  return Math.min(400, Math.ceil(Math.log(1e-6 / endpoints) / Math.log(1 - 1 / endpoints)));
}

export interface Difference {
  kind: 'outcome' | 'endpoint' | 'source' | 'coverage' | 'reply' | 'conntrack' | 'counters';
  text: string;
}

export interface Verdict {
  probe: Probe;
  prediction: Prediction;
  attempts: Attempt[];
  expected: string;
  actual: string;
  differences: Difference[];
  /** Differences a divergence in docs/divergences.md explains (id: reason). */
  explained: { difference: Difference; divergence: string }[];
  /** The prediction could not be made (the engine said UNSUPPORTED, or threw). */
  simulatedOnly?: string;
}

function uniq(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort();
}

export function describePrediction(p: Prediction): string {
  const parts: string[] = [];
  for (const cls of uniq(p.outcomes.map((o) => classOf(o.disposition)))) {
    if (cls !== 'delivered') {
      const ds = uniq(p.outcomes.filter((o) => classOf(o.disposition) === cls).map((o) => o.disposition));
      parts.push(`${cls} (${ds.join('|')})`);
      continue;
    }
    const eps = uniq(p.outcomes.filter((o) => o.endpoint).map((o) => o.endpoint ?? ''));
    const srcs = uniq(p.outcomes.filter((o) => o.observedIp).map((o) => o.observedIp ?? ''));
    parts.push(
      `${eps.length} endpoint${eps.length === 1 ? '' : 's'} ${eps.join(' ')}; src ${srcs.join('|')}`,
    );
  }
  return parts.join('; ');
}

export function describeAttempts(attempts: readonly Attempt[]): string {
  const counts = new Map<string, number>();
  const srcs = new Set<string>();
  for (const a of attempts) {
    const r = a.reply ? parseReply(a.reply) : undefined;
    const k = r ? r.endpoint : a.outcome + (a.error ? ` ${a.error}` : '');
    counts.set(k, (counts.get(k) ?? 0) + 1);
    if (r) srcs.add(r.observedIp);
  }
  const body = [...counts].map(([k, n]) => (attempts.length > 1 ? `${k}×${n}` : k)).join(' ');
  return srcs.size ? `${body}; src ${[...srcs].sort().join('|')}` : body;
}

/** The differences between what the twin predicted and what the kernel did, for one probe. */
export function compareProbe(prediction: Prediction, attempts: readonly Attempt[]): Difference[] {
  const diffs: Difference[] = [];
  const classes = new Set(prediction.outcomes.map((o) => classOf(o.disposition)));
  const seen = new Set<string>();
  const noted = new Set<string>();
  const note = (d: Difference) => {
    if (noted.has(d.text)) return;
    noted.add(d.text);
    diffs.push(d);
  };
  for (const a of attempts) {
    const cls = attemptClass(a);
    // ICMP host/net unreachable is the kernel's way to lose a packet loudly; either prediction fits it.
    const fits =
      classes.has(cls) || (a.outcome === 'unreachable' && (classes.has('refused') || classes.has('lost')));
    if (!fits) {
      note({
        kind: 'outcome',
        text: `predicted ${[...classes].join('|')}, the kernel: ${a.outcome}${a.error ? ` (${a.error})` : ''}`,
      });
      continue;
    }
    if (cls !== 'delivered') continue;
    const r = a.reply ? parseReply(a.reply) : undefined;
    if (!r) {
      note({ kind: 'reply', text: `unreadable answer "${a.reply ?? ''}"` });
      continue;
    }
    seen.add(r.endpoint);
    const forEndpoint = prediction.outcomes.filter((o) => o.endpoint === r.endpoint);
    if (forEndpoint.length === 0) {
      note({
        kind: 'endpoint',
        text: `${r.endpoint} answered; predicted ${prediction.endpoints.join(' | ') || 'no endpoint'}`,
      });
      continue;
    }
    if (!forEndpoint.some((o) => o.observedIp === r.observedIp)) {
      note({
        kind: 'source',
        text: `${r.endpoint} observed client ${r.observedIp}; predicted ${uniq(forEndpoint.map((o) => o.observedIp ?? '?')).join(' | ')}`,
      });
    }
  }
  const delivered = attempts.filter((a) => attemptClass(a) === 'delivered').length;
  if (delivered >= attemptsFor(prediction.endpoints.length)) {
    const missing = prediction.endpoints.filter((e) => !seen.has(e));
    if (missing.length) {
      note({
        kind: 'coverage',
        text: `never answered in ${delivered} connections: ${missing.join(', ')}`,
      });
    }
  }
  return diffs;
}

// Expected versus actual for one probe: pure. The prediction is the set of outcomes the twin allows
// (every branch at every random choice); the kernel's answer must be one of them, and over repeated
// connections every predicted endpoint must show up — except under ClientIP affinity, where every
// connection of one sticky domain must land on the one endpoint the first connection chose.
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
  /** Under ClientIP affinity: the key of the sticky domain this outcome's connection is recorded in. */
  domain?: string;
}

/**
 * Where ClientIP affinity applies: the xt_recent lists of one node's namespace, keyed by the client address
 * as that node sees it, checked by one service chain (KUBE-SVC-… or KUBE-SVL-…).
 */
export interface StickyDomain {
  /** `node src chain`. */
  key: string;
  node: string;
  src: string;
  chain: string;
  /** The KUBE-SEP-… recent lists the chain's `--rcheck` rules consult. */
  lists: string[];
}

export interface Prediction {
  outcomes: PredictedOutcome[];
  /** Endpoints with a non-zero probability: each should answer at least once (without affinity). */
  endpoints: string[];
  /** sessionAffinity ClientIP: the first connection takes any predicted branch, later ones stick. */
  affinity?: { timeoutSeconds?: number; domains: StickyDomain[] };
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
  kind: 'outcome' | 'endpoint' | 'source' | 'coverage' | 'affinity' | 'reply' | 'conntrack' | 'counters';
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
  const a = p.affinity;
  if (a) {
    const per = a.domains.length > 1 ? ` per node (${a.domains.map((d) => d.node).join(' ')})` : '';
    parts.push(`sticky${per}${a.timeoutSeconds !== undefined ? ` ${a.timeoutSeconds}s` : ''}`);
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
  // With affinity, coverage is the wrong expectation: stickiness is checked by stickinessDifferences.
  if (!prediction.affinity && delivered >= attemptsFor(prediction.endpoints.length)) {
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

/** The sticky domain an answered connection was in, when its endpoint and source tell it unambiguously. */
export function domainOf(prediction: Prediction, endpoint: string, observedIp: string): string | undefined {
  const ds = new Set(
    prediction.outcomes
      .filter((o) => o.endpoint === endpoint && o.observedIp === observedIp && o.domain)
      .map((o) => o.domain ?? ''),
  );
  return ds.size === 1 ? [...ds][0] : undefined;
}

/** One answered connection of an affinity probe, placed in its sticky domain. */
export interface StickyObservation {
  probeId: string;
  domain: string;
  endpoint: string;
  /** The connection made alone, before any other in its domain (the one that picks at random). */
  first: boolean;
}

/**
 * ClientIP affinity across probes: within a sticky domain every connection after the first must land on
 * one endpoint — the first connection's, unless another domain sharing its recent lists (same node and
 * client, e.g. KUBE-SVC and KUBE-SVL of one service) recorded a different one meanwhile, when the chain's
 * first `--rcheck` rule that hits wins. Returns the differences per probe id.
 */
export function stickinessDifferences(
  observations: readonly StickyObservation[],
  domains: readonly StickyDomain[],
): Map<string, Difference[]> {
  const out = new Map<string, Difference[]>();
  const byKey = new Map(domains.map((d) => [d.key, d]));
  const shared = (d: StickyDomain) =>
    domains.some(
      (o) =>
        o.key !== d.key && o.node === d.node && o.src === d.src && o.lists.some((l) => d.lists.includes(l)),
    );
  const groups = new Map<string, StickyObservation[]>();
  for (const o of observations) groups.set(o.domain, [...(groups.get(o.domain) ?? []), o]);
  for (const [key, obs] of groups) {
    const d = byKey.get(key);
    const where = d ? `from ${d.src} on ${d.node} (${d.chain})` : key;
    const first = obs.find((o) => o.first);
    const later = obs.filter((o) => !o.first);
    const eps = [...new Set(later.map((o) => o.endpoint))].sort();
    let text: string | undefined;
    if (eps.length > 1)
      text = `ClientIP affinity: connections ${where} landed on ${eps.join(', ')}; expected one endpoint`;
    else if (first && eps.length === 1 && eps[0] !== first.endpoint && !(d && shared(d)))
      text = `ClientIP affinity: the first connection ${where} landed on ${first.endpoint}, later ones on ${eps[0]}`;
    if (!text) continue;
    for (const id of new Set(obs.map((o) => o.probeId))) {
      out.set(id, [...(out.get(id) ?? []), { kind: 'affinity', text }]);
    }
  }
  return out;
}

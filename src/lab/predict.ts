// The twin's side of `lab verify`: traceConnection for a probe, followed down every branch. Endpoint
// choices are forced one by one (`--endpoint`); other random choices (the cloud LB's node) are covered
// by a fixed list of seeds, so the prediction is deterministic.
import { traceConnection } from '../trace/index.js';
import type { Trace } from '../trace/types.js';
import type { Twin } from '../twin.js';
import type { PredictedOutcome, Prediction } from './compare.js';
import type { Probe } from './probes.js';

const OTHER_CHOICE_SEEDS = 24;

function outcomeOf(t: Trace): PredictedOutcome {
  const d = t.delivered;
  return {
    disposition: t.disposition,
    reason: t.reason,
    ...(d && t.disposition === 'DELIVERED'
      ? { endpoint: d.to, observedIp: d.observedSource.replace(/:\d+$/, '') }
      : {}),
  };
}

export function predictProbe(twin: Twin, probe: Probe): Prediction {
  const query = {
    from: probe.from,
    to: `${probe.ip}:${probe.port}`,
    protocol: probe.protocol,
    noReturn: true,
  };
  const base = traceConnection(twin, { ...query, seed: 1 });
  const podByIp = new Map<string, string>();
  for (const p of twin.state.pods) {
    if (p.status?.podIP && !p.spec.hostNetwork)
      podByIp.set(p.status.podIP, `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`);
  }
  const endpointChoices = [
    ...new Set(
      base.branches
        .filter((b) => b.dnat && b.probability > 0)
        .map((b) => podByIp.get((b.dnat ?? '').replace(/:\d+$/, '')))
        .filter((x): x is string => x !== undefined),
    ),
  ];
  const otherChoices = base.branches.some((b) => !b.dnat && b.probability > 0 && b.probability < 1);
  const seeds = otherChoices ? Array.from({ length: OTHER_CHOICE_SEEDS }, (_, i) => i + 1) : [1];
  const traces: Trace[] = [base];
  for (const endpoint of endpointChoices.length ? endpointChoices : [undefined]) {
    for (const seed of seeds) {
      if (endpoint === undefined && seed === 1) continue;
      traces.push(traceConnection(twin, { ...query, seed, ...(endpoint ? { endpoint } : {}) }));
    }
  }
  const seen = new Set<string>();
  const outcomes: PredictedOutcome[] = [];
  for (const t of traces) {
    const o = outcomeOf(t);
    const k = `${o.disposition} ${o.endpoint ?? ''} ${o.observedIp ?? ''}`;
    if (seen.has(k)) continue;
    seen.add(k);
    outcomes.push(o);
  }
  const endpoints = [
    ...new Set(outcomes.map((o) => o.endpoint).filter((x): x is string => x !== undefined)),
  ].sort();
  return { outcomes, endpoints };
}

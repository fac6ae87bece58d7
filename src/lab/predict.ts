// The twin's side of `lab verify`: traceConnection for a probe, followed down every branch. Endpoint
// choices are forced one by one (`--endpoint`); other random choices (the cloud LB's node) are covered
// by a fixed list of seeds, so the prediction is deterministic. A trace starts with empty xt_recent lists,
// so under ClientIP affinity it predicts the FIRST connection; the prediction then names the sticky
// domain (node, client address as that node sees it, service chain) every later connection stays in.
import { printIptablesSave } from '../node/iptables/print.js';
import { traceConnection } from '../trace/index.js';
import type { Trace } from '../trace/types.js';
import type { Twin } from '../twin.js';
import type { PredictedOutcome, Prediction, StickyDomain } from './compare.js';
import type { Probe } from './probes.js';

const OTHER_CHOICE_SEEDS = 24;

const SEP_SET = /-m recent --set --name (\S+)/;

/**
 * Where ClientIP affinity pins a trace's connection: kube-proxy's KUBE-SEP chain records the client in an
 * xt_recent list (`--set`, keyed by the source address on that node, per network namespace) and the
 * service chain's `--rcheck` rules send the next connection from that address to the recorded endpoint.
 */
function stickyDomainOf(t: Trace): StickyDomain | undefined {
  const i = t.hops.findIndex((h) => h.decidedBy?.kind === 'iptables-rule' && SEP_SET.test(h.decidedBy.text));
  const set = t.hops[i];
  const list = set?.decidedBy ? SEP_SET.exec(set.decidedBy.text)?.[1] : undefined;
  if (!set?.at.node || !list) return undefined;
  // The service chain is the one whose rule jumped to this KUBE-SEP chain.
  const jump = t.hops
    .slice(0, i)
    .reverse()
    .find((h) => h.decidedBy?.kind === 'iptables-rule' && h.decidedBy.text.endsWith(` -j ${list}`));
  const chain = jump?.decidedBy?.chain ?? list;
  const lists = new Set([list]);
  for (const b of t.branches) {
    const m = b.decidedBy?.chain === chain ? /-j (KUBE-SEP-\S+)$/.exec(b.decidedBy.text) : null;
    if (m?.[1]) lists.add(m[1]);
  }
  const node = set.at.node;
  const src = set.before.ip.src.toString();
  return { key: `${node} ${src} ${chain}`, node, src, chain, lists: [...lists].sort() };
}

const natRules = new WeakMap<Twin, Map<string, string>>();

/** The `--rcheck --seconds N` of a service chain on a node (kube-proxy's stickyMaxAgeSeconds). */
function affinitySeconds(twin: Twin, d: StickyDomain): number | undefined {
  let byNode = natRules.get(twin);
  if (!byNode) {
    byNode = new Map();
    natRules.set(twin, byNode);
  }
  let text = byNode.get(d.node);
  if (text === undefined) {
    const n = twin.nodes().find((x) => x.node === d.node);
    text = n ? printIptablesSave(n.host.iptables) : '';
    byNode.set(d.node, text);
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith(`-A ${d.chain} `)) continue;
    const m = /--rcheck --seconds (\d+)/.exec(line);
    if (m?.[1]) return Number(m[1]);
  }
  return undefined;
}

function outcomeOf(t: Trace): PredictedOutcome {
  const d = t.delivered;
  const domain = t.disposition === 'DELIVERED' ? stickyDomainOf(t) : undefined;
  return {
    disposition: t.disposition,
    reason: t.reason,
    ...(d && t.disposition === 'DELIVERED'
      ? { endpoint: d.to, observedIp: d.observedSource.replace(/:\d+$/, '') }
      : {}),
    ...(domain ? { domain: domain.key } : {}),
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
  const domains = new Map<string, StickyDomain>();
  for (const t of traces) {
    const o = outcomeOf(t);
    const domain = o.domain ? stickyDomainOf(t) : undefined;
    if (domain) domains.set(domain.key, domain);
    const k = `${o.disposition} ${o.endpoint ?? ''} ${o.observedIp ?? ''} ${o.domain ?? ''}`;
    if (seen.has(k)) continue;
    seen.add(k);
    outcomes.push(o);
  }
  const endpoints = [
    ...new Set(outcomes.map((o) => o.endpoint).filter((x): x is string => x !== undefined)),
  ].sort();
  const first = [...domains.values()][0];
  const seconds = first ? affinitySeconds(twin, first) : undefined;
  return {
    outcomes,
    endpoints,
    ...(first
      ? {
          affinity: {
            ...(seconds !== undefined ? { timeoutSeconds: seconds } : {}),
            domains: [...domains.values()].sort((a, b) => a.key.localeCompare(b.key)),
          },
        }
      : {}),
  };
}

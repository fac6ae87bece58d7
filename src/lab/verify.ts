import { formatTable } from '../render/table.js';
import type { Twin } from '../twin.js';
import { type Attempt, type ConnectRequest, connectFrom, parseReply } from './client.js';
import {
  attemptsFor,
  classOf,
  compareProbe,
  describeAttempts,
  describePrediction,
  domainOf,
  type Prediction,
  type StickyDomain,
  type StickyObservation,
  stickinessDifferences,
  type Verdict,
} from './compare.js';
import { type ConntrackTuple, conntrackDifferences, dumpConntrack } from './conntrack-evidence.js';
import { type Divergence, explain } from './divergences.js';
import { checkHops } from './hop-evidence.js';
import { tryRun } from './kernel.js';
import { labToVerify } from './lifecycle.js';
import { predictProbe } from './predict.js';
import {
  labProbes,
  type Probe,
  type ProbeTag,
  probeService,
  sampleProbes,
  sampleWithTags,
} from './probes.js';

export interface VerifyOptions {
  lab?: string;
  /** Verify N probes picked at random (seeded) instead of all. */
  sample?: number;
  seed?: number;
  divergences?: readonly Divergence[];
  /** Per-connection timeout; a lost packet costs this much. */
  timeoutMs?: number;
  /** Also check, for this many pod-origin probes one at a time, every rule the trace names against the kernel's counters. */
  hops?: number;
  /** Only probes of these categories. */
  categories?: readonly Probe['category'][];
  /** With `sample`: make sure at least this many probes of each tag are in it (hairpin, affinity). */
  extra?: Partial<Record<ProbeTag, number>>;
}

export interface VerifyReport {
  lab: string;
  verdicts: Verdict[];
  connections: number;
  unexplained: number;
  explained: number;
  simulatedOnly: number;
  /** Whether per-hop kernel evidence (conntrack entries on the DNAT node) was checked. */
  conntrackEvidence: boolean;
  /** Probes whose every traced iptables rule was checked against `iptables-save -c`, and how many rules. */
  hopChecks: { probes: number; rules: number };
  /** Probes by tag, and the ClientIP sticky domains whose stickiness was checked. */
  tagged: { hairpin: number; affinity: number; stickyDomains: number };
  elapsedMs: number;
}

/** Connections per affinity probe: enough that a non-sticky kernel would show two endpoints. */
const AFFINITY_CONNECTIONS = 8;

/** One connection per sticky domain, in waves: domains sharing a node, client and recent list never race. */
function primingWaves(primers: ReadonlyMap<string, { probe: Probe; domain: StickyDomain }>) {
  const waves: { probe: Probe; domain: StickyDomain }[][] = [];
  for (const p of primers.values()) {
    const clash = (q: { domain: StickyDomain }) =>
      q.domain.node === p.domain.node &&
      q.domain.src === p.domain.src &&
      q.domain.lists.some((l) => p.domain.lists.includes(l));
    const wave = waves.find((w) => !w.some(clash));
    if (wave) wave.push(p);
    else waves.push([p]);
  }
  return waves;
}

async function connectAll(
  byNetns: ReadonlyMap<string, ConnectRequest[]>,
  timeoutMs: number,
  after?: (netns: string) => void,
): Promise<Attempt[]> {
  const out: Attempt[] = [];
  await Promise.all(
    [...byNetns].map(async ([netns, reqs]) => {
      out.push(...(await connectFrom(netns, reqs, timeoutMs)));
      after?.(netns);
    }),
  );
  return out;
}

function predictSafely(twin: Twin, probe: Probe): Prediction | string {
  try {
    const p = predictProbe(twin, probe);
    if (p.outcomes.every((o) => classOf(o.disposition) === 'unsupported'))
      return p.outcomes[0]?.reason ?? 'the trace engine cannot evaluate this path';
    return p;
  } catch (e) {
    return `no prediction: ${e instanceof Error ? e.message : String(e)}`;
  }
}

export async function labVerify(twin: Twin, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const { lab, journal } = labToVerify(twin, opts.lab);
  let all = labProbes(twin.state, lab);
  if (opts.categories?.length) all = all.filter((p) => opts.categories?.includes(p.category));
  const chosen = new Set(
    opts.sample !== undefined ? sampleWithTags(all, opts.sample, opts.seed ?? 1, opts.extra) : all,
  );
  const predicted = new Map<Probe, Prediction | string>();
  const predict = (p: Probe) => {
    let x = predicted.get(p);
    if (x === undefined) {
      x = predictSafely(twin, p);
      predicted.set(p, x);
    }
    return x;
  };
  // ClientIP affinity: a primer per sticky domain, a probe whose connections all enter that one domain.
  const primers = new Map<string, { probe: Probe; domain: StickyDomain }>();
  const needed = new Map<string, StickyDomain>();
  const singleDomain = (p: Probe) => {
    const x = predict(p);
    return typeof x !== 'string' && x.affinity?.domains.length === 1 ? x.affinity.domains[0] : undefined;
  };
  for (const p of chosen) {
    const x = predict(p);
    if (typeof x === 'string') continue;
    for (const d of x.affinity?.domains ?? []) needed.set(d.key, d);
    const d = singleDomain(p);
    if (d && !primers.has(d.key)) primers.set(d.key, { probe: p, domain: d });
  }
  // A domain only a load balancer's random node choice reaches (external → LB VIP) is primed by the probe
  // that enters it directly: the same client to that node's NodePort. That probe is verified too.
  for (const key of needed.keys()) {
    if (primers.has(key)) continue;
    const owner = [...chosen].find((p) => {
      const x = predict(p);
      return typeof x !== 'string' && x.affinity?.domains.some((d) => d.key === key);
    });
    const candidate = all.find(
      (c) =>
        !chosen.has(c) &&
        owner &&
        c.from === owner.from &&
        c.tags?.includes('affinity') &&
        probeService(c) === probeService(owner) &&
        singleDomain(c)?.key === key,
    );
    const d = candidate && singleDomain(candidate);
    if (candidate && d) {
      chosen.add(candidate);
      primers.set(key, { probe: candidate, domain: d });
    }
  }
  const probes = all.filter((p) => chosen.has(p));
  const predictions = probes.map((p) => predict(p));
  const timeoutMs = opts.timeoutMs ?? 2000;
  const request = (p: Probe, count: number): ConnectRequest => ({
    id: p.id,
    protocol: p.protocol,
    ip: p.ip,
    port: p.port,
    count,
  });
  const attempts = new Map<string, Attempt[]>();
  const record = (list: readonly Attempt[]) => {
    for (const a of list) attempts.set(a.id, [...(attempts.get(a.id) ?? []), a]);
  };
  const firsts = new Set<Attempt>();
  for (const wave of primingWaves(primers)) {
    const reqs = new Map<string, ConnectRequest[]>();
    for (const { probe } of wave)
      reqs.set(probe.fromNetns, [...(reqs.get(probe.fromNetns) ?? []), request(probe, 1)]);
    const got = await connectAll(reqs, timeoutMs);
    for (const a of got) firsts.add(a);
    record(got);
  }
  const primerProbes = new Set([...primers.values()].map((p) => p.probe));
  const byNetns = new Map<string, ConnectRequest[]>();
  probes.forEach((p, i) => {
    const pred = predictions[i];
    if (typeof pred === 'string' || !pred) return;
    const count = pred.affinity
      ? Math.max(AFFINITY_CONNECTIONS, attemptsFor(pred.affinity.domains.length)) -
        (primerProbes.has(p) ? 1 : 0)
      : attemptsFor(pred.endpoints.length);
    byNetns.set(p.fromNetns, [...(byNetns.get(p.fromNetns) ?? []), request(p, count)]);
  });
  const podIp = new Map<string, string>();
  const podNode = new Map<string, string>();
  for (const p of twin.state.pods) {
    const key = `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
    if (p.status?.podIP) podIp.set(key, p.status.podIP);
    if (p.spec.nodeName) podNode.set(key, p.spec.nodeName);
  }
  const nodeNs = new Map(
    journal.namespaces.filter((n) => n.role === 'node').map((n) => [n.node ?? '', n.name]),
  );
  const fromNode = new Map(probes.map((p) => [p.fromNetns, podNode.get(p.from)]));
  // Kernel evidence: the source node's conntrack, read right after that source's connections (UDP
  // entries expire 30 s after the last packet), when the conntrack tool exists.
  const hasConntrack = tryRun(['sh', '-c', 'command -v conntrack']);
  const conntrack = new Map<string, ConntrackTuple[]>();
  record(
    await connectAll(byNetns, timeoutMs, (netns) => {
      const node = fromNode.get(netns);
      const ns = node ? nodeNs.get(node) : undefined;
      if (hasConntrack && ns) conntrack.set(netns, dumpConntrack(ns));
    }),
  );
  // Every answered connection of an affinity probe, placed in its (primed) sticky domain.
  const observations: StickyObservation[] = [];
  probes.forEach((p, i) => {
    const pred = predictions[i];
    if (typeof pred === 'string' || !pred?.affinity) return;
    for (const a of attempts.get(p.id) ?? []) {
      const r = a.reply ? parseReply(a.reply) : undefined;
      const domain = r ? domainOf(pred, r.endpoint, r.observedIp) : undefined;
      if (!r || !domain || !primers.has(domain)) continue;
      observations.push({ probeId: p.id, domain, endpoint: r.endpoint, first: firsts.has(a) });
    }
  });
  const sticky = stickinessDifferences(observations, [...needed.values()]);
  // Every connection from one netns to one address and port, whichever probe made it (conntrack evidence).
  const destinationKey = (p: Probe) => `${p.fromNetns} ${p.protocol} ${p.ip}:${p.port}`;
  const byDestination = new Map<string, Attempt[]>();
  for (const p of probes) {
    const list = byDestination.get(destinationKey(p)) ?? [];
    list.push(...(attempts.get(p.id) ?? []));
    byDestination.set(destinationKey(p), list);
  }
  const verdicts: Verdict[] = probes.map((probe, i) => {
    const pred = predictions[i] ?? 'no prediction';
    if (typeof pred === 'string') {
      return {
        probe,
        prediction: { outcomes: [], endpoints: [] },
        attempts: [],
        expected: 'simulated only',
        actual: '-',
        differences: [],
        explained: [],
        simulatedOnly: pred,
      };
    }
    const got = attempts.get(probe.id) ?? [];
    const all = [...compareProbe(pred, got), ...(sticky.get(probe.id) ?? [])];
    // kube-proxy DNATs a pod's service connection on the pod's own node (nat OUTPUT/PREROUTING there).
    const node = podNode.get(probe.from);
    const table = conntrack.get(probe.fromNetns);
    if (table && node && all.length === 0 && probe.category === 'pod-clusterip') {
      all.push(
        ...conntrackDifferences(
          table,
          {
            ip: podIp.get(probe.from) ?? '',
            protocol: probe.protocol,
            dst: probe.ip,
            dport: probe.port,
            node,
          },
          // A priming connection came earlier: its UDP entry may have timed out (30 s) by the dump.
          got.filter((a) => !firsts.has(a)),
          (e) => podIp.get(e),
          byDestination.get(destinationKey(probe)),
        ),
      );
    }
    const explained: Verdict['explained'] = [];
    const differences = all.filter((d) => {
      const div = explain(opts.divergences ?? [], probe, d);
      if (div) explained.push({ difference: d, divergence: div.id });
      return !div;
    });
    return {
      probe,
      prediction: pred,
      attempts: got,
      expected: describePrediction(pred),
      actual: got.length ? describeAttempts(got) : 'no connection made',
      differences,
      explained,
    };
  });
  const hopChecks = { probes: 0, rules: 0 };
  if (opts.hops) {
    // Not affinity probes: once the client is recorded the kernel matches an `--rcheck` rule, while a
    // trace starts from empty recent lists and names the `statistic` rule.
    const candidates = verdicts
      .filter(
        (v) =>
          v.probe.category.startsWith('pod-') &&
          !v.prediction.affinity &&
          v.attempts.some((a) => a.outcome === 'answered'),
      )
      .map((v) => v.probe);
    const checks = await checkHops(twin, journal, sampleProbes(candidates, opts.hops, opts.seed ?? 1));
    for (const c of checks) {
      hopChecks.probes++;
      hopChecks.rules += c.rules.length;
      const v = verdicts.find((x) => x.probe.id === c.probe.id);
      if (!v) continue;
      for (const d of c.differences) {
        const div = explain(opts.divergences ?? [], v.probe, d);
        if (div) v.explained.push({ difference: d, divergence: div.id });
        else v.differences.push(d);
      }
    }
  }
  return {
    lab,
    verdicts,
    connections: verdicts.reduce((n, v) => n + v.attempts.length, 0),
    unexplained: verdicts.filter((v) => v.differences.length > 0).length,
    explained: verdicts.filter((v) => v.differences.length === 0 && v.explained.length > 0).length,
    simulatedOnly: verdicts.filter((v) => v.simulatedOnly).length,
    conntrackEvidence: hasConntrack,
    hopChecks,
    tagged: {
      hairpin: probes.filter((p) => p.tags?.includes('hairpin')).length,
      affinity: probes.filter((p) => p.tags?.includes('affinity')).length,
      stickyDomains: new Set(observations.map((o) => o.domain)).size,
    },
    elapsedMs: performance.now() - started,
  };
}

/** The expected-versus-actual table, one row per probe, with the differences under it. */
export function formatVerifyReport(r: VerifyReport, opts: { onlyDifferences?: boolean } = {}): string {
  const rows: string[][] = [['PROBE', 'FROM', 'TO', 'PROTO', 'EXPECTED', 'ACTUAL', 'RESULT']];
  const notes: string[] = [];
  for (const v of r.verdicts) {
    const result = v.simulatedOnly
      ? 'simulated only'
      : v.differences.length
        ? 'DIFFERENT'
        : v.explained.length
          ? `explained (${v.explained.map((e) => e.divergence).join(',')})`
          : 'ok';
    if (opts.onlyDifferences && result === 'ok') continue;
    rows.push([
      `${v.probe.category}/${v.probe.scope}`,
      v.probe.from,
      `${v.probe.ip}:${v.probe.port} (${v.probe.toLabel})`,
      v.probe.protocol,
      v.expected,
      v.actual,
      result,
    ]);
    for (const d of v.differences) notes.push(`DIFFERENT ${v.probe.id}: ${d.kind}: ${d.text}`);
    if (v.simulatedOnly) notes.push(`simulated only ${v.probe.id}: ${v.simulatedOnly}`);
  }
  const tags = `${r.tagged.hairpin} hairpin, ${r.tagged.affinity} ClientIP affinity (stickiness checked in ${r.tagged.stickyDomains} sticky domains)`;
  const summary = `${r.verdicts.length} probes (${tags}), ${r.connections} connections in ${(r.elapsedMs / 1000).toFixed(1)} s: ${r.unexplained} unexplained differences, ${r.explained} explained, ${r.simulatedOnly} simulated only; conntrack evidence ${r.conntrackEvidence ? 'checked for pod → ClusterIP' : 'not checked (no conntrack tool: apt-get install conntrack)'}; ${r.hopChecks.probes ? `${r.hopChecks.rules} traced iptables rules in ${r.hopChecks.probes} probes checked against the kernel's counters` : 'rule counters not checked (--hops N)'}`;
  return `${formatTable(rows)}${notes.length ? `\n${notes.join('\n')}\n` : ''}\n${summary}\n`;
}

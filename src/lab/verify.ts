// `lab verify`: every probe predicted by the twin and made for real in the lab, compared, printed as an
// expected-versus-actual table. Differences a known divergence explains are listed as such; any other
// difference makes the run fail.
import { UnsupportedError } from '../model/errors.js';
import { formatTable } from '../render/table.js';
import type { Twin } from '../twin.js';
import { type Attempt, type ConnectRequest, connectFrom } from './client.js';
import {
  attemptsFor,
  classOf,
  compareProbe,
  describeAttempts,
  describePrediction,
  type Prediction,
  type Verdict,
} from './compare.js';
import { type ConntrackTuple, conntrackDifferences, dumpConntrack } from './conntrack-evidence.js';
import { type Divergence, explain } from './divergences.js';
import { checkHops } from './hop-evidence.js';
import { readJournal } from './journal.js';
import { tryRun } from './kernel.js';
import { requireRoot } from './lifecycle.js';
import { predictProbe } from './predict.js';
import { labProbes, type Probe, sampleProbes } from './probes.js';

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
  elapsedMs: number;
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
  requireRoot();
  const started = performance.now();
  const lab = opts.lab ?? twin.state.config.name;
  const journal = readJournal(lab);
  if (journal?.status !== 'up')
    throw new UnsupportedError(`lab "${lab}" is not up; run \`kpath lab up\` first`);
  let probes = labProbes(twin.state, lab);
  if (opts.categories?.length) probes = probes.filter((p) => opts.categories?.includes(p.category));
  if (opts.sample !== undefined) probes = sampleProbes(probes, opts.sample, opts.seed ?? 1);
  const predictions = probes.map((p) => predictSafely(twin, p));
  const byNetns = new Map<string, ConnectRequest[]>();
  probes.forEach((p, i) => {
    const pred = predictions[i];
    if (typeof pred === 'string' || !pred) return;
    const list = byNetns.get(p.fromNetns) ?? [];
    list.push({
      id: p.id,
      protocol: p.protocol,
      ip: p.ip,
      port: p.port,
      count: attemptsFor(pred.endpoints.length),
    });
    byNetns.set(p.fromNetns, list);
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
  const attempts = new Map<string, Attempt[]>();
  await Promise.all(
    [...byNetns].map(async ([netns, reqs]) => {
      for (const a of await connectFrom(netns, reqs, opts.timeoutMs ?? 2000)) {
        const list = attempts.get(a.id) ?? [];
        list.push(a);
        attempts.set(a.id, list);
      }
      const node = fromNode.get(netns);
      const ns = node ? nodeNs.get(node) : undefined;
      if (hasConntrack && ns) conntrack.set(netns, dumpConntrack(ns));
    }),
  );
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
    const all = compareProbe(pred, got);
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
          got,
          (e) => podIp.get(e),
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
    const candidates = verdicts
      .filter((v) => v.probe.category.startsWith('pod-') && v.attempts.some((a) => a.outcome === 'answered'))
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
  const summary = `${r.verdicts.length} probes, ${r.connections} connections in ${(r.elapsedMs / 1000).toFixed(1)} s: ${r.unexplained} unexplained differences, ${r.explained} explained, ${r.simulatedOnly} simulated only; conntrack evidence ${r.conntrackEvidence ? 'checked for pod → ClusterIP' : 'not checked (no conntrack tool: apt-get install conntrack)'}; ${r.hopChecks.probes ? `${r.hopChecks.rules} traced iptables rules in ${r.hopChecks.probes} probes checked against the kernel's counters` : 'rule counters not checked (--hops N)'}`;
  return `${formatTable(rows)}${notes.length ? `\n${notes.join('\n')}\n` : ''}\n${summary}\n`;
}

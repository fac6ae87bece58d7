// `lab verify --reach`: every cell of the reachability matrix (pod × pod × each declared port of the
// destination, as `kpath reach` computes it) made as a real connection in the lab and compared three
// ways — the policy semantics (`kpath reach`), the twin's datapath (a trace through the policy agent's
// rules in NodeState) and the kernel — and printed as upstream's e2e netpol truth tables.
import type { ClusterState } from '../model/cluster.js';
import type { Protocol } from '../model/k8s.js';
import { evaluateConnection } from '../policy/evaluate.js';
import type { Probe as PortProbe } from '../policy/matrix.js';
import { buildPolicyIndex } from '../policy/policy-index.js';
import { printTruthTable } from '../policy/truth-table.js';
import { reachView } from '../render/reach-cells.js';
import { traceConnection } from '../trace/index.js';
import type { Twin } from '../twin.js';
import { type Attempt, type ConnectRequest, connectFrom, parseReply } from './client.js';
import {
  attemptClass,
  attemptsFor,
  classOf,
  compareProbe,
  describeAttempts,
  describePrediction,
  type Prediction,
} from './compare.js';
import { type Divergence, explain } from './divergences.js';
import { detectFeatures, type Features } from './features.js';
import { labToVerify } from './lifecycle.js';
import { nodeNetns, podNetns } from './names.js';
import { predictProbe } from './predict.js';
import { type Probe, sampleProbes } from './probes.js';

export interface ReachVerifyOptions {
  lab?: string;
  /** Probe every destination on these (as `kpath reach --port`); otherwise each pod's declared ports. */
  ports?: readonly PortProbe[];
  /** Verify N cells picked at random (seeded) instead of all; the rest are counted as not sampled. */
  sample?: number;
  seed?: number;
  /** Services (`ns/name`) whose ClusterIP every pod also dials; default: kube-system/kube-dns. */
  services?: readonly string[];
  divergences?: readonly Divergence[];
  /** Per-connection timeout; a dropped packet costs this much. */
  timeoutMs?: number;
  /** Already detected kernel features (saves the probe namespace). */
  features?: Pick<Features, 'sctp'>;
}

export type ReachSide = 'allowed' | 'denied';

export interface ReachCellCheck {
  /** `pod` for a matrix cell, `service` for a pod → ClusterIP connection. */
  kind: 'pod' | 'service';
  from: string;
  /** `ns/pod`, or `svc/ns/name` for a Service. */
  to: string;
  ip: string;
  port: number;
  protocol: Protocol;
  scope: 'self' | 'same-node' | 'cross-node' | 'service';
  /** Indices into the report's froms, tos and probes (pod cells). */
  at?: { from: number; to: number; probe: number };
  /** `kpath reach`'s verdict; for a Service, over its endpoints (`some` when they differ). */
  expected: ReachSide | 'some';
  /** The endpoints `kpath reach` allows (Service cells). */
  allowedEndpoints?: string[];
  /** The twin's trace through NodeState. */
  twin: ReachSide | 'some' | 'unsupported';
  twinDetail: string;
  /** The kernel's answer; `simulated only` cells were never dialled. */
  kernel: ReachSide | 'some' | 'simulated only';
  kernelDetail: string;
  status: 'ok' | 'different' | 'explained';
  differences: string[];
  explained: string[];
  /** Why the kernel could not be asked (SCTP without the sctp module, …). */
  simulatedOnly?: string;
}

export interface ReachVerifyReport {
  lab: string;
  froms: string[];
  tos: string[];
  probes: PortProbe[];
  cells: ReachCellCheck[];
  counts: {
    cells: number;
    podCells: number;
    serviceCells: number;
    allowed: number;
    denied: number;
    kernelChecked: number;
    simulatedOnly: number;
    notSampled: number;
    agree: number;
    different: number;
    explained: number;
  };
  connections: number;
  elapsedMs: number;
}

const lower = (p: Protocol): 'tcp' | 'udp' | 'sctp' => p.toLowerCase() as 'tcp' | 'udp' | 'sctp';
const side = (allowed: boolean): ReachSide => (allowed ? 'allowed' : 'denied');

/**
 * The twin's side of a cell, from the prediction's outcomes (every branch). NOT_LISTENING counts as
 * allowed: the packet passed every policy rule and reached the pod, which is all `kpath reach` judges.
 */
function twinSide(p: Prediction): ReachCellCheck['twin'] {
  const classes = new Set(
    p.outcomes.map((o) => (o.disposition === 'NOT_LISTENING' ? 'delivered' : classOf(o.disposition))),
  );
  if (classes.size === 0 || classes.has('unsupported')) return 'unsupported';
  if (classes.size === 1 && classes.has('delivered')) return 'allowed';
  return classes.has('delivered') ? 'some' : 'denied';
}

/** SCTP is traced without the lab's probe machinery (which speaks TCP and UDP only). */
function predictSctp(twin: Twin, from: string, ip: string, port: number): Prediction {
  const t = traceConnection(twin, { from, to: `${ip}:${port}`, protocol: 'sctp', seed: 1, noReturn: true });
  const endpoint = t.disposition === 'DELIVERED' ? t.delivered?.to : undefined;
  return {
    outcomes: [{ disposition: t.disposition, reason: t.reason, ...(endpoint ? { endpoint } : {}) }],
    endpoints: endpoint ? [endpoint] : [],
  };
}

function predictSafely(twin: Twin, probe: Probe, protocol: Protocol): Prediction {
  try {
    return protocol === 'SCTP'
      ? predictSctp(twin, probe.from, probe.ip, probe.port)
      : predictProbe(twin, probe);
  } catch (e) {
    return {
      outcomes: [{ disposition: 'UNSUPPORTED', reason: e instanceof Error ? e.message : String(e) }],
      endpoints: [],
    };
  }
}

interface ServicePort {
  svc: string;
  ip: string;
  port: number;
  protocol: Protocol;
  /** Endpoint pods (`ns/name`) with the port number they serve on. */
  endpoints: { pod: string; port: number }[];
}

/** The ClusterIP ports of the named Services and their ready endpoint pods, from the EndpointSlices. */
function servicePorts(state: ClusterState, names: readonly string[]): ServicePort[] {
  const out: ServicePort[] = [];
  for (const svc of state.services) {
    const ns = svc.metadata.namespace ?? 'default';
    const name = `${ns}/${svc.metadata.name}`;
    const ip = svc.spec.clusterIP;
    if (!names.includes(name) || !ip || ip === 'None' || ip.includes(':')) continue;
    const slices = state.endpointSlices.filter(
      (s) =>
        (s.metadata.namespace ?? 'default') === ns &&
        s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name &&
        s.addressType === 'IPv4',
    );
    for (const sp of svc.spec.ports ?? []) {
      const protocol = sp.protocol ?? 'TCP';
      const endpoints: ServicePort['endpoints'] = [];
      for (const s of slices) {
        const ep = (s.ports ?? []).find(
          (p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === protocol,
        );
        if (ep?.port === undefined) continue;
        for (const e of s.endpoints) {
          if (e.conditions?.ready === false || e.targetRef?.kind !== 'Pod') continue;
          endpoints.push({ pod: `${e.targetRef.namespace ?? ns}/${e.targetRef.name}`, port: ep.port });
        }
      }
      out.push({ svc: name, ip, port: sp.port, protocol, endpoints });
    }
  }
  return out;
}

interface Planned {
  cell: ReachCellCheck;
  probe: Probe;
  prediction: Prediction;
  attempts: number;
}

export async function verifyReach(twin: Twin, opts: ReachVerifyOptions = {}): Promise<ReachVerifyReport> {
  const started = performance.now();
  const { lab } = labToVerify(twin, opts.lab);
  const state = twin.state;
  const index = buildPolicyIndex(state);
  const view = reachView(state, index, opts.ports?.length ? { ports: opts.ports } : {});
  const pods = new Map(state.pods.map((p) => [`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, p]));
  const netnsOf = (key: string): string => {
    const p = pods.get(key);
    const [ns = '', name = ''] = key.split('/');
    return p?.spec.hostNetwork ? nodeNetns(lab, p.spec.nodeName ?? '') : podNetns(lab, ns, name);
  };
  const sctp = (opts.features ?? detectFeatures(lab)).sctp;
  const sctpReason = sctp
    ? "the lab's client and servers (Node.js) open TCP and UDP sockets only"
    : 'kernel-sctp: this kernel has no sctp module (docs/divergences.md)';

  const listens = (key: string, p: PortProbe) =>
    (pods.get(key)?.spec.containers ?? []).some((c) =>
      (c.ports ?? []).some((cp) => cp.containerPort === p.port && (cp.protocol ?? 'TCP') === p.protocol),
    );
  const candidates: Omit<Planned, 'prediction'>[] = [];
  const plan = (
    cell: Omit<
      ReachCellCheck,
      'twin' | 'twinDetail' | 'kernel' | 'kernelDetail' | 'status' | 'differences' | 'explained'
    >,
    endpoints: number,
    simulatedOnly?: string,
  ) => {
    const probe: Probe = {
      id: `${cell.kind}:${cell.from}->${cell.ip}:${cell.port}/${lower(cell.protocol)}`,
      category: cell.kind === 'pod' ? 'pod-pod' : 'pod-clusterip',
      scope: cell.scope === 'self' || cell.scope === 'same-node' ? 'same-node' : cell.scope,
      from: cell.from,
      fromNetns: netnsOf(cell.from),
      ip: cell.ip,
      port: cell.port,
      // The lab's Probe speaks TCP and UDP; SCTP cells are traced by predictSctp and never dialled.
      protocol: cell.protocol === 'UDP' ? 'udp' : 'tcp',
      toLabel: cell.to,
    };
    const full: ReachCellCheck = {
      ...cell,
      twin: 'unsupported',
      twinDetail: '',
      kernel: simulatedOnly ? 'simulated only' : 'denied',
      kernelDetail: '-',
      status: 'ok',
      differences: [],
      explained: [],
      ...(simulatedOnly ? { simulatedOnly } : {}),
    };
    candidates.push({ cell: full, probe, attempts: attemptsFor(endpoints) });
  };

  view.froms.forEach((f, i) => {
    view.tos.forEach((t, j) => {
      const fp = f.pod;
      const tp = t.pod;
      if (!fp || !tp) return;
      const ip = pods.get(tp.key)?.status?.podIP;
      if (!ip) return;
      for (const k of view.toProbes[j] ?? []) {
        const p = view.probes[k];
        if (!p) continue;
        plan(
          {
            kind: 'pod',
            from: fp.key,
            to: tp.key,
            ip,
            port: p.port,
            protocol: p.protocol,
            scope: fp === tp ? 'self' : fp.nodeName === tp.nodeName ? 'same-node' : 'cross-node',
            at: { from: i, to: j, probe: k },
            expected: side(view.allowed(i, j, k) === true),
          },
          1,
          p.protocol === 'SCTP'
            ? sctpReason
            : listens(tp.key, p)
              ? undefined
              : // The lab's servers listen on the declared ports only; a refusal there says nothing of policy.
                `nothing listens on ${p.port}/${p.protocol} in ${tp.key} (not a declared container port)`,
        );
      }
    });
  });

  const svcNames = opts.services ?? ['kube-system/kube-dns'];
  for (const sp of servicePorts(state, svcNames)) {
    for (const f of view.froms) {
      if (!f.pod) continue;
      const allowed = sp.endpoints
        .filter(
          (e) => evaluateConnection(index, f.pod?.key ?? '', e.pod, e.port, sp.protocol).verdict === 'allow',
        )
        .map((e) => e.pod);
      plan(
        {
          kind: 'service',
          from: f.pod.key,
          to: `svc/${sp.svc}`,
          ip: sp.ip,
          port: sp.port,
          protocol: sp.protocol,
          scope: 'service',
          expected:
            allowed.length === 0 ? 'denied' : allowed.length === sp.endpoints.length ? 'allowed' : 'some',
          allowedEndpoints: [...new Set(allowed)].sort(),
        },
        new Set(sp.endpoints.map((e) => e.pod)).size,
        sp.protocol === 'SCTP' ? sctpReason : undefined,
      );
    }
  }

  // Every cell, or a seeded sample of them: traced by the twin, then dialled in the kernel (TCP and UDP),
  // one client per source namespace.
  const chosen =
    opts.sample !== undefined
      ? new Set(
          sampleProbes(
            candidates.map((c) => c.probe),
            opts.sample,
            opts.seed ?? 1,
          ),
        )
      : undefined;
  const planned: Planned[] = candidates
    .filter((c) => !chosen || chosen.has(c.probe))
    .map((c) => {
      const prediction = predictSafely(twin, c.probe, c.cell.protocol);
      c.cell.twin = twinSide(prediction);
      c.cell.twinDetail = describePrediction(prediction);
      return { ...c, prediction };
    });
  const dialable = planned.filter((p) => !p.cell.simulatedOnly);
  const byNetns = new Map<string, ConnectRequest[]>();
  for (const p of dialable) {
    const list = byNetns.get(p.probe.fromNetns) ?? [];
    list.push({
      id: p.probe.id,
      protocol: p.probe.protocol,
      ip: p.probe.ip,
      port: p.probe.port,
      count: p.attempts,
    });
    byNetns.set(p.probe.fromNetns, list);
  }
  const attempts = new Map<string, Attempt[]>();
  await Promise.all(
    [...byNetns].map(async ([netns, reqs]) => {
      for (const a of await connectFrom(netns, reqs, opts.timeoutMs ?? 2000)) {
        const list = attempts.get(a.id) ?? [];
        list.push(a);
        attempts.set(a.id, list);
      }
    }),
  );

  for (const p of planned) {
    const c = p.cell;
    const diffs: string[] = [];
    if (c.twin !== c.expected)
      diffs.push(`kpath reach: ${c.expected}; the twin's trace: ${c.twin} (${c.twinDetail})`);
    if (c.kind === 'service' && c.twin !== 'unsupported') {
      const twinEps = p.prediction.outcomes
        .filter((o) => classOf(o.disposition) === 'delivered' && o.endpoint)
        .map((o) => o.endpoint ?? '');
      const want = (c.allowedEndpoints ?? []).join(' ');
      const got = [...new Set(twinEps)].sort().join(' ');
      if (want !== got) diffs.push(`kpath reach allows endpoints [${want}]; the twin delivers to [${got}]`);
    }
    const got = attempts.get(p.probe.id);
    if (!got && !c.simulatedOnly) diffs.push('no connection was made in the lab');
    if (got) {
      const answered = got.filter((a) => attemptClass(a) === 'delivered');
      c.kernel = answered.length === 0 ? 'denied' : answered.length === got.length ? 'allowed' : 'some';
      c.kernelDetail = describeAttempts(got);
      if (c.kind === 'pod' && c.kernel !== c.expected)
        diffs.push(`kpath reach: ${c.expected}; the kernel: ${c.kernel} (${c.kernelDetail})`);
      if (c.kind === 'service') {
        // Every answer must come from an endpoint the policies allow; a denied Service never answers.
        const allowed = new Set(c.allowedEndpoints ?? []);
        const stray = new Set(
          answered.map((a) => parseReply(a.reply ?? '')?.endpoint ?? '?').filter((e) => !allowed.has(e)),
        );
        if (stray.size)
          diffs.push(`the kernel delivered to ${[...stray].join(', ')}, which kpath reach denies`);
        if (allowed.size && answered.length === 0)
          diffs.push(`kpath reach allows ${[...allowed].join(', ')}; the kernel: ${c.kernelDetail}`);
      }
      if (c.twin !== 'unsupported')
        for (const d of compareProbe(p.prediction, got))
          diffs.push(`the twin versus the kernel: ${d.kind}: ${d.text}`);
    }
    for (const text of diffs) {
      const div = explain(opts.divergences ?? [], p.probe, { kind: 'outcome', text });
      if (div) c.explained.push(`${div.id}: ${text}`);
      else c.differences.push(text);
    }
    c.status = c.differences.length ? 'different' : c.explained.length ? 'explained' : 'ok';
  }

  const cells = planned.map((p) => p.cell);
  const count = (pred: (c: ReachCellCheck) => boolean) => cells.filter(pred).length;
  return {
    lab,
    froms: view.froms.map((f) => f.name),
    tos: view.tos.map((t) => t.name),
    probes: view.probes,
    cells,
    counts: {
      cells: cells.length,
      podCells: count((c) => c.kind === 'pod'),
      serviceCells: count((c) => c.kind === 'service'),
      allowed: count((c) => c.expected === 'allowed'),
      denied: count((c) => c.expected === 'denied'),
      kernelChecked: count((c) => c.kernel !== 'simulated only'),
      simulatedOnly: count((c) => c.kernel === 'simulated only'),
      notSampled: candidates.length - planned.length,
      agree: count((c) => c.status === 'ok'),
      different: count((c) => c.status === 'different'),
      explained: count((c) => c.status === 'explained'),
    },
    connections: [...attempts.values()].reduce((n, l) => n + l.length, 0),
    elapsedMs: performance.now() - started,
  };
}

const mark = (s: ReachCellCheck['twin'] | ReachCellCheck['kernel']): boolean | undefined =>
  s === 'allowed' ? true : s === 'denied' ? false : undefined;

/**
 * Upstream's e2e output per port/protocol (test/e2e/network/netpol/reachability.go PrintSummary):
 * `expected`, `observed` and `comparison` truth tables — `.` reachable / agrees, `X` blocked / differs,
 * `?` not probed — here with the twin's table too, then the differing cells and the counts.
 */
export function formatReachVerifyReport(
  r: ReachVerifyReport,
  opts: { onlyDifferences?: boolean } = {},
): string {
  const out: string[] = [];
  const at = new Map<string, ReachCellCheck>();
  for (const c of r.cells) if (c.at) at.set(`${c.at.from} ${c.at.to} ${c.at.probe}`, c);
  r.probes.forEach((p, k) => {
    const cell = (i: number, j: number) => at.get(`${i} ${j} ${k}`);
    const mine = r.cells.filter((c) => c.at?.probe === k);
    const bad = mine.some((c) => c.status === 'different');
    if (opts.onlyDifferences && !bad) return;
    const table = (value: (c: ReachCellCheck) => boolean | undefined) =>
      printTruthTable(r.froms, r.tos, (i, j) => {
        const c = cell(i, j);
        return c ? value(c) : undefined;
      });
    const checked = mine.filter((c) => c.kernel !== 'simulated only').length;
    const simulated = mine.filter((c) => c.kernel === 'simulated only').length;
    out.push(`${p.port}/${p.protocol}`);
    out.push(`expected (kpath reach):\n\n${table((c) => c.expected === 'allowed')}\n`);
    if (bad || opts.onlyDifferences) {
      out.push(`twin (trace through the policy agent's rules):\n\n${table((c) => mark(c.twin))}\n`);
      out.push(`observed (kernel):\n\n${table((c) => mark(c.kernel))}\n`);
      out.push(
        `comparison:\n\n${table((c) => (c.kernel === 'simulated only' && c.status === 'ok' ? undefined : c.status !== 'different'))}\n`,
      );
    } else if (simulated === mine.length) {
      out.push(
        `observed: simulated only (${mine[0]?.simulatedOnly ?? ''}); the twin agrees on all ${mine.length} cells\n`,
      );
    } else {
      out.push(
        `observed: as expected on all ${checked} cells dialled; the twin agrees on all ${mine.length}\n`,
      );
    }
  });
  // pod → Service cells as one more truth table: a column per Service port.
  const svcCells = r.cells.filter((c) => c.kind === 'service');
  const cols = [...new Set(svcCells.map((c) => `${c.to}:${c.port}/${c.protocol}`))];
  const svcBad = svcCells.some((c) => c.status === 'different');
  if (cols.length && (!opts.onlyDifferences || svcBad)) {
    const byKey = new Map(svcCells.map((c) => [`${c.from} ${c.to}:${c.port}/${c.protocol}`, c]));
    const rows = [...new Set(svcCells.map((c) => c.from))];
    const table = (value: (c: ReachCellCheck) => boolean | undefined) =>
      printTruthTable(rows, cols, (i, j) => {
        const c = byKey.get(`${rows[i]} ${cols[j]}`);
        return c ? value(c) : undefined;
      });
    out.push('pod → Service (ClusterIP, through kube-proxy)');
    out.push(`expected (kpath reach, per endpoint):\n\n${table((c) => mark(c.expected))}\n`);
    if (svcBad) {
      out.push(`twin (trace through the policy agent's rules):\n\n${table((c) => mark(c.twin))}\n`);
      out.push(`observed (kernel):\n\n${table((c) => mark(c.kernel))}\n`);
      out.push(
        `comparison:\n\n${table((c) => (c.kernel === 'simulated only' && c.status === 'ok' ? undefined : c.status !== 'different'))}\n`,
      );
    } else {
      const dialled = svcCells.filter((c) => c.kernel !== 'simulated only').length;
      out.push(
        `observed: as expected on all ${dialled} cells dialled; the twin agrees on all ${svcCells.length}\n`,
      );
    }
  }
  for (const c of r.cells) {
    for (const d of c.differences) out.push(`DIFFERENT ${c.from} → ${c.to} ${c.port}/${c.protocol}: ${d}`);
    for (const d of c.explained) out.push(`explained ${c.from} → ${c.to} ${c.port}/${c.protocol}: ${d}`);
  }
  const n = r.counts;
  const reasons = [...new Set(r.cells.filter((c) => c.simulatedOnly).map((c) => c.simulatedOnly))];
  out.push(
    `reachability: correct:${n.agree + n.explained}, incorrect:${n.different}, result=${n.different === 0}`,
    `${n.cells} cells${n.notSampled ? ` (a sample: ${n.notSampled} more not verified)` : ''} — ${n.podCells} pod → pod, ${n.serviceCells} pod → Service; ${n.allowed} allowed, ${n.denied} denied by kpath reach; all traced by the twin; ${n.kernelChecked} dialled in the kernel (${r.connections} connections in ${(r.elapsedMs / 1000).toFixed(1)} s), ${n.simulatedOnly} simulated only${reasons.length ? ` (${reasons.join('; ')})` : ''}; ${n.different} differ, ${n.explained} explained`,
  );
  return `${out.join('\n')}\n`;
}

// `kpath diff -f OLD… --against NEW…`: the connections a change of manifests opens or closes, pod by
// pod and port by port, with exit codes for CI.
import type { Command } from 'commander';
import type { Probe } from '../policy/matrix.js';
import { buildPolicyIndex } from '../policy/policy-index.js';
import {
  decidingReason,
  parseEndpointSelector,
  type ReachQuery,
  ReachQueryError,
  type ReachView,
  reachView,
  selectEndpoints,
} from '../render/reach-cells.js';
import { probeText } from '../render/reach-table.js';
import type { Twin } from '../twin.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';
import { type CommandResult, reachQuery } from './reach.js';

export const FAIL_ON = ['opened', 'closed', 'any'] as const;

export interface DiffCliOptions extends InputOptions {
  against: string[];
  from: string[];
  to: string[];
  port: string[];
  failOn?: string;
}

export interface ConnectionChange {
  change: 'opened' | 'closed';
  from: string;
  to: string;
  port: number;
  protocol: Probe['protocol'];
  reason: string;
}

const probeKey = (p: Probe) => `${p.protocol}/${p.port}`;

interface Side {
  view?: ReachView;
  from: Map<string, number>;
  to: Map<string, number>;
  probe: Map<string, number>;
  /** Each destination's own probes (declared ports or --port). */
  declared: Map<string, Set<string>>;
}

/** One twin's view over the endpoints it has, probed on every port of the union. */
function side(twin: Twin, query: ReachQuery, froms: string[], tos: string[], probes: Probe[]): Side {
  const index = buildPolicyIndex(twin.state);
  const known = (n: string) => index.podsByKey.has(n) || !n.includes('/');
  const from = froms.filter(known);
  const to = tos.filter(known);
  const declared = new Map<string, Set<string>>();
  for (const t of to) {
    const pod = index.podsByKey.get(t);
    const ps =
      query.ports ??
      (pod
        ? index.classes[pod.classId]!.ports.map((cp) => ({ port: cp.containerPort, protocol: cp.protocol }))
        : []);
    declared.set(t, new Set(ps.map(probeKey)));
  }
  if (from.length === 0 || to.length === 0 || probes.length === 0) {
    return { from: new Map(), to: new Map(), probe: new Map(), declared };
  }
  const view = reachView(twin.state, index, { from, to, ports: probes });
  return {
    view,
    from: new Map(view.froms.map((f, i) => [f.name, i])),
    to: new Map(view.tos.map((t, j) => [t.name, j])),
    probe: new Map(view.probes.map((p, k) => [probeKey(p), k])),
    declared,
  };
}

/** The endpoint names a query selects in a twin; none when it selects nothing there. */
function names(twin: Twin, query: ReachQuery): { from: string[]; to: string[] } {
  const index = buildPolicyIndex(twin.state);
  const pick = (sel: readonly string[] | undefined) => {
    try {
      return selectEndpoints(twin.state, index, sel).map((e) => e.name);
    } catch (e) {
      if (e instanceof ReachQueryError) return [];
      throw e;
    }
  };
  return { from: pick(query.from), to: pick(query.to) };
}

export function connectionChanges(oldTwin: Twin, newTwin: Twin, query: ReachQuery): ConnectionChange[] {
  // Selectors that cannot be read fail here, before "matches nothing" is tolerated on one side.
  for (const s of [...(query.from ?? []), ...(query.to ?? [])]) parseEndpointSelector(s);
  for (const t of query.to ?? []) {
    if (parseEndpointSelector(t).kind === 'ip' && !query.ports?.length) {
      throw new ReachQueryError(`${t} is not a pod, so it has no declared ports: give --port`);
    }
  }
  const before = names(oldTwin, query);
  const after = names(newTwin, query);
  const union = (a: string[], b: string[]) => [...new Set([...a, ...b])];
  const froms = union(before.from, after.from);
  const tos = union(before.to, after.to);
  if (froms.length === 0 || tos.length === 0) {
    throw new ReachQueryError('the selectors match no pod in either set of manifests');
  }
  // Probe on the union of every destination's declared ports (or on --port), then read each
  // destination only on its own ports from either side.
  const declaredProbes = (t: Twin) => {
    const index = buildPolicyIndex(t.state);
    return index.classes.flatMap((c) =>
      c.ports.map((p) => ({ port: p.containerPort, protocol: p.protocol })),
    );
  };
  const all = new Map<string, Probe>();
  for (const p of query.ports ?? [...declaredProbes(oldTwin), ...declaredProbes(newTwin)])
    all.set(probeKey(p), p);
  const probes = [...all.values()].sort((a, b) =>
    a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.port - b.port,
  );
  const o = side(oldTwin, query, froms, tos, probes);
  const n = side(newTwin, query, froms, tos, probes);

  const out: ConnectionChange[] = [];
  for (const f of froms) {
    for (const t of tos) {
      for (const p of probes) {
        const key = probeKey(p);
        if (!o.declared.get(t)?.has(key) && !n.declared.get(t)?.has(key)) continue;
        const read = (s: Side) => {
          const i = s.from.get(f);
          const j = s.to.get(t);
          const k = s.probe.get(key);
          if (!s.view || i === undefined || j === undefined || k === undefined) return undefined;
          return { allowed: s.view.allowed(i, j, k) === true, i, j, k };
        };
        const a = read(o);
        const b = read(n);
        const was = a?.allowed ?? false;
        const is = b?.allowed ?? false;
        if (was === is) continue;
        const absent = (s: Side) => (s.from.has(f) ? t : f);
        let reason: string;
        if (b) reason = decidingReason(n.view!.verdict(b.i, b.j, b.k)!);
        else reason = `${absent(n)} no longer exists`;
        if (!a && b) reason = `${absent(o)} is new; ${reason}`;
        out.push({
          change: is ? 'opened' : 'closed',
          from: f,
          to: t,
          port: p.port,
          protocol: p.protocol,
          reason,
        });
      }
    }
  }
  return out;
}

export function formatChanges(changes: readonly ConnectionChange[]): string {
  if (changes.length === 0) return 'no connection opens or closes\n';
  const lines = changes.map(
    (c) =>
      `${c.change === 'opened' ? '+' : '-'} ${c.from} → ${c.to} ${probeText(c)}  ${c.change}: ${c.reason}`,
  );
  const opened = changes.filter((c) => c.change === 'opened').length;
  lines.push('', `${opened} opened, ${changes.length - opened} closed`);
  return `${lines.join('\n')}\n`;
}

export function runDiff(oldTwin: Twin, newTwin: Twin, opts: DiffCliOptions): CommandResult {
  const failOn = opts.failOn;
  if (failOn !== undefined && !(FAIL_ON as readonly string[]).includes(failOn)) {
    throw new UsageError(`unknown --fail-on "${failOn}": use ${FAIL_ON.join(', ')}`);
  }
  let changes: ConnectionChange[];
  try {
    changes = connectionChanges(oldTwin, newTwin, reachQuery(opts));
  } catch (e) {
    if (e instanceof ReachQueryError) throw new UsageError(e.message);
    throw e;
  }
  const opened = changes.some((c) => c.change === 'opened');
  const closed = changes.some((c) => c.change === 'closed');
  const fail =
    (failOn === 'opened' && opened) ||
    (failOn === 'closed' && closed) ||
    (failOn === 'any' && (opened || closed));
  return { stdout: formatChanges(changes), stderr: '', exitCode: fail ? 1 : 0 };
}

export function registerDiff(program: Command): void {
  addInputOptions(
    program
      .command('diff')
      .description('the connections a change of manifests opens or closes')
      .requiredOption(
        '--against <path>',
        'the new manifests (file, directory or -); repeatable',
        (v: string, p: string[]) => [...p, v],
        [] as string[],
      )
      .option(
        '--from <selector>',
        'only these sources (as in kpath reach); repeatable',
        (v: string, p: string[]) => [...p, v],
        [] as string[],
      )
      .option(
        '--to <selector>',
        'only these destinations; repeatable',
        (v: string, p: string[]) => [...p, v],
        [] as string[],
      )
      .option(
        '--port <port>',
        "compare on these ports; default: each pod's declared ports",
        (v: string, p: string[]) => [...p, v],
        [] as string[],
      )
      .option('--fail-on <change>', 'exit 1 when a connection is opened | closed | any'),
  ).action(async (opts: DiffCliOptions) => {
    if (opts.file.length === 0)
      throw new UsageError('give the old manifests with -f and the new ones with --against');
    const [oldTwin, newTwin] = await Promise.all([loadTwin(opts), loadTwin({ file: opts.against })]);
    const r = runDiff(oldTwin, newTwin, opts);
    process.stderr.write(r.stderr);
    process.stdout.write(r.stdout);
    process.exitCode = r.exitCode;
  });
}

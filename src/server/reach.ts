// `GET /api/reach`: the reachability matrix `kpath reach -o json` prints (same view, same renderer), plus
// the rows and columns, so the page can draw the whole truth table (not-probed cells included); with
// `group=workload`, also the roll-up `kpath reach --group workload` prints (the same groupByWorkload).
// A 500-pod matrix is ~70 MB of cells, so the page asks for the roll-up alone (`cells=none`) and then for
// one group pair's cells (`pair=FROM|TO`), computed for those pods only.
import { enforcementLabel, policyAgentFor, policyEnforcementWarnings } from '../agents/policy/index.js';
import { UsageError } from '../cli/errors.js';
import type { Probe } from '../policy/matrix.js';
import { buildPolicyIndex } from '../policy/policy-index.js';
import {
  type GroupValue,
  groupByWorkload,
  parseProbes,
  type ReachCell,
  type ReachEndpoint,
  ReachQueryError,
  type ReachView,
  reachView,
  workloadOf,
} from '../render/reach-cells.js';
import { reachJson } from '../render/reach-json.js';
import type { Twin } from '../twin.js';

export interface ReachRequest {
  from: string[];
  to: string[];
  port: string[];
  /** `--group`: workload rolls rows and columns up; pod (the CLI's other word) is the plain matrix. */
  group?: 'workload' | 'pod';
  /** Which pod-level cells to answer: all (default, the CLI's document), none, or one group pair's. */
  cells?: 'none' | { fromGroup: string; toGroup: string };
}

/** The `--group workload` roll-up: one row/column per Deployment, StatefulSet or DaemonSet. */
export interface ReachGroupedJson {
  froms: string[];
  tos: string[];
  /** Each group's pods (or the IP it stands for), in the view's order, over rows and columns together. */
  members: Record<string, string[]>;
  /** Per probe (the order of `probes`), rows × columns. */
  values: GroupValue[][][];
}

export interface ReachAnswerJson {
  command: string;
  /** The document of `kpath reach -o json` (docs/reach-json.md). */
  apiVersion: string;
  kind: 'Reachability';
  enforcedBy: string | null;
  note?: string;
  warnings: string[];
  probes: Probe[];
  cells: ReachCell[];
  /** The sources (rows) and destinations (columns), in the CLI's order. */
  froms: string[];
  tos: string[];
  /** Present when the request asked for `group=workload`. */
  grouped?: ReachGroupedJson;
}

export function reachRequestOf(query: URLSearchParams): ReachRequest {
  // Repeatable like the CLI's options; a comma-separated port list is several probes there too.
  const all = (k: string) =>
    query
      .getAll(k)
      .map((v) => v.trim())
      .filter(Boolean);
  const group = query.get('group') ?? undefined;
  // The CLI's sentence (src/cli/reach.ts runReach), so the page and the terminal refuse alike.
  if (group !== undefined && group !== 'workload' && group !== 'pod') {
    throw new UsageError(`unknown grouping "${group}": use workload or pod`);
  }
  const cells = query.get('cells') ?? undefined;
  if (cells !== undefined && cells !== 'none' && cells !== 'all') {
    throw new UsageError(`unknown cells "${cells}": use all or none`);
  }
  const pair = query.get('pair') ?? undefined;
  let pairCells: ReachRequest['cells'];
  if (pair !== undefined) {
    const [fromGroup, toGroup, ...rest] = pair.split('|');
    if (group !== 'workload' || !fromGroup || !toGroup || rest.length) {
      throw new UsageError(`pair=FROM|TO names a workload pair: it needs group=workload (got "${pair}")`);
    }
    if (cells !== undefined) throw new UsageError('give cells or pair, not both');
    pairCells = { fromGroup, toGroup };
  }
  return {
    from: all('from'),
    to: all('to'),
    port: all('port'),
    ...(group ? { group } : {}),
    ...(cells === 'none' ? { cells } : pairCells ? { cells: pairCells } : {}),
  };
}

const quote = (w: string) => (/^[-\w./:@=,*]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

export function reachCommand(r: ReachRequest): string {
  return [
    'kpath',
    'reach',
    ...r.from.flatMap((f) => ['--from', f]),
    ...r.to.flatMap((t) => ['--to', t]),
    ...r.port.flatMap((p) => ['--port', p]),
    ...(r.group ? ['--group', r.group] : []),
  ]
    .map(quote)
    .join(' ');
}

/** What runReach does for `-o json` (src/cli/reach.ts), with the view's rows and columns kept. */
export function reachAnswer(twin: Twin, r: ReachRequest): ReachAnswerJson {
  const state = twin.state;
  const index = buildPolicyIndex(state);
  let view: ReachView;
  try {
    const ports = r.port.flatMap(parseProbes);
    view = reachView(state, index, {
      ...(r.from.length ? { from: r.from } : {}),
      ...(r.to.length ? { to: r.to } : {}),
      ...(ports.length ? { ports } : {}),
    });
  } catch (e) {
    if (e instanceof ReachQueryError) throw new UsageError(e.message);
    throw e;
  }
  const agent = policyAgentFor(state);
  const unenforced = policyEnforcementWarnings(state);
  const note = unenforced.length ? enforcementLabel(state) : undefined;
  const groups = r.group === 'workload' ? workloadGroups(twin, view) : undefined;
  const doc = JSON.parse(
    reachJson(cellsView(view, r.cells, groups), {
      enforcedBy: agent === 'none' ? null : agent,
      ...(note ? { note } : {}),
      warnings: [...unenforced, ...index.warnings],
    }),
  ) as Omit<ReachAnswerJson, 'command' | 'froms' | 'tos' | 'grouped'>;
  if (r.cells && r.cells !== 'none') {
    // A pod and itself is no pair of the roll-up (groupByWorkload leaves it out).
    doc.cells = doc.cells.filter((c) => c.from !== c.to);
  }
  return {
    command: reachCommand(r),
    ...doc,
    froms: view.froms.map((f) => f.name),
    tos: view.tos.map((t) => t.name),
    ...(groups ? { grouped: groupedJson(twin, view, groups) } : {}),
  };
}

/** Each row's and column's workload, as groupByWorkload assigns them. */
interface WorkloadGroups {
  fromGroup: string[];
  toGroup: string[];
}

function workloadGroups(twin: Twin, view: ReachView): WorkloadGroups {
  const pods = new Map(
    twin.state.pods.map((p) => [`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, p]),
  );
  // The grouping groupByWorkload applies: a pod's workload, else the endpoint itself (an IP).
  const groupOf = (e: ReachEndpoint) => {
    const pod = e.pod ? pods.get(e.pod.key) : undefined;
    return pod ? workloadOf(pod) : e.name;
  };
  return { fromGroup: view.froms.map(groupOf), toGroup: view.tos.map(groupOf) };
}

/** The view the cells are printed from: all of it, none of it, or one group pair's rows and columns. */
function cellsView(view: ReachView, cells: ReachRequest['cells'], groups?: WorkloadGroups): ReachView {
  if (!cells) return view;
  const idx = (names: string[], want: string | undefined) => names.flatMap((g, i) => (g === want ? [i] : []));
  const fi = cells === 'none' ? [] : idx(groups?.fromGroup ?? [], cells.fromGroup);
  const tj = cells === 'none' ? [] : idx(groups?.toGroup ?? [], cells.toGroup);
  if (cells !== 'none' && (fi.length === 0 || tj.length === 0)) {
    const missing = fi.length === 0 ? `no row "${cells.fromGroup}"` : `no column "${cells.toGroup}"`;
    throw new UsageError(`pair=${cells.fromGroup}|${cells.toGroup}: ${missing} in the workload roll-up`);
  }
  return {
    froms: fi.map((i) => view.froms[i]!),
    tos: tj.map((j) => view.tos[j]!),
    probes: view.probes,
    toProbes: tj.map((j) => view.toProbes[j]!),
    allowed: (i, j, k) => view.allowed(fi[i]!, tj[j]!, k),
    verdict: (i, j, k) => view.verdict(fi[i]!, tj[j]!, k),
  };
}

function groupedJson(twin: Twin, view: ReachView, groups: WorkloadGroups): ReachGroupedJson {
  const g = groupByWorkload(twin.state, view);
  const members = new Map<string, Set<string>>();
  const add = (name: string, pod: string) => {
    members.set(name, (members.get(name) ?? new Set()).add(pod));
  };
  view.froms.forEach((e, i) => {
    add(groups.fromGroup[i]!, e.name);
  });
  view.tos.forEach((e, j) => {
    add(groups.toGroup[j]!, e.name);
  });
  return {
    froms: g.froms,
    tos: g.tos,
    members: Object.fromEntries([...members].map(([k, v]) => [k, [...v]])),
    values: g.probes.map((_, k) => g.froms.map((_f, i) => g.tos.map((_t, j) => g.value(i, j, k)))),
  };
}

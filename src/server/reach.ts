// `GET /api/reach`: the reachability matrix `kpath reach -o json` prints (same view, same renderer), plus
// the rows and columns, so the page can draw the whole truth table (not-probed cells included).
import { enforcementLabel, policyAgentFor, policyEnforcementWarnings } from '../agents/policy/index.js';
import { UsageError } from '../cli/errors.js';
import type { Probe } from '../policy/matrix.js';
import { buildPolicyIndex } from '../policy/policy-index.js';
import { parseProbes, type ReachCell, ReachQueryError, reachView } from '../render/reach-cells.js';
import { reachJson } from '../render/reach-json.js';
import type { Twin } from '../twin.js';

export interface ReachRequest {
  from: string[];
  to: string[];
  port: string[];
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
}

export function reachRequestOf(query: URLSearchParams): ReachRequest {
  // Repeatable like the CLI's options; a comma-separated port list is several probes there too.
  const all = (k: string) =>
    query
      .getAll(k)
      .map((v) => v.trim())
      .filter(Boolean);
  return { from: all('from'), to: all('to'), port: all('port') };
}

const quote = (w: string) => (/^[-\w./:@=,*]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

export function reachCommand(r: ReachRequest): string {
  return [
    'kpath',
    'reach',
    ...r.from.flatMap((f) => ['--from', f]),
    ...r.to.flatMap((t) => ['--to', t]),
    ...r.port.flatMap((p) => ['--port', p]),
  ]
    .map(quote)
    .join(' ');
}

/** What runReach does for `-o json` (src/cli/reach.ts), with the view's rows and columns kept. */
export function reachAnswer(twin: Twin, r: ReachRequest): ReachAnswerJson {
  const state = twin.state;
  const index = buildPolicyIndex(state);
  let view: ReturnType<typeof reachView>;
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
  const doc = JSON.parse(
    reachJson(view, {
      enforcedBy: agent === 'none' ? null : agent,
      ...(note ? { note } : {}),
      warnings: [...unenforced, ...index.warnings],
    }),
  ) as Omit<ReachAnswerJson, 'command' | 'froms' | 'tos'>;
  return {
    command: reachCommand(r),
    ...doc,
    froms: view.froms.map((f) => f.name),
    tos: view.tos.map((t) => t.name),
  };
}

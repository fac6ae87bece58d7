// `kpath reach`: the reachability matrix between pods (or workloads, or plain IPs) as the
// NetworkPolicies, AdminNetworkPolicies and the BaselineAdminNetworkPolicy decide it.
import type { Command } from 'commander';
import { enforcementLabel, policyAgentFor, policyEnforcementWarnings } from '../agents/policy/index.js';
import { buildPolicyIndex } from '../policy/policy-index.js';
import {
  groupByWorkload,
  parseProbes,
  type ReachQuery,
  ReachQueryError,
  reachView,
} from '../render/reach-cells.js';
import { reachCsv } from '../render/reach-csv.js';
import { groupedDot, reachDot } from '../render/reach-dot.js';
import { reachJson } from '../render/reach-json.js';
import { groupedList, reachList } from '../render/reach-list.js';
import { groupedMarkdown, reachMarkdown } from '../render/reach-md.js';
import { groupedTable, reachTable } from '../render/reach-table.js';
import type { Twin } from '../twin.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';

export const REACH_FORMATS = ['table', 'list', 'json', 'csv', 'md', 'dot'] as const;
export type ReachFormat = (typeof REACH_FORMATS)[number];

export interface ReachCliOptions extends InputOptions {
  from: string[];
  to: string[];
  port: string[];
  output: string;
  explain?: boolean;
  group?: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** Turns a bad selector or port into a usage error (exit 2). */
export function reachQuery(opts: Pick<ReachCliOptions, 'from' | 'to' | 'port'>): ReachQuery {
  try {
    const ports = opts.port.flatMap(parseProbes);
    return {
      ...(opts.from.length ? { from: opts.from } : {}),
      ...(opts.to.length ? { to: opts.to } : {}),
      ...(ports.length ? { ports } : {}),
    };
  } catch (e) {
    if (e instanceof ReachQueryError) throw new UsageError(e.message);
    throw e;
  }
}

export function runReach(twin: Twin, opts: ReachCliOptions): CommandResult {
  const format = opts.output as ReachFormat;
  if (!REACH_FORMATS.includes(format)) {
    throw new UsageError(`unknown output format "${opts.output}": use ${REACH_FORMATS.join(', ')}`);
  }
  if (opts.group !== undefined && opts.group !== 'workload' && opts.group !== 'pod') {
    throw new UsageError(`unknown grouping "${opts.group}": use workload or pod`);
  }
  const grouped = opts.group === 'workload';
  if (grouped && (format === 'json' || format === 'csv')) {
    throw new UsageError(
      `-o ${format} lists pod-level cells; --group workload works with table, list, md and dot`,
    );
  }
  const state = twin.state;
  const index = buildPolicyIndex(state);
  let view: ReturnType<typeof reachView>;
  try {
    view = reachView(state, index, reachQuery(opts));
  } catch (e) {
    if (e instanceof ReachQueryError) throw new UsageError(e.message);
    throw e;
  }
  const warnings = [...policyEnforcementWarnings(state), ...index.warnings];
  // Label the verdicts only when there are policies that nothing enforces.
  const note = policyEnforcementWarnings(state).length ? enforcementLabel(state) : undefined;
  const o = { explain: !!opts.explain, ...(note ? { note } : {}) };
  let stdout: string;
  if (grouped) {
    const g = groupByWorkload(state, view);
    stdout =
      format === 'list'
        ? groupedList(g, o)
        : format === 'md'
          ? groupedMarkdown(g, o)
          : format === 'dot'
            ? groupedDot(g, o)
            : groupedTable(g, o);
  } else {
    switch (format) {
      case 'table':
        stdout = reachTable(view, o);
        break;
      case 'list':
        stdout = reachList(view, o);
        break;
      case 'json': {
        const agent = policyAgentFor(state);
        stdout = reachJson(view, {
          enforcedBy: agent === 'none' ? null : agent,
          ...(note ? { note } : {}),
          warnings,
        });
        break;
      }
      case 'csv':
        stdout = reachCsv(view);
        break;
      case 'md':
        stdout = reachMarkdown(view, o);
        break;
      case 'dot':
        stdout = reachDot(view, o);
        break;
    }
  }
  return { stdout, stderr: warnings.map((w) => `warning: ${w}\n`).join(''), exitCode: 0 };
}

export function registerReach(program: Command): void {
  addInputOptions(
    program
      .command('reach')
      .description('the reachability matrix between pods as the network policies decide it')
      .option(
        '--from <selector>',
        'sources: ns/pod, ns/*, ns, app=web, ns:app=web or an IP; repeatable',
        collect,
        [],
      )
      .option('--to <selector>', 'destinations, same forms as --from; repeatable', collect, [])
      .option(
        '--port <port>',
        "probe these ports (80, 80/TCP, 53/UDP); default: each pod's declared ports",
        collect,
        [],
      )
      .option('-o, --output <format>', REACH_FORMATS.join(' | '), 'table')
      .option('--explain', 'add the deciding policy and rule of every cell')
      .option('--group <by>', 'workload: one row/column per Deployment, StatefulSet or DaemonSet'),
  ).action(async (opts: ReachCliOptions) => {
    const twin = await loadTwin(opts);
    const r = runReach(twin, opts);
    process.stderr.write(r.stderr);
    process.stdout.write(r.stdout);
    process.exitCode = r.exitCode;
  });
}

// `kpath reach -o json`: every probed cell as {from, to, port, protocol, verdict, ingress, egress, reason}
// (docs/reach-json.md).
import { type ReachView, reachCells } from './reach-cells.js';

export interface ReachJsonOptions {
  /** The agent enforcing the policies on the nodes, or null when none does. */
  enforcedBy: string | null;
  note?: string;
  warnings?: readonly string[];
}

export function reachJson(view: ReachView, opts: ReachJsonOptions): string {
  const doc = {
    apiVersion: 'kpath.dev/v1alpha1',
    kind: 'Reachability',
    enforcedBy: opts.enforcedBy,
    ...(opts.note ? { note: opts.note } : {}),
    warnings: opts.warnings ?? [],
    probes: view.probes.map((p) => ({ port: p.port, protocol: p.protocol })),
    cells: reachCells(view),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

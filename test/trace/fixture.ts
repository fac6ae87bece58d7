// The demo cluster (examples/demo) as sources, optionally edited, its twin, and small readers of a trace.
import { readdirSync, readFileSync } from 'node:fs';
import type { SourceText } from '../../src/load/sources.js';
import type { NodeState } from '../../src/node/state.js';
import type { Hop, Trace } from '../../src/trace/types.js';
import { buildTwin, type Twin } from '../../src/twin.js';

/** The demo's files; `edit` may rewrite one (file name, text) → text. */
export function demoSources(edit: (file: string, text: string) => string = (_f, t) => t): SourceText[] {
  const dir = new URL('../../examples/demo/', import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ file: `examples/demo/${f}`, text: edit(f, readFileSync(new URL(f, dir), 'utf8')) }));
}

export function demoTwin(edit?: (file: string, text: string) => string, extra: SourceText[] = []): Twin {
  return buildTwin([...demoSources(edit), ...extra]);
}

/** Drops the YAML documents of a file that mention `needle`. */
export function withoutDocs(text: string, needle: string): string {
  return text
    .split(/^---$/m)
    .filter((d) => !d.includes(needle))
    .join('---');
}

export const POD1 = 'default/my-app-6d8f7b9c5d-x7k2p'; // node-1, 10.244.0.5
export const POD2 = 'default/my-app-6d8f7b9c5d-m4q9z'; // node-2, 10.244.1.3
export const POD3 = 'default/my-app-6d8f7b9c5d-p2w8h'; // node-3, 10.244.2.2
export const WEB1 = 'shop/web-576dc54788-9gvgj'; // node-1, 10.244.0.3:80

/** `table chain action` for every netfilter hop, in order. */
export function rulesHit(hops: readonly Hop[], node?: string): string[] {
  return hops
    .filter((h) => h.component === 'netfilter' && (node === undefined || h.at.node === node))
    .map((h) => `${h.decidedBy?.table} ${h.decidedBy?.chain} ${h.action}`);
}

/** The hop that delivered the packet to its socket. */
export function lastHop(t: Pick<Trace, 'hops'>): Hop {
  const h = t.hops[t.hops.length - 1];
  if (!h) throw new Error('empty trace');
  return h;
}

/** The twin with one node's state rewritten (a test-side edit, as if an operator changed the node by hand). */
export function withNode(twin: Twin, name: string, edit: (n: NodeState) => NodeState): Twin {
  const edited = edit(twin.node(name));
  const node = (n: string) => (n === name ? edited : twin.node(n));
  return { ...twin, node, nodes: () => twin.state.nodeInfo.map((i) => node(i.name)) };
}

// The page's side of the JSON API (src/server/api.ts); the types are the server's own.

import type { TraceJson } from '../../src/render/trace-json.js';
import type { ApiErrorJson, TraceRequestJson } from '../../src/server/api.js';
import type { DnsAnswerJson } from '../../src/server/dns.js';
import type { NetfilterTableJson } from '../../src/server/node-views.js';
import type { ReachAnswerJson, ReachGroupedJson } from '../../src/server/reach.js';
import type { Topology } from '../../src/server/topology.js';

export type { PodLookupJson, ServerQueryJson } from '../../src/dns/json.js';
export type { GroupValue, ReachCell } from '../../src/render/reach-cells.js';
export type { DnsJson, DnsQueryJson, HopJson, PacketJson } from '../../src/render/trace-json.js';
export type {
  TopologyController,
  TopologyNode,
  TopologyPod,
  TopologyService,
} from '../../src/server/topology.js';
export type {
  DnsAnswerJson,
  NetfilterTableJson,
  ReachAnswerJson,
  ReachGroupedJson,
  Topology,
  TraceJson,
  TraceRequestJson,
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: ApiErrorJson['error'],
  ) {
    super(detail.message);
  }
}

function withM(path: string, m: string | undefined, extra: Record<string, string | undefined> = {}): string {
  const p = new URLSearchParams();
  if (m) p.set('m', m);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) p.set(k, v);
  const q = p.toString();
  return q ? `${path}?${q}` : path;
}

async function call(path: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(path, init);
  if (!res.ok) {
    let detail: ApiErrorJson['error'] = { kind: 'internal', message: `${res.status} ${res.statusText}` };
    try {
      detail = ((await res.json()) as ApiErrorJson).error;
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(res.status, detail);
  }
  return res;
}

export async function getTopology(m?: string): Promise<Topology> {
  return (await call(withM('api/topology', m))).json() as Promise<Topology>;
}

export async function postTrace(m: string | undefined, req: TraceRequestJson): Promise<TraceJson> {
  const res = await call(withM('api/trace', m), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(req),
  });
  return res.json() as Promise<TraceJson>;
}

export async function getNodeText(
  m: string | undefined,
  node: string,
  view: string,
  pod?: string,
): Promise<string> {
  const res = await call(withM(`api/nodes/${encodeURIComponent(node)}/${view}`, m, { pod }));
  return res.text();
}

export async function getNetfilter(
  m: string | undefined,
  node: string,
  pod?: string,
): Promise<NetfilterTableJson[]> {
  const res = await call(withM(`api/nodes/${encodeURIComponent(node)}/netfilter`, m, { pod }));
  return res.json() as Promise<NetfilterTableJson[]>;
}

export async function postManifests(
  files: { name: string; text: string }[],
): Promise<{ id: string; files: string[] }> {
  const res = await call('api/manifests', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ files }),
  });
  return res.json() as Promise<{ id: string; files: string[] }>;
}

export interface DnsQuery {
  name: string;
  from?: string;
  /** `--server [IP]`: '' asks the kube-dns ClusterIP. */
  server?: string;
  type?: string;
  resolver?: string;
}

export async function getDns(m: string | undefined, q: DnsQuery): Promise<DnsAnswerJson> {
  const p = new URLSearchParams();
  if (m) p.set('m', m);
  p.set('name', q.name);
  if (q.from) p.set('from', q.from);
  if (q.server !== undefined) p.set('server', q.server);
  if (q.type) p.set('type', q.type);
  if (q.resolver) p.set('resolver', q.resolver);
  return (await call(`api/dns?${p}`)).json() as Promise<DnsAnswerJson>;
}

export async function getReach(
  m: string | undefined,
  q: {
    from: string[];
    to: string[];
    port?: string;
    group?: 'workload';
    /** none: the roll-up alone; a pair `FROM|TO`: that workload pair's pod cells only. */
    cells?: 'none';
    pair?: string;
  },
): Promise<ReachAnswerJson> {
  const p = new URLSearchParams();
  if (m) p.set('m', m);
  for (const f of q.from) p.append('from', f);
  for (const t of q.to) p.append('to', t);
  if (q.port) p.set('port', q.port);
  if (q.group) p.set('group', q.group);
  if (q.cells) p.set('cells', q.cells);
  if (q.pair) p.set('pair', q.pair);
  return (await call(`api/reach?${p}`)).json() as Promise<ReachAnswerJson>;
}

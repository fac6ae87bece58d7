// The JSON HTTP API behind the page, over the same operations as the CLI. A pure dispatcher: a parsed request
// in, a response out; the node:http edge (http.ts) does the sockets, size limits and static files.

import { UsageError } from '../cli/errors.js';
import { planTrace, type TraceCliOptions } from '../cli/trace.js';
import type { SourceText } from '../load/sources.js';
import { InputError, type InputProblem, NotFoundError, UnsupportedError } from '../model/errors.js';
import { traceToJson } from '../render/trace-json.js';
import { traceToName } from '../trace/dns-step.js';
import { traceConnection, traceInjected } from '../trace/index.js';
import type { Twin } from '../twin.js';
import { dnsAnswer, dnsRequestOf } from './dns.js';
import { isNodeTextView, netfilterGraph, nodeText, pickNetns } from './node-views.js';
import { reachAnswer, reachRequestOf } from './reach.js';
import { topologyOf } from './topology.js';
import type { Workspaces } from './workspaces.js';

export interface ApiRequest {
  method: string;
  /** The URL path, e.g. `/api/nodes/node-1/ip-route`. */
  path: string;
  query: URLSearchParams;
  /** The request body as text (already size-limited). */
  body?: string;
}

export interface ApiResponse {
  status: number;
  contentType: 'application/json' | 'text/plain';
  body: string;
}

export interface ApiErrorJson {
  error: {
    kind: 'usage' | 'not-found' | 'input' | 'unsupported' | 'method' | 'internal';
    message: string;
    problems?: InputProblem[];
  };
}

/** A trace request: the CLI's FROM TO form, or the raw `--at` form; every value as the CLI would take it. */
export interface TraceRequestJson {
  from?: string;
  to?: string;
  port?: string | number;
  protocol?: string;
  seed?: string | number;
  endpoint?: string;
  noReturn?: boolean;
  at?: string;
  iface?: string;
  src?: string;
  dst?: string;
}

export interface ManifestsRequestJson {
  files: { name: string; text: string }[];
}

const json = (status: number, value: unknown): ApiResponse => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(value),
});

const text = (body: string): ApiResponse => ({ status: 200, contentType: 'text/plain', body });

function fail(
  status: number,
  kind: ApiErrorJson['error']['kind'],
  message: string,
  problems?: InputProblem[],
) {
  const e: ApiErrorJson = { error: { kind, message, ...(problems ? { problems } : {}) } };
  return json(status, e);
}

function parseBody(body: string | undefined): unknown {
  try {
    return JSON.parse(body ?? '');
  } catch {
    throw new UsageError('the request body is not JSON');
  }
}

function optString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw new UsageError(`${field} must be a string`);
  return v;
}

/** Checks a trace request with the CLI's own argument rules (planTrace); files are never taken from it. */
export function traceOptions(body: unknown): { from?: string; to?: string; opts: TraceCliOptions } {
  if (typeof body !== 'object' || body === null)
    throw new UsageError('the trace request must be a JSON object');
  const b = body as Record<string, unknown>;
  const opts: TraceCliOptions = { file: [] };
  const set = (k: keyof TraceRequestJson & keyof TraceCliOptions) => {
    const v = optString(b[k], k);
    if (v !== undefined) (opts as unknown as Record<string, string>)[k] = v;
  };
  for (const k of ['port', 'protocol', 'seed', 'endpoint', 'at', 'iface', 'src', 'dst'] as const) set(k);
  if (b.noReturn === true) opts.return = false;
  const from = optString(b.from, 'from');
  const to = optString(b.to, 'to');
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), opts };
}

function manifests(body: unknown): SourceText[] {
  const files = (body as ManifestsRequestJson | null)?.files;
  if (!Array.isArray(files) || files.length === 0) throw new UsageError('give files: [{name, text}, …]');
  return files.map((f, i) => {
    if (typeof f?.name !== 'string' || typeof f?.text !== 'string') {
      throw new UsageError(`files[${i}] needs a name and a text (strings)`);
    }
    // The name is only a label for error messages: nothing is read from or written to that path.
    return { file: f.name.slice(0, 200) || `upload-${i + 1}.yaml`, text: f.text };
  });
}

// A twin never changes, so neither does its topology: computed once per cluster, on first request.
const topologies = new WeakMap<Twin, string>();

function topologyBody(twin: Twin): string {
  let body = topologies.get(twin);
  if (body === undefined) {
    body = JSON.stringify(topologyOf(twin));
    topologies.set(twin, body);
  }
  return body;
}

function route(ws: Workspaces, req: ApiRequest): ApiResponse {
  const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
  const m = req.query.get('m');
  const method = req.method.toUpperCase();
  const want = (verb: string) => {
    if (method !== verb) throw new MethodError(`${req.path} takes ${verb}`);
  };
  if (parts[0] !== 'api') throw new NotFoundError(`no such API path ${req.path}`);
  const [, what, name, view] = parts;
  switch (what) {
    case 'topology':
      want('GET');
      return { status: 200, contentType: 'application/json', body: topologyBody(ws.get(m).twin) };
    case 'workspace': {
      want('GET');
      const w = ws.get(m);
      return json(200, { id: w.id, files: w.files });
    }
    case 'manifests': {
      want('POST');
      const w = ws.add(manifests(parseBody(req.body)));
      return json(200, { id: w.id, files: w.files });
    }
    case 'trace': {
      want('POST');
      const { from, to, opts } = traceOptions(parseBody(req.body));
      const plan = planTrace(from, to, opts);
      const twin = ws.get(m).twin;
      if (plan.kind === 'inject') {
        const t = traceInjected(twin, plan.query);
        if (!plan.noReturn) return json(200, traceToJson(t));
        const { return: _r, ...rest } = t;
        return json(200, traceToJson(rest));
      }
      if (plan.name) return json(200, traceToJson(traceToName(twin, plan.query, plan.name)));
      return json(200, traceToJson(traceConnection(twin, plan.query)));
    }
    case 'dns':
      want('GET');
      return json(200, dnsAnswer(ws.get(m).twin, dnsRequestOf(req.query)));
    case 'reach':
      want('GET');
      return json(200, reachAnswer(ws.get(m).twin, reachRequestOf(req.query)));
    case 'nodes': {
      want('GET');
      const twin = ws.get(m).twin;
      if (name === undefined)
        return json(
          200,
          twin.state.nodeInfo.map((n) => n.name),
        );
      const netns = pickNetns(twin.node(name), req.query.get('pod') ?? undefined);
      if (view === 'netfilter') return json(200, netfilterGraph(netns.iptables));
      if (view !== undefined && isNodeTextView(view)) {
        const table = req.query.get('table') ?? 'main';
        if (table !== 'main' && table !== 'local' && table !== 'all') {
          throw new UsageError(`unknown routing table "${table}": use main, local or all`);
        }
        return text(nodeText(netns, view, table));
      }
      throw new NotFoundError(
        `unknown node view "${view ?? ''}": use netfilter, iptables-save, ip-route, ip-addr, ip-link, ip-neigh or bridge-fdb`,
      );
    }
    default:
      throw new NotFoundError(`no such API path ${req.path}`);
  }
}

class MethodError extends Error {}

/** Answers one API request; every failure becomes a JSON error with the status a client can act on. */
export function handleApi(ws: Workspaces, req: ApiRequest): ApiResponse {
  try {
    return route(ws, req);
  } catch (err) {
    if (err instanceof InputError) return fail(400, 'input', err.message, err.problems);
    if (err instanceof UsageError) return fail(400, 'usage', err.message);
    if (err instanceof NotFoundError) return fail(404, 'not-found', err.message);
    if (err instanceof UnsupportedError) return fail(422, 'unsupported', err.message);
    if (err instanceof MethodError) return fail(405, 'method', err.message);
    return fail(500, 'internal', err instanceof Error ? err.message : String(err));
  }
}

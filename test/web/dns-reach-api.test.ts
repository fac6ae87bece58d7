// `GET /api/dns` and `GET /api/reach`: the page's DNS and reachability views answer exactly what `kpath dns`
// and `kpath reach` print (the same functions, the same renderers), and the topology names each pod's workload.
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { runDns } from '../../src/cli/dns.js';
import { runReach } from '../../src/cli/reach.js';
import { readSources } from '../../src/load/sources.js';
import { type ApiRequest, handleApi } from '../../src/server/api.js';
import type { DnsAnswerJson } from '../../src/server/dns.js';
import type { ReachAnswerJson } from '../../src/server/reach.js';
import { controllerOf, type Topology } from '../../src/server/topology.js';
import { CLI_WORKSPACE, Workspaces } from '../../src/server/workspaces.js';
import { buildTwin, type Twin } from '../../src/twin.js';

const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo');
let twin: Twin;
let ws: Workspaces;
let webPod: string;

beforeAll(async () => {
  twin = buildTwin(await readSources([DEMO]));
  ws = new Workspaces({ id: CLI_WORKSPACE, files: [DEMO], twin });
  const web = twin.state.pods.find(
    (p) => p.metadata.namespace === 'shop' && p.metadata.labels?.app === 'web',
  );
  webPod = `shop/${web?.metadata.name}`;
});

function get(path: string) {
  const url = new URL(path, 'http://localhost');
  const req: ApiRequest = { method: 'GET', path: url.pathname, query: url.searchParams };
  const r = handleApi(ws, req);
  return { ...r, json: () => JSON.parse(r.body) as unknown };
}

describe('GET /api/dns', () => {
  test("getaddrinfo in a pod: kubelet's resolv.conf, every query in order, the result — as kpath dns -o json", () => {
    const r = get(`/api/dns?name=db&from=${encodeURIComponent(webPod)}`);
    expect(r.status).toBe(200);
    const a = r.json() as DnsAnswerJson;
    expect(a.mode).toBe('lookup');
    expect(a.command).toBe(`kpath dns db --from ${webPod}`);
    expect(a.result).toEqual(JSON.parse(runDns(twin, 'db', { from: webPod, output: 'json' }).stdout));
    expect(a.text).toBe(runDns(twin, 'db', { from: webPod, verbose: true }).stdout);
    const res = a.result as {
      resolvConf: string;
      queries: { name: string; type: string; rcode: string }[];
      result: { status: string; addresses: string[] };
    };
    // kubelet's ClusterFirst resolv.conf for a pod in namespace shop (pkg/kubelet/network/dns).
    expect(res.resolvConf).toBe(
      'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    // "db" has no dot (< ndots 5): glibc tries the first search domain first, A then AAAA, and stops there.
    expect(res.queries.map((q) => [q.name, q.type, q.rcode])).toEqual([
      ['db.shop.svc.cluster.local.', 'A', 'NOERROR'],
      ['db.shop.svc.cluster.local.', 'AAAA', 'NOERROR'],
    ]);
    // The headless service's A records are its pods' IPs.
    const dbIPs = twin.state.pods
      .filter((p) => p.metadata.labels?.app === 'db')
      .map((p) => p.status?.podIP)
      .sort();
    expect([...res.result.addresses].sort()).toEqual(dbIPs);
    expect(a.exitCode).toBe(0);
  });

  test('another type is res_search; --server asks one server like dig; an unknown name fails with exit 1', () => {
    const srv = get(
      `/api/dns?name=_pg._tcp.db&type=SRV&from=${encodeURIComponent(webPod)}`,
    ).json() as DnsAnswerJson;
    expect(srv.mode).toBe('search');
    expect(srv.result).toEqual(
      JSON.parse(runDns(twin, '_pg._tcp.db', { from: webPod, type: 'SRV', output: 'json' }).stdout),
    );
    const dig = get('/api/dns?name=kubernetes.default.svc.cluster.local&server').json() as DnsAnswerJson;
    expect(dig.mode).toBe('server');
    expect(dig.command).toBe('kpath dns kubernetes.default.svc.cluster.local --server');
    expect(dig.text).toBe(
      runDns(twin, 'kubernetes.default.svc.cluster.local', { server: true, verbose: true }).stdout,
    );
    expect(dig.text).toMatch(
      /;; ANSWER SECTION:\nkubernetes\.default\.svc\.cluster\.local\.\s+30\s+IN\s+A\s+10\.96\.0\.1\n/,
    );
    const nx = get(`/api/dns?name=nope&from=${encodeURIComponent(webPod)}`).json() as DnsAnswerJson;
    expect((nx.result as { result: { status: string } }).result.status).toBe('EAI_NONAME');
    expect(nx.exitCode).toBe(1);
  });

  test("bad requests are the CLI's usage errors", () => {
    expect(get('/api/dns?from=a/b').status).toBe(400);
    expect((get('/api/dns?name=x').json() as { error: { message: string } }).error.message).toMatch(
      /--from ns\/pod/,
    );
    expect(get(`/api/dns?name=x&from=${encodeURIComponent(webPod)}&type=BOGUS`).status).toBe(400);
    expect(get('/api/dns?name=x&from=shop/nope').status).toBeGreaterThanOrEqual(400);
  });
});

describe('GET /api/reach', () => {
  test('the whole matrix: kpath reach -o json, plus its rows and columns', () => {
    const a = get('/api/reach').json() as ReachAnswerJson;
    const { command, froms, tos, ...doc } = a;
    expect(command).toBe('kpath reach');
    const cli = runReach(twin, { from: [], to: [], port: [], output: 'json', file: [] });
    expect(doc).toEqual(JSON.parse(cli.stdout));
    // Rows and columns are the truth table's: the first column and the header of `kpath reach`.
    const table = runReach(twin, { from: [], to: [], port: ['80'], output: 'table', file: [] }).stdout;
    const lines = table.trimEnd().split('\n');
    expect(['-', ...tos].join('\t')).toBe(lines[0]);
    expect(lines.slice(1).map((l) => l.split('\t')[0])).toEqual(froms);
  });

  test('a policy denies: the reason is the --explain sentence', () => {
    const sources = [
      {
        file: 'deny.yaml',
        text: 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-in, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n',
      },
    ];
    const w = ws.add([...sourcesOfDemo, ...sources]);
    const a = get(`/api/reach?m=${w.id}&from=default&to=shop&port=80,5432`).json() as ReachAnswerJson;
    expect(a.probes).toEqual([
      { port: 80, protocol: 'TCP' },
      { port: 5432, protocol: 'TCP' },
    ]);
    expect(a.froms.every((f) => f.startsWith('default/'))).toBe(true);
    expect(a.tos.every((t) => t.startsWith('shop/'))).toBe(true);
    expect(a.cells).toHaveLength(a.froms.length * a.tos.length * 2);
    expect(a.cells.every((c) => c.verdict === 'deny')).toBe(true);
    const explain = runReach(w.twin, {
      from: ['default'],
      to: ['shop'],
      port: ['80,5432'],
      output: 'list',
      explain: true,
      file: [],
    }).stdout;
    for (const c of a.cells)
      expect(explain).toContain(`${c.from} → ${c.to} ${c.port}/${c.protocol}: ${c.reason}`);
    expect(a.cells[0]?.reason).toMatch(/isolated by policy shop\/deny-in/);
  });

  test('bad selectors and ports are 400 with the CLI sentence', () => {
    const bad = get('/api/reach?port=99999');
    expect(bad.status).toBe(400);
    expect((bad.json() as { error: { message: string } }).error.message).toMatch(/invalid port "99999"/);
    expect(get('/api/reach?from=shop/nope').status).toBe(400);
    expect(get('/api/reach?from=a%20b%20c').status).toBe(400);
  });
});

let sourcesOfDemo: Awaited<ReturnType<typeof readSources>>;
beforeAll(async () => {
  sourcesOfDemo = await readSources([DEMO]);
});

describe('workloads in the topology', () => {
  test("ReplicaSets are traced to their Deployment; StatefulSet pods by ownerReferences; the demo's bare pods by labels", () => {
    const t = get('/api/topology').json() as Topology;
    const of = (name: string) =>
      t.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith(name))?.controller;
    expect(of('web-')).toEqual({ kind: 'Deployment', name: 'web', from: 'ownerReferences' });
    expect(of('db-')).toEqual({ kind: 'StatefulSet', name: 'db', from: 'ownerReferences' });
    expect(of('coredns-')).toEqual({ kind: 'Deployment', name: 'coredns', from: 'ownerReferences' });
    // examples/demo/my-app.yaml: bare pods carrying the Deployment controller's pod-template-hash label.
    expect(of('my-app-')).toEqual({ kind: 'Deployment', name: 'my-app', from: 'labels' });
  });

  test('labels alone: a name that does not carry the hash, or no controller label, is a bare pod', () => {
    const pod = (name: string, labels: Record<string, string>) => ({
      apiVersion: 'v1' as const,
      kind: 'Pod' as const,
      metadata: { name, namespace: 'x', labels },
      spec: { containers: [] },
    });
    expect(controllerOf(pod('api-7d9f8c6b5-abcde', { 'pod-template-hash': '7d9f8c6b5' }))).toMatchObject({
      kind: 'Deployment',
      name: 'api',
    });
    expect(controllerOf(pod('api-abcde', { 'pod-template-hash': '7d9f8c6b5' }))).toBeNull();
    expect(controllerOf(pod('zk-2', { 'statefulset.kubernetes.io/pod-name': 'zk-2' }))).toMatchObject({
      kind: 'StatefulSet',
      name: 'zk',
    });
    expect(controllerOf(pod('zk-2', {}))).toBeNull();
    expect(
      controllerOf(pod('backup-28934160-q7x2m', { 'batch.kubernetes.io/job-name': 'backup-28934160' })),
    ).toMatchObject({
      kind: 'Job',
      name: 'backup-28934160',
    });
    expect(controllerOf(pod('fluentd-x8k2p', { 'pod-template-generation': '1' }))).toMatchObject({
      kind: 'DaemonSet',
      name: 'fluentd',
    });
  });
});

describe('POST /api/trace to a DNS name', () => {
  test('the same document as `kpath trace FROM NAME -o json`: the DNS steps, then the connection', async () => {
    const { defaultTraceIO, planTrace, runTrace } = await import('../../src/cli/trace.js');
    for (const to of ['web', 'nope.shop']) {
      let out = '';
      const plan = planTrace(webPod, to, { file: [], port: '80', output: 'json' });
      await runTrace(plan, {
        ...defaultTraceIO,
        loadTwin: async () => twin,
        write: (t) => {
          out += t;
        },
        setExitCode: () => {},
      });
      const url = new URL('/api/trace', 'http://localhost');
      const r = handleApi(ws, {
        method: 'POST',
        path: url.pathname,
        query: url.searchParams,
        body: JSON.stringify({ from: webPod, to, port: 80 }),
      });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual(JSON.parse(out));
    }
    const ok = JSON.parse(
      handleApi(ws, {
        method: 'POST',
        path: '/api/trace',
        query: new URLSearchParams(),
        body: JSON.stringify({ from: webPod, to: 'web', port: 80 }),
      }).body,
    ) as { dns: { queries: { name: string; rcode: string }[]; result: { status: string } } | null };
    expect(ok.dns?.result.status).toBe('OK');
    expect(ok.dns?.queries[0]).toMatchObject({ name: 'web.shop.svc.cluster.local.', rcode: 'NOERROR' });
  });
});

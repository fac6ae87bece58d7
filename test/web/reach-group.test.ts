// `GET /api/reach?group=workload`: the roll-up the page draws is the one `kpath reach --group workload` prints
// (the same groupByWorkload), and its members let the page list the pod-level cells behind a grouped cell.
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { type ReachCliOptions, runReach } from '../../src/cli/reach.js';
import { readSources, type SourceText } from '../../src/load/sources.js';
import type { GroupValue } from '../../src/render/reach-cells.js';
import { type ApiRequest, handleApi } from '../../src/server/api.js';
import type { ReachAnswerJson } from '../../src/server/reach.js';
import { CLI_WORKSPACE, Workspaces } from '../../src/server/workspaces.js';
import { buildTwin, type Twin } from '../../src/twin.js';

const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo');

// db takes connections from db-0 only: db → db is mixed (db-0 → db-1 allowed, db-1 → db-0 denied), web → db
// denied, everything → web allowed (not isolated), and web's column on 5432 (not declared there) not probed.
const DB_FROM_DB_0 = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-db-0, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {statefulset.kubernetes.io/pod-name: db-0}}}]}]
`;

let sources: SourceText[];
let twin: Twin;
let ws: Workspaces;
let m: string;

beforeAll(async () => {
  const demo = await readSources([DEMO]);
  sources = [...demo, { file: 'db-from-db-0.yaml', text: DB_FROM_DB_0 }];
  twin = buildTwin(sources);
  ws = new Workspaces({ id: CLI_WORKSPACE, files: [DEMO], twin: buildTwin(demo) });
  m = ws.add(sources).id;
});

function get(path: string) {
  const url = new URL(path, 'http://localhost');
  const req: ApiRequest = { method: 'GET', path: url.pathname, query: url.searchParams };
  const r = handleApi(ws, req);
  return { ...r, json: () => JSON.parse(r.body) as unknown };
}

const cli = (o: Partial<ReachCliOptions>): string =>
  runReach(twin, { file: [], from: [], to: [], port: [], output: 'table', ...o }).stdout;

/** `kpath reach --group workload -o table`, read back: per probe, the header row and each row's marks. */
function readGroupedTable(text: string): { probe: string | null; tos: string[]; rows: string[][] }[] {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('# '))
    .join('\n')
    .trim()
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      const probe = /^(\d+\/\w+):$/.exec(lines[0] ?? '')?.[1] ?? null;
      const table = probe ? lines.slice(1) : lines;
      return {
        probe,
        tos: (table[0] ?? '').split('\t').slice(1),
        rows: table.slice(1).map((l) => l.split('\t')),
      };
    });
}

// The table's marks (src/render/reach-table.ts GROUP_MARK): `.` allow, `X` deny, `~` mixed, `?` not probed.
const MARK: Record<GroupValue, string> = { allow: '.', deny: 'X', mixed: '~', 'not-probed': '?' };

describe('GET /api/reach?group=workload', () => {
  test("the roll-up equals `kpath reach --group workload`'s table, probe by probe, cell by cell", () => {
    const a = get(`/api/reach?m=${m}&from=shop&to=shop&group=workload`).json() as ReachAnswerJson;
    expect(a.command).toBe('kpath reach --from shop --to shop --group workload');
    const g = a.grouped;
    expect(g).toBeDefined();
    if (!g) return;
    const blocks = readGroupedTable(cli({ from: ['shop'], to: ['shop'], group: 'workload' }));
    expect(blocks.map((b) => b.probe)).toEqual(a.probes.map((p) => `${p.port}/${p.protocol}`));
    blocks.forEach((b, k) => {
      expect(b.tos).toEqual(g.tos);
      expect(b.rows.map((r) => r[0])).toEqual(g.froms);
      expect(b.rows.map((r) => r.slice(1))).toEqual(g.values[k]?.map((row) => row.map((v) => MARK[v])));
    });
    // Replicas fold into their StatefulSet and Deployment; all four values occur.
    expect(g.froms).toEqual(['shop/db', 'shop/web']);
    expect(g.members['shop/db']).toEqual(['shop/db-0', 'shop/db-1']);
    expect(g.members['shop/web']).toHaveLength(2);
    expect(new Set(g.values.flat(2))).toEqual(new Set(['allow', 'deny', 'mixed', 'not-probed']));
    // The Markdown form says the same (✓ ✗ ~ –).
    const md = cli({ from: ['shop'], to: ['shop'], group: 'workload', output: 'md' });
    const sign = { allow: '✓', deny: '✗', mixed: '~', 'not-probed': '–' } as const;
    for (const [k, p] of a.probes.entries()) {
      const section = md.split(`${p.port}/${p.protocol}`)[1] ?? '';
      for (const [i, f] of g.froms.entries()) {
        const row = section.split('\n').find((l) => l.startsWith(`| ${f} `) || l.startsWith(`| \`${f}\``));
        expect(
          row
            ?.split('|')
            .slice(2, -1)
            .map((c) => c.trim()),
        ).toEqual(g.values[k]?.[i]?.map((v) => sign[v]));
      }
    }
    // The pod-level answer is unchanged by the roll-up: still `kpath reach -o json`'s cells.
    const plain = get(`/api/reach?m=${m}&from=shop&to=shop`).json() as ReachAnswerJson;
    expect(plain.grouped).toBeUndefined();
    expect(a.cells).toEqual(plain.cells);
  });

  test("members partition the rows and columns, and each value is its pod cells' verdicts rolled up", () => {
    // The whole cluster, declared ports: bare pods are their own group, replicas fold.
    const a = get(`/api/reach?m=${m}&group=workload`).json() as ReachAnswerJson;
    const g = a.grouped;
    if (!g) throw new Error('no grouped answer');
    const owner = new Map<string, string>();
    for (const [group, pods] of Object.entries(g.members))
      for (const p of pods) {
        expect(owner.has(p)).toBe(false);
        owner.set(p, group);
      }
    expect([...new Set(a.froms.map((f) => owner.get(f)))]).toEqual(g.froms);
    expect([...new Set(a.tos.map((t) => owner.get(t)))]).toEqual(g.tos);
    // Brute force over the pod cells: a pod and itself left out, as groupByWorkload does.
    a.probes.forEach((p, k) => {
      g.froms.forEach((f, i) => {
        g.tos.forEach((t, j) => {
          const verdicts = new Set(
            a.cells
              .filter(
                (c) =>
                  c.port === p.port &&
                  c.protocol === p.protocol &&
                  c.from !== c.to &&
                  owner.get(c.from) === f &&
                  owner.get(c.to) === t,
              )
              .map((c) => c.verdict),
          );
          const want: GroupValue =
            verdicts.size === 0 ? 'not-probed' : verdicts.size === 2 ? 'mixed' : [...verdicts][0]!;
          expect(g.values[k]?.[i]?.[j], `${f} → ${t} ${p.port}/${p.protocol}`).toBe(want);
        });
      });
    });
    expect(new Set(g.values.flat(2))).toEqual(new Set(['allow', 'deny', 'mixed', 'not-probed']));
  });

  test("cells=none is the roll-up alone; pair=FROM|TO is exactly that workload pair's pod cells", () => {
    const full = get(`/api/reach?m=${m}&group=workload`).json() as ReachAnswerJson;
    const g = full.grouped;
    if (!g) throw new Error('no grouped answer');
    const bare = get(`/api/reach?m=${m}&group=workload&cells=none`).json() as ReachAnswerJson;
    expect(bare.cells).toEqual([]);
    expect({ ...bare, cells: full.cells }).toEqual(full);
    // Every pair's answer, brute force against the whole answer's cells; together they are every cell but
    // a pod's to itself.
    const owner = new Map(Object.entries(g.members).flatMap(([group, pods]) => pods.map((p) => [p, group])));
    const seen: string[] = [];
    for (const f of g.froms)
      for (const t of g.tos) {
        const pair = get(
          `/api/reach?m=${m}&group=workload&pair=${encodeURIComponent(`${f}|${t}`)}`,
        ).json() as ReachAnswerJson;
        expect(pair.cells).toEqual(
          full.cells.filter((c) => c.from !== c.to && owner.get(c.from) === f && owner.get(c.to) === t),
        );
        expect(pair.grouped).toEqual(g);
        seen.push(...pair.cells.map((c) => `${c.from}|${c.to}|${c.port}/${c.protocol}`));
      }
    expect(seen.sort()).toEqual(
      full.cells
        .filter((c) => c.from !== c.to)
        .map((c) => `${c.from}|${c.to}|${c.port}/${c.protocol}`)
        .sort(),
    );
    const message = (path: string) => {
      const r = get(path);
      expect(r.status).toBe(400);
      return (r.json() as { error: { message: string } }).error.message;
    };
    expect(message(`/api/reach?m=${m}&pair=shop/db|shop/db`)).toMatch(/needs group=workload/);
    expect(message(`/api/reach?m=${m}&group=workload&pair=shop/nope|shop/db`)).toMatch(/no row "shop\/nope"/);
    expect(message(`/api/reach?m=${m}&group=workload&cells=some`)).toMatch(/use all or none/);
  });

  test("group=pod is the plain matrix; an unknown grouping is a 400 with the CLI's sentence", () => {
    const pod = get(`/api/reach?m=${m}&from=shop&group=pod`).json() as ReachAnswerJson;
    expect(pod.command).toBe('kpath reach --from shop --group pod');
    expect(pod.grouped).toBeUndefined();
    const bad = get(`/api/reach?m=${m}&group=namespace`);
    expect(bad.status).toBe(400);
    let sentence = '';
    try {
      cli({ group: 'namespace' });
    } catch (e) {
      if (e instanceof UsageError) sentence = e.message;
    }
    expect(sentence).toBe('unknown grouping "namespace": use workload or pod');
    expect((bad.json() as { error: { kind: string; message: string } }).error).toEqual({
      kind: 'usage',
      message: sentence,
    });
  });
});

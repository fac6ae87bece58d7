// `kpath reach`, called in-process on twins built from manifests: every output format, selectors,
// grouping, explanations and the Flannel warning.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { type ReachCliOptions, runReach } from '../../src/cli/reach.js';
import { DB_POLICY, twinWith, xyzManifests } from './reach-fixtures.js';

const opts = (o: Partial<ReachCliOptions> = {}): ReachCliOptions => ({
  file: [],
  from: [],
  to: [],
  port: [],
  output: 'table',
  ...o,
});

const DENY_INGRESS_X = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: x}
spec: {podSelector: {}, ingress: []}
`;

const xyz = (policies = DENY_INGRESS_X) => twinWith(`${xyzManifests()}\n---\n${policies}`);

describe('kpath reach -o table', () => {
  it('prints the upstream TruthTable layout (default-deny-ingress from network_policy.go)', () => {
    // Upstream's golden (test/policy/e2e-truth-tables.test.ts) with the diagonal probed: a pod reaching
    // its own IP stays on loopback, so kpath shows `.` where the e2e suite did not probe (`?`).
    const golden = [
      '-\tx/a\tx/b\tx/c\ty/a\ty/b\ty/c\tz/a\tz/b\tz/c',
      'x/a\t.\tX\tX\t.\t.\t.\t.\t.\t.',
      'x/b\tX\t.\tX\t.\t.\t.\t.\t.\t.',
      'x/c\tX\tX\t.\t.\t.\t.\t.\t.\t.',
      'y/a\tX\tX\tX\t.\t.\t.\t.\t.\t.',
      'y/b\tX\tX\tX\t.\t.\t.\t.\t.\t.',
      'y/c\tX\tX\tX\t.\t.\t.\t.\t.\t.',
      'z/a\tX\tX\tX\t.\t.\t.\t.\t.\t.',
      'z/b\tX\tX\tX\t.\t.\t.\t.\t.\t.',
      'z/c\tX\tX\tX\t.\t.\t.\t.\t.\t.',
    ].join('\n');
    const r = runReach(xyz(), opts({ from: ['x', 'y', 'z'], to: ['x', 'y', 'z'], port: ['80/TCP'] }));
    expect(r.stdout).toBe(`# as the policies specify; not enforced by flannel\n${golden}\n`);
    expect(r.stderr).toBe('warning: flannel does not enforce NetworkPolicy: 1 policy has no effect\n');
    expect(r.exitCode).toBe(0);
  });

  it('probes each destination on its declared ports, one table per probe, ? where not declared', () => {
    const r = runReach(twinWith(DB_POLICY), opts({ from: ['shop'], to: ['shop'] }));
    const tables = r.stdout.split('\n\n');
    expect(tables.map((t) => t.split('\n').find((l) => /^\d+\/\w+:$/.test(l)))).toEqual([
      '80/TCP:',
      '5432/TCP:',
    ]);
    const pg = tables[1]!.split('\n');
    // Columns: db-0, db-1, web, web; db takes 5432 from web only (and from itself, over loopback).
    expect(
      pg
        .slice(2)
        .filter((l) => l)
        .map((l) => l.split('\t').slice(1).join('')),
    ).toEqual(['.X??', 'X.??', '..??', '..??']);
  });

  it('--explain adds the deciding policy and rule of every cell', () => {
    const r = runReach(xyz(), opts({ from: ['y/a'], to: ['x/a', 'y/b'], port: ['80'], explain: true }));
    expect(r.stdout).toContain(
      'y/a → x/a 80/TCP deny: denied on ingress: pod x/a is isolated by policy x/deny-ingress; no ingress rule of any policy selecting x/a allows y/a on TCP 80',
    );
    expect(r.stdout).toContain(
      'y/a → y/b 80/TCP allow: not isolated on ingress: no policy selects y/b for ingress',
    );
  });

  it('--group workload folds replicas into their Deployment or StatefulSet (~ when replicas differ)', () => {
    const dbFromDb0 = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-db-0, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {statefulset.kubernetes.io/pod-name: db-0}}}]}]
`;
    const r = runReach(
      twinWith(dbFromDb0),
      opts({ from: ['shop'], to: ['shop'], port: ['5432'], group: 'workload' }),
    );
    // db → db: db-0 → db-1 allowed, db-1 → db-0 denied; web is not isolated.
    expect(r.stdout.split('\n').slice(1, 4)).toEqual([
      '-\tshop/db\tshop/web',
      'shop/db\t~\t.',
      'shop/web\tX\t.',
    ]);
  });
});

describe('kpath reach selectors', () => {
  const rows = (o: Partial<ReachCliOptions>) =>
    runReach(xyz(), opts({ port: ['80'], output: 'list', ...o }))
      .stdout.split('\n')
      .filter((l) => l && !l.startsWith('#'));

  it('accepts ns/pod, ns/*, ns, label selectors with and without a namespace', () => {
    expect(rows({ from: ['x/a'], to: ['y/*'] })).toEqual([
      'allow x/a → y/a 80/TCP',
      'allow x/a → y/b 80/TCP',
      'allow x/a → y/c 80/TCP',
    ]);
    expect(
      rows({ from: ['pod=b'], to: ['z:pod in (a,c)'] }).map((l) => l.split(' ')[1] + l.split(' ')[3]!),
    ).toEqual(['x/bz/a', 'x/bz/c', 'y/bz/a', 'y/bz/c', 'z/bz/a', 'z/bz/c']);
    expect(rows({ from: ['z'], to: ['x:pod!=a,pod!=b'] })).toEqual([
      'deny  z/a → x/c 80/TCP',
      'deny  z/b → x/c 80/TCP',
      'deny  z/c → x/c 80/TCP',
    ]);
  });

  it('accepts plain IPs for hosts outside the cluster and nodes', () => {
    const r = runReach(
      xyz(),
      opts({
        from: ['198.51.100.5', '192.168.1.10'],
        to: ['x/a'],
        port: ['80'],
        output: 'list',
        explain: true,
      }),
    );
    const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).toBe(
      'deny  198.51.100.5 → x/a 80/TCP: denied on ingress: pod x/a is isolated by policy x/deny-ingress; no ingress rule of any policy selecting x/a allows 198.51.100.5 on TCP 80',
    );
    expect(lines[1]).toMatch(/^(allow|deny) {1,2}192\.168\.1\.10 → x\/a 80\/TCP: /);
  });

  it('rejects what it cannot read with a usage error (exit 2)', () => {
    const usage = (o: Partial<ReachCliOptions>) => {
      try {
        runReach(xyz(), opts(o));
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(usage({ port: ['80/ICMP'] })).toMatch(/invalid port "80\/ICMP"/);
    expect(usage({ to: ['198.51.100.5'] })).toMatch(/not a pod, so it has no declared ports: give --port/);
    expect(usage({ from: ['x/nope'] })).toMatch(/no pod x\/nope/);
    expect(usage({ from: ['Not A Selector/'] })).toMatch(/cannot read/);
    expect(usage({ output: 'yaml' })).toMatch(/unknown output format "yaml"/);
    expect(usage({ output: 'json', group: 'workload' })).toMatch(/pod-level cells/);
  });
});

describe('kpath reach output formats', () => {
  const run = (output: string, o: Partial<ReachCliOptions> = {}) =>
    runReach(xyz(), opts({ from: ['x/b', 'y/a'], to: ['x/a', 'y/b'], port: ['80', '53/UDP'], output, ...o }));

  it('json lists every cell with both sides (docs/reach-json.md)', () => {
    const doc = JSON.parse(run('json').stdout);
    expect(doc.kind).toBe('Reachability');
    expect(doc.enforcedBy).toBeNull();
    expect(doc.note).toBe('as the policies specify; not enforced by flannel');
    expect(doc.probes).toEqual([
      { port: 80, protocol: 'TCP' },
      { port: 53, protocol: 'UDP' },
    ]);
    expect(doc.cells).toHaveLength(2 * 2 * 2);
    expect(doc.cells[0]).toEqual({
      from: 'x/b',
      to: 'x/a',
      port: 80,
      protocol: 'TCP',
      verdict: 'deny',
      ingress: 'denied',
      egress: 'not-isolated',
      reason:
        'denied on ingress: pod x/a is isolated by policy x/deny-ingress; no ingress rule of any policy selecting x/a allows x/b on TCP 80',
    });
    for (const c of doc.cells)
      expect(Object.keys(c)).toEqual([
        'from',
        'to',
        'port',
        'protocol',
        'verdict',
        'ingress',
        'egress',
        'reason',
      ]);
  });

  it('json names the enforcing agent when the CNI has one', () => {
    const doc = JSON.parse(
      runReach(
        twinWith(`${xyzManifests()}\n---\n${DENY_INGRESS_X}`, { policyAgent: 'kube-router' }),
        opts({ from: ['x/b'], to: ['x/a'], port: ['80'], output: 'json' }),
      ).stdout,
    );
    expect(doc.enforcedBy).toBe('kube-router');
    expect(doc.note).toBeUndefined();
    expect(doc.warnings).toEqual([]);
  });

  it('csv is RFC 4180 with the same cells', () => {
    const text = run('csv').stdout;
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('from,to,port,protocol,verdict,ingress,egress,reason');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(1 + 8 + 1);
    // A reason holding commas is quoted; one without is not.
    const allowed = lines.find((l) => l.startsWith('y/a,y/b,80,TCP,allow'))!;
    expect(allowed).toBe(
      'y/a,y/b,80,TCP,allow,not-isolated,not-isolated,"not isolated on ingress: no policy selects y/b for ingress, so the default allows it"',
    );
  });

  it('md prints one table per probe with ✓ and ✗', () => {
    expect(run('md').stdout).toBe(
      [
        '> as the policies specify; not enforced by flannel',
        '',
        '**80/TCP**',
        '',
        '| from \\ to | x/a | y/b |',
        '| --- | :---: | :---: |',
        '| x/b | ✗ | ✓ |',
        '| y/a | ✗ | ✓ |',
        '',
        '**53/UDP**',
        '',
        '| from \\ to | x/a | y/b |',
        '| --- | :---: | :---: |',
        '| x/b | ✗ | ✓ |',
        '| y/a | ✗ | ✓ |',
        '',
      ].join('\n'),
    );
  });

  it('dot draws the allowed connections only, clustered by namespace', () => {
    const dot = run('dot').stdout;
    expect(dot).toContain('"x/b" -> "y/b" [label="80/TCP, 53/UDP"];');
    expect(dot).toContain('"y/a" -> "y/b" [label="80/TCP, 53/UDP"];');
    expect(dot).not.toContain('-> "x/a"');
    expect(dot).toMatch(/subgraph cluster_\d+ \{\n {4}label="x";/);
    expect(dot.startsWith('digraph reachability {')).toBe(true);
  });

  it('list prints one line per cell', () => {
    expect(
      run('list')
        .stdout.split('\n')
        .filter((l) => !l.startsWith('#')),
    ).toEqual([
      'deny  x/b → x/a 80/TCP',
      'deny  x/b → x/a 53/UDP',
      'allow x/b → y/b 80/TCP',
      'allow x/b → y/b 53/UDP',
      'deny  y/a → x/a 80/TCP',
      'deny  y/a → x/a 53/UDP',
      'allow y/a → y/b 80/TCP',
      'allow y/a → y/b 53/UDP',
      '',
    ]);
  });

  it('without policies there is no warning and every cell is allowed', () => {
    const r = runReach(twinWith(xyzManifests()), opts({ from: ['x'], to: ['x'], port: ['80'] }));
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain('X');
    expect(r.stdout.startsWith('-\tx/a\tx/b\tx/c\n')).toBe(true);
  });
});

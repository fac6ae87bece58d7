// `kpath diff`: the connections a change of manifests opens or closes, and its exit codes for CI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectionChanges, type DiffCliOptions, runDiff } from '../../src/cli/diff.js';
import { UsageError } from '../../src/cli/errors.js';
import { DB_POLICY, twinWith, WEB_POLICY } from './reach-fixtures.js';

const opts = (o: Partial<DiffCliOptions> = {}): DiffCliOptions => ({
  file: [],
  against: [],
  from: [],
  to: [],
  port: [],
  ...o,
});

const before = twinWith('');
const withDb = twinWith(DB_POLICY);

describe('kpath diff', () => {
  it('lists the connections a new policy closes, with the reason from the new manifests', () => {
    const changes = connectionChanges(before, withDb, {});
    // Every pod but the web replicas (and db itself over loopback) loses 5432 to each db replica.
    const closed = changes.filter((c) => c.change === 'closed');
    expect(
      changes.every((c) => c.change === 'closed' && c.port === 5432 && c.to.startsWith('shop/db-')),
    ).toBe(true);
    const sources = [...new Set(closed.map((c) => c.from))];
    expect(sources.some((s) => s.startsWith('shop/web-'))).toBe(false);
    expect(sources).toContain('kube-system/coredns-55d49d4679-fk6vn');
    // db-0 -> db-1 closes, db-0 -> db-0 (loopback) does not.
    expect(closed.some((c) => c.from === 'shop/db-0' && c.to === 'shop/db-1')).toBe(true);
    expect(closed.some((c) => c.from === 'shop/db-0' && c.to === 'shop/db-0')).toBe(false);
    const r = runDiff(before, withDb, opts());
    expect(r.stdout).toContain(
      '- shop/db-0 → shop/db-1 5432/TCP  closed: denied on ingress: pod shop/db-1 is isolated by policy shop/db-from-web; no ingress rule of any policy selecting shop/db-1 allows shop/db-0 on TCP 5432\n',
    );
    expect(r.stdout.endsWith(`\n0 opened, ${closed.length} closed\n`)).toBe(true);
  });

  it('lists the connections a removed policy opens', () => {
    const r = runDiff(withDb, before, opts({ from: ['shop/db-0'], to: ['app=db'] }));
    expect(r.stdout).toBe(
      [
        '+ shop/db-0 → shop/db-1 5432/TCP  opened: not isolated on ingress: no policy selects shop/db-1 for ingress, so the default allows it',
        '',
        '1 opened, 0 closed',
        '',
      ].join('\n'),
    );
  });

  it('exit codes: 1 when --fail-on matches, 0 otherwise, usage error for a bad value', () => {
    expect(runDiff(before, withDb, opts()).exitCode).toBe(0);
    expect(runDiff(before, withDb, opts({ failOn: 'closed' })).exitCode).toBe(1);
    expect(runDiff(before, withDb, opts({ failOn: 'any' })).exitCode).toBe(1);
    expect(runDiff(before, withDb, opts({ failOn: 'opened' })).exitCode).toBe(0);
    expect(runDiff(withDb, before, opts({ failOn: 'opened' })).exitCode).toBe(1);
    expect(runDiff(withDb, before, opts({ failOn: 'closed' })).exitCode).toBe(0);
    expect(runDiff(before, before, opts({ failOn: 'any' }))).toEqual({
      stdout: 'no connection opens or closes\n',
      stderr: '',
      exitCode: 0,
    });
    expect(() => runDiff(before, withDb, opts({ failOn: 'sometimes' }))).toThrow(UsageError);
  });

  it('a change of ports opens one port and closes another on the same pair', () => {
    const web8080 = WEB_POLICY.replace('ports: [{port: 80}]', 'ports: [{port: 8080}]').replace(
      'web-from-clients',
      'web-from-clients',
    );
    const clientPod = `
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {role: client}}
spec: {containers: [{name: c, image: curl}]}
`;
    const a = twinWith(`${WEB_POLICY}\n---\n${clientPod}`);
    const b = twinWith(`${web8080}\n---\n${clientPod}`);
    const changes = connectionChanges(a, b, {
      from: ['default/client'],
      to: ['shop:app=web'],
      ports: [
        { port: 80, protocol: 'TCP' },
        { port: 8080, protocol: 'TCP' },
      ],
    });
    expect(changes.map((c) => `${c.change} ${c.to.slice(0, 8)} ${c.port}`)).toEqual([
      'closed shop/web 80',
      'opened shop/web 8080',
      'closed shop/web 80',
      'opened shop/web 8080',
    ]);
  });

  it('a pod that exists only in the new manifests opens its connections', () => {
    const clientPod = `
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {role: client}}
spec: {containers: [{name: c, image: curl}]}
`;
    const a = twinWith(WEB_POLICY);
    const b = twinWith(`${WEB_POLICY}\n---\n${clientPod}`);
    const r = runDiff(a, b, opts({ from: ['default/client'], to: ['shop:app=web'] }));
    expect(r.stdout.split('\n')[0]).toMatch(
      /^\+ default\/client → shop\/web-\w+-\w+ 80\/TCP {2}opened: default\/client is new; allowed on ingress by policy shop\/web-from-clients rule 1 \(from all namespaces pods role=client, TCP 80\)$/,
    );
  });
});

describe('kpath diff as a process', () => {
  const ROOT = new URL('../..', import.meta.url).pathname;
  const built =
    spawnSync('node', ['-e', "require('node:fs').accessSync('dist/src/cli/diff.js')"], { cwd: ROOT })
      .status === 0;
  it.skipIf(!built)('exits 1 on --fail-on closed, 2 on bad input (needs npm run build)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpath-diff-'));
    try {
      const demo = join(ROOT, 'examples/demo');
      writeFileSync(join(dir, 'db.yaml'), DB_POLICY);
      writeFileSync(join(dir, 'bad.yaml'), DB_POLICY.replace('port: 5432', 'port: 0'));
      const run = (args: string[]) =>
        spawnSync('node', [join(ROOT, 'dist/src/cli/main.js'), 'diff', ...args], { encoding: 'utf8' });
      const closed = run([
        '-f',
        demo,
        '--against',
        demo,
        '--against',
        join(dir, 'db.yaml'),
        '--fail-on',
        'closed',
      ]);
      expect(closed.status).toBe(1);
      expect(closed.stdout).toContain('closed: denied on ingress');
      expect(run(['-f', demo, '--against', demo, '--fail-on', 'any']).status).toBe(0);
      const bad = run(['-f', demo, '--against', demo, '--against', join(dir, 'bad.yaml')]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/bad\.yaml:\d+:\d+: .*port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kpath diff input errors', () => {
  const a = twinWith('');
  it('a selector it cannot read, or an IP destination without --port, is a usage error', () => {
    expect(() => runDiff(a, a, opts({ from: ['Not/A/Pod'] }))).toThrow(/cannot read "Not\/A\/Pod"/);
    expect(() => runDiff(a, a, opts({ to: ['198.51.100.5'] }))).toThrow(UsageError);
    expect(() => runDiff(a, a, opts({ from: ['nosuchns'] }))).toThrow(/match no pod in either/);
  });

  it('an IP destination with --port is compared like a pod', () => {
    const b = twinWith(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: no-egress, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress]}
`);
    const r = runDiff(
      a,
      b,
      opts({ from: ['shop:app=web'], to: ['198.51.100.5'], port: ['443'], failOn: 'closed' }),
    );
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(
      /^- shop\/web-\w+-\w+ → 198\.51\.100\.5 443\/TCP {2}closed: denied on egress: pod shop\/web-\w+-\w+ is isolated by policy shop\/no-egress; /,
    );
  });
});

// The node:http edge of `kpath serve`: loopback by default, size limits, only the built page's own files.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerServe } from '../../src/cli/serve.js';
import { readSources } from '../../src/load/sources.js';
import { MAX_BODY_BYTES, type RunningServer, startServer } from '../../src/server/http.js';
import { CLI_WORKSPACE, Workspaces } from '../../src/server/workspaces.js';
import { buildTwin } from '../../src/twin.js';

const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo');
let root: string;
let server: RunningServer;
let bare: RunningServer;

function get(
  url: string,
  path: string,
  opts: { method?: string; host?: string; body?: Buffer | string } = {},
): Promise<{ status: number; type: string; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path,
        method: opts.method ?? 'GET',
        headers: { host: opts.host ?? `127.0.0.1:${u.port}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    // A server that answers 413 early may close the socket while the client still writes: that is fine.
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kpath-web-'));
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>kpath test page</title>');
  await writeFile(join(root, 'assets', 'app.js'), 'console.log(1)');
  const twin = buildTwin(await readSources([DEMO]));
  const workspaces = new Workspaces({ id: CLI_WORKSPACE, files: [DEMO], twin });
  server = await startServer({ workspaces, host: '127.0.0.1', port: 0, webRoot: root });
  bare = await startServer({ workspaces, host: '127.0.0.1', port: 0, webRoot: join(root, 'missing') });
});

afterAll(async () => {
  await server?.close();
  await bare?.close();
  await rm(root, { recursive: true, force: true });
});

describe('kpath serve over HTTP', () => {
  test('binds where it was told and serves the page and the API', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(server.url, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('kpath test page');
    expect(page.type).toBe('text/html; charset=utf-8');
    expect((await get(server.url, '/assets/app.js')).type).toBe('text/javascript; charset=utf-8');
    const topo = await get(server.url, '/api/topology');
    expect(topo.status).toBe(200);
    expect(JSON.parse(topo.body).nodes).toHaveLength(3);
  });

  test('only the built files: no path from the URL reaches the filesystem', async () => {
    for (const p of [
      '/../../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/../../index.html',
      '/package.json',
    ]) {
      const r = await get(server.url, p);
      expect(r.body).not.toContain('root:');
      expect(r.body).not.toContain('"name": "kpath"');
    }
    expect((await get(server.url, '/../../../../etc/passwd')).status).toBe(404);
  });

  test('answers only to localhost names when bound to loopback (DNS rebinding)', async () => {
    expect((await get(server.url, '/api/topology', { host: 'attacker.example' })).status).toBe(421);
    expect((await get(server.url, '/api/topology', { host: 'localhost:1234' })).status).toBe(200);
  });

  test('request bodies are limited', async () => {
    const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    const r = await get(server.url, '/api/manifests', { method: 'POST', body: big });
    expect(r.status).toBe(413);
    const url = `/api/topology?q=${'x'.repeat(9000)}`;
    expect((await get(server.url, url)).status).toBe(414);
  });

  test('without a built page it says how to build it', async () => {
    const r = await get(bare.url, '/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('npm run build');
  });

  test('the command binds 127.0.0.1:7070 unless told otherwise', () => {
    const program = new Command();
    registerServe(program);
    const serve = program.commands.find((c) => c.name() === 'serve');
    expect(serve?.opts()).toMatchObject({ host: '127.0.0.1', port: '7070', file: [] });
  });
});

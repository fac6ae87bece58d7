// What the browser tests share: the page of the current sources built into a scratch folder, served by
// `kpath serve`'s server on a free loopback port over the demo cluster.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSources } from '../../src/load/sources.js';
import { type RunningServer, startServer } from '../../src/server/http.js';
import { CLI_WORKSPACE, Workspaces } from '../../src/server/workspaces.js';
import { buildTwin, type Twin } from '../../src/twin.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DEMO = join(ROOT, 'examples', 'demo');

export interface DemoServer {
  readonly twin: Twin;
  readonly server: RunningServer;
  /** The scratch folder (the built page, browser profiles); removed by close(). */
  readonly dir: string;
  close(): Promise<void>;
}

export async function startDemoServer(prefix: string): Promise<DemoServer> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const webRoot = join(dir, 'web');
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'vite'),
    ['build', 'web', '--outDir', webRoot, '--logLevel', 'error'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  const twin = buildTwin(await readSources([DEMO]));
  const server = await startServer({
    workspaces: new Workspaces({ id: CLI_WORKSPACE, files: ['examples/demo'], twin }),
    host: '127.0.0.1',
    port: 0,
    webRoot,
  });
  return {
    twin,
    server,
    dir,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ManifestFile {
  name: string;
  text: string;
}

/** Uploads the demo's manifests plus `extra` as a new workspace (POST /api/manifests). */
export async function uploadDemoWith(
  server: RunningServer,
  extra: ManifestFile,
): Promise<{ id: string; files: ManifestFile[] }> {
  const sources = await readSources([DEMO]);
  const files = [...sources.map((f) => ({ name: f.file.split('/').pop() ?? 'x.yaml', text: f.text })), extra];
  const res = await fetch(new URL('api/manifests', server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ files }),
  });
  const { id } = (await res.json()) as { id: string };
  return { id, files };
}

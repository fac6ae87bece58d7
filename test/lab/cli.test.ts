// `kpath lab up` without root: one clear sentence and exit 2 (run as nobody when the tests run as root).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

test('lab up without root says so in one sentence and exits 2', () => {
  const asRoot = process.getuid?.() === 0;
  const r = spawnSync(
    process.execPath,
    [join(process.cwd(), 'node_modules', 'vite-node', 'vite-node.mjs'), 'src/cli/main.ts', 'lab', 'up'],
    {
      encoding: 'utf8',
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      env: { ...process.env, KPATH_LAB_DIR: '/nonexistent' },
    },
  );
  expect(r.status).toBe(2);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('kpath:'))).toEqual([
    'kpath: lab mode needs root (network namespaces need CAP_SYS_ADMIN); run it with sudo.',
  ]);
}, 60_000);

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCluster } from '../../src/load/index.js';
import { readSources, STDIN } from '../../src/load/sources.js';
import { InputError } from '../../src/model/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kpath-load-'));
  await mkdir(join(dir, 'b', 'nested'), { recursive: true });
  await writeFile(join(dir, 'b', 'z.yaml'), 'z');
  await writeFile(join(dir, 'b', 'a.yml'), 'a');
  await writeFile(join(dir, 'b', 'nested', 'm.json'), '{}');
  await writeFile(join(dir, 'b', 'README.md'), 'not a manifest');
  await writeFile(join(dir, 'one.txt'), 'given explicitly');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readSources', () => {
  it('reads directories recursively, manifests only, sorted by path', async () => {
    const s = await readSources([join(dir, 'b')]);
    expect(s.map((x) => x.file.slice(dir.length + 1))).toEqual(['b/a.yml', 'b/nested/m.json', 'b/z.yaml']);
    expect(s.map((x) => x.text)).toEqual(['a', '{}', 'z']);
  });

  it('reads a file named explicitly whatever its extension, in the order given', async () => {
    const s = await readSources([join(dir, 'one.txt'), join(dir, 'b', 'a.yml')]);
    expect(s.map((x) => x.text)).toEqual(['given explicitly', 'a']);
  });

  it('reads - from stdin under the name <stdin>', async () => {
    const s = await readSources(['-'], async () => 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n');
    expect(s).toEqual([{ file: STDIN, text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n' }]);
    expect(STDIN).toBe('<stdin>');
    try {
      loadCluster([{ file: STDIN, text: 'kind: Namespace\n' }]);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe(
        '<stdin>:1:1: apiVersion is missing\n<stdin>:1:1: metadata is missing',
      );
    }
  });

  it('names every missing path in one InputError', async () => {
    const missing = [join(dir, 'nope.yaml'), join(dir, 'gone')];
    const err = await readSources(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).problems).toEqual(
      missing.map((file) => ({ file, message: 'no such file or directory' })),
    );
  });
});

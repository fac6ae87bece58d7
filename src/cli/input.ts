// Reading what the user pointed kpath at (or the built-in demo) and building the twin from it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { readSources } from '../load/sources.js';
import { buildTwin, type Twin } from '../twin.js';

export interface InputOptions {
  file: string[];
}

export function addInputOptions(cmd: Command): Command {
  return cmd.option(
    '-f, --file <path>',
    'manifests: a file, a directory (recursive) or - for stdin; repeatable (default: the built-in demo cluster)',
    (v: string, prev: string[]) => [...prev, v],
    [] as string[],
  );
}

/** The package's own folder, found from this module whether it runs from dist/ or from src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the kpath package folder');
    dir = up;
  }
  return dir;
}

export function demoPath(): string {
  return join(packageRoot(), 'examples', 'demo');
}

export async function loadTwin(opts: InputOptions): Promise<Twin> {
  const paths = opts.file.length ? opts.file : [demoPath()];
  const sources = await readSources(paths, readStdin);
  return buildTwin(sources);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

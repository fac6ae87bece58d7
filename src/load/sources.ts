// Reading the user's input: files, directories and stdin. The only module of the loader that touches
// the filesystem; everything after this works on plain text.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, type InputProblem } from '../model/errors.js';

export interface SourceText {
  /** The path as given, a file found under a given directory, or `<stdin>`. */
  file: string;
  text: string;
}

export const STDIN = '<stdin>';
const MANIFEST = /\.(ya?ml|json)$/i;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Every manifest below a directory, sorted by path so that the same tree loads the same way. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if ((e.isFile() || e.isSymbolicLink()) && MANIFEST.test(e.name)) out.push(p);
  }
  return out.sort();
}

/**
 * Reads the inputs in the order given: a file as is (whatever its extension, like kubectl -f), a
 * directory recursively (`.yaml`, `.yml`, `.json`, sorted), `-` as stdin. All missing paths are
 * reported together.
 */
export async function readSources(
  paths: string[],
  stdin: () => Promise<string> = readStdin,
): Promise<SourceText[]> {
  const out: SourceText[] = [];
  const problems: InputProblem[] = [];
  let stdinRead = false;
  for (const p of paths) {
    if (p === '-') {
      if (stdinRead) continue; // stdin can only be read once
      stdinRead = true;
      out.push({ file: STDIN, text: await stdin() });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push({
        file: p,
        message: code === 'ENOENT' ? 'no such file or directory' : `cannot read (${code})`,
      });
      continue;
    }
    try {
      const files = isDir ? await walk(p) : [p];
      for (const f of files) out.push({ file: f, text: await readFile(f, 'utf8') });
    } catch (e) {
      problems.push({ file: p, message: `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})` });
    }
  }
  if (problems.length) throw new InputError(problems);
  return out;
}

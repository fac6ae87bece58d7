// Reads a pasted `kpath trace FROM TO [--port N] [--protocol P] [--seed S] [--endpoint ns/pod] [--no-return]`
// into the trace form's fields. Options the page cannot honour (-f, --pcap, -o) are reported, not run.
export interface TraceFields {
  from?: string;
  to?: string;
  port?: string;
  protocol?: string;
  seed?: string;
  endpoint?: string;
  noReturn?: boolean;
}

/** POSIX-shell-like word splitting: single and double quotes, backslash escapes. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) words.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quote) throw new Error('unterminated quote');
  if (has) words.push(cur);
  return words;
}

const VALUED: ReadonlyMap<string, keyof TraceFields> = new Map([
  ['--port', 'port'],
  ['--protocol', 'protocol'],
  ['--seed', 'seed'],
  ['--endpoint', 'endpoint'],
]);

export function parseTraceCommand(line: string): TraceFields {
  let words = shellWords(line.trim().replace(/^\$\s*/, ''));
  if (words[0] === 'npx') words = words.slice(1);
  if (words[0] === 'kpath') words = words.slice(1);
  if (words[0] !== 'trace') throw new Error('paste a command that starts with "kpath trace"');
  const out: TraceFields = {};
  const positional: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    const eq = w.indexOf('=');
    const flag = w.startsWith('--') && eq > 0 ? w.slice(0, eq) : w;
    const inline = w.startsWith('--') && eq > 0 ? w.slice(eq + 1) : undefined;
    const field = VALUED.get(flag);
    if (field) {
      const v = inline ?? words[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      (out as Record<string, string>)[field] = v;
    } else if (flag === '--no-return') {
      out.noReturn = true;
    } else if (flag.startsWith('-')) {
      throw new Error(
        `${flag} is not available on the page (it takes FROM TO, --port, --protocol, --seed, --endpoint, --no-return)`,
      );
    } else {
      positional.push(w);
    }
  }
  if (positional.length !== 2) throw new Error('give FROM and TO');
  out.from = positional[0];
  out.to = positional[1];
  return out;
}

/** The command line that reproduces a trace in the terminal. */
export function traceCommand(f: TraceFields): string {
  const q = (s: string) => (/^[\w./:@-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  const parts = ['kpath', 'trace', q(f.from ?? ''), q(f.to ?? '')];
  if (f.port) parts.push('--port', q(f.port));
  if (f.protocol && f.protocol !== 'tcp') parts.push('--protocol', q(f.protocol));
  if (f.seed && f.seed !== '1') parts.push('--seed', q(f.seed));
  if (f.endpoint) parts.push('--endpoint', q(f.endpoint));
  if (f.noReturn) parts.push('--no-return');
  return parts.join(' ');
}

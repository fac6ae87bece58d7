// The Corefile (Caddyfile syntax): server blocks keyed by zones and ports, each a list of plugin
// directives with arguments and optional nested blocks. Errors name the line.
import { Prefix } from '../net/ip.js';
import { fqdn } from './message.js';

export interface Directive {
  name: string;
  args: string[];
  line: number;
  /** Lines inside `{ … }` after the directive, each a directive of its own. */
  block: Directive[];
}

export interface ServerBlock {
  /** Zones as absolute lowercase names (`.`, `cluster.local.`, `10.in-addr.arpa.`). */
  zones: string[];
  port: number;
  /** The keys as written (`.:53`). */
  keys: string[];
  directives: Directive[];
  line: number;
}

export interface Corefile {
  servers: ServerBlock[];
}

export class CorefileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`Corefile:${line}: ${message}`);
    this.name = 'CorefileError';
  }
}

interface Token {
  text: string;
  line: number;
  quoted: boolean;
  /** True for the first token on its line (directives start lines). */
  lineStart: boolean;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lastLine = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = line;
    let word = '';
    let quoted = false;
    if (c === '"') {
      quoted = true;
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && text[i + 1] === '"') i++;
        if (text[i] === '\n') line++;
        word += text[i];
        i++;
      }
      if (i >= text.length) throw new CorefileError(start, 'unterminated quoted string');
      i++;
    } else {
      while (i < text.length && !/[\s]/.test(text[i]!)) {
        word += text[i];
        i++;
      }
    }
    tokens.push({ text: word, line: start, quoted, lineStart: start !== lastLine });
    lastLine = line;
  }
  return tokens;
}

/** Parses Corefile text. Keys accept `zone[:port]`, `dns://zone:port` and reverse CIDRs (`10.0.0.0/8`). */
export function parseCorefile(text: string): Corefile {
  const tokens = tokenize(text);
  let pos = 0;
  const servers: ServerBlock[] = [];

  const parseBlock = (openLine: number): Directive[] => {
    const out: Directive[] = [];
    for (;;) {
      const t = tokens[pos];
      if (!t) throw new CorefileError(openLine, 'unclosed "{"');
      if (t.text === '}' && !t.quoted) {
        pos++;
        return out;
      }
      if (t.text === '{' && !t.quoted) throw new CorefileError(t.line, 'unexpected "{"');
      const d: Directive = { name: t.text, args: [], line: t.line, block: [] };
      pos++;
      while (
        tokens[pos] &&
        tokens[pos]!.line === t.line &&
        !(tokens[pos]!.text === '{' && !tokens[pos]!.quoted)
      ) {
        const a = tokens[pos]!;
        if (a.text === '}' && !a.quoted) break;
        d.args.push(a.text);
        pos++;
      }
      const next = tokens[pos];
      if (next && next.text === '{' && !next.quoted && next.line === t.line) {
        pos++;
        d.block = parseBlock(next.line);
      }
      out.push(d);
    }
  };

  while (pos < tokens.length) {
    const first = tokens[pos]!;
    const keys: string[] = [];
    while (tokens[pos] && !(tokens[pos]!.text === '{' && !tokens[pos]!.quoted)) {
      const k = tokens[pos]!;
      if (k.line !== first.line)
        throw new CorefileError(k.line, `expected "{" after server block keys on line ${first.line}`);
      for (const part of k.text.split(',')) if (part) keys.push(part);
      pos++;
    }
    if (!tokens[pos]) throw new CorefileError(first.line, 'server block without "{"');
    if (keys.length === 0) throw new CorefileError(first.line, 'server block without keys');
    const open = tokens[pos]!;
    pos++;
    const directives = parseBlock(open.line);
    const parsed = keys.map((k) => parseKey(k, first.line));
    const ports = new Set(parsed.map((p) => p.port));
    if (ports.size > 1) throw new CorefileError(first.line, 'keys of one server block must share a port');
    servers.push({
      zones: parsed.map((p) => p.zone),
      port: parsed[0]!.port,
      keys,
      directives,
      line: first.line,
    });
  }
  return { servers };
}

function parseKey(key: string, line: number): { zone: string; port: number } {
  let k = key;
  const scheme = /^([a-z]+):\/\//.exec(k);
  if (scheme) {
    if (scheme[1] !== 'dns') throw new CorefileError(line, `transport ${scheme[1]}:// is not modelled`);
    k = k.slice(scheme[0].length);
  }
  let port = 53;
  const withPort = /^(.*[^:]):(\d+)$/.exec(k);
  if (withPort) {
    k = withPort[1]!;
    port = Number(withPort[2]);
  } else if (k.endsWith(':')) throw new CorefileError(line, `invalid port in "${key}"`);
  if (k.includes('/')) return { zone: reverseZoneOfCidr(k, line), port };
  if (k === '') k = '.';
  return { zone: fqdn(k).toLowerCase(), port };
}

/** `10.0.0.0/8` → `10.in-addr.arpa.`: CoreDNS accepts CIDR keys on octet (nibble) boundaries. */
export function reverseZoneOfCidr(cidr: string, line: number): string {
  const p = Prefix.tryParse(cidr);
  if (!p) throw new CorefileError(line, `invalid CIDR "${cidr}"`);
  if (p.family === 4) {
    if (p.len % 8 !== 0)
      throw new CorefileError(line, `CIDR ${cidr} is not on an octet boundary (not modelled)`);
    const bytes = [...p.addr.toBytes()].slice(0, p.len / 8).reverse();
    return [...bytes.map(String), 'in-addr', 'arpa', ''].join('.');
  }
  if (p.len % 4 !== 0) throw new CorefileError(line, `CIDR ${cidr} is not on a nibble boundary`);
  const nibbles: string[] = [];
  for (let i = 0; i < p.len / 4; i++)
    nibbles.push(((p.addr.value >> BigInt(124 - i * 4)) & 15n).toString(16));
  return [...nibbles.reverse(), 'ip6', 'arpa', ''].join('.');
}

/** kubeadm's current default Corefile: the ConfigMap kubeadm creates (src/control) holds the one copy. */
export { defaultCorefile as kubeadmCorefile } from '../control/builtin-objects.js';

// `GET /api/dns`: one `kpath dns` run on the server, answered as the CLI's own JSON and text, so the page
// shows exactly what the command prints (resolv.conf, every query in order, the final result).
import { runDns } from '../cli/dns.js';
import { UsageError } from '../cli/errors.js';
import type { Twin } from '../twin.js';

/** The request, as the page sends it in the query string. */
export interface DnsRequest {
  name: string;
  /** `ns/pod`: resolve inside this pod (its resolv.conf, search list, ndots). */
  from?: string;
  /** `--server [IP]`: true asks the kube-dns ClusterIP, like `--server` without a value. */
  server?: string | true;
  type?: string;
  resolver?: string;
}

/**
 * `lookup`: getaddrinfo in the pod (A and/or AAAA); `search`: res_search for another type;
 * `server`: one question to a server, like dig.
 */
export type DnsMode = 'lookup' | 'search' | 'server';

export interface DnsAnswerJson {
  /** The equivalent command line. */
  command: string;
  mode: DnsMode;
  /** `kpath dns … -o json`, parsed (docs/dns-json.md: a pod lookup, a res_search, or a server query). */
  result: unknown;
  /** `kpath dns … -v` as the terminal shows it (dig's output for `server`). */
  text: string;
  /** The command's exit status: 0 resolved / a reply came, 1 did not resolve, 9 no reply. */
  exitCode: number;
}

export function dnsRequestOf(query: URLSearchParams): DnsRequest {
  const name = query.get('name')?.trim();
  if (!name) throw new UsageError('give the name to look up: ?name=…');
  const opt = (k: string) => {
    const v = query.get(k)?.trim();
    return v ? v : undefined;
  };
  const from = opt('from');
  const type = opt('type');
  const resolver = opt('resolver');
  // `?server` alone (or empty) is `--server` without a value: the kube-dns ClusterIP.
  const server = query.has('server') ? (opt('server') ?? true) : undefined;
  return {
    name,
    ...(from ? { from } : {}),
    ...(server !== undefined ? { server } : {}),
    ...(type ? { type } : {}),
    ...(resolver ? { resolver } : {}),
  };
}

const quote = (w: string) => (/^[-\w./:@=]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

export function dnsCommand(r: DnsRequest): string {
  const words = ['kpath', 'dns', r.name];
  if (r.from) words.push('--from', r.from);
  if (r.server === true) words.push('--server');
  else if (r.server) words.push('--server', r.server);
  if (r.type) words.push('--type', r.type);
  if (r.resolver) words.push('--resolver', r.resolver);
  return words.map(quote).join(' ');
}

export function dnsAnswer(twin: Twin, r: DnsRequest): DnsAnswerJson {
  const opts = {
    ...(r.from ? { from: r.from } : {}),
    ...(r.server !== undefined ? { server: r.server } : {}),
    ...(r.type ? { type: r.type } : {}),
    ...(r.resolver ? { resolver: r.resolver } : {}),
  };
  const json = runDns(twin, r.name, { ...opts, output: 'json' });
  const text = runDns(twin, r.name, { ...opts, verbose: true });
  const type = r.type?.toUpperCase();
  const mode: DnsMode =
    r.server !== undefined ? 'server' : !type || type === 'A' || type === 'AAAA' ? 'lookup' : 'search';
  return {
    command: dnsCommand(r),
    mode,
    result: JSON.parse(json.stdout) as unknown,
    text: text.stdout,
    exitCode: json.exitCode,
  };
}

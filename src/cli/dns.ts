// `kpath dns NAME --from ns/pod` (what the pod's resolver sends and what getaddrinfo returns) and
// `kpath dns NAME --server [IP]` (one question to a DNS server, printed as dig prints it).
import type { Command } from 'commander';
import type { CoreDnsModel } from '../dns/coredns.js';
import { printDig } from '../dns/dig.js';
import { podLookupJson, type ServerQueryJson, serverQueryJson } from '../dns/json.js';
import { fqdn, reverseName } from '../dns/message.js';
import { type SearchResult, searchQuery, serverAnswer } from '../dns/res-search.js';
import {
  type LookupStatus,
  type PodLookup,
  type ResolverKind,
  resolve,
  resolverOf,
} from '../dns/stub-resolver.js';
import type { Pod } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import { formatTable } from '../render/table.js';
import { clusterDns, findPod } from '../trace/dns-step.js';
import type { Twin } from '../twin.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';

export { type SearchQuery, type SearchResult, searchQuery, serverAnswer } from '../dns/res-search.js';

export const DNS_TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'SOA', 'MX', 'NS'] as const;
type DnsType = (typeof DNS_TYPES)[number];

export interface DnsOptions {
  from?: string;
  server?: string | boolean;
  type?: string;
  output?: string;
  resolver?: string;
  verbose?: boolean;
}

type DnsCliOptions = DnsOptions & InputOptions;

// glibc's gai_strerror texts, as `getent ahosts` and applications print them.
const GAI_TEXT: Record<LookupStatus, string> = {
  OK: 'Success',
  EAI_NONAME: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EAI_NODATA: 'No address associated with hostname',
  EAI_FAIL: 'Non-recoverable failure in name resolution',
};

export function registerDns(program: Command): void {
  addInputOptions(
    program
      .command('dns')
      .description(
        "resolve a name as a pod's resolver does (--from), or ask a DNS server directly like dig (--server)",
      )
      .argument('<name>', 'the name to look up (an IP address with --type PTR)')
      .option('--from <ns/pod>', 'resolve inside this pod: its resolv.conf, search list, ndots, A and AAAA')
      .option('--server [ip]', 'ask this server directly, like dig @IP (default: the kube-dns ClusterIP)')
      .option(
        '-t, --type <type>',
        `${DNS_TYPES.join(' | ')} (--from: both A and AAAA unless given; --server: A)`,
      )
      .option('--resolver <kind>', "--from: glibc | musl (default: from the pod's image, alpine is musl)")
      .option('-v, --verbose', "--from: show CoreDNS's reasoning for every query")
      .option('-o, --output <format>', 'json')
      .addHelpText(
        'after',
        '\nExit status: 0 the name resolved (--from) or a reply came (--server); 1 it did not resolve;\n9 the server never replied (as dig exits); 2 a usage or input error.',
      ),
  ).action(async (name: string, opts: DnsCliOptions) => {
    checkOptions(opts);
    const out = runDns(await loadTwin(opts), name, opts);
    process.stdout.write(out.stdout);
    process.exitCode = out.exitCode;
  });
}

function checkOptions(opts: DnsOptions): void {
  checkType(opts.type);
  if (opts.output !== undefined && opts.output !== 'json')
    throw new UsageError(`unknown output format "${opts.output}": use json`);
  if (opts.resolver !== undefined && opts.resolver !== 'glibc' && opts.resolver !== 'musl')
    throw new UsageError(`unknown resolver "${opts.resolver}": use glibc or musl`);
  if (opts.from === undefined && opts.server === undefined)
    throw new UsageError(
      "say where to ask from: --from ns/pod (the pod's resolver) or --server [IP] (like dig)",
    );
}

/**
 * The command's work on a built twin: what it prints and its exit status (0 resolved / a reply came;
 * 1 the name did not resolve; 9 no reply, as dig exits).
 */
export function runDns(twin: Twin, name: string, opts: DnsOptions): { stdout: string; exitCode: number } {
  checkOptions(opts);
  const type = checkType(opts.type);
  const model = clusterDns(twin);
  const pod = opts.from !== undefined ? findPod(twin, opts.from) : undefined;
  const json = opts.output === 'json';
  const asJson = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  if (opts.server !== undefined) {
    const server = typeof opts.server === 'string' ? opts.server : model.index.dnsServiceIP.toString();
    const out = askServer(model, name, type ?? 'A', server, pod);
    return { stdout: json ? asJson(out.json) : out.text, exitCode: out.exitCode };
  }
  if (!pod) throw new UsageError('--from is required without --server');
  const resolver = (opts.resolver as ResolverKind | undefined) ?? resolverOf(pod);
  if (type === undefined || type === 'A' || type === 'AAAA') {
    const family = type === 'A' ? 4 : type === 'AAAA' ? 6 : 'any';
    const l = resolve(model, name, pod, { resolver, family });
    return {
      stdout: json ? asJson(podLookupJson(l)) : printLookup(l, pod, family, !!opts.verbose),
      exitCode: l.result.status === 'OK' ? 0 : 1,
    };
  }
  const s = searchQuery(model, pod, queryName(name, type), type, resolver);
  return {
    stdout: json ? asJson(searchJson(s)) : printSearch(s, pod, !!opts.verbose),
    exitCode: s.status === 'OK' ? 0 : 1,
  };
}

function checkType(t: string | undefined): DnsType | undefined {
  if (t === undefined) return undefined;
  const u = t.toUpperCase();
  if (!(DNS_TYPES as readonly string[]).includes(u))
    throw new UsageError(`unknown record type "${t}": use ${DNS_TYPES.join(', ')}`);
  return u as DnsType;
}

/** PTR for an address asks its reverse name, as `dig -x` and `host` do. */
function queryName(name: string, type: string): string {
  const ip = type === 'PTR' ? IPAddr.tryParse(name) : undefined;
  return ip ? reverseName(ip) : name;
}

// ---- --server: one question, printed like dig ----

interface ServerOutput {
  text: string;
  json: ServerQueryJson;
  exitCode: number;
}

export function askServer(
  model: CoreDnsModel,
  name: string,
  type: string,
  server: string,
  pod?: Pod,
): ServerOutput {
  if (!IPAddr.tryParse(server)) throw new UsageError(`--server: "${server}" is not an IP address`);
  const ptr = type === 'PTR' && IPAddr.tryParse(name) !== undefined;
  const qname = queryName(name, type);
  // dig echoes its own arguments in the banner.
  const command = ptr ? `@${server} -x ${name}` : `@${server} ${name} ${type}`;
  const banner = (body: string[]) =>
    ['', `; <<>> DiG 9.18 <<>> ${command}`, '; (1 server found)', ';; global options: +cmd', ...body].join(
      '\n',
    );
  const a = serverAnswer(model, qname, type, server, pod);
  if (!a) {
    // dig 9.18 with its default +tries=3 against a server that never replies (test/cli/samples).
    const err = `;; communications error to ${server}#53: timed out`;
    const up = model.upstreams.find((u) => u.ip === server);
    return {
      text: `${[err, err, err, banner([';; no servers could be reached'])].join('\n')}\n`,
      json: {
        question: { name: fqdn(qname), type },
        rcode: 'timeout',
        flags: [],
        answer: [],
        authority: [],
        additional: [],
        path: [
          up
            ? `upstream ${up.name} (${up.ip}): timeout`
            : `${server}: no DNS server modelled at this address`,
        ],
        forward: [],
        forwardAlternatives: [],
        unsupported: [],
      },
      exitCode: 9,
    };
  }
  const dig = printDig(a.reply, { server });
  return {
    text: `${banner([])}\n${dig}`,
    json: serverQueryJson(a),
    exitCode: 0,
  };
}

// ---- --from with A/AAAA: getaddrinfo ----

function answerCell(answer: string[]): string[] {
  return answer.length === 0 ? [''] : answer;
}

function queryRows(
  qs: readonly { name: string; type: string; server: string; rcode: string; answer: string[] }[],
): string[][] {
  const rows: string[][] = [['#', 'NAME', 'TYPE', 'SERVER', 'RCODE', 'ANSWER']];
  qs.forEach((q, i) => {
    const [first, ...more] = answerCell(q.answer);
    rows.push([String(i + 1), q.name, q.type, q.server, q.rcode, first ?? '']);
    for (const m of more) rows.push(['', '', '', '', '', m]);
  });
  return rows;
}

function indent(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `  ${l}\n`)
    .join('');
}

function podTitle(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
}

export function printLookup(l: PodLookup, pod: Pod, family: 'any' | 4 | 6, verbose: boolean): string {
  const hint = family === 4 ? 'AF_INET' : family === 6 ? 'AF_INET6' : 'AF_UNSPEC';
  let out = `getaddrinfo("${l.name}", ${hint}) in pod ${podTitle(pod)} (${l.resolver})\n\n`;
  out += `/etc/resolv.conf:\n${indent(l.resolvConf)}\n`;
  if (l.queries.length > 0) out += `${formatTable(queryRows(l.queries))}\n`;
  else out += 'no DNS query sent (the name is an address)\n\n';
  if (l.result.status === 'OK') {
    out += `result: ${l.result.addresses.join(' ')}\n`;
  } else {
    out += `result: ${l.result.status} (${GAI_TEXT[l.result.status]})\n`;
  }
  if (l.waitedMs > 0) out += `waited ${l.waitedMs / 1000}s for replies that never came\n`;
  if (verbose && l.notes.length > 0) out += `\nnotes:\n${l.notes.map((n) => `  ${n}\n`).join('')}`;
  return out;
}

// ---- --from with another type: res_search (src/dns/res-search.ts) ----

function searchJson(s: SearchResult) {
  return {
    name: s.name,
    type: s.type,
    resolver: s.resolver,
    resolvConf: s.resolvConf,
    queries: s.queries,
    result: { status: s.status, answer: s.answer },
    waitedMs: s.waitedMs,
    notes: s.notes,
  };
}

const H_ERRNO: Record<LookupStatus, string> = {
  OK: 'NETDB_SUCCESS',
  EAI_NONAME: 'HOST_NOT_FOUND',
  EAI_NODATA: 'NO_DATA',
  EAI_AGAIN: 'TRY_AGAIN',
  EAI_FAIL: 'NO_RECOVERY',
};

function printSearch(s: SearchResult, pod: Pod, verbose: boolean): string {
  let out = `res_search("${s.name}", ${s.type}) in pod ${podTitle(pod)} (${s.resolver})\n\n`;
  out += `/etc/resolv.conf:\n${indent(s.resolvConf)}\n`;
  out += `${formatTable(queryRows(s.queries))}\n`;
  out +=
    s.status === 'OK'
      ? `result:\n${s.answer.map((a) => `  ${a}\n`).join('')}`
      : `result: ${H_ERRNO[s.status]}\n`;
  if (s.waitedMs > 0) out += `waited ${s.waitedMs / 1000}s for replies that never came\n`;
  if (verbose && s.notes.length > 0) out += `\nnotes:\n${s.notes.map((n) => `  ${n}\n`).join('')}`;
  return out;
}

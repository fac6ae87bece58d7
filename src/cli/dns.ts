// `kpath dns NAME --from ns/pod` (what the pod's resolver sends and what getaddrinfo returns) and
// `kpath dns NAME --server [IP]` (one question to a DNS server, printed as dig prints it).
import type { Command } from 'commander';
import { answerQuery, type CoreDnsModel, type ServerAnswer } from '../dns/coredns.js';
import { printDig } from '../dns/dig.js';
import { podLookupJson, type ServerQueryJson, serverQueryJson } from '../dns/json.js';
import { type DnsReply, formatRecord, fqdn, type Rcode, reverseName } from '../dns/message.js';
import { glibcSettings, muslSettings, type ResolverSettings, resolvConf } from '../dns/resolv-conf.js';
import {
  type LookupStatus,
  type PodLookup,
  type ResolverKind,
  resolve,
  resolverOf,
} from '../dns/stub-resolver.js';
import { upstreamAnswer } from '../dns/upstream.js';
import type { Pod } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import { formatTable } from '../render/table.js';
import { clusterDns, findPod } from '../trace/dns-step.js';
import type { Twin } from '../twin.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';

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

/** CoreDNS listens on the kube-dns ClusterIP and on every CoreDNS pod's address. */
function isCoreDns(model: CoreDnsModel, server: string): boolean {
  const ip = IPAddr.tryParse(server);
  if (!ip) return false;
  return (
    ip.equals(model.index.dnsServiceIP) ||
    model.state.pods.some(
      (p) =>
        p.metadata.namespace === 'kube-system' &&
        p.metadata.labels?.['k8s-app'] === 'kube-dns' &&
        p.status?.podIP !== undefined &&
        ip.equals(IPAddr.parse(p.status.podIP)),
    )
  );
}

/** Who listens on `server`: CoreDNS, an upstream, or nobody (undefined: no reply). */
export function serverAnswer(
  model: CoreDnsModel,
  qname: string,
  type: string,
  server: string,
  pod?: Pod,
): ServerAnswer | undefined {
  const ip = IPAddr.tryParse(server);
  if (isCoreDns(model, server)) {
    const clientIP = pod ? (pod.spec.hostNetwork ? pod.status?.hostIP : pod.status?.podIP) : undefined;
    return answerQuery(model, qname, type, clientIP ? { clientIP } : {});
  }
  const up = model.upstreams.find((u) => ip && IPAddr.tryParse(u.ip)?.equals(ip));
  const reply = up ? upstreamAnswer(up, qname, type) : undefined;
  if (!up || !reply) return undefined;
  return {
    reply,
    path: [`upstream ${up.name} (${up.ip}): ${up.behaviour}`],
    forward: [],
    forwardAlternatives: [],
    unsupported: [],
  };
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

// ---- --from with another type: res_search ----

export interface SearchQuery {
  name: string;
  type: string;
  server: string;
  rcode: Rcode | 'timeout';
  answer: string[];
}

export interface SearchResult {
  name: string;
  type: string;
  resolver: ResolverKind;
  resolvConf: string;
  queries: SearchQuery[];
  /** The same statuses as getaddrinfo's, for res_search's h_errno: HOST_NOT_FOUND, NO_DATA, TRY_AGAIN, NO_RECOVERY. */
  status: LookupStatus;
  /** The final reply's answer section. */
  answer: string[];
  /** Time spent waiting on replies that never came, in milliseconds (as getaddrinfo's lookup counts it). */
  waitedMs: number;
  notes: string[];
}

type Outcome = 'OK' | 'NXDOMAIN' | 'NODATA' | 'SERVFAIL' | 'REFUSED' | 'TIMEOUT';

/**
 * res_search(name, type) inside the pod: glibc walks the same search list as getaddrinfo (res_query.c
 * __res_context_search) with one query per name; musl's res_search is res_query, the name as given.
 */
export function searchQuery(
  model: CoreDnsModel,
  pod: Pod,
  name: string,
  type: string,
  resolver: ResolverKind,
): SearchResult {
  const conf = resolvConf(model.state, pod, model.nodeResolvConfText);
  const s: ResolverSettings = resolver === 'musl' ? muslSettings(conf) : glibcSettings(conf);
  const out: SearchResult = {
    name,
    type,
    resolver,
    resolvConf: conf,
    queries: [],
    status: 'EAI_NONAME',
    answer: [],
    waitedMs: 0,
    notes: [],
  };
  let last: Outcome = 'NXDOMAIN';
  const ask = (qname: string): Outcome => {
    last = exchangeAll(qname);
    return last;
  };
  const send = (qname: string, server: string): DnsReply | undefined => {
    const a = serverAnswer(model, qname, type, server, pod);
    if (a && isCoreDns(model, server)) out.notes.push(`${qname} ${type}: ${a.path.join('; ')}`);
    out.queries.push({
      name: qname,
      type,
      server,
      rcode: a ? a.reply.rcode : 'timeout',
      answer: a ? a.reply.answer.map(formatRecord) : [],
    });
    return a?.reply;
  };
  // musl res_msend: the query goes to every nameserver at once, again every timeout/attempts; a
  // SERVFAIL is re-sent at once (budget 2 per round) and otherwise ignored, like REFUSED; the first
  // NOERROR or NXDOMAIN wins. res_query then maps NXDOMAIN and an empty NOERROR to errors.
  const muslExchange = (qname: string): Outcome => {
    for (let round = 0; round < Math.max(1, s.attempts); round++) {
      let budget = 2;
      const inFlight = s.nameservers.map((server) => ({ server, reply: send(qname, server) }));
      while (inFlight.length > 0) {
        const { server, reply } = inFlight.shift()!;
        if (reply?.rcode === 'SERVFAIL' && budget > 0) {
          budget--;
          inFlight.push({ server, reply: send(qname, server) });
        } else if (reply && (reply.rcode === 'NOERROR' || reply.rcode === 'NXDOMAIN')) {
          out.answer = reply.answer.map(formatRecord);
          return reply.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : reply.answer.length > 0 ? 'OK' : 'NODATA';
        }
      }
    }
    // Nothing acceptable before the timeout: res_query sees no answer, TRY_AGAIN.
    out.waitedMs += 1000 * s.timeout;
    return 'TIMEOUT';
  };
  // glibc res_send: servers in order, `attempts` rounds; SERVFAIL, NOTIMP and REFUSED move on like no reply.
  const exchangeAll = (qname: string): Outcome => {
    let bad: Rcode | undefined;
    for (let round = 0; round < s.attempts; round++) {
      for (const [i, server] of s.nameservers.entries()) {
        const r = send(qname, server);
        // res_send.c: the wait for server i is (timeout << i) / nscount for i > 0.
        if (!r)
          out.waitedMs +=
            1000 * Math.max(1, i === 0 ? s.timeout : Math.floor((s.timeout << i) / s.nameservers.length));
        if (r && (r.rcode === 'NOERROR' || r.rcode === 'NXDOMAIN')) {
          out.answer = r.answer.map(formatRecord);
          return r.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : r.answer.length > 0 ? 'OK' : 'NODATA';
        }
        if (r) bad = r.rcode;
      }
    }
    return bad === 'SERVFAIL' ? 'SERVFAIL' : bad ? 'REFUSED' : 'TIMEOUT';
  };
  const finish = (o: Outcome): LookupStatus =>
    o === 'OK'
      ? 'OK'
      : o === 'NXDOMAIN'
        ? 'EAI_NONAME'
        : o === 'NODATA'
          ? 'EAI_NODATA'
          : o === 'REFUSED'
            ? 'EAI_FAIL'
            : 'EAI_AGAIN';
  const dots = [...name].filter((c) => c === '.').length;
  const trailingDot = name.endsWith('.');
  const asIs = trailingDot ? name : `${name}.`;
  if (resolver === 'musl') {
    out.status = finish(muslExchange(asIs));
    return out;
  }
  let saved: Outcome | undefined;
  let triedAsIs = false;
  if (dots >= s.ndots || trailingDot) {
    const o = ask(asIs);
    if (o === 'OK' || trailingDot) {
      out.status = finish(o);
      return out;
    }
    saved = o;
    triedAsIs = true;
  }
  let gotNodata = false;
  let gotServfail = false;
  let rootOnList = false;
  for (const d of s.search) {
    const root = d === '.' || d === '';
    if (root) rootOnList = true;
    // A root entry asks the name as it is, where it stands in the list.
    const o = ask(root ? asIs : `${name}.${d.replace(/\.$/, '')}.`);
    if (o === 'OK') {
      out.status = 'OK';
      return out;
    }
    if (o === 'NODATA') gotNodata = true;
    else if (o === 'SERVFAIL') gotServfail = true;
    else if (o !== 'NXDOMAIN') break; // a timeout or REFUSED ends the search (res_query.c: done++)
  }
  if (!triedAsIs && !rootOnList && !(dots === 0 && s.noTldQuery)) {
    if (ask(asIs) === 'OK') {
      out.status = 'OK';
      return out;
    }
  }
  // res_query.c: the early as-is error wins; else NO_DATA if seen, else TRY_AGAIN after a SERVFAIL, else the last.
  out.answer = [];
  out.status = finish(saved ?? (gotNodata ? 'NODATA' : gotServfail ? 'SERVFAIL' : last));
  return out;
}

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

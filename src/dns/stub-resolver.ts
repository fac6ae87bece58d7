// The pod's stub resolver: how getaddrinfo(AF_UNSPEC) in glibc or musl turns a name into DNS
// queries (search list, ndots, A+AAAA, retries) and what it returns.
import type { Pod } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import { answerQuery, type CoreDnsModel } from './coredns.js';
import { canonical, type DnsReply, formatRecord, type Rcode, type ResourceRecord } from './message.js';
import { glibcSettings, muslSettings, type ResolverSettings, resolvConf } from './resolv-conf.js';
import { upstreamAnswer } from './upstream.js';

export type ResolverKind = 'glibc' | 'musl';

export type LookupStatus = 'OK' | 'EAI_NONAME' | 'EAI_AGAIN' | 'EAI_NODATA' | 'EAI_FAIL';

export interface SentQuery {
  name: string;
  type: 'A' | 'AAAA';
  server: string;
  /** The reply's rcode, or `timeout` when no reply came. */
  rcode: Rcode | 'timeout';
  /** Answer section as zone-file lines. */
  answer: string[];
  /** Which kind of server got it. */
  via: 'coredns' | 'upstream' | 'nobody';
}

export interface PodLookup {
  name: string;
  resolver: ResolverKind;
  resolvConf: string;
  queries: SentQuery[];
  result: { status: LookupStatus; addresses: string[] };
  /** Time spent waiting for replies that never came, in milliseconds (replies themselves count as instant). */
  waitedMs: number;
  /** CoreDNS's reasoning for each query it answered, in order. */
  notes: string[];
}

export interface ResolveOptions {
  /** Force a resolver; by default from the pod (annotation kpath.dev/resolver, alpine images). */
  resolver?: ResolverKind;
  /** getaddrinfo hints: AF_UNSPEC (both, the default), AF_INET (4) or AF_INET6 (6). */
  family?: 'any' | 4 | 6;
}

export const RESOLVER_ANNOTATION = 'kpath.dev/resolver';

/** musl when the pod says so or an image name/tag says alpine; glibc otherwise. */
export function resolverOf(pod: Pod): ResolverKind {
  const a = pod.metadata.annotations?.[RESOLVER_ANNOTATION];
  if (a === 'musl' || a === 'glibc') return a;
  const images = pod.spec.containers.map((c) => c.image ?? '');
  return images.some((i) => /alpine/i.test(i)) ? 'musl' : 'glibc';
}

interface Exchange {
  reply?: DnsReply;
  sent: SentQuery;
}

function exchange(
  model: CoreDnsModel,
  pod: Pod,
  server: string,
  name: string,
  type: 'A' | 'AAAA',
  notes: string[],
): Exchange {
  const ip = IPAddr.tryParse(server);
  let reply: DnsReply | undefined;
  let via: SentQuery['via'] = 'nobody';
  if (ip?.equals(model.index.dnsServiceIP)) {
    const clientIP = pod.spec.hostNetwork ? pod.status?.hostIP : pod.status?.podIP;
    const a = answerQuery(model, name, type, clientIP ? { clientIP } : {});
    notes.push(`${name} ${type}: ${a.path.join('; ')}`, ...a.unsupported.map((u) => `UNSUPPORTED: ${u}`));
    reply = a.reply;
    via = 'coredns';
  } else {
    const up = model.upstreams.find((u) => u.ip === server || (ip && IPAddr.tryParse(u.ip)?.equals(ip)));
    if (up) {
      reply = upstreamAnswer(up, name, type);
      via = 'upstream';
    } else notes.push(`${server}: no DNS server modelled at this address (no reply)`);
  }
  return {
    ...(reply ? { reply } : {}),
    sent: {
      name,
      type,
      server,
      rcode: reply ? reply.rcode : 'timeout',
      answer: reply ? reply.answer.map(formatRecord) : [],
      via,
    },
  };
}

/** Addresses of `family` reachable from `name` through the answer's CNAME chain (owner names must match). */
function addressesFollowingChain(answer: ResourceRecord[], name: string, type: 'A' | 'AAAA'): string[] {
  let current = canonical(name);
  for (let hops = 0; hops < 16; hops++) {
    const cname = answer.find((r) => r.type === 'CNAME' && canonical(r.name) === current);
    if (!cname) break;
    current = canonical(cname.data);
  }
  return answer.filter((r) => r.type === type && canonical(r.name) === current).map((r) => r.data);
}

type Candidate =
  | { kind: 'success'; addresses: string[] }
  | { kind: 'nxdomain' }
  | { kind: 'nodata' }
  | { kind: 'servfail' }
  | { kind: 'timeout' }
  | { kind: 'refused' };

const acceptable = (r?: DnsReply) => !!r && (r.rcode === 'NOERROR' || r.rcode === 'NXDOMAIN');

/** glibc res_send: servers in order, `attempts` rounds; SERVFAIL/REFUSED/NOTIMP move on to the next server. */
function glibcCandidate(
  model: CoreDnsModel,
  pod: Pod,
  s: ResolverSettings,
  name: string,
  types: ('A' | 'AAAA')[],
  out: PodLookup,
): Candidate {
  const finals = new Map<'A' | 'AAAA', DnsReply>();
  const lastBad = new Map<'A' | 'AAAA', Rcode>();
  const groups = s.singleRequest ? types.map((t) => [t]) : [types];
  for (const group of groups) {
    const pending = new Set(group);
    rounds: for (let round = 0; round < s.attempts; round++) {
      for (const [i, server] of s.nameservers.entries()) {
        let timedOut = false;
        for (const t of [...pending]) {
          const ex = exchange(model, pod, server, name, t, out.notes);
          out.queries.push(ex.sent);
          if (acceptable(ex.reply)) {
            finals.set(t, ex.reply!);
            pending.delete(t);
          } else if (ex.reply) lastBad.set(t, ex.reply.rcode);
          else timedOut = true;
        }
        // res_send.c: the wait for server i is (timeout << i) / nscount for i > 0.
        if (timedOut)
          out.waitedMs +=
            1000 * Math.max(1, i === 0 ? s.timeout : Math.floor((s.timeout << i) / s.nameservers.length));
        if (pending.size === 0) break rounds;
      }
    }
  }
  const replies = types.map((t) => finals.get(t)).filter((r): r is DnsReply => !!r);
  if (replies.length === 0) {
    const first = lastBad.get(types[0]!);
    if (first === 'SERVFAIL') return { kind: 'servfail' };
    if (first === 'REFUSED' || first === 'NOTIMP' || first === 'FORMERR') return { kind: 'refused' };
    return { kind: 'timeout' };
  }
  if (replies.some((r) => r.rcode === 'NOERROR' && r.answer.length > 0)) {
    const addresses = types.flatMap((t) => {
      const r = finals.get(t);
      return r ? addressesFollowingChain(r.answer, name, t) : [];
    });
    return { kind: 'success', addresses };
  }
  // res_query.c __res_context_query: with two replies and the first NOERROR, the second's rcode decides.
  const [hp, hp2] = replies;
  const code = hp!.rcode === 'NOERROR' && hp2 ? hp2.rcode : hp!.rcode;
  return code === 'NXDOMAIN' ? { kind: 'nxdomain' } : { kind: 'nodata' };
}

function glibcLookup(
  model: CoreDnsModel,
  pod: Pod,
  s: ResolverSettings,
  name: string,
  types: ('A' | 'AAAA')[],
  out: PodLookup,
): void {
  const dots = [...name].filter((c) => c === '.').length;
  const trailingDot = name.endsWith('.');
  const asIs = trailingDot ? name : `${name}.`;
  let firstError: Candidate | undefined;
  let triedAsIs = false;
  let gotNodata = false;
  let gotServfail = false;
  let last: Candidate | undefined;
  const done = (c: Candidate): boolean => {
    if (c.kind === 'success') {
      out.result = { status: c.addresses.length > 0 ? 'OK' : 'EAI_NODATA', addresses: c.addresses };
      return true;
    }
    return false;
  };
  if (dots >= s.ndots || trailingDot) {
    const c = glibcCandidate(model, pod, s, asIs, types, out);
    if (done(c)) return;
    firstError = c;
    triedAsIs = true;
    if (trailingDot) {
      finish(out, c, false, false);
      return;
    }
  }
  const rootOnList = s.search.some((d) => d === '.' || d === '');
  const searched = (dots === 0 || !trailingDot) && s.search.length > 0;
  if (searched) {
    for (const d of s.search) {
      if (d === '.' || d === '') continue;
      const c = glibcCandidate(model, pod, s, `${name}.${d.replace(/\.$/, '')}.`, types, out);
      if (done(c)) return;
      last = c;
      if (c.kind === 'nodata') gotNodata = true;
      else if (c.kind === 'servfail') gotServfail = true;
      else if (c.kind !== 'nxdomain') break; // a timeout, REFUSED, … ends the search loop
    }
  }
  if (!triedAsIs && !rootOnList && !(dots === 0 && s.noTldQuery)) {
    const c = glibcCandidate(model, pod, s, asIs, types, out);
    if (done(c)) return;
    last = c;
  }
  finish(
    out,
    firstError ?? last ?? { kind: 'nxdomain' },
    firstError ? false : gotNodata,
    firstError ? false : gotServfail,
  );
}

function finish(out: PodLookup, c: Candidate, gotNodata: boolean, gotServfail: boolean): void {
  // res_query.c: the early as-is error wins; else NO_DATA if seen, else TRY_AGAIN if SERVFAIL was seen.
  let status: LookupStatus;
  if (gotNodata) status = 'EAI_NODATA';
  else if (gotServfail) status = 'EAI_AGAIN';
  else if (c.kind === 'nodata') status = 'EAI_NODATA';
  else if (c.kind === 'nxdomain') status = 'EAI_NONAME';
  else if (c.kind === 'refused') status = 'EAI_FAIL';
  else status = 'EAI_AGAIN';
  out.result = { status, addresses: [] };
}

/**
 * musl res_msend: every query to every nameserver at once, retransmitted every timeout/attempts while
 * unanswered; a SERVFAIL is retried at once (budget 2 × queries) and then ignored; only NOERROR and
 * NXDOMAIN are accepted, and the whole exchange gives up after `timeout`.
 */
function muslCandidate(
  model: CoreDnsModel,
  pod: Pod,
  s: ResolverSettings,
  name: string,
  types: ('A' | 'AAAA')[],
  out: PodLookup,
): Candidate | 'again' {
  const got = new Map<'A' | 'AAAA', DnsReply>();
  let servfailBudget = 2 * types.length;
  for (let round = 0; round < Math.max(1, s.attempts); round++) {
    // Replies arrive in send order; a SERVFAIL is re-sent at once, behind what is already in flight.
    const inFlight: { t: 'A' | 'AAAA'; server: string; ex: Exchange }[] = [];
    const send = (t: 'A' | 'AAAA', server: string) => {
      const ex = exchange(model, pod, server, name, t, out.notes);
      out.queries.push(ex.sent);
      inFlight.push({ t, server, ex });
    };
    for (const t of types) if (!got.has(t)) for (const server of s.nameservers) send(t, server);
    while (inFlight.length > 0) {
      const { t, server, ex } = inFlight.shift()!;
      if (got.has(t)) continue;
      if (ex.reply?.rcode === 'SERVFAIL' && servfailBudget > 0) {
        servfailBudget--;
        send(t, server);
      } else if (acceptable(ex.reply)) got.set(t, ex.reply!);
    }
    if (got.size === types.length) break;
  }
  if (got.size < types.length) {
    out.waitedMs += 1000 * s.timeout;
    return 'again';
  }
  const replies = types.map((t) => got.get(t)!);
  // lookup_name.c name_from_dns: any NXDOMAIN makes the whole candidate NXDOMAIN.
  if (replies.some((r) => r.rcode === 'NXDOMAIN')) return { kind: 'nxdomain' };
  // musl's dns_parse callback takes every A/AAAA record in the answer, without checking owner names.
  const addresses = replies.flatMap((r, i) => r.answer.filter((x) => x.type === types[i]).map((x) => x.data));
  return addresses.length > 0 ? { kind: 'success', addresses } : { kind: 'nodata' };
}

function muslLookup(
  model: CoreDnsModel,
  pod: Pod,
  s: ResolverSettings,
  nameIn: string,
  types: ('A' | 'AAAA')[],
  out: PodLookup,
): void {
  const dots = [...nameIn].filter((c) => c === '.').length;
  const trailingDot = nameIn.endsWith('.');
  const name = trailingDot ? nameIn.slice(0, -1) : nameIn;
  // name_from_dns_search: no search at all when dots >= ndots or the name ends in a dot.
  const candidates =
    dots >= s.ndots || trailingDot ? [] : s.search.map((d) => `${name}.${d.replace(/\.$/, '')}.`);
  candidates.push(`${name}.`);
  for (const c of candidates) {
    const r = muslCandidate(model, pod, s, c, types, out);
    if (r === 'again') {
      out.result = { status: 'EAI_AGAIN', addresses: [] };
      return;
    }
    if (r.kind === 'success') {
      out.result = { status: 'OK', addresses: r.addresses };
      return;
    }
    if (r.kind === 'nodata') {
      // musl ≥ 1.2.4 tells NODATA apart; the search stops here.
      out.result = { status: 'EAI_NODATA', addresses: [] };
      return;
    }
  }
  out.result = { status: 'EAI_NONAME', addresses: [] };
}

/** getaddrinfo(name) from inside `pod`: every query sent, in order, and the result. */
export function resolve(model: CoreDnsModel, name: string, pod: Pod, opts: ResolveOptions = {}): PodLookup {
  const resolver = opts.resolver ?? resolverOf(pod);
  const conf = resolvConf(model.state, pod, model.nodeResolvConfText);
  const settings = resolver === 'musl' ? muslSettings(conf) : glibcSettings(conf);
  const family = opts.family ?? 'any';
  const types: ('A' | 'AAAA')[] = family === 4 ? ['A'] : family === 6 ? ['AAAA'] : ['A', 'AAAA'];
  const out: PodLookup = {
    name,
    resolver,
    resolvConf: conf,
    queries: [],
    result: { status: 'EAI_NONAME', addresses: [] },
    waitedMs: 0,
    notes: [],
  };
  const literal = IPAddr.tryParse(name);
  if (literal) {
    out.result = { status: 'OK', addresses: [literal.toString()] };
    return out;
  }
  if (resolver === 'glibc' && settings.rotate) {
    out.notes.push(
      'options rotate: glibc starts each query at a random nameserver; kpath always starts with the first',
    );
  }
  if (resolver === 'musl') muslLookup(model, pod, settings, name, types, out);
  else glibcLookup(model, pod, settings, name, types, out);
  return out;
}

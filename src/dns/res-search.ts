// res_search(3) inside a pod (what `dig`-style lookups of SRV, PTR, TXT … go through, and what
// `kpath dns --from --type` shows), and which server answers at an address: CoreDNS, an upstream, or
// nobody. Pure: the CoreDNS model in, the queries sent and the result out.
import type { Pod } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import { answerQuery, type CoreDnsModel, type ServerAnswer } from './coredns.js';
import { type DnsReply, formatRecord, type Rcode } from './message.js';
import { glibcSettings, muslSettings, type ResolverSettings, resolvConf } from './resolv-conf.js';
import type { LookupStatus, ResolverKind } from './stub-resolver.js';
import { upstreamAnswer } from './upstream.js';

/** CoreDNS listens on the kube-dns ClusterIP and on every CoreDNS pod's address. */
export function isCoreDns(model: CoreDnsModel, server: string): boolean {
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

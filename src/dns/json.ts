// The JSON shapes of a pod lookup and of a server query (docs/dns-json.md): plain data, zone-file lines.
import type { ServerAnswer } from './coredns.js';
import { type DnsReply, formatRecord } from './message.js';
import type { LookupStatus, PodLookup } from './stub-resolver.js';

export interface PodLookupJson {
  name: string;
  resolver: 'glibc' | 'musl';
  resolvConf: string;
  queries: { name: string; type: 'A' | 'AAAA'; server: string; rcode: string; answer: string[] }[];
  result: { status: LookupStatus; addresses: string[] };
  waitedMs: number;
  notes: string[];
}

export interface ServerQueryJson {
  question: { name: string; type: string };
  rcode: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  path: string[];
  forward: { upstream: string; outcome: string }[];
  forwardAlternatives: string[];
  unsupported: string[];
}

export function podLookupJson(l: PodLookup): PodLookupJson {
  return {
    name: l.name,
    resolver: l.resolver,
    resolvConf: l.resolvConf,
    queries: l.queries.map((q) => ({
      name: q.name,
      type: q.type,
      server: q.server,
      rcode: q.rcode,
      answer: q.answer,
    })),
    result: l.result,
    waitedMs: l.waitedMs,
    notes: l.notes,
  };
}

export function replyFlags(r: DnsReply): string[] {
  const f = r.flags;
  return (['qr', 'aa', 'tc', 'rd', 'ra'] as const).filter((k) => f[k]);
}

export function serverQueryJson(a: ServerAnswer): ServerQueryJson {
  const r = a.reply;
  return {
    question: r.question,
    rcode: r.rcode,
    flags: replyFlags(r),
    answer: r.answer.map(formatRecord),
    authority: r.authority.map(formatRecord),
    additional: r.additional.map(formatRecord),
    path: a.path,
    forward: a.forward.map(({ upstream, outcome }) => ({ upstream, outcome })),
    forwardAlternatives: a.forwardAlternatives,
    unsupported: a.unsupported,
  };
}

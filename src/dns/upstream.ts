// DNS servers outside the cluster (the node's resolvers, a corporate DNS, the internet), modelled by
// the records they hold and how they behave.
import { canonical, type DnsReply, emptyReply, fqdn, isSubdomain, type ResourceRecord } from './message.js';

/** One record an upstream server holds. `ttl` defaults to 300. */
export interface ZoneRecord {
  name: string;
  type: string;
  data: string;
  ttl?: number;
}

export interface UpstreamDnsServer {
  name: string;
  ip: string;
  /** `answer` replies from `records`; `servfail` always says SERVFAIL; `timeout` never replies. */
  behaviour: 'answer' | 'servfail' | 'timeout';
  records: ZoneRecord[];
}

/** The reply of an upstream server, or undefined when it does not reply at all. */
export function upstreamAnswer(server: UpstreamDnsServer, name: string, type: string): DnsReply | undefined {
  if (server.behaviour === 'timeout') return undefined;
  const reply = emptyReply(name, type, 'NOERROR');
  if (server.behaviour === 'servfail') return { ...reply, rcode: 'SERVFAIL' };
  const records = server.records.map(toRecord);
  const answer: ResourceRecord[] = [];
  let current = canonical(name);
  // A recursive resolver follows CNAMEs it can answer itself and returns the chain.
  for (let hops = 0; hops < 8; hops++) {
    const here = records.filter((r) => canonical(r.name) === current);
    const exact = here.filter((r) => r.type === type);
    if (exact.length > 0) {
      answer.push(...exact.map((r) => ({ ...r, name: hops === 0 ? fqdn(name) : r.name })));
      break;
    }
    const cname = here.find((r) => r.type === 'CNAME');
    if (!cname || type === 'CNAME') break;
    answer.push({ ...cname, name: hops === 0 ? fqdn(name) : cname.name });
    current = canonical(cname.data);
  }
  const exists = records.some((r) => canonical(r.name) === current || isSubdomain(r.name, current));
  const soa = records
    .filter((r) => r.type === 'SOA' && isSubdomain(current, r.name))
    .sort((a, b) => b.name.length - a.name.length)[0];
  if (answer.length > 0 && answer[answer.length - 1]?.type === type)
    return { ...reply, answer, flags: { ...reply.flags, aa: false } };
  return {
    ...reply,
    // A CNAME to a name that does not exist is NXDOMAIN with the CNAME kept, as recursive servers reply.
    rcode: exists ? 'NOERROR' : 'NXDOMAIN',
    answer,
    authority: soa ? [soa] : [],
  };
}

function toRecord(z: ZoneRecord): ResourceRecord {
  return { name: fqdn(z.name), ttl: z.ttl ?? 300, type: z.type.toUpperCase(), data: z.data };
}

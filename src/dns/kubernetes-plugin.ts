// CoreDNS's kubernetes plugin: the Kubernetes DNS schema (1.1.0) answered from a DnsIndex, with
// CoreDNS's own choices of NXDOMAIN versus NODATA, SOA, TTLs, SRV weights and PTRs.
import { IPAddr } from '../net/ip.js';
import { type DnsIndex, type DnsService, endpointName, serviceKey } from './kube-index.js';
import { addressFromReverse, canonical, fqdn, isSubdomain, type ResourceRecord } from './message.js';

export type PodsMode = 'disabled' | 'insecure' | 'verified';

export interface KubernetesOptions {
  /** Absolute lowercase zones, as configured (forward zone first is the "primary" zone). */
  zones: string[];
  pods: PodsMode;
  /** undefined = no fallthrough; [] = every zone; else only names under these zones. */
  fallthrough?: string[];
  ttl: number;
  endpointPodNames: boolean;
  noEndpoints: boolean;
  /** Empty = every namespace. */
  namespaces: string[];
  ignoreEmptyService: boolean;
}

export const DEFAULT_KUBERNETES_OPTIONS: Omit<KubernetesOptions, 'zones'> = {
  pods: 'disabled',
  ttl: 5,
  endpointPodNames: false,
  noEndpoints: false,
  namespaces: [],
  ignoreEmptyService: false,
};

/** What the plugin decided: a reply, or "not mine" (pass to the next plugin). */
export type KubernetesResult =
  | {
      kind: 'reply';
      rcode: 'NOERROR' | 'NXDOMAIN' | 'REFUSED';
      answer: ResourceRecord[];
      authority: ResourceRecord[];
      additional: ResourceRecord[];
      /** ExternalName targets outside the zones that CoreDNS resolves through itself (plugin/pkg/upstream). */
      upstreamLookup?: { cname: ResourceRecord; target: string };
    }
  | { kind: 'next'; reason: string };

// One "service record" as CoreDNS's msg.Service: an address or a name, a port, and its owner key.
interface Backend {
  host: IPAddr | string;
  port: number;
  /** The SRV target / A owner for headless endpoints (`ep.svc.ns.svc.`), without zone. */
  targetPrefix: string;
}

type Lookup = { error: 'nxdomain' } | { backends: Backend[]; externalName?: string };

interface ParsedRequest {
  port: string;
  protocol: string;
  endpoint: string;
  service: string;
  namespace: string;
  podOrSvc: '' | 'svc' | 'pod';
}

/** parse.go parseRequest: the labels left of the zone, right to left. */
function parseRequest(qname: string, zone: string): ParsedRequest | 'invalid' {
  const rest = canonical(qname).slice(0, -canonical(zone).length).replace(/\.$/, '');
  const empty: ParsedRequest = {
    port: '',
    protocol: '',
    endpoint: '',
    service: '',
    namespace: '',
    podOrSvc: '',
  };
  if (rest === '') return empty;
  const labels = rest.split('.');
  let last = labels.length - 1;
  const kind = labels[last];
  if (kind !== 'svc' && kind !== 'pod') return 'invalid';
  const r: ParsedRequest = { ...empty, podOrSvc: kind };
  if (last === 0) return r;
  last--;
  r.namespace = labels[last]!;
  if (last === 0) return r;
  last--;
  r.service = labels[last]!;
  if (last === 0) return r;
  if (last === 1) {
    r.endpoint = labels[0]!;
    return r;
  }
  if (last === 2) {
    // The leading underscore is stripped only when present (parse.go stripUnderscore).
    r.port = labels[0]!.replace(/^_/, '');
    r.protocol = labels[1]!.replace(/^_/, '');
    return r;
  }
  return 'invalid';
}

export class KubernetesPlugin {
  readonly primaryZone: string;
  constructor(
    readonly index: DnsIndex,
    readonly opts: KubernetesOptions,
  ) {
    this.primaryZone =
      opts.zones.find((z) => !z.endsWith('.arpa.')) ?? opts.zones[0] ?? canonical(index.clusterDomain);
  }

  /** The longest configured zone holding qname, as plugin.Zones.Matches does. */
  matchZone(qname: string): string | undefined {
    let best: string | undefined;
    for (const z of this.opts.zones) if (isSubdomain(qname, z) && (!best || z.length > best.length)) best = z;
    return best;
  }

  soa(zone: string): ResourceRecord {
    const ttl = this.opts.ttl;
    return {
      name: zone,
      ttl: Math.min(ttl, 300),
      type: 'SOA',
      data: `ns.dns.${zone} hostmaster.${zone} ${this.index.serial} 7200 1800 86400 ${ttl}`,
    };
  }

  private namespaceExposed(ns: string): boolean {
    const n = ns.toLowerCase();
    if (this.opts.namespaces.length > 0 && !this.opts.namespaces.includes(n)) return false;
    return this.index.namespaces.has(n);
  }

  serve(qnameIn: string, qtype: string): KubernetesResult {
    const qname = fqdn(qnameIn);
    const zone = this.matchZone(qname);
    if (!zone) return { kind: 'next', reason: 'name outside the kubernetes zones' };
    const ttl = this.opts.ttl;
    const reply = (answer: ResourceRecord[], additional: ResourceRecord[] = []): KubernetesResult =>
      answer.length === 0
        ? { kind: 'reply', rcode: 'NOERROR', answer: [], authority: [this.soa(zone)], additional: [] }
        : { kind: 'reply', rcode: 'NOERROR', answer, authority: [], additional };
    const nxdomain = (): KubernetesResult => {
      // handler.go: only name errors fall through, and only for names under the fallthrough zones.
      const ft = this.opts.fallthrough;
      if (ft && (ft.length === 0 || ft.some((z) => isSubdomain(qname, z))))
        return { kind: 'next', reason: 'fallthrough on NXDOMAIN' };
      return { kind: 'reply', rcode: 'NXDOMAIN', answer: [], authority: [this.soa(zone)], additional: [] };
    };
    const isApex = canonical(qname) === zone;

    if (qtype === 'AXFR' || qtype === 'IXFR')
      return { kind: 'reply', rcode: 'REFUSED', answer: [], authority: [], additional: [] };
    if (qtype === 'SOA' && isApex) return reply([this.soa(zone)]);
    if (qtype === 'SOA') return reply([]); // ≥1.8.4: SOA below the apex is NODATA without a lookup.
    if (qtype === 'NS' && isApex) return this.nsReply(zone);
    if (qtype === 'PTR' && zone.endsWith('.arpa.')) return this.ptr(qname, nxdomain, reply);

    // ns.dns.<zone> is the SOA MNAME; CoreDNS answers it with its own address.
    if (canonical(qname) === `ns.dns.${zone}`) {
      if (qtype !== 'A' && qtype !== 'AAAA') return reply([]);
      const ip = this.index.dnsServiceIP;
      return reply(
        ip.family === (qtype === 'A' ? 4 : 6) ? [{ name: qname, ttl, type: qtype, data: ip.toString() }] : [],
      );
    }

    if (qtype === 'TXT' && canonical(qname) === `dns-version.${zone}`) {
      return reply([{ name: qname, ttl: 28800, type: 'TXT', data: '"1.1.0"' }]);
    }

    const found = this.lookup(qname, zone);
    if ('error' in found) return nxdomain();
    const { backends } = found;

    switch (qtype) {
      case 'A':
      case 'AAAA': {
        const family = qtype === 'A' ? 4 : 6;
        if (found.externalName !== undefined)
          return this.externalName(qname, qtype, found.externalName, reply);
        const seen = new Set<string>();
        const answer: ResourceRecord[] = [];
        for (const b of backends) {
          if (typeof b.host === 'string' || b.host.family !== family || seen.has(b.host.toString())) continue;
          seen.add(b.host.toString());
          answer.push({ name: qname, ttl, type: qtype, data: b.host.toString() });
        }
        return reply(answer);
      }
      case 'CNAME':
        if (found.externalName !== undefined)
          return reply([{ name: qname, ttl, type: 'CNAME', data: fqdn(found.externalName) }]);
        return reply([]);
      case 'SRV':
        return this.srv(qname, zone, found, reply);
      case 'TXT':
        // The TXT path answers NODATA only when the name holds service records; else NXDOMAIN.
        return backends.length > 0 || found.externalName !== undefined ? reply([]) : nxdomain();
      default:
        return reply([]);
    }
  }

  private nsReply(zone: string): KubernetesResult {
    const ip = this.index.dnsServiceIP;
    const dnsSvc = this.index.byClusterIP.get(ip.toString())?.[0];
    const target = dnsSvc ? `${dnsSvc.name}.${dnsSvc.namespace}.svc.${zone}` : `ns.dns.${zone}`;
    return {
      kind: 'reply',
      rcode: 'NOERROR',
      answer: [{ name: zone, ttl: this.opts.ttl, type: 'NS', data: target }],
      authority: [],
      additional: [
        { name: target, ttl: this.opts.ttl, type: ip.family === 4 ? 'A' : 'AAAA', data: ip.toString() },
      ],
    };
  }

  /** Records(): the backends for a name, or a name error. */
  private lookup(qname: string, zone: string): Lookup {
    const r = parseRequest(qname, zone);
    if (r === 'invalid') return { error: 'nxdomain' };
    if (r.podOrSvc === '' || r.namespace === '') return { backends: [] };
    if (r.podOrSvc === 'pod') return this.findPods(r);
    if (!this.namespaceExposed(r.namespace)) return { error: 'nxdomain' };
    if (r.service === '') return { backends: [] };
    return this.findServices(r);
  }

  private findPods(r: ParsedRequest): Lookup {
    if (this.opts.pods === 'disabled') return { error: 'nxdomain' };
    if (!this.namespaceExposed(r.namespace)) return { error: 'nxdomain' };
    if (r.service === '') return { backends: [] };
    if (r.endpoint !== '' || r.port !== '') return { error: 'nxdomain' };
    const label = r.service;
    // parse.go: exactly three dashes and no "--" is IPv4; otherwise dashes become colons (IPv6).
    const dashes = label.split('-').length - 1;
    const text =
      dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
    const ip = IPAddr.tryParse(text);
    if (!ip) return { error: 'nxdomain' };
    if (this.opts.pods === 'insecure') return { backends: [{ host: ip, port: 0, targetPrefix: '' }] };
    const pods = this.index.podsByIP.get(ip.toString()) ?? [];
    const inNs = pods.filter(
      (p) => (p.metadata.namespace ?? 'default').toLowerCase() === r.namespace.toLowerCase(),
    );
    if (inNs.length === 0) return { error: 'nxdomain' };
    return { backends: [{ host: ip, port: 0, targetPrefix: '' }] };
  }

  private findServices(r: ParsedRequest): Lookup {
    const svc = this.index.services.get(serviceKey(r.service, r.namespace));
    if (!svc) return { error: 'nxdomain' };
    if (this.opts.namespaces.length > 0 && !this.opts.namespaces.includes(svc.namespace))
      return { error: 'nxdomain' };
    const portMatches = (p: { name: string; protocol: string }) =>
      (r.port === '' || p.name.toLowerCase() === r.port.toLowerCase()) &&
      (r.protocol === '' || p.protocol.toLowerCase() === r.protocol.toLowerCase());
    const svcPrefix = `${svc.name}.${svc.namespace}.svc`;

    if (svc.kind === 'ExternalName') {
      // Port/protocol and endpoint labels are refused for ExternalName; an IP-shaped target is an A
      // record to CoreDNS (msg.Service.HostType), which findServices drops.
      if (r.port !== '' || r.protocol !== '' || r.endpoint !== '') return { error: 'nxdomain' };
      if (!svc.externalName || IPAddr.tryParse(svc.externalName)) return { error: 'nxdomain' };
      return { backends: [], externalName: svc.externalName };
    }

    const backends: Backend[] = [];
    if (r.endpoint !== '' || svc.kind === 'Headless') {
      // Endpoint names resolve for ClusterIP services too (findServices takes the endpoint branch).
      if (!this.opts.noEndpoints) {
        for (const ep of svc.endpoints) {
          const epName = endpointName(ep, this.opts.endpointPodNames);
          if (r.endpoint !== '' && epName.toLowerCase() !== r.endpoint.toLowerCase()) continue;
          for (const p of ep.ports) {
            if (!portMatches(p)) continue;
            backends.push({ host: ep.ip, port: p.port, targetPrefix: `${epName}.${svcPrefix}` });
          }
        }
      }
      if (backends.length === 0) return { error: 'nxdomain' };
      return { backends };
    }

    if (this.opts.ignoreEmptyService && svc.endpoints.length === 0) return { error: 'nxdomain' };
    for (const p of svc.ports.length > 0 ? svc.ports : [{ name: '', protocol: 'TCP', port: -1 }]) {
      if (!portMatches(p)) continue;
      for (const ip of svc.clusterIPs) backends.push({ host: ip, port: p.port, targetPrefix: svcPrefix });
    }
    if (backends.length === 0) return { error: 'nxdomain' };
    return { backends };
  }

  private externalName(
    qname: string,
    qtype: string,
    target: string,
    reply: (a: ResourceRecord[], x?: ResourceRecord[]) => KubernetesResult,
  ): KubernetesResult {
    const cname: ResourceRecord = { name: qname, ttl: this.opts.ttl, type: 'CNAME', data: fqdn(target) };
    if (this.matchZone(target)) {
      // An in-zone target is followed internally; no records of that type drops the CNAME too.
      const inner = this.serve(target, qtype);
      if (inner.kind === 'reply' && inner.rcode === 'NOERROR' && inner.answer.length > 0)
        return reply([cname, ...inner.answer]);
      return reply([]);
    }
    return {
      kind: 'reply',
      rcode: 'NOERROR',
      answer: [cname],
      authority: [],
      additional: [],
      upstreamLookup: { cname, target: fqdn(target) },
    };
  }

  private srv(
    qname: string,
    zone: string,
    found: { backends: Backend[]; externalName?: string },
    reply: (a: ResourceRecord[], x?: ResourceRecord[]) => KubernetesResult,
  ): KubernetesResult {
    const entries = found.backends.filter((b) => b.port !== -1 && b.port !== 0 && typeof b.host !== 'string');
    if (entries.length === 0) return reply([]);
    // backend_lookup.go SRV: every entry weighs 100; the share is floor(100*100/total), at least 1,
    // computed before duplicates (same target and port) are removed.
    const weight = Math.max(1, Math.floor((100 * 100) / (100 * entries.length)));
    // The zone part of a target keeps the query's case (handler_case_test.go).
    const qzone = fqdn(qname).slice(fqdn(qname).length - zone.length);
    const answer: ResourceRecord[] = [];
    const additional: ResourceRecord[] = [];
    const seenSrv = new Set<string>();
    const seenExtra = new Set<string>();
    for (const b of entries) {
      const target = `${b.targetPrefix}.${qzone}`;
      const key = `${target.toLowerCase()} ${b.port}`;
      if (!seenSrv.has(key)) {
        seenSrv.add(key);
        answer.push({
          name: qname,
          ttl: this.opts.ttl,
          type: 'SRV',
          data: `0 ${weight} ${b.port} ${target}`,
        });
      }
      const ip = b.host as IPAddr;
      const extraKey = `${target.toLowerCase()} ${ip.toString()}`;
      if (!seenExtra.has(extraKey)) {
        seenExtra.add(extraKey);
        additional.push({
          name: target,
          ttl: this.opts.ttl,
          type: ip.family === 4 ? 'A' : 'AAAA',
          data: ip.toString(),
        });
      }
    }
    return reply(answer, additional);
  }

  private ptr(
    qname: string,
    nxdomain: () => KubernetesResult,
    reply: (a: ResourceRecord[]) => KubernetesResult,
  ): KubernetesResult {
    const ip = addressFromReverse(qname);
    if (!ip) return nxdomain();
    const allowed = (s: DnsService) =>
      this.opts.namespaces.length === 0 || this.opts.namespaces.includes(s.namespace);
    const ttl = this.opts.ttl;
    // reverse.go: a ClusterIP wins (one PTR); otherwise one PTR per endpoint target holding the IP.
    const svc = this.index.byClusterIP.get(ip.toString())?.find(allowed);
    if (svc)
      return reply([
        { name: qname, ttl, type: 'PTR', data: `${svc.name}.${svc.namespace}.svc.${this.primaryZone}` },
      ]);
    if (!this.opts.noEndpoints) {
      const seen = new Set<string>();
      const answer: ResourceRecord[] = [];
      for (const { service, endpoint } of this.index.byEndpointIP.get(ip.toString()) ?? []) {
        if (!allowed(service)) continue;
        const target = `${endpointName(endpoint, this.opts.endpointPodNames)}.${service.name}.${service.namespace}.svc.${this.primaryZone}`;
        if (seen.has(target)) continue;
        seen.add(target);
        answer.push({ name: qname, ttl, type: 'PTR', data: target });
      }
      if (answer.length > 0) return reply(answer);
    }
    return nxdomain();
  }
}

// The kubernetes plugin's records and rcodes. Expected values follow CoreDNS's own tests where one
// exists (plugin/kubernetes/handler_test.go, handler_case_test.go, reverse_test.go; coredns/ci
// test/kubernetes/*) and the Kubernetes DNS spec otherwise; see /work/shared/reference/dns.md.
import { describe, expect, it } from 'vitest';
import { answerQuery, buildCoreDns } from '../../src/dns/coredns.js';
import { formatRecord } from '../../src/dns/message.js';
import { demoState, upstreams } from './fixture.js';

const COREFILE = `.:53 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
    }
    forward . 10.0.0.2
}
`;

const SOA = 'cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5';

function dns(corefile = COREFILE) {
  return buildCoreDns(demoState(), { corefile, upstreams });
}

const model = dns();

function q(name: string, type = 'A', m = model) {
  const r = answerQuery(m, name, type).reply;
  return {
    rcode: r.rcode,
    aa: r.flags.aa,
    answer: r.answer.map(formatRecord),
    authority: r.authority.map(formatRecord),
    additional: r.additional.map(formatRecord),
  };
}

describe('ClusterIP services', () => {
  it('answers A with the ClusterIP, authoritative, TTL 5', () => {
    expect(q('web.shop.svc.cluster.local')).toEqual({
      rcode: 'NOERROR',
      aa: true,
      answer: ['web.shop.svc.cluster.local. 5 IN A 10.96.0.20'],
      authority: [],
      additional: [],
    });
  });
  it('is NODATA with the SOA for the other family', () => {
    expect(q('web.shop.svc.cluster.local', 'AAAA')).toMatchObject({
      rcode: 'NOERROR',
      answer: [],
      authority: [SOA],
    });
  });
  it('answers both families for a dual-stack service', () => {
    expect(q('dual.shop.svc.cluster.local', 'A').answer).toEqual([
      'dual.shop.svc.cluster.local. 5 IN A 10.96.0.30',
    ]);
    expect(q('dual.shop.svc.cluster.local', 'AAAA').answer).toEqual([
      'dual.shop.svc.cluster.local. 5 IN AAAA fd00:10:96::30',
    ]);
  });
  it('answers A for a service without endpoints (svcempty)', () => {
    expect(q('empty.shop.svc.cluster.local').answer).toEqual([
      'empty.shop.svc.cluster.local. 5 IN A 10.96.0.40',
    ]);
  });
  it('is case-insensitive and keeps the query case in the owner name', () => {
    expect(q('WeB.ShOp.SvC.cLuStEr.LoCaL').answer).toEqual(['WeB.ShOp.SvC.cLuStEr.LoCaL. 5 IN A 10.96.0.20']);
  });
  it('answers an _port._proto name asked as A with the ClusterIP (CoreDNS quirk)', () => {
    expect(q('_http._tcp.web.shop.svc.cluster.local').answer).toEqual([
      '_http._tcp.web.shop.svc.cluster.local. 5 IN A 10.96.0.20',
    ]);
  });
});

describe('SRV', () => {
  it('names the service port, weight 100, with the target in additional', () => {
    expect(q('_http._tcp.web.shop.svc.cluster.local', 'SRV')).toMatchObject({
      rcode: 'NOERROR',
      answer: ['_http._tcp.web.shop.svc.cluster.local. 5 IN SRV 0 100 80 web.shop.svc.cluster.local.'],
      additional: ['web.shop.svc.cluster.local. 5 IN A 10.96.0.20'],
    });
  });
  it('accepts labels without underscores', () => {
    expect(q('http.tcp.web.shop.svc.cluster.local', 'SRV').answer).toHaveLength(1);
  });
  it('is NXDOMAIN for a wrong protocol or port name', () => {
    expect(q('_http._udp.web.shop.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
    expect(q('_grpc._tcp.web.shop.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
  });
  it('returns every port for the bare name, weight 50 each', () => {
    expect(q('multi.shop.svc.cluster.local', 'SRV').answer).toEqual([
      'multi.shop.svc.cluster.local. 5 IN SRV 0 50 80 multi.shop.svc.cluster.local.',
      'multi.shop.svc.cluster.local. 5 IN SRV 0 50 443 multi.shop.svc.cluster.local.',
    ]);
  });
  it('gives one SRV of weight 50 for a dual-stack service, with A and AAAA glue', () => {
    const r = q('_http._tcp.dual.shop.svc.cluster.local', 'SRV');
    expect(r.answer).toEqual([
      '_http._tcp.dual.shop.svc.cluster.local. 5 IN SRV 0 50 80 dual.shop.svc.cluster.local.',
    ]);
    expect(r.additional).toEqual([
      'dual.shop.svc.cluster.local. 5 IN A 10.96.0.30',
      'dual.shop.svc.cluster.local. 5 IN AAAA fd00:10:96::30',
    ]);
  });
  it('targets each endpoint of a headless service with the EndpointSlice port', () => {
    const r = q('_pg._tcp.db.shop.svc.cluster.local', 'SRV');
    expect(r.answer).toEqual([
      '_pg._tcp.db.shop.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.shop.svc.cluster.local.',
      '_pg._tcp.db.shop.svc.cluster.local. 5 IN SRV 0 50 5432 db-1.db.shop.svc.cluster.local.',
    ]);
    expect(r.additional).toEqual([
      'db-0.db.shop.svc.cluster.local. 5 IN A 10.244.1.10',
      'db-1.db.shop.svc.cluster.local. 5 IN A 10.244.2.11',
    ]);
    expect(q('_http._tcp.hl3.shop.svc.cluster.local', 'SRV').answer).toEqual([
      '_http._tcp.hl3.shop.svc.cluster.local. 5 IN SRV 0 33 8080 10-244-0-70.hl3.shop.svc.cluster.local.',
      '_http._tcp.hl3.shop.svc.cluster.local. 5 IN SRV 0 33 8080 10-244-1-71.hl3.shop.svc.cluster.local.',
      '_http._tcp.hl3.shop.svc.cluster.local. 5 IN SRV 0 33 8080 10-244-2-72.hl3.shop.svc.cluster.local.',
    ]);
  });
  it('keeps the query case in the zone part of the target (handler_case_test.go)', () => {
    expect(q('_HtTp._TcP.WeB.sHoP.SvC.cLuStEr.LoCaL', 'SRV').answer).toEqual([
      '_HtTp._TcP.WeB.sHoP.SvC.cLuStEr.LoCaL. 5 IN SRV 0 100 80 web.shop.svc.cLuStEr.LoCaL.',
    ]);
  });
  it('is NODATA for a headless service without ports', () => {
    expect(q('noports.shop.svc.cluster.local', 'SRV')).toMatchObject({ rcode: 'NOERROR', answer: [] });
    expect(q('noports.shop.svc.cluster.local', 'A').answer).toEqual([
      'noports.shop.svc.cluster.local. 5 IN A 10.244.0.80',
    ]);
  });
});

describe('headless services and endpoint names', () => {
  it('answers one A per ready endpoint', () => {
    expect(q('db.shop.svc.cluster.local').answer).toEqual([
      'db.shop.svc.cluster.local. 5 IN A 10.244.1.10',
      'db.shop.svc.cluster.local. 5 IN A 10.244.2.11',
    ]);
  });
  it('resolves StatefulSet hostnames', () => {
    expect(q('db-0.db.shop.svc.cluster.local').answer).toEqual([
      'db-0.db.shop.svc.cluster.local. 5 IN A 10.244.1.10',
    ]);
  });
  it('does not resolve the dashed IP of an endpoint that has a hostname', () => {
    expect(q('10-244-1-10.db.shop.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });
  it('resolves dashed-IP endpoint names, on ClusterIP services too', () => {
    expect(q('10-244-0-5.web.shop.svc.cluster.local').answer).toEqual([
      '10-244-0-5.web.shop.svc.cluster.local. 5 IN A 10.244.0.5',
    ]);
  });
  it('leaves out endpoints that are not ready', () => {
    expect(q('10-244-2-7.web.shop.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });
  it('is NXDOMAIN for a headless service with no ready endpoint', () => {
    expect(q('unready.shop.svc.cluster.local')).toMatchObject({ rcode: 'NXDOMAIN', authority: [SOA] });
    expect(q('unready.shop.svc.cluster.local', 'TXT').rcode).toBe('NXDOMAIN');
  });
  it('uses pod names with endpoint_pod_names', () => {
    const m = dns(COREFILE.replace('pods insecure', 'pods insecure\n       endpoint_pod_names'));
    expect(q('web-7d4b9c-abcde.web.shop.svc.cluster.local', 'A', m).answer).toEqual([
      'web-7d4b9c-abcde.web.shop.svc.cluster.local. 5 IN A 10.244.0.5',
    ]);
    expect(q('10-244-0-5.web.shop.svc.cluster.local', 'A', m).rcode).toBe('NXDOMAIN');
  });
  it('is NXDOMAIN for more than two labels left of the service', () => {
    expect(q('a.b.c.web.shop.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });
  it('treats * as a literal label (wildcards were removed in 1.9.0)', () => {
    expect(q('*.shop.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });
  it('makes headless and endpoint names NXDOMAIN with noendpoints', () => {
    const m = dns(COREFILE.replace('pods insecure', 'pods insecure\n       noendpoints'));
    expect(q('db.shop.svc.cluster.local', 'A', m).rcode).toBe('NXDOMAIN');
    expect(q('web.shop.svc.cluster.local', 'A', m).rcode).toBe('NOERROR');
  });
});

describe('NXDOMAIN versus NODATA', () => {
  it('NXDOMAIN for a missing service in an existing namespace, SOA in authority', () => {
    expect(q('nope.shop.svc.cluster.local')).toEqual({
      rcode: 'NXDOMAIN',
      aa: true,
      answer: [],
      authority: [SOA],
      additional: [],
    });
  });
  it('NODATA for svc.<zone>, <ns>.svc.<zone> and the apex', () => {
    for (const n of [
      'svc.cluster.local',
      'shop.svc.cluster.local',
      'team-a.svc.cluster.local',
      'cluster.local',
      'pod.cluster.local',
    ]) {
      expect(q(n), n).toMatchObject({ rcode: 'NOERROR', answer: [], authority: [SOA] });
    }
  });
  it('NXDOMAIN for a namespace that does not exist', () => {
    expect(q('nosuchns.svc.cluster.local').rcode).toBe('NXDOMAIN');
    expect(q('web.nosuchns.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });
  it('NXDOMAIN when the last label is not svc or pod (search-list misses)', () => {
    expect(q('google.com.cluster.local').rcode).toBe('NXDOMAIN');
    expect(q('foo.cluster.local').rcode).toBe('NXDOMAIN');
    expect(q('dns-version.cluster.local', 'A').rcode).toBe('NXDOMAIN');
  });
  it('TXT quirks: NXDOMAIN at names without service records, NODATA at a service', () => {
    expect(q('cluster.local', 'TXT').rcode).toBe('NXDOMAIN');
    expect(q('shop.svc.cluster.local', 'TXT').rcode).toBe('NXDOMAIN');
    expect(q('web.shop.svc.cluster.local', 'TXT')).toMatchObject({ rcode: 'NOERROR', answer: [] });
  });
  it('other types: NODATA if the name exists, NXDOMAIN otherwise', () => {
    expect(q('web.shop.svc.cluster.local', 'MX')).toMatchObject({ rcode: 'NOERROR', answer: [] });
    expect(q('nope.shop.svc.cluster.local', 'HINFO').rcode).toBe('NXDOMAIN');
    expect(q('foo.svc.cluster.local', 'NS').rcode).toBe('NXDOMAIN');
  });
  it('SOA below the apex is NODATA even for names that do not exist (≥1.8.4)', () => {
    expect(q('nope.shop.svc.cluster.local', 'SOA')).toMatchObject({ rcode: 'NOERROR', answer: [] });
  });
});

describe('apex, dns-version, NS', () => {
  it('answers SOA at the apex', () => {
    expect(q('cluster.local', 'SOA').answer).toEqual([SOA]);
  });
  it('answers TXT dns-version with 1.1.0 and TTL 28800', () => {
    expect(q('dns-version.cluster.local', 'TXT').answer).toEqual([
      'dns-version.cluster.local. 28800 IN TXT "1.1.0"',
    ]);
  });
  it('answers NS with kube-dns and its glue (coredns/ci address_test)', () => {
    expect(q('cluster.local', 'NS')).toMatchObject({
      answer: ['cluster.local. 5 IN NS kube-dns.kube-system.svc.cluster.local.'],
      additional: ['kube-dns.kube-system.svc.cluster.local. 5 IN A 10.96.0.10'],
    });
  });
  it('answers ns.dns.<zone> A with the DNS service IP', () => {
    expect(q('ns.dns.cluster.local').answer).toEqual(['ns.dns.cluster.local. 5 IN A 10.96.0.10']);
  });
  it('applies the ttl option, SOA TTL capped at 300', () => {
    const m = dns(COREFILE.replace('pods insecure', 'pods insecure\n       ttl 600'));
    expect(q('web.shop.svc.cluster.local', 'A', m).answer).toEqual([
      'web.shop.svc.cluster.local. 600 IN A 10.96.0.20',
    ]);
    expect(q('nope.shop.svc.cluster.local', 'A', m).authority).toEqual([
      'cluster.local. 300 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 600',
    ]);
  });
});

describe('pod records', () => {
  it('insecure: answers any IP in an existing namespace', () => {
    expect(q('10-244-0-5.default.pod.cluster.local').answer).toEqual([
      '10-244-0-5.default.pod.cluster.local. 5 IN A 10.244.0.5',
    ]);
    expect(q('1-2-3-4.shop.pod.cluster.local').answer).toEqual([
      '1-2-3-4.shop.pod.cluster.local. 5 IN A 1.2.3.4',
    ]);
    expect(q('10-244-0-5.nosuchns.pod.cluster.local').rcode).toBe('NXDOMAIN');
    expect(q('not-an-ip.default.pod.cluster.local').rcode).toBe('NXDOMAIN');
    expect(q('default.pod.cluster.local')).toMatchObject({ rcode: 'NOERROR', answer: [] });
  });
  it('insecure: IPv6 labels, NODATA for the other family', () => {
    expect(q('fd00-10-244--5.default.pod.cluster.local', 'AAAA').answer).toEqual([
      'fd00-10-244--5.default.pod.cluster.local. 5 IN AAAA fd00:10:244::5',
    ]);
    expect(q('fd00-10-244--5.default.pod.cluster.local', 'A')).toMatchObject({
      rcode: 'NOERROR',
      answer: [],
    });
  });
  it('verified: only a pod with that IP in that namespace', () => {
    const m = dns(COREFILE.replace('pods insecure', 'pods verified'));
    expect(q('10-244-0-5.shop.pod.cluster.local', 'A', m).answer).toEqual([
      '10-244-0-5.shop.pod.cluster.local. 5 IN A 10.244.0.5',
    ]);
    expect(q('10-244-0-5.default.pod.cluster.local', 'A', m).rcode).toBe('NXDOMAIN');
    expect(q('1-2-3-4.shop.pod.cluster.local', 'A', m).rcode).toBe('NXDOMAIN');
  });
  it('disabled: NXDOMAIN, including <ns>.pod.<zone>', () => {
    const m = dns(COREFILE.replace('pods insecure', 'pods disabled'));
    expect(q('10-244-0-5.default.pod.cluster.local', 'A', m).rcode).toBe('NXDOMAIN');
    expect(q('default.pod.cluster.local', 'A', m).rcode).toBe('NXDOMAIN');
    expect(q('pod.cluster.local', 'A', m).rcode).toBe('NOERROR');
  });
});

describe('ExternalName', () => {
  it('answers CNAME plus the target resolved through CoreDNS itself', () => {
    expect(q('ext.shop.svc.cluster.local').answer).toEqual([
      'ext.shop.svc.cluster.local. 5 IN CNAME example.com.',
      'example.com. 3600 IN A 93.184.215.14',
    ]);
  });
  it('follows an in-zone target internally, and drops the CNAME when the target has no such record', () => {
    expect(q('ext-in.shop.svc.cluster.local').answer).toEqual([
      'ext-in.shop.svc.cluster.local. 5 IN CNAME web.shop.svc.cluster.local.',
      'web.shop.svc.cluster.local. 5 IN A 10.96.0.20',
    ]);
    expect(q('ext-in.shop.svc.cluster.local', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answer: [] });
  });
  it('ignores the upstream rcode: NXDOMAIN upstream gives NOERROR with only the CNAME', () => {
    expect(q('ext-nx.shop.svc.cluster.local')).toMatchObject({
      rcode: 'NOERROR',
      answer: ['ext-nx.shop.svc.cluster.local. 5 IN CNAME nowhere.example.com.'],
    });
  });
  it('CNAME query gives only the CNAME; TXT is NODATA without it', () => {
    expect(q('ext.shop.svc.cluster.local', 'CNAME').answer).toEqual([
      'ext.shop.svc.cluster.local. 5 IN CNAME example.com.',
    ]);
    expect(q('ext.shop.svc.cluster.local', 'TXT')).toMatchObject({ rcode: 'NOERROR', answer: [] });
  });
  it('is NXDOMAIN for an IP-shaped externalName, _port._proto and endpoint names', () => {
    expect(q('ext-ip.shop.svc.cluster.local').rcode).toBe('NXDOMAIN');
    expect(q('_http._tcp.ext.shop.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
    expect(q('x.ext.shop.svc.cluster.local').rcode).toBe('NXDOMAIN');
    expect(q('ext.shop.svc.cluster.local', 'SRV')).toMatchObject({ rcode: 'NOERROR', answer: [] });
  });
  it('drops the CNAME when the upstream lookup gets no reply at all', () => {
    const m = buildCoreDns(demoState(), {
      corefile: COREFILE.replace('forward . 10.0.0.2', 'forward . 10.0.0.3'),
      upstreams,
    });
    expect(q('ext.shop.svc.cluster.local', 'A', m)).toMatchObject({ rcode: 'NOERROR', answer: [] });
  });
});

describe('PTR (reverse.go)', () => {
  it('answers a ClusterIP with the service name', () => {
    expect(q('20.0.96.10.in-addr.arpa', 'PTR').answer).toEqual([
      '20.0.96.10.in-addr.arpa. 5 IN PTR web.shop.svc.cluster.local.',
    ]);
  });
  it('answers an endpoint IP with its endpoint name, hostnames included', () => {
    expect(q('5.0.244.10.in-addr.arpa', 'PTR').answer).toEqual([
      '5.0.244.10.in-addr.arpa. 5 IN PTR 10-244-0-5.web.shop.svc.cluster.local.',
    ]);
    expect(q('10.1.244.10.in-addr.arpa', 'PTR').answer).toEqual([
      '10.1.244.10.in-addr.arpa. 5 IN PTR db-0.db.shop.svc.cluster.local.',
    ]);
  });
  it('answers an IPv6 ClusterIP in the nibble form', () => {
    expect(
      q('0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa', 'PTR').answer,
    ).toEqual([
      '0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa. 5 IN PTR dual.shop.svc.cluster.local.',
    ]);
  });
  it('falls through to forward for unknown IPs (kubeadm fallthrough in-addr.arpa ip6.arpa)', () => {
    const a = answerQuery(model, '9.9.9.9.in-addr.arpa', 'PTR');
    expect(a.forward).toEqual([{ upstream: '10.0.0.2', name: '9.9.9.9.in-addr.arpa.', outcome: 'NXDOMAIN' }]);
  });
  it('without fallthrough, NXDOMAIN with the reverse zone SOA', () => {
    const m = dns(COREFILE.replace('fallthrough in-addr.arpa ip6.arpa', ''));
    expect(q('9.9.9.9.in-addr.arpa', 'PTR', m)).toMatchObject({
      rcode: 'NXDOMAIN',
      authority: ['in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. 0 7200 1800 86400 5'],
    });
  });
});

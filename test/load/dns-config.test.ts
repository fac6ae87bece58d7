// The cluster document's `spec.dns` section: upstream DNS servers outside the cluster.
import { describe, expect, it } from 'vitest';
import { upstreamAnswer } from '../../src/dns/upstream.js';
import { ROOT_SOA } from '../../src/load/cluster-config.js';
import { load, problems } from './problems.js';

const doc = (spec: string) =>
  `apiVersion: kpath.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: t\nspec:\n${spec}`;

describe('spec.dns defaults', () => {
  it('puts one upstream named "upstream" at the underlay gateway, knowing no names', () => {
    const c = load(doc('  underlay: [{cidr: 192.168.1.0/24, gateway: 192.168.1.1}]\n'));
    expect(c.config.dns).toEqual({
      upstreams: [{ name: 'upstream', ip: '192.168.1.1', behaviour: 'answer', records: [ROOT_SOA] }],
    });
    const up = c.config.dns!.upstreams[0]!;
    const r = upstreamAnswer(up, 'google.com', 'A')!;
    expect([r.rcode, r.answer, r.authority.map((x) => `${x.name} ${x.type}`)]).toEqual([
      'NXDOMAIN',
      [],
      ['. SOA'],
    ]);
  });

  it("takes the derived underlay gateway when none is declared (.1 of the nodes' /24)", () => {
    const c = load(doc('  nodes: [{name: n1, ip: 10.1.2.3}]\n'));
    expect(c.config.dns!.upstreams.map((u) => u.ip)).toEqual(['10.1.2.1']);
  });

  it('has no upstream when there is no underlay gateway at all', () => {
    expect(load('').config.dns).toEqual({ upstreams: [] });
  });

  it('an explicit empty list means no upstream servers', () => {
    const c = load(doc('  nodes: [{name: n1, ip: 10.1.2.3}]\n  dns: {upstreams: []}\n'));
    expect(c.config.dns).toEqual({ upstreams: [] });
  });
});

describe('spec.dns upstreams', () => {
  it('reads servers, records as mappings or zone-file lines, and normalises rdata as dig prints it', () => {
    const c = load(
      doc(
        [
          '  dns:',
          '    upstreams:',
          '      - name: corp',
          '        ip: 10.0.0.2',
          '        records:',
          '          - {name: google.com, type: A, data: 142.250.80.46}',
          '          - {name: www.example.com, type: cname, data: example.com, ttl: 60}',
          '          - "example.com. 3600 IN A 93.184.215.14"',
          '          - "example.com TXT v=spf1 -all"',
          '          - {name: _https._tcp.example.com, type: SRV, data: "0 100 443 example.com"}',
          '          - {name: example.com, type: MX, data: "10 mail.example.com"}',
          '      - {name: dead, ip: 10.0.0.3, behaviour: timeout}',
          '      - {name: broken, ip: "fd00::53", behaviour: servfail}',
          '    nodeResolvConf: "nameserver 10.0.0.2\\nnameserver 10.0.0.3\\noptions timeout:2"',
          '',
        ].join('\n'),
      ),
    );
    expect(c.config.dns).toEqual({
      upstreams: [
        {
          name: 'corp',
          ip: '10.0.0.2',
          behaviour: 'answer',
          records: [
            { name: 'google.com.', type: 'A', data: '142.250.80.46' },
            { name: 'www.example.com.', type: 'CNAME', data: 'example.com.', ttl: 60 },
            { name: 'example.com.', type: 'A', data: '93.184.215.14', ttl: 3600 },
            { name: 'example.com.', type: 'TXT', data: '"v=spf1 -all"' },
            { name: '_https._tcp.example.com.', type: 'SRV', data: '0 100 443 example.com.' },
            { name: 'example.com.', type: 'MX', data: '10 mail.example.com.' },
          ],
        },
        { name: 'dead', ip: '10.0.0.3', behaviour: 'timeout', records: [] },
        { name: 'broken', ip: 'fd00::53', behaviour: 'servfail', records: [] },
      ],
      nodeResolvConf: 'nameserver 10.0.0.2\nnameserver 10.0.0.3\noptions timeout:2\n',
    });
  });

  it('reports every problem at its position, unknown keys with a did-you-mean', () => {
    const text = doc(
      [
        '  dns:', // 6
        '    upstream: []', // 7
        '    upstreams:', // 8
        '      - {name: corp, ip: 10.0.0.300, behavior: answer}', // 9
        '      - name: corp', // 10
        '        ip: 10.0.0.2', // 11
        '        behaviour: refuse', // 12
        '        records:', // 13
        '          - {name: a.example, type: A, data: "2001:db8::1"}', // 14
        '          - {name: b.example, type: SPF, data: x}', // 15
        '          - {name: "bad name", type: A, data: 1.2.3.4, tll: 5}', // 16
        '          - {name: c.example, type: SRV, data: "0 100 web"}', // 17
        '          - "oops"', // 18
        '          - {name: d.example, type: CNAME, data: e.example}', // 19
        '          - {name: d.example, type: A, data: 1.2.3.4}', // 20
        '      - {ip: 10.0.0.2}', // 21
        '    nodeResolvConf: "search x\\nnameserver dns.local\\n"', // 22
        '',
      ].join('\n'),
    );
    expect(problems(text).map((p) => p.replace(/ \(known: .*\)$/, ''))).toEqual([
      'in.yaml:7:5: Cluster t spec.dns.upstream: unknown field; did you mean "upstreams"?',
      'in.yaml:9:26: Cluster t spec.dns.upstreams[0].ip: invalid IP address "10.0.0.300"',
      'in.yaml:9:38: Cluster t spec.dns.upstreams[0].behavior: unknown field; did you mean "behaviour"?',
      'in.yaml:10:15: Cluster t spec.dns.upstreams[1].name: upstream "corp" is declared twice (first at spec.dns.upstreams[0], line 9)',
      'in.yaml:12:20: Cluster t spec.dns.upstreams[1].behaviour: unsupported value "refuse": must be one of answer, servfail, timeout',
      'in.yaml:13:9: Cluster t spec.dns.upstreams[1].records: d.example. has a CNAME and other records (A); a CNAME must be alone',
      'in.yaml:14:46: Cluster t spec.dns.upstreams[1].records[0].data: invalid A data "2001:db8::1" (expected an IPv4 address)',
      'in.yaml:15:37: Cluster t spec.dns.upstreams[1].records[1].type: unsupported value "SPF": must be one of A, AAAA, CNAME, NS, PTR, MX, SRV, TXT, SOA',
      'in.yaml:16:20: Cluster t spec.dns.upstreams[1].records[2].name: "bad name" is not a domain name',
      'in.yaml:16:56: Cluster t spec.dns.upstreams[1].records[2].tll: unknown field; did you mean "ttl"?',
      'in.yaml:17:48: Cluster t spec.dns.upstreams[1].records[3].data: invalid SRV data "0 100 web" (expected PRIORITY WEIGHT PORT TARGET, e.g. 0 100 443 web.example.com.)',
      'in.yaml:18:13: Cluster t spec.dns.upstreams[1].records[4]: cannot read "oops" as a record (expected NAME [TTL] [IN] TYPE DATA, or a mapping)',
      'in.yaml:21:9: Cluster t spec.dns.upstreams[2]: name is required',
      'in.yaml:21:14: Cluster t spec.dns.upstreams[2].ip: 10.0.0.2 is already the address of upstream "corp"',
      'in.yaml:22:21: Cluster t spec.dns.nodeResolvConf: line 2: nameserver "dns.local" is not an IP address',
    ]);
  });
});

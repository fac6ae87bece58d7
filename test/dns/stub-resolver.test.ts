// The pod's stub resolver: query sequences for glibc and musl (reference §6), against the
// modelled CoreDNS and upstream servers.
import { describe, expect, it } from 'vitest';
import { buildCoreDns } from '../../src/dns/coredns.js';
import { resolve, resolverOf } from '../../src/dns/stub-resolver.js';
import { alpineClient, client, demoState, pod, shopClient, upstreams } from './fixture.js';

const model = buildCoreDns(demoState(), { upstreams });
const seq = (l: ReturnType<typeof resolve>) =>
  l.queries.map((q) => `${q.name} ${q.type} ${q.server} ${q.rcode}`);
const names = (l: ReturnType<typeof resolve>) => [...new Set(l.queries.map((q) => q.name))];

describe('resolverOf', () => {
  it('is musl for alpine images or the annotation, glibc otherwise', () => {
    expect(resolverOf(client)).toBe('glibc');
    expect(resolverOf(alpineClient)).toBe('musl');
    expect(
      resolverOf(pod('default', 'x', '10.244.0.99', {}, { annotations: { 'kpath.dev/resolver': 'musl' } })),
    ).toBe('musl');
  });
});

describe('glibc', () => {
  it('google.com with ndots:5: three search names, then the name as-is, A and AAAA each (8 queries)', () => {
    const l = resolve(model, 'google.com', client);
    expect(seq(l)).toEqual([
      'google.com.default.svc.cluster.local. A 10.96.0.10 NXDOMAIN',
      'google.com.default.svc.cluster.local. AAAA 10.96.0.10 NXDOMAIN',
      'google.com.svc.cluster.local. A 10.96.0.10 NXDOMAIN',
      'google.com.svc.cluster.local. AAAA 10.96.0.10 NXDOMAIN',
      'google.com.cluster.local. A 10.96.0.10 NXDOMAIN',
      'google.com.cluster.local. AAAA 10.96.0.10 NXDOMAIN',
      'google.com. A 10.96.0.10 NOERROR',
      'google.com. AAAA 10.96.0.10 NOERROR',
    ]);
    expect(l.result).toEqual({ status: 'OK', addresses: ['142.250.80.46', '2607:f8b0:4004:c1b::71'] });
    expect(l.queries[6]!.answer).toEqual(['google.com. 30 IN A 142.250.80.46']);
  });
  it('short names: web from shop (2 queries), web.shop from default (4 queries)', () => {
    const a = resolve(model, 'web', shopClient);
    expect(names(a)).toEqual(['web.shop.svc.cluster.local.']);
    expect(a.queries).toHaveLength(2);
    expect(a.result).toEqual({ status: 'OK', addresses: ['10.96.0.20'] });
    const b = resolve(model, 'web.shop', client);
    expect(names(b)).toEqual(['web.shop.default.svc.cluster.local.', 'web.shop.svc.cluster.local.']);
    expect(b.result.addresses).toEqual(['10.96.0.20']);
  });
  it('a 4-dot FQDN without trailing dot still walks the search list first (8 queries)', () => {
    const l = resolve(model, 'kubernetes.default.svc.cluster.local', client);
    expect(names(l)).toEqual([
      'kubernetes.default.svc.cluster.local.default.svc.cluster.local.',
      'kubernetes.default.svc.cluster.local.svc.cluster.local.',
      'kubernetes.default.svc.cluster.local.cluster.local.',
      'kubernetes.default.svc.cluster.local.',
    ]);
    expect(l.result.addresses).toEqual(['10.96.0.1']);
  });
  it('a trailing dot is asked as-is only; 5 dots are asked as-is first', () => {
    expect(names(resolve(model, 'google.com.', client))).toEqual(['google.com.']);
    expect(names(resolve(model, 'db-0.db.shop.svc.cluster.local', client))).toEqual([
      'db-0.db.shop.svc.cluster.local.',
    ]);
  });
  it('a name that exists nowhere: every candidate, then EAI_NONAME', () => {
    const l = resolve(model, 'api', client);
    expect(l.queries).toHaveLength(8);
    expect(l.result).toEqual({ status: 'EAI_NONAME', addresses: [] });
  });
  it('continues past NODATA and ends with EAI_NODATA', () => {
    // shop.svc.cluster.local exists (a namespace) but holds no A: NODATA in the middle of the search.
    const l = resolve(model, 'shop', client);
    expect(names(l)).toEqual([
      'shop.default.svc.cluster.local.',
      'shop.svc.cluster.local.',
      'shop.cluster.local.',
      'shop.',
    ]);
    expect(l.result.status).toBe('EAI_NODATA');
  });
  it('a 5-dot name that fails as-is is then searched', () => {
    const l = resolve(model, 'a.b.c.d.example.com', client);
    expect(names(l)).toEqual([
      'a.b.c.d.example.com.',
      'a.b.c.d.example.com.default.svc.cluster.local.',
      'a.b.c.d.example.com.svc.cluster.local.',
      'a.b.c.d.example.com.cluster.local.',
    ]);
    expect(l.result.status).toBe('EAI_NONAME');
  });
  it('AF_INET sends A only', () => {
    expect(resolve(model, 'web', shopClient, { family: 4 }).queries.map((q) => q.type)).toEqual(['A']);
  });
});

describe('glibc failures', () => {
  const none = (
    nameservers: string[],
    searches: string[] = [],
    options: { name: string; value?: string }[] = [],
  ) =>
    pod('default', 'n', '10.244.0.50', { dnsPolicy: 'None', dnsConfig: { nameservers, searches, options } });
  it('a silent nameserver: attempts × (A, AAAA), 5 s each round, EAI_AGAIN', () => {
    const l = resolve(model, 'google.com', none(['10.0.0.3']));
    expect(seq(l)).toEqual([
      'google.com. A 10.0.0.3 timeout',
      'google.com. AAAA 10.0.0.3 timeout',
      'google.com. A 10.0.0.3 timeout',
      'google.com. AAAA 10.0.0.3 timeout',
    ]);
    expect(l.waitedMs).toBe(10000);
    expect(l.result.status).toBe('EAI_AGAIN');
  });
  it('a timeout ends the search loop, but the as-is name is still tried', () => {
    const l = resolve(
      model,
      'google',
      none(['10.0.0.3'], ['a.example', 'b.example'], [{ name: 'attempts', value: '1' }]),
    );
    expect(names(l)).toEqual(['google.a.example.', 'google.']);
  });
  it('SERVFAIL moves on to the next nameserver', () => {
    const l = resolve(model, 'google.com', none(['10.0.0.4', '10.0.0.2']));
    expect(seq(l)).toEqual([
      'google.com. A 10.0.0.4 SERVFAIL',
      'google.com. AAAA 10.0.0.4 SERVFAIL',
      'google.com. A 10.0.0.2 NOERROR',
      'google.com. AAAA 10.0.0.2 NOERROR',
    ]);
    expect(l.result.status).toBe('OK');
  });
  it('SERVFAIL everywhere: the search goes on and ends with EAI_AGAIN', () => {
    const l = resolve(model, 'google', none(['10.0.0.4'], ['a.example', 'b.example']));
    expect(names(l)).toEqual(['google.a.example.', 'google.b.example.', 'google.']);
    expect(l.result.status).toBe('EAI_AGAIN');
  });
  it('single-request sends A to completion before AAAA', () => {
    const l = resolve(
      model,
      'google.com',
      none(['10.0.0.3'], [], [{ name: 'single-request' }, { name: 'attempts', value: '1' }]),
    );
    expect(l.queries.map((q) => q.type)).toEqual(['A', 'AAAA']);
    expect(l.waitedMs).toBe(10000);
  });
});

describe('musl', () => {
  it('searches like glibc when dots < ndots', () => {
    const l = resolve(model, 'google.com', alpineClient);
    expect(l.resolver).toBe('musl');
    expect(names(l)).toEqual([
      'google.com.default.svc.cluster.local.',
      'google.com.svc.cluster.local.',
      'google.com.cluster.local.',
      'google.com.',
    ]);
    expect(l.result.status).toBe('OK');
  });
  it('does not search at all when dots ≥ ndots', () => {
    const l = resolve(model, 'a.b.c.d.example.com', alpineClient);
    expect(names(l)).toEqual(['a.b.c.d.example.com.']);
    expect(l.queries).toHaveLength(2);
    expect(l.result.status).toBe('EAI_NONAME');
  });
  it('stops at NODATA (glibc goes on)', () => {
    const l = resolve(model, 'shop', alpineClient);
    expect(names(l)).toEqual(['shop.default.svc.cluster.local.', 'shop.svc.cluster.local.']);
    expect(l.result.status).toBe('EAI_NODATA');
  });
  it('stops the whole lookup with EAI_AGAIN on SERVFAIL', () => {
    const p = pod('default', 'm', '10.244.0.51', {
      containers: [{ name: 'c', image: 'alpine:3.20' }],
      dnsPolicy: 'None',
      dnsConfig: { nameservers: ['10.0.0.4'], searches: ['a.example', 'b.example'] },
    });
    const l = resolve(model, 'google', p);
    expect(names(l)).toEqual(['google.a.example.']);
    expect(l.result.status).toBe('EAI_AGAIN');
  });
  it('asks every nameserver at once and takes the first acceptable reply', () => {
    const p = pod('default', 'm', '10.244.0.52', {
      containers: [{ name: 'c', image: 'alpine:3.20' }],
      dnsPolicy: 'None',
      dnsConfig: { nameservers: ['10.0.0.3', '10.0.0.2'] },
    });
    const l = resolve(model, 'google.com', p);
    expect(seq(l)).toEqual([
      'google.com. A 10.0.0.3 timeout',
      'google.com. A 10.0.0.2 NOERROR',
      'google.com. AAAA 10.0.0.3 timeout',
      'google.com. AAAA 10.0.0.2 NOERROR',
    ]);
    expect(l.result.status).toBe('OK');
  });
});

describe('with CoreDNS features', () => {
  it('autopath answers the first query (CNAME + A), so the pod sends 2 queries instead of 8', () => {
    const m = buildCoreDns(demoState(), {
      upstreams,
      corefile: `.:53 {\n autopath @kubernetes\n kubernetes cluster.local {\n pods verified\n }\n forward . 10.0.0.2\n cache 30\n}\n`,
    });
    const l = resolve(m, 'google.com', client);
    expect(l.queries).toHaveLength(2);
    expect(l.queries[0]!.answer).toEqual([
      'google.com.default.svc.cluster.local. 30 IN CNAME google.com.',
      'google.com. 30 IN A 142.250.80.46',
    ]);
    expect(l.result.addresses).toEqual(['142.250.80.46', '2607:f8b0:4004:c1b::71']);
  });
  it('a rewrite without answer rewrite: glibc ignores the mismatched owner, musl takes the address', () => {
    const m = buildCoreDns(demoState(), {
      upstreams,
      corefile: `.:53 {\n rewrite name suffix .corp.example .shop.svc.cluster.local\n kubernetes cluster.local\n forward . 10.0.0.2\n}\n`,
    });
    expect(resolve(m, 'web.corp.example.', client).result.addresses).toEqual([]);
    expect(resolve(m, 'web.corp.example.', alpineClient).result).toEqual({
      status: 'OK',
      addresses: ['10.96.0.20'],
    });
  });
  it('Default dnsPolicy sends straight to the node resolver', () => {
    const l = resolve(model, 'google.com', pod('default', 'd', '10.244.0.60', { dnsPolicy: 'Default' }));
    expect(l.queries[0]).toMatchObject({ name: 'google.com.', server: '10.0.0.2', via: 'upstream' });
    expect(l.queries[0]!.answer).toEqual(['google.com. 300 IN A 142.250.80.46']);
  });
});

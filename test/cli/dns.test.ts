// `kpath dns`: the pod's resolver (--from) and dig-like questions (--server), on the demo cluster.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { askServer, runDns } from '../../src/cli/dns.js';
import { UsageError } from '../../src/cli/errors.js';
import { buildCoreDns } from '../../src/dns/coredns.js';
import type { SourceText } from '../../src/load/sources.js';
import { buildTwin, type Twin } from '../../src/twin.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** examples/demo with text replaced in its files. */
function demoSources(replace: Record<string, string> = {}): SourceText[] {
  const dir = join(ROOT, 'examples/demo');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      let text = readFileSync(join(dir, f), 'utf8');
      for (const [a, b] of Object.entries(replace)) text = text.replace(a, b);
      return { file: `examples/demo/${f}`, text };
    });
}

function demoTwin(replace: Record<string, string> = {}, extra: SourceText[] = []): Twin {
  return buildTwin([...demoSources(replace), ...extra]);
}
const POD = 'default/my-app-6d8f7b9c5d-x7k2p';

/** The demo with an upstream that knows google.com, a dead one and a broken one. */
const WITH_UPSTREAMS = {
  '  externalHosts:': [
    '  dns:',
    '    upstreams:',
    '      - name: corp-dns',
    '        ip: 192.168.1.1',
    '        records:',
    '          - "google.com. 300 IN A 142.250.80.46"',
    '          - "google.com. 300 IN AAAA 2607:f8b0:4004:c1b::71"',
    '          - {name: _xmpp._tcp.example.org, type: SRV, data: "5 0 5222 xmpp.example.org"}',
    '      - {name: dead-dns, ip: 192.168.1.2, behaviour: timeout}',
    '      - {name: broken-dns, ip: 192.168.1.3, behaviour: servfail}',
    '  externalHosts:',
  ].join('\n'),
};

/** Pods with other resolvers and policies, next to the demo. */
const EXTRA_PODS = {
  file: 'extra.yaml',
  text: [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: alpine, namespace: default}',
    'spec:',
    '  containers: [{name: c, image: "alpine:3.20"}]',
    '---',
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: dead-resolver, namespace: default}',
    'spec:',
    '  dnsPolicy: None',
    '  dnsConfig: {nameservers: [192.168.1.2], options: [{name: timeout, value: "1"}, {name: attempts, value: "1"}]}',
    '  containers: [{name: c, image: busybox}]',
    '',
  ].join('\n'),
};

const twin = demoTwin(WITH_UPSTREAMS, [EXTRA_PODS]);

function json(args: Parameters<typeof runDns>[2], name: string) {
  return JSON.parse(runDns(twin, name, { ...args, output: 'json' }).stdout);
}

describe('kpath dns NAME --from ns/pod (getaddrinfo in the pod)', () => {
  it('the issue example: with ndots:5, google.com from a pod in default walks the search list, A and AAAA each', () => {
    const out = json({ from: POD }, 'google.com');
    expect(out.queries.map((q: { name: string; type: string }) => `${q.name} ${q.type}`)).toEqual([
      'google.com.default.svc.cluster.local. A',
      'google.com.default.svc.cluster.local. AAAA',
      'google.com.svc.cluster.local. A',
      'google.com.svc.cluster.local. AAAA',
      'google.com.cluster.local. A',
      'google.com.cluster.local. AAAA',
      'google.com. A',
      'google.com. AAAA',
    ]);
    expect(out.queries.map((q: { rcode: string }) => q.rcode)).toEqual([
      ...Array(6).fill('NXDOMAIN'),
      'NOERROR',
      'NOERROR',
    ]);
    // CoreDNS forwarded google.com to the node's resolver (corp-dns) and capped the TTL (cache 30).
    expect(out.queries[6].answer).toEqual(['google.com. 30 IN A 142.250.80.46']);
    expect(out.result).toEqual({ status: 'OK', addresses: ['142.250.80.46', '2607:f8b0:4004:c1b::71'] });
  });

  it('prints the query list, in order, and what getaddrinfo returns', () => {
    const r = runDns(twin, 'web.shop', { from: POD });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(
      [
        'getaddrinfo("web.shop", AF_UNSPEC) in pod default/my-app-6d8f7b9c5d-x7k2p (glibc)',
        '',
        '/etc/resolv.conf:',
        '  search default.svc.cluster.local svc.cluster.local cluster.local',
        '  nameserver 10.96.0.10',
        '  options ndots:5',
        '',
        '#     NAME                                  TYPE   SERVER       RCODE      ANSWER',
        '1     web.shop.default.svc.cluster.local.   A      10.96.0.10   NXDOMAIN',
        '2     web.shop.default.svc.cluster.local.   AAAA   10.96.0.10   NXDOMAIN',
        `3     web.shop.svc.cluster.local.           A      10.96.0.10   NOERROR    web.shop.svc.cluster.local. 30 IN A ${svcIP('shop', 'web')}`,
        '4     web.shop.svc.cluster.local.           AAAA   10.96.0.10   NOERROR',
        '',
        `result: ${svcIP('shop', 'web')}`,
        '',
      ].join('\n'),
    );
  });

  it('a name that does not exist anywhere ends in EAI_NONAME, exit status 1', () => {
    const r = runDns(twin, 'nope.example', { from: POD });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('result: EAI_NONAME (Name or service not known)\n');
  });

  it('--type A asks only A (AF_INET); AAAA only AAAA', () => {
    const a = json({ from: POD, type: 'A' }, 'google.com');
    expect(new Set(a.queries.map((q: { type: string }) => q.type))).toEqual(new Set(['A']));
    expect(a.result.addresses).toEqual(['142.250.80.46']);
    const aaaa = json({ from: POD, type: 'aaaa' }, 'google.com');
    expect(aaaa.result.addresses).toEqual(['2607:f8b0:4004:c1b::71']);
  });

  it('musl (an alpine image) stops the search at a NODATA answer; glibc goes on and reports NODATA at the end', () => {
    // `shop` exists as a namespace: shop.svc.cluster.local answers NOERROR with no records.
    const names = (o: { queries: { name: string }[] }) => [...new Set(o.queries.map((q) => q.name))];
    const m = json({ from: 'default/alpine' }, 'shop');
    expect(m.resolver).toBe('musl');
    expect(names(m)).toEqual(['shop.default.svc.cluster.local.', 'shop.svc.cluster.local.']);
    expect(m.result.status).toBe('EAI_NODATA');
    const g = json({ from: POD }, 'shop');
    expect(g.resolver).toBe('glibc');
    expect(names(g)).toEqual([
      'shop.default.svc.cluster.local.',
      'shop.svc.cluster.local.',
      'shop.cluster.local.',
      'shop.',
    ]);
    expect(g.result.status).toBe('EAI_NODATA');
    expect(runDns(twin, 'shop', { from: POD }).stdout).toContain(
      'result: EAI_NODATA (No address associated with hostname)\n',
    );
  });

  it('a resolver that never answers: EAI_AGAIN after the timeout', () => {
    const r = json({ from: 'default/dead-resolver' }, 'google.com');
    expect(r.resolvConf).toBe('nameserver 192.168.1.2\noptions timeout:1 attempts:1\n');
    expect(r.queries.map((q: { rcode: string }) => q.rcode)).toEqual(['timeout', 'timeout']);
    expect(r.result.status).toBe('EAI_AGAIN');
    expect(r.waitedMs).toBe(1000);
  });

  it('JSON has exactly the fields docs/dns-json.md documents', () => {
    const doc = readFileSync(join(ROOT, 'docs/dns-json.md'), 'utf8');
    const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(doc)![1]!);
    const out = json({ from: POD }, 'google.com');
    expect(Object.keys(out)).toEqual(Object.keys(example));
    expect(Object.keys(out.queries[0])).toEqual(Object.keys(example.queries[0]));
    expect(Object.keys(out.result)).toEqual(Object.keys(example.result));
    // The documented example is this very lookup; only CoreDNS's notes are abbreviated there.
    expect({ ...out, notes: [] }).toEqual({ ...example, notes: [] });
  });

  it('--type SRV: res_search walks the same search list, one query per name', () => {
    const r = runDns(twin, '_pg._tcp.db.shop', { from: POD, type: 'SRV' });
    expect(r.exitCode).toBe(0);
    const out = json({ from: POD, type: 'SRV' }, '_pg._tcp.db.shop');
    expect(out.queries.map((q: { name: string; rcode: string }) => `${q.name} ${q.rcode}`)).toEqual([
      '_pg._tcp.db.shop.default.svc.cluster.local. NXDOMAIN',
      '_pg._tcp.db.shop.svc.cluster.local. NOERROR',
    ]);
    expect(out.result).toEqual({
      status: 'OK',
      answer: [
        '_pg._tcp.db.shop.svc.cluster.local. 30 IN SRV 0 50 5432 db-0.db.shop.svc.cluster.local.',
        '_pg._tcp.db.shop.svc.cluster.local. 30 IN SRV 0 50 5432 db-1.db.shop.svc.cluster.local.',
      ],
    });
    // musl's res_search is res_query: no search list, the name as given.
    const m = json({ from: POD, type: 'SRV', resolver: 'musl' }, '_pg._tcp.db.shop');
    expect(m.queries.map((q: { name: string }) => q.name)).toEqual(['_pg._tcp.db.shop.']);
    expect(m.result.status).toBe('EAI_NONAME');
  });

  it('--type SRV for an external name goes through CoreDNS to the upstream', () => {
    const out = json({ from: POD, type: 'SRV' }, '_xmpp._tcp.example.org');
    expect(out.queries.map((q: { name: string }) => q.name)).toEqual([
      '_xmpp._tcp.example.org.default.svc.cluster.local.',
      '_xmpp._tcp.example.org.svc.cluster.local.',
      '_xmpp._tcp.example.org.cluster.local.',
      '_xmpp._tcp.example.org.',
    ]);
    expect(out.result.answer).toEqual(['_xmpp._tcp.example.org. 30 IN SRV 5 0 5222 xmpp.example.org.']);
  });

  it('--type PTR with an address asks its reverse name', () => {
    const out = json({ from: POD, type: 'PTR' }, '10.96.0.10');
    expect(out.queries[0].name).toBe('10.0.96.10.in-addr.arpa.');
    expect(out.result.answer).toEqual([
      '10.0.96.10.in-addr.arpa. 30 IN PTR kube-dns.kube-system.svc.cluster.local.',
    ]);
  });
});

function svcIP(ns: string, name: string): string {
  const s = twin.state.services.find((x) => x.metadata.namespace === ns && x.metadata.name === name);
  return s!.spec.clusterIP!;
}

/** A real dig 9.18 sample, reduced to what printDig models: no timing, size or date lines. */
function digSample(path: string, server: string): string {
  return readFileSync(path, 'utf8')
    .replace(/DiG 9\.18\.\S+/, 'DiG 9.18')
    .replace(/id: \d+/, 'id: 0')
    .replaceAll('127.0.0.1', server)
    .split('\n')
    .filter((l) => !/^;; (Query time|WHEN|MSG SIZE)/.test(l))
    .join('\n')
    .replace(/\n+$/, '\n');
}

describe('kpath dns NAME --server (like dig @IP)', () => {
  it('prints the reply as dig 9.18 does (real sample: test/dns/samples)', async () => {
    const { demoState, upstreams } = await import('../dns/fixture.js');
    const st = demoState();
    st.services[2]!.metadata.creationTimestamp = '2023-11-14T22:13:20Z'; // serial 1700000000 in the samples
    const model = buildCoreDns(st, { upstreams });
    for (const [file, name, type] of [
      ['dig_web.shop.svc.cluster.local_A.txt', 'web.shop.svc.cluster.local', 'A'],
      ['dig_nope.shop.svc.cluster.local_A.txt', 'nope.shop.svc.cluster.local', 'A'],
      ['dig__http._tcp.web.shop.svc.cluster.local_SRV.txt', '_http._tcp.web.shop.svc.cluster.local', 'SRV'],
      ['dig_-x_10.96.0.10.txt', '10.96.0.10', 'PTR'],
      ['dig_google.com_A.txt', 'google.com', 'A'],
    ] as const) {
      const want = digSample(join(ROOT, 'test/dns/samples', file), '10.96.0.10');
      expect(askServer(model, name, type, '10.96.0.10').text.replace(/\n+$/, '\n')).toBe(want);
    }
  });

  it('-x style PTR: the banner says -x, the question is the reverse name', () => {
    const { text } = askServer(
      buildCoreDns(twin.state, { upstreams: twin.state.config.dns!.upstreams }),
      '10.96.0.10',
      'PTR',
      '10.96.0.10',
    );
    expect(text).toContain('; <<>> DiG 9.18 <<>> @10.96.0.10 -x 10.96.0.10\n');
    expect(text).toContain(';10.0.96.10.in-addr.arpa.\tIN\tPTR\n');
  });

  it('defaults to the kube-dns ClusterIP and type A; JSON is the documented server query', () => {
    const out = JSON.parse(
      runDns(twin, 'web.shop.svc.cluster.local', { server: true, output: 'json' }).stdout,
    );
    const doc = readFileSync(join(ROOT, 'docs/dns-json.md'), 'utf8');
    const example = JSON.parse([.../```json\n([\s\S]*?)```/g[Symbol.matchAll](doc)][1]![1]!);
    expect(Object.keys(out)).toEqual(Object.keys(example));
    expect(out).toMatchObject({
      question: { name: 'web.shop.svc.cluster.local.', type: 'A' },
      rcode: 'NOERROR',
      flags: ['qr', 'aa', 'rd'],
      answer: [`web.shop.svc.cluster.local. 30 IN A ${svcIP('shop', 'web')}`],
    });
  });

  it('an upstream by address: its own answer (RA set, not authoritative)', () => {
    const r = runDns(twin, 'google.com', { server: '192.168.1.1' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(';; flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n');
    expect(r.stdout).toContain('google.com.\t\t300\tIN\tA\t142.250.80.46\n');
    const s = runDns(twin, 'x.example', { server: '192.168.1.3' });
    expect(s.stdout).toContain('status: SERVFAIL');
  });

  it('a server that never answers: dig\'s three timeouts and "no servers could be reached", exit 9 (real sample)', () => {
    const r = runDns(twin, 'fail.example', { server: '192.168.1.2' });
    expect(r.exitCode).toBe(9);
    const want = readFileSync(join(ROOT, 'test/cli/samples/dig_timeout_fail.example_A.txt'), 'utf8')
      .replace(/DiG 9\.18\.\S+/, 'DiG 9.18')
      .replaceAll('10.0.0.3', '192.168.1.2');
    expect(r.stdout).toBe(want);
  });

  it('CoreDNS forwards to the node resolver; a dead upstream becomes SERVFAIL from CoreDNS', () => {
    const dead = demoTwin({
      '  externalHosts:':
        '  dns:\n    upstreams: [{name: dead, ip: 192.168.1.1, behaviour: timeout}]\n  externalHosts:',
    });
    const out = JSON.parse(runDns(dead, 'google.com', { server: true, output: 'json' }).stdout);
    expect(out.rcode).toBe('SERVFAIL');
    expect(out.forward.length).toBeGreaterThan(0);
    for (const f of out.forward) expect(f).toEqual({ upstream: '192.168.1.1', outcome: 'timeout' });
  });
});

describe('argument errors', () => {
  it.each([
    [{}, "say where to ask from: --from ns/pod (the pod's resolver) or --server [IP] (like dig)"],
    [{ from: POD, type: 'SPF' }, 'unknown record type "SPF": use A, AAAA, SRV, PTR, CNAME, TXT, SOA, MX, NS'],
    [{ from: POD, output: 'yaml' }, 'unknown output format "yaml": use json'],
    [{ from: POD, resolver: 'bionic' }, 'unknown resolver "bionic": use glibc or musl'],
    [{ server: 'dns.google' }, '--server: "dns.google" is not an IP address'],
  ])('%o', (opts, message) => {
    expect(() => runDns(twin, 'x', opts)).toThrow(new UsageError(message));
  });

  it('an unknown pod names the pods there are', () => {
    expect(() => runDns(twin, 'x', { from: 'default/nope' })).toThrow(
      /pod "default\/nope" not found; the cluster's pods are /,
    );
  });
});

// The real process on the demo cluster, end to end (vite-node runs the TypeScript entry point).
describe('the kpath process', () => {
  const run = (args: string[]) =>
    spawnSync(join(ROOT, 'node_modules/.bin/vite-node'), [join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });

  it('kpath dns google.com --from a default pod -o json: the search list, then google.com. itself', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpath-dns-'));
    try {
      for (const s of demoSources(WITH_UPSTREAMS)) writeFileSync(join(dir, s.file.split('/').pop()!), s.text);
      const r = run(['dns', 'google.com', '--from', POD, '-o', 'json', '-f', dir]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.queries.map((q: { name: string }) => q.name)).toEqual(
        [
          'google.com.default.svc.cluster.local.',
          'google.com.svc.cluster.local.',
          'google.com.cluster.local.',
          'google.com.',
        ].flatMap((n) => [n, n]),
      );
      expect(out.result.addresses).toEqual(['142.250.80.46', '2607:f8b0:4004:c1b::71']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('the built-in demo: the default upstream knows no external name (NXDOMAIN), exit status 1', () => {
    const r = run(['dns', 'google.com', '--from', POD]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      '7     google.com.                             A      10.96.0.10   NXDOMAIN\n',
    );
    expect(r.stdout).toContain('result: EAI_NONAME (Name or service not known)\n');
  }, 30_000);

  it('a usage error is one line and exit status 2', () => {
    const r = run(['dns', 'google.com']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "kpath: say where to ask from: --from ns/pod (the pod's resolver) or --server [IP] (like dig)\n",
    );
  }, 30_000);
});

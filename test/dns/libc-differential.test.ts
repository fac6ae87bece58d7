// Differential tests against the real stub resolvers in a throwaway network namespace: glibc
// (getent ahosts → getaddrinfo) and musl (a static musl-gcc getaddrinfo program). kpath's CoreDNS and
// upstream answers are served by a scripted responder on the same addresses, and the queries each
// libc actually sends must equal the ones kpath's model of that libc predicts.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerQuery, buildCoreDns, type CoreDnsModel } from '../../src/dns/coredns.js';
import type { DnsReply } from '../../src/dns/message.js';
import { glibcSettings } from '../../src/dns/resolv-conf.js';
import { type PodLookup, resolve } from '../../src/dns/stub-resolver.js';
import { upstreamAnswer } from '../../src/dns/upstream.js';
import type { Pod } from '../../src/model/k8s.js';
import { client, demoState, pod, upstreams } from './fixture.js';

function prerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const bin of ['ip', 'getent', 'musl-gcc'])
    if (spawnSync('which', [bin]).status !== 0) return `${bin} not installed`;
  return undefined;
}
const missing = prerequisite();
const inCI = process.env.CI === 'true';
if (missing && inCI) throw new Error(`glibc differential test cannot run in CI: ${missing}`);

const NS = `kpath-t-dns${process.pid}`;
const SERVER_IPS = ['10.96.0.10', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
const model = buildCoreDns(demoState(), { upstreams });
const work = mkdtempSync(join(tmpdir(), 'kpath-dns-'));

function serverReply(m: CoreDnsModel, server: string, name: string, type: string): DnsReply | 'drop' {
  if (server === m.index.dnsServiceIP.toString()) return answerQuery(m, name, type).reply;
  const up = m.upstreams.find((u) => u.ip === server);
  return (up && upstreamAnswer(up, name, type)) ?? 'drop';
}

/** Replies for every name glibc could plausibly ask: the model's queries and every search candidate. */
function table(model: CoreDnsModel, lookup: PodLookup, name: string): Record<string, DnsReply | 'drop'> {
  const s = glibcSettings(lookup.resolvConf);
  const base = name.replace(/\.$/, '');
  const names = new Set([
    `${base}.`,
    ...s.search.map((d) => `${base}.${d}.`),
    ...lookup.queries.map((q) => q.name),
  ]);
  const out: Record<string, DnsReply | 'drop'> = {};
  for (const server of s.nameservers) {
    for (const n of names)
      for (const t of ['A', 'AAAA'])
        out[`${server}|${n.toLowerCase()}|${t}`] = serverReply(model, server, n, t);
  }
  return out;
}

async function startResponder(tablePath: string, logPath: string): Promise<ChildProcess> {
  const script = new URL('./fixtures/dns-responder.mjs', import.meta.url).pathname;
  const child = spawn(
    'ip',
    ['netns', 'exec', NS, process.execPath, script, tablePath, logPath, ...SERVER_IPS],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && ok());
    child.on('exit', (code) => fail(new Error(`responder exited ${code}`)));
  });
  return child;
}

async function realResolver(
  kind: 'glibc' | 'musl',
  name: string,
  p: Pod,
  dns: CoreDnsModel = model,
): Promise<{ model: PodLookup; log: string[]; addresses: string[]; found: boolean }> {
  const lookup = resolve(dns, name, p, { resolver: kind });
  const tablePath = join(work, 'table.json');
  const logPath = join(work, 'queries.log');
  writeFileSync(tablePath, JSON.stringify(table(dns, lookup, name)));
  writeFileSync(logPath, '');
  writeFileSync(`/etc/netns/${NS}/resolv.conf`, lookup.resolvConf);
  const responder = await startResponder(tablePath, logPath);
  try {
    const cmd = kind === 'glibc' ? ['getent', 'ahosts', name] : [join(work, 'gai-musl'), name];
    const r = spawnSync('ip', ['netns', 'exec', NS, ...cmd], { encoding: 'utf8', timeout: 60_000 });
    const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('EAI'));
    const addresses = [...new Set(lines.map((l) => l.split(/\s+/)[0]!))];
    const log = readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
    return { model: lookup, log, addresses, found: r.status === 0 };
  } finally {
    responder.kill('SIGKILL');
  }
}

const none = (nameservers: string[], searches: string[], options: { name: string; value?: string }[] = []) =>
  pod('default', 'n', '10.244.0.50', { dnsPolicy: 'None', dnsConfig: { nameservers, searches, options } });

describe.skipIf(!!missing)(
  `real stub resolvers in a network namespace${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    beforeAll(() => {
      execFileSync('ip', ['netns', 'add', NS]);
      execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
      for (const ip of SERVER_IPS) execFileSync('ip', ['-n', NS, 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
      // An IPv6 address so AI_ADDRCONFIG (getent ahosts) still asks AAAA.
      execFileSync('ip', ['-n', NS, 'addr', 'add', 'fd00::99/128', 'dev', 'lo', 'nodad']);
      mkdirSync(`/etc/netns/${NS}`, { recursive: true });
      writeFileSync(`/etc/netns/${NS}/nsswitch.conf`, 'hosts: files dns\n');
      writeFileSync(`/etc/netns/${NS}/hosts`, '127.0.0.1 localhost\n');
      const src = new URL('./fixtures/gai.c', import.meta.url).pathname;
      execFileSync('musl-gcc', ['-static', '-O1', '-o', join(work, 'gai-musl'), src]);
    });
    afterAll(() => {
      spawnSync('ip', ['netns', 'del', NS]);
      rmSync(`/etc/netns/${NS}`, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });

    const cases: [string, string, Pod][] = [
      ['google.com through the cluster search list', 'google.com', client],
      ['web.shop (second search domain)', 'web.shop', client],
      ['shop (NODATA in the middle of the search)', 'shop', client],
      ['a.b.c.d.example.com (as-is first, then searched)', 'a.b.c.d.example.com', client],
      ['kubernetes.default.svc.cluster.local (4 dots)', 'kubernetes.default.svc.cluster.local', client],
      ['trailing dot', 'google.com.', client],
      ['SERVFAIL then the next nameserver', 'google.com', none(['10.0.0.4', '10.0.0.2'], [])],
      ['SERVFAIL everywhere keeps searching', 'google', none(['10.0.0.4'], ['a.example', 'b.example'])],
      [
        'a silent nameserver ends the search loop',
        'google',
        none(
          ['10.0.0.3'],
          ['a.example', 'b.example'],
          [
            { name: 'timeout', value: '1' },
            { name: 'attempts', value: '1' },
          ],
        ),
      ],
    ];
    for (const [title, name, p] of cases) {
      it(`glibc: ${title}`, async () => {
        const r = await realResolver('glibc', name, p);
        expect(r.log.length).toBeGreaterThan(0);
        expect(r.log).toEqual(r.model.queries.map((q) => `${q.server} ${q.name} ${q.type}`));
        expect(r.found).toBe(r.model.result.status === 'OK');
        expect([...r.addresses].sort()).toEqual([...r.model.result.addresses].sort());
      }, 60_000);
    }

    const alpine = (p: Pod): Pod => ({
      ...p,
      spec: { ...p.spec, containers: [{ name: 'c', image: 'alpine:3.20' }] },
    });
    const muslCases: [string, string, Pod][] = [
      ['google.com through the cluster search list', 'google.com', alpine(client)],
      ['web.shop', 'web.shop', alpine(client)],
      ['shop: NODATA stops the search', 'shop', alpine(client)],
      ['a.b.c.d.example.com: no search when dots >= ndots', 'a.b.c.d.example.com', alpine(client)],
      [
        'every nameserver at once',
        'google.com',
        alpine(none(['10.0.0.3', '10.0.0.2'], [], [{ name: 'timeout', value: '1' }])),
      ],
      [
        'SERVFAIL ends the lookup',
        'google',
        alpine(
          none(
            ['10.0.0.4'],
            ['a.example', 'b.example'],
            [
              { name: 'timeout', value: '1' },
              { name: 'attempts', value: '1' },
            ],
          ),
        ),
      ],
    ];
    for (const [title, name, p] of muslCases) {
      it(`musl: ${title}`, async () => {
        const r = await realResolver('musl', name, p);
        expect(r.log.length).toBeGreaterThan(0);
        // musl sends to every nameserver at once; the responder's sockets are read in no fixed order
        // across addresses, so the order is compared per nameserver.
        const byServer = (lines: string[]) => {
          const m: Record<string, string[]> = {};
          for (const l of lines) {
            const k = l.split(' ')[0]!;
            m[k] = [...(m[k] ?? []), l];
          }
          return m;
        };
        expect(byServer(r.log)).toEqual(
          byServer(r.model.queries.map((q) => `${q.server} ${q.name} ${q.type}`)),
        );
        expect(r.found).toBe(r.model.result.status === 'OK');
        expect([...r.addresses].sort()).toEqual([...r.model.result.addresses].sort());
      }, 60_000);
    }

    it('a rewrite that leaves the answer owner rewritten: glibc drops the address, musl keeps it', async () => {
      const rewritten = buildCoreDns(demoState(), {
        upstreams,
        corefile:
          '.:53 {\n rewrite name suffix .corp.example .shop.svc.cluster.local\n kubernetes cluster.local\n forward . 10.0.0.2\n}\n',
      });
      const g = await realResolver('glibc', 'web.corp.example.', client, rewritten);
      expect(g.log).toEqual(g.model.queries.map((q) => `${q.server} ${q.name} ${q.type}`));
      expect(g.addresses).toEqual([]);
      expect(g.model.result.addresses).toEqual([]);
      const m = await realResolver('musl', 'web.corp.example.', client, rewritten);
      expect(m.addresses).toEqual(['10.96.0.20']);
      expect(m.model.result.addresses).toEqual(['10.96.0.20']);
    }, 60_000);
    // resolv.conf "search …" line of 254 characters is read; 255 overflows musl's 256-byte fgets buffer.
    for (const len of [254, 255]) {
      it(`musl: a ${len}-character search line ${len === 254 ? 'is used' : 'is ignored (no search at all)'}`, async () => {
        const fixed = 'search default.svc.cluster.local svc.cluster.local cluster.local'.length;
        const filler = len - fixed - 1 - 'b.example'.length - 1;
        const p = {
          ...client,
          spec: {
            ...client.spec,
            containers: [{ name: 'c', image: 'alpine:3.20' }],
            dnsConfig: { searches: [`${'a'.repeat(filler)}`, 'b.example'] },
          },
        };
        const r = await realResolver('musl', 'web.shop', p as Pod);
        expect(r.model.resolvConf.split('\n')[0]!.length).toBe(len);
        expect(r.log).toEqual(r.model.queries.map((q) => `${q.server} ${q.name} ${q.type}`));
        expect(r.model.queries.some((q) => q.name === 'web.shop.svc.cluster.local.')).toBe(len === 254);
      }, 60_000);
    }
  },
);

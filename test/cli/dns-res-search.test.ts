// Differential test of `kpath dns NAME --from POD --type T` (res_search) against the real glibc and
// musl res_search in a throwaway network namespace. kpath's CoreDNS and upstream replies are served by
// the scripted responder of the DNS engine's tests on the same addresses; the queries each libc sends,
// in order, and the outcome must equal kpath's prediction.
// Needs root, iproute2, gcc and musl-gcc (apt-get install -y iproute2 gcc musl-tools). With CI=true a
// missing prerequisite fails the suite; elsewhere the suite is skipped with the reason.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SearchResult, searchQuery, serverAnswer } from '../../src/cli/dns.js';
import { glibcSettings } from '../../src/dns/resolv-conf.js';
import type { ResolverKind } from '../../src/dns/stub-resolver.js';
import type { Pod } from '../../src/model/k8s.js';
import { clusterDns, findPod } from '../../src/trace/dns-step.js';
import { buildTwin } from '../../src/twin.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function prerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const bin of ['ip', 'gcc', 'musl-gcc'])
    if (spawnSync('which', [bin]).status !== 0) return `${bin} not installed`;
  return undefined;
}
const missing = prerequisite();
if (missing && process.env.CI === 'true')
  throw new Error(`res_search differential test cannot run in CI: ${missing}`);

const NS = `kpath-t-rs${process.pid}`;
const SERVER_IPS = ['10.96.0.10', '192.168.1.1', '192.168.1.2', '192.168.1.3'];
const work = mkdtempSync(join(tmpdir(), 'kpath-rs-'));

const fast = '{name: timeout, value: "1"}, {name: attempts, value: "1"}';
const nonePod = (name: string, nameservers: string, searches: string, options = fast) =>
  `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: default}\nspec:\n  dnsPolicy: None\n  dnsConfig: {nameservers: [${nameservers}], searches: [${searches}], options: [${options}]}\n  containers: [{name: c, image: busybox}]\n`;

function demoTwin() {
  const dir = join(ROOT, 'examples/demo');
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8').replace(
        '  externalHosts:',
        [
          '  dns:',
          '    upstreams:',
          '      - name: corp',
          '        ip: 192.168.1.1',
          '        records:',
          '          - "_xmpp._tcp.example.org. 300 IN SRV 5 0 5222 xmpp.example.org."',
          '          - "example.org. 300 IN TXT v=spf1 -all"',
          '          - "example.org. 300 IN SOA ns.example.org. admin.example.org. 2024010101 7200 3600 1209600 3600"',
          '      - {name: dead, ip: 192.168.1.2, behaviour: timeout}',
          '      - {name: broken, ip: 192.168.1.3, behaviour: servfail}',
          '  externalHosts:',
        ].join('\n'),
      );
      return { file: `examples/demo/${f}`, text };
    });
  const extra = [
    nonePod('servfail-first', '192.168.1.3, 192.168.1.1', 'a.example, b.example'),
    nonePod('silent', '192.168.1.2', 'a.example, b.example'),
    nonePod('silent-then-corp', '192.168.1.2, 192.168.1.1', 'example'),
    nonePod('broken-only', '192.168.1.3', 'a.example, b.example'),
    nonePod('broken-and-silent', '192.168.1.3, 192.168.1.2', 'example'),
  ].join('');
  return buildTwin([...sources, { file: 'extra.yaml', text: extra }]);
}

const twin = demoTwin();
const model = clusterDns(twin);

/** Replies for every name the libc could ask: the model's queries and every search candidate. */
function table(pod: Pod, s: SearchResult) {
  const settings = glibcSettings(s.resolvConf);
  const base = s.name.replace(/\.$/, '');
  const names = new Set([
    `${base}.`,
    ...settings.search.map((d) => `${base}.${d}.`),
    ...s.queries.map((q) => q.name),
  ]);
  const out: Record<string, unknown> = {};
  for (const server of SERVER_IPS)
    for (const n of names) {
      const a = serverAnswer(model, n, s.type, server, pod);
      out[`${server}|${n.toLowerCase()}|${s.type}`] = a ? a.reply : 'drop';
    }
  return out;
}

async function startResponder(tablePath: string, logPath: string): Promise<ChildProcess> {
  const script = join(ROOT, 'test/dns/fixtures/dns-responder.mjs');
  const child = spawn(
    'ip',
    ['netns', 'exec', NS, process.execPath, script, tablePath, logPath, ...SERVER_IPS],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && ok());
    child.on('exit', (code) => fail(new Error(`responder exited ${code}`)));
  });
  return child;
}

const H_ERRNO: Record<string, string> = {
  '1': 'EAI_NONAME',
  '2': 'EAI_AGAIN',
  '3': 'EAI_FAIL',
  '4': 'EAI_NODATA',
};

async function real(kind: ResolverKind, podKey: string, name: string, type: string) {
  const pod = findPod(twin, podKey);
  const predicted = searchQuery(model, pod, name, type, kind);
  const tablePath = join(work, 'table.json');
  const logPath = join(work, 'queries.log');
  writeFileSync(tablePath, JSON.stringify(table(pod, predicted)));
  writeFileSync(logPath, '');
  writeFileSync(`/etc/netns/${NS}/resolv.conf`, predicted.resolvConf);
  const responder = await startResponder(tablePath, logPath);
  try {
    const bin = join(work, kind === 'glibc' ? 'rs-glibc' : 'rs-musl');
    const r = spawnSync('ip', ['netns', 'exec', NS, bin, name, type], { encoding: 'utf8', timeout: 60_000 });
    const [word, n] = r.stdout.trim().split(' ');
    const status = word === 'OK' ? 'OK' : (H_ERRNO[n ?? ''] ?? r.stdout.trim());
    const log = readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
    return { predicted, log, status, count: word === 'OK' ? Number(n) : 0 };
  } finally {
    responder.kill('SIGKILL');
  }
}

const POD = 'default/my-app-6d8f7b9c5d-x7k2p';

function byServer(lines: string[]): Record<string, string[]> {
  const m: Record<string, string[]> = {};
  for (const l of lines) {
    const k = l.split(' ')[0]!;
    m[k] = [...(m[k] ?? []), l];
  }
  return m;
}

describe.skipIf(!!missing)(
  `real res_search in a network namespace${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    beforeAll(() => {
      execFileSync('ip', ['netns', 'add', NS]);
      execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
      for (const ip of SERVER_IPS) execFileSync('ip', ['-n', NS, 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
      mkdirSync(`/etc/netns/${NS}`, { recursive: true });
      const src = join(ROOT, 'test/cli/fixtures/res-search.c');
      execFileSync('gcc', ['-O1', '-o', join(work, 'rs-glibc'), src]);
      execFileSync('musl-gcc', ['-static', '-O1', '-o', join(work, 'rs-musl'), src]);
    });
    afterAll(() => {
      spawnSync('ip', ['netns', 'del', NS]);
      rmSync(`/etc/netns/${NS}`, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });

    const cases: [string, ResolverKind, string, string, string][] = [
      ['SRV through the search list (second domain)', 'glibc', POD, '_pg._tcp.db.shop', 'SRV'],
      ['SRV forwarded by CoreDNS after the search list', 'glibc', POD, '_xmpp._tcp.example.org', 'SRV'],
      ['SRV that exists nowhere: HOST_NOT_FOUND', 'glibc', POD, '_nope._tcp.nowhere', 'SRV'],
      ['TXT of CoreDNS itself, absolute', 'glibc', POD, 'dns-version.cluster.local.', 'TXT'],
      ['a namespace name: NO_DATA in the middle, the search goes on', 'glibc', POD, 'shop', 'SRV'],
      ['PTR of the kube-dns address', 'glibc', POD, '10.0.96.10.in-addr.arpa', 'PTR'],
      ['SOA forwarded upstream', 'glibc', POD, 'example.org', 'SOA'],
      [
        'SERVFAIL, then the next nameserver',
        'glibc',
        'default/servfail-first',
        '_xmpp._tcp.example.org',
        'SRV',
      ],
      [
        'SERVFAIL everywhere: the search goes on, TRY_AGAIN',
        'glibc',
        'default/broken-only',
        'nothing',
        'TXT',
      ],
      ['a silent nameserver ends the search', 'glibc', 'default/silent', 'nothing', 'TXT'],
      ['a silent nameserver, then the next one', 'glibc', 'default/silent-then-corp', 'example.org', 'TXT'],
      ['musl: no search list, the name as given', 'musl', POD, '_pg._tcp.db.shop', 'SRV'],
      ['musl: an absolute name', 'musl', POD, '_pg._tcp.db.shop.svc.cluster.local', 'SRV'],
      // (SERVFAIL from one server and an answer from another race in musl: whichever reply it reads
      // first decides whether the SERVFAIL is re-sent, so that pair is not compared.)
      [
        'musl: SERVFAIL re-sent twice, a silent server',
        'musl',
        'default/broken-and-silent',
        'example.org',
        'TXT',
      ],
      ['musl: SERVFAIL everywhere is TRY_AGAIN', 'musl', 'default/broken-only', 'nothing', 'TXT'],
      [
        'musl: a silent server and an answering one, in parallel',
        'musl',
        'default/silent-then-corp',
        'example.org',
        'TXT',
      ],
    ];

    it.each(cases)(
      '%s',
      async (_title, kind, pod, name, type) => {
        const { predicted, log, status, count } = await real(kind, pod, name, type);
        const sent = predicted.queries.map((q) => `${q.server} ${q.name} ${q.type}`);
        if (kind === 'glibc') expect(log).toEqual(sent);
        // musl sends to every nameserver at once and the responder reads its sockets in no fixed order
        // across addresses: the order is compared per nameserver.
        else expect(byServer(log)).toEqual(byServer(sent));
        expect(status).toBe(predicted.status);
        expect(count).toBe(predicted.answer.length);
      },
      30_000,
    );
  },
);

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import {
  parseEndpointArg,
  planTrace,
  registerTrace,
  runTrace,
  type TraceCliOptions,
  type TraceIO,
} from '../../src/cli/trace.js';
import { InputError } from '../../src/model/errors.js';
import type { Ruleset } from '../../src/node/iptables/types.js';
import { readPcap, writeTracePcap } from '../../src/render/pcap.js';
import type { InjectQuery, TraceQuery } from '../../src/trace/index.js';
import type { Trace } from '../../src/trace/types.js';
import type { Twin } from '../../src/twin.js';
import { ending, northSouth } from '../render/trace-fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GOLDEN = (f: string) => fileURLToPath(new URL(`golden/${f}`, import.meta.url));
const opts = (o: Partial<TraceCliOptions> = {}): TraceCliOptions => ({ file: [], ...o });

/** The message of the UsageError a plan throws; fails the test when it does not throw one. */
function usage(from: string | undefined, to: string | undefined, o: Partial<TraceCliOptions> = {}): string {
  try {
    planTrace(from, to, opts(o));
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error(`planTrace(${from}, ${to}) accepted it`);
}

describe('FROM / TO grammar', () => {
  it.each([
    ['default/web-0', { kind: 'pod', namespace: 'default', name: 'web-0' }],
    ['pod/shop/db-0', { kind: 'pod', namespace: 'shop', name: 'db-0' }],
    ['svc/default/my-app', { kind: 'service', namespace: 'default', name: 'my-app' }],
    ['svc/default/my-app:80', { kind: 'service', namespace: 'default', name: 'my-app', port: 80 }],
    ['svc/shop/web:http', { kind: 'service', namespace: 'shop', name: 'web', port: 'http' }],
    ['node/node-1', { kind: 'node', name: 'node-1' }],
    ['external', { kind: 'external' }],
  ])('%s', (text, want) => {
    expect(parseEndpointArg(text, 'TO')).toEqual(want);
  });

  it('TO may be a DNS name (looked up from FROM first); FROM may not', () => {
    expect(parseEndpointArg('my-app', 'TO')).toEqual({ kind: 'name', name: 'my-app' });
    // The trailing dot stays: it makes the name absolute, so the resolver does not walk the search list.
    expect(parseEndpointArg('db.shop.svc.cluster.local.:5432', 'TO')).toEqual({
      kind: 'name',
      name: 'db.shop.svc.cluster.local.',
      port: 5432,
    });
    expect(usage('my-app', 'svc/default/my-app')).toMatch(
      /^FROM "my-app" is not one of ns\/name, pod\/ns\/name, svc\/ns\/name\[:port\], node\/name, IP, IP:port or external\[:IP\]$/,
    );
    expect(usage('default/web-0', 'my-app:80', { port: '8080' })).toMatch(/^TO already names port 80/);
  });

  it('addresses, with and without ports, IPv4 and IPv6', () => {
    const ip = (t: string) => {
      const e = parseEndpointArg(t, 'TO');
      if (e.kind !== 'ip') throw new Error(e.kind);
      return [e.ip.toString(), e.port];
    };
    expect(ip('203.0.113.50')).toEqual(['203.0.113.50', undefined]);
    expect(ip('203.0.113.50:80')).toEqual(['203.0.113.50', 80]);
    expect(ip('fd00::a')).toEqual(['fd00::a', undefined]);
    expect(ip('[fd00::a]:8080')).toEqual(['fd00::a', 8080]);
    const ext = parseEndpointArg('external:198.51.100.5', 'FROM');
    expect(ext.kind === 'external' && ext.ip?.toString()).toBe('198.51.100.5');
  });

  it.each([
    ['my_app!', /^TO "my_app!" is not one of ns\/name, .* external\[:IP\] or a DNS name\[:port\]$/],
    ['a/b/c', /^TO "a\/b\/c" is not one of/],
    ['my-app:http', /^TO "my-app:http" is not one of/],
    ['svc/default', /^TO "svc\/default" is not one of/],
    ['svc/default/My_App', /^TO: "My_App" is not a valid service name$/],
    ['svc/default/my-app:99999', /^TO: port 99999 is out of range \(1-65535\)$/],
    ['svc/default/my-app:-http', /^TO: "-http" is neither a port number nor a port name$/],
    ['Default/web', /^TO: "Default" is not a valid namespace name$/],
    ['10.244.1.300', /^TO: "10.244.1.300" is not an IP address or IP:port$/],
    ['10.244.1.3:0', /^TO: port 0 is out of range/],
    ['[10.0.0.1]:80', /^TO: "10.0.0.1" is not an IPv6 address$/],
    ['external:client', /^TO: "client" is not an IP address/],
    ['node/a/b', /^TO "node\/a\/b" is not one of/],
    ['external:198.51.100.5:80', /^TO: external:IP takes an address without a port$/],
  ])('rejects %s in one sentence', (text, want) => {
    expect(usage('default/web-0', text)).toMatch(want);
  });
});

describe('planTrace', () => {
  it('builds the connection query with defaults (tcp, seed 1, text)', () => {
    const plan = planTrace('external', 'svc/default/my-app', opts());
    expect(plan).toEqual({
      kind: 'connection',
      output: 'text',
      explain: false,
      files: [],
      query: { from: 'external', to: 'svc/default/my-app', protocol: 'tcp', seed: 1 },
    });
  });

  it('passes --port, --protocol, --seed, --endpoint and --no-return through', () => {
    const plan = planTrace(
      'shop/web-0',
      'svc/shop/db',
      opts({
        port: '5432',
        protocol: 'UDP',
        seed: '42',
        endpoint: 'pod/shop/db-1',
        return: false,
        file: ['x.yaml'],
      }),
    );
    expect(plan).toMatchObject({
      kind: 'connection',
      files: ['x.yaml'],
      query: { port: 5432, protocol: 'udp', seed: 42, endpoint: 'shop/db-1', noReturn: true },
    });
  });

  it('builds the raw --at query', () => {
    const plan = planTrace(
      undefined,
      undefined,
      opts({ at: 'node/node-1', iface: 'eth0', src: '198.51.100.5:54321', dst: '192.168.1.10:30080' }),
    );
    expect(plan).toMatchObject({
      kind: 'inject',
      noReturn: false,
      query: {
        node: 'node-1',
        iface: 'eth0',
        src: '198.51.100.5:54321',
        dst: '192.168.1.10:30080',
        protocol: 'tcp',
        seed: 1,
      },
    });
    expect(
      planTrace(
        undefined,
        undefined,
        opts({ at: 'node-2', iface: 'local', src: '10.244.1.3', dst: '10.96.0.15:80' }),
      ),
    ).toMatchObject({ query: { node: 'node-2', iface: 'local' } });
  });

  it.each<[string | undefined, string | undefined, Partial<TraceCliOptions>, RegExp]>([
    [undefined, undefined, {}, /^give FROM and TO/],
    ['external', undefined, {}, /^give FROM and TO/],
    [
      'external',
      'svc/default/my-app',
      { protocol: 'gre' },
      /^unknown protocol "gre": use tcp, udp, sctp, icmp$/,
    ],
    ['external', 'svc/default/my-app', { seed: '-1' }, /^--seed: "-1" is not a whole number/],
    ['external', 'svc/default/my-app', { seed: '4294967296' }, /^--seed: /],
    [
      'external',
      'svc/default/my-app',
      { output: 'yaml' },
      /^unknown output format "yaml": use text or json$/,
    ],
    ['external', 'svc/default/my-app', { output: 'json', explain: true }, /^--explain is for text output/],
    ['external', 'svc/default/my-app:80', { port: '443' }, /^TO already names port 80; drop --port 443/],
    ['external', 'svc/default/my-app', { port: 'http' }, /^--port: "http" is not a port number/],
    ['default/a', '10.244.1.3:8080', { protocol: 'icmp' }, /^ICMP has no ports/],
    [
      'external',
      'svc/default/my-app',
      { endpoint: 'node/node-1' },
      /^--endpoint "node\/node-1" must name a pod/,
    ],
    ['external', 'svc/default/my-app', { src: '1.2.3.4' }, /^--src belongs to the raw form/],
    ['external', 'svc/default/my-app', { iptablesSave: 'x' }, /^--iptables-save belongs to the raw form/],
    [
      'external',
      undefined,
      { at: 'node/node-1', src: '1.2.3.4', dst: '5.6.7.8:80' },
      /^--at traces a raw packet/,
    ],
    [
      undefined,
      undefined,
      { at: 'node/node-1', dst: '5.6.7.8:80' },
      /^--at needs --src IP\[:port\] and --dst IP:port$/,
    ],
    [
      undefined,
      undefined,
      { at: 'node/node-1', src: '1.2.3.4', dst: '5.6.7.8' },
      /^--dst needs a port for tcp/,
    ],
    [
      undefined,
      undefined,
      { at: 'node/node-1', src: '1.2.3.4', dst: 'fd00::1' },
      /^--src and --dst must both be/,
    ],
    [
      undefined,
      undefined,
      { at: 'node/Node_1', src: '1.2.3.4', dst: '5.6.7.8:80' },
      /^--at: "Node_1" is not a valid node name$/,
    ],
    [
      undefined,
      undefined,
      { at: 'node/node-1', src: '1.2.3.4', dst: '5.6.7.8:80', iface: 'a-very-long-ifname' },
      /^--iface "a-very-long-ifname" is not an interface name/,
    ],
    [
      undefined,
      undefined,
      { at: 'node/node-1', src: '1.2.3.4', dst: '5.6.7.8:80', port: '80' },
      /^--port is for FROM TO/,
    ],
    [
      undefined,
      undefined,
      { at: 'node/node-1', src: '1.2.3.4', dst: '5.6.7.8:80', endpoint: 'a/b' },
      /^--endpoint is for FROM TO/,
    ],
  ])('%s %s %o → one sentence', (from, to, o, want) => {
    expect(usage(from, to, o)).toMatch(want);
  });
});

interface Fake {
  io: TraceIO;
  out: string[];
  exit: number[];
  connections: TraceQuery[];
  injections: InjectQuery[];
  pcaps: string[];
  loaded: string[][];
}

function fakeIO(trace: Trace, over: Partial<TraceIO> = {}): Fake {
  const f: Fake = {
    out: [],
    exit: [],
    connections: [],
    injections: [],
    pcaps: [],
    loaded: [],
    io: undefined as never,
  };
  const twin = {} as Twin;
  f.io = {
    loadTwin: async (o) => {
      f.loaded.push(o.file);
      return twin;
    },
    engine: async () => ({
      traceConnection: (t, q) => {
        expect(t).toBe(twin);
        f.connections.push(q);
        return trace;
      },
      traceInjected: (t, q) => {
        expect(t).toBe(twin);
        f.injections.push(q);
        return trace;
      },
    }),
    readFile: async (p) => readFileSync(p, 'utf8'),
    writePcap: async (_t, p) => {
      f.pcaps.push(p);
    },
    write: (s) => {
      f.out.push(s);
    },
    tty: { isTTY: false },
    env: {},
    setExitCode: (c) => {
      f.exit.push(c);
    },
    ...over,
  };
  return f;
}

/** Runs `kpath trace ARGS…` through commander with the fake IO, as main.ts would. */
async function cli(f: Fake, args: string[]): Promise<void> {
  const program = new Command('kpath').exitOverride();
  registerTrace(program, f.io);
  await program.parseAsync(['trace', ...args], { from: 'user' });
}

describe('kpath trace through commander', () => {
  it('prints the text trace and exits 0 when DELIVERED', async () => {
    const f = fakeIO(northSouth());
    await cli(f, ['external', 'svc/default/my-app', '-f', 'examples/demo', '--seed', '3']);
    expect(f.connections).toEqual([{ from: 'external', to: 'svc/default/my-app', protocol: 'tcp', seed: 3 }]);
    expect(f.loaded).toEqual([['examples/demo']]);
    expect(f.out.join('')).toContain(
      'DELIVERED  default/my-app-6d8f7b9c5d-m4q9z accepts TCP on 10.244.1.3:8080.',
    );
    expect(f.exit).toEqual([0]);
  });

  it.each(['DROPPED', 'NO_ROUTE', 'UNSUPPORTED'] as const)('exits 1 when %s', async (d) => {
    const f = fakeIO(ending(d));
    await cli(f, ['default/a', '10.244.2.7:8080']);
    expect(f.exit).toEqual([1]);
    expect(f.out.join('')).toContain(`\n${d}  `);
  });

  it('-o json prints one JSON document', async () => {
    const f = fakeIO(northSouth());
    await cli(f, ['external', '203.0.113.50:80', '-o', 'json', '--no-return']);
    expect(f.connections[0]).toMatchObject({ to: '203.0.113.50:80', noReturn: true });
    const j = JSON.parse(f.out.join(''));
    expect(j.schemaVersion).toBe(1);
    expect(j.delivered.observedSource).toBe('10.244.0.0:54321');
  });

  it('--explain prints the sentences', async () => {
    const f = fakeIO(northSouth());
    await cli(f, ['external', 'svc/default/my-app', '--explain']);
    expect(f.out.join('')).toContain('kube-proxy picks one of three endpoints at random');
    expect(f.out.join('')).not.toContain('-A KUBE-');
  });

  it('colours only a TTY, and never with NO_COLOR', async () => {
    const ansi = /\x1b\[/;
    const tty = fakeIO(northSouth(), { tty: { isTTY: true, columns: 120 } });
    await cli(tty, ['external', 'svc/default/my-app']);
    expect(tty.out.join('')).toMatch(ansi);
    const noColor = fakeIO(northSouth(), { tty: { isTTY: true, columns: 120 }, env: { NO_COLOR: '1' } });
    await cli(noColor, ['external', 'svc/default/my-app']);
    expect(noColor.out.join('')).not.toMatch(ansi);
    const dumb = fakeIO(northSouth(), { tty: { isTTY: true }, env: { TERM: 'dumb' } });
    await cli(dumb, ['external', 'svc/default/my-app']);
    expect(dumb.out.join('')).not.toMatch(ansi);
    const pipe = fakeIO(northSouth());
    await cli(pipe, ['external', 'svc/default/my-app']);
    expect(pipe.out.join('')).not.toMatch(ansi);
  });

  it('--pcap hands the trace to the pcap writer', async () => {
    const f = fakeIO(northSouth());
    await cli(f, ['external', 'svc/default/my-app', '--pcap', '/tmp/x.pcap']);
    expect(f.pcaps).toEqual(['/tmp/x.pcap']);
  });

  it('an unwritable --pcap file is one sentence', async () => {
    const f = fakeIO(northSouth(), { writePcap: writeTracePcap });
    const err = await cli(f, ['external', 'svc/default/my-app', '--pcap', '/nonexistent/dir/t.pcap']).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      'cannot write --pcap file "/nonexistent/dir/t.pcap": no such file or directory',
    );
  });

  it('--at with --iptables-save parses a real iptables-save dump into iptablesOverride', async () => {
    const f = fakeIO(northSouth());
    const file = GOLDEN('node-1.iptables-save.txt');
    await cli(f, [
      '--at',
      'node/node-1',
      '--src',
      '198.51.100.5:54321',
      '--dst',
      '10.96.0.15:80',
      '--iptables-save',
      file,
    ]);
    const q = f.injections[0]!;
    expect(q).toMatchObject({
      node: 'node-1',
      src: '198.51.100.5:54321',
      dst: '10.96.0.15:80',
      protocol: 'tcp',
    });
    const rs = q.iptablesOverride as Ruleset;
    const nat = rs.tables.find((t) => t.name === 'nat')!;
    expect(nat.chains.find((c) => c.name === 'KUBE-SEP-O7GHPRPBXIZ2G6Z7')!.rules).toHaveLength(2);
    expect(f.out.join('')).toContain('Return path');
  });

  it('--at --no-return leaves the reply out', async () => {
    const f = fakeIO(northSouth());
    await cli(f, [
      '--at',
      'node-1',
      '--src',
      '1.2.3.4',
      '--dst',
      '10.96.0.15:80',
      '--no-return',
      '-o',
      'json',
    ]);
    expect(JSON.parse(f.out.join('')).return).toBeNull();
  });

  it('a broken --iptables-save file is reported at file:line; a missing one in one sentence', async () => {
    const broken = GOLDEN('broken.iptables-save.txt');
    const base = ['--at', 'node/node-1', '--src', '1.2.3.4', '--dst', '10.96.0.15:80', '--iptables-save'];
    const err = await cli(fakeIO(northSouth()), [...base, broken]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(new RegExp(`^${broken.replace(/[.]/g, '\\.')}:4(:\\d+)?: `));
    const missing = await cli(fakeIO(northSouth()), [...base, '/nonexistent/x.txt']).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UsageError);
    expect((missing as Error).message).toBe(
      'cannot read --iptables-save file "/nonexistent/x.txt": no such file or directory',
    );
  });

  it('runTrace returns the exit status without touching the process', async () => {
    const f = fakeIO(ending('REJECTED'));
    expect(await runTrace(planTrace('default/a', 'svc/default/internal-api', opts()), f.io)).toBe(1);
    expect(f.exit).toEqual([]);
  });
});

describe('--pcap with the real writer', () => {
  it('writes one record per packet of the trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpath-trace-cli-'));
    try {
      const path = join(dir, 't.pcap');
      const f = fakeIO(northSouth(), { writePcap: writeTracePcap });
      await cli(f, ['external', 'svc/default/my-app', '--pcap', path]);
      const t = northSouth();
      const cap = readPcap(new Uint8Array(readFileSync(path)));
      expect(cap.records).toHaveLength(t.hops.length + 1 + t.return!.hops.length + 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The real binary: argument errors are one line on stderr and exit status 2 (main.ts + reportError).
describe('the kpath process', () => {
  const run = (args: string[]) =>
    spawnSync(join(ROOT, 'node_modules/.bin/vite-node'), [join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });

  it('exits 2 with one sentence for a bad argument', () => {
    const r = run(['trace', 'my-app', 'svc/default/my-app']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      'kpath: FROM "my-app" is not one of ns/name, pod/ns/name, svc/ns/name[:port], node/name, IP, IP:port or external[:IP]',
    ]);
  });

  it('exits 2 for an unknown option (commander)', () => {
    const r = run(['trace', 'external', 'svc/default/my-app', '--bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
  });

  it('documents the exit status in --help', () => {
    const r = run(['trace', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Exit status: 0 when the packet is DELIVERED, 1 for any other disposition');
  });
});

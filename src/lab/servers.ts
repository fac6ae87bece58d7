// The small servers lab mode runs in pods: one Node.js process per namespace, listening on each declared
// container port. A TCP connection gets one line `<ns>/<pod> <client-ip>:<client-port>` and is closed;
// a UDP datagram is answered with the same line. The client address is the one the socket observed, so
// any SNAT on the way shows in it.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DnsServerConfig } from './dns-server.js';
import type { ServerSpec } from './plan.js';

/** Marks a lab server's command line, so a PID is only ever killed if it is still one of ours. */
export const SERVER_MARK = 'kpath-lab-server';

const SERVER_SCRIPT = `
const net = require('node:net'), dgram = require('node:dgram');
const [, , , label, tcpList, udpList] = process.argv;
const ports = (s) => (s ? s.split(',').filter(Boolean).map(Number) : []);
let pending = 1;
const ready = () => { if (--pending === 0) process.stdout.write('ready\\n'); };
const fail = (e) => { process.stdout.write('error ' + e.message + '\\n'); process.exit(1); };
for (const p of ports(tcpList)) {
  pending++;
  const s = net.createServer((c) => {
    c.on('error', () => {});
    c.end(label + ' ' + c.remoteAddress + ':' + c.remotePort + '\\n');
  });
  s.on('error', fail);
  s.listen(p, '0.0.0.0', ready);
}
for (const p of ports(udpList)) {
  pending++;
  const s = dgram.createSocket('udp4');
  s.on('error', fail);
  s.on('message', (m, r) => s.send(label + ' ' + r.address + ':' + r.port + '\\n', r.port, r.address));
  s.bind(p, '0.0.0.0', ready);
}
process.stdout.on('error', () => {});
process.on('SIGTERM', () => process.exit(0));
ready();
`;

/** Where a DNS server logs its queries and reads the cluster's input (files in the lab directory). */
export interface DnsServerFiles {
  log: string;
  sources?: string;
}

/**
 * The interpreter and script of a DNS server: the compiled dns-serve.js next to this module, or — when
 * kpath runs from its TypeScript sources (tests) — dns-serve.ts through vite-node.
 */
function dnsServeCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return [process.execPath, join(dirname(here), 'dns-serve.js')];
  const viteNode = join(
    dirname(createRequire(import.meta.url).resolve('vite-node/package.json')),
    'vite-node.mjs',
  );
  return [process.execPath, viteNode, join(dirname(here), 'dns-serve.ts')];
}

export function serverArgv(spec: ServerSpec, files?: DnsServerFiles): string[] {
  if (spec.dns && files) {
    const cfg: DnsServerConfig = {
      label: spec.label,
      role: spec.dns,
      tcp: spec.tcp.filter((p) => p !== 53),
      udp: spec.udp.filter((p) => p !== 53),
      log: files.log,
      ...(files.sources ? { sources: files.sources } : {}),
    };
    return [
      'ip',
      'netns',
      'exec',
      spec.netns,
      ...dnsServeCommand(),
      SERVER_MARK,
      spec.netns,
      spec.label,
      JSON.stringify(cfg),
    ];
  }
  return [
    'ip',
    'netns',
    'exec',
    spec.netns,
    process.execPath,
    '-e',
    SERVER_SCRIPT,
    SERVER_MARK,
    spec.netns,
    spec.label,
    spec.tcp.join(','),
    spec.udp.join(','),
  ];
}

/**
 * Starts a server detached (it outlives `lab up`) and resolves with its PID once every port listens.
 * `onSpawn` gets the PID at once, so the journal holds it even if setup dies while waiting.
 */
export function startServer(
  spec: ServerSpec,
  onSpawn: (pid: number) => void,
  timeoutMs = 10_000,
  dnsFiles?: DnsServerFiles,
  /** Where the server's stderr goes (`ip netns exec` and Node write their failures there). */
  errPath?: string,
): Promise<number> {
  const [cmd, ...args] = serverArgv(spec, dnsFiles);
  const errFd = errPath ? openSync(errPath, 'w') : 'ignore';
  const child = spawn(cmd ?? 'ip', args, { detached: true, stdio: ['ignore', 'pipe', errFd] });
  if (typeof errFd === 'number') closeSync(errFd);
  const stderr = () => {
    try {
      return errPath ? ` ${readFileSync(errPath, 'utf8').trim().split('\n').slice(-3).join(' | ')}` : '';
    } catch {
      return '';
    }
  };
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error(`cannot start the server in ${spec.netns}`));
  onSpawn(pid);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => finish(new Error(`server in ${spec.netns} not ready after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (err?: Error) => {
      clearTimeout(timer);
      child.stdout?.removeAllListeners();
      child.stdout?.destroy();
      child.removeAllListeners();
      child.unref();
      if (err) reject(err);
      else resolve(pid);
    };
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) finish();
      else if (out.includes('\n'))
        finish(new Error(`server in ${spec.netns} (${spec.label}): ${out.trim()}`));
    });
    child.on('exit', (code) =>
      finish(
        new Error(`server in ${spec.netns} (${spec.label}) exited with ${code}: ${out.trim()}${stderr()}`),
      ),
    );
  });
}

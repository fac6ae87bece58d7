// The probing side of `lab verify`: one short-lived Node.js client per source namespace makes every real
// connection asked of it (bounded concurrency) and reports, per attempt, what happened and what the
// server said. The answer line names the endpoint and the client address it observed.
import { runAsync } from './kernel.js';

export type AttemptOutcome = 'answered' | 'refused' | 'unreachable' | 'timeout' | 'error';

export interface ConnectRequest {
  id: string;
  protocol: 'tcp' | 'udp';
  ip: string;
  port: number;
  count: number;
}

export interface Attempt {
  id: string;
  outcome: AttemptOutcome;
  /** The server's line: `<ns>/<pod> <client-ip>:<client-port>`. */
  reply?: string;
  /** The client's own source port (to find the connection in conntrack). */
  localPort?: number;
  error?: string;
}

const CLIENT_SCRIPT = `
const net = require('node:net'), dgram = require('node:dgram');
const reqs = JSON.parse(process.argv[1]);
const timeoutMs = Number(process.argv[2]);
const classify = (e) => e.code === 'ECONNREFUSED' ? 'refused' : /UNREACH/.test(e.code || '') ? 'unreachable' : 'error';
function tcp(r) {
  return new Promise((res) => {
    let buf = '', done = false, local;
    const s = net.connect({ host: r.ip, port: r.port });
    const fin = (o) => { if (done) return; done = true; clearTimeout(t); s.destroy(); res({ id: r.id, localPort: local, ...o }); };
    const t = setTimeout(() => fin({ outcome: 'timeout' }), timeoutMs);
    s.on('connect', () => { local = s.localPort; });
    s.on('data', (d) => { buf += d; const i = buf.indexOf('\\n'); if (i >= 0) fin({ outcome: 'answered', reply: buf.slice(0, i) }); });
    s.on('end', () => fin(buf ? { outcome: 'answered', reply: buf.trim() } : { outcome: 'error', error: 'closed without an answer' }));
    s.on('error', (e) => fin({ outcome: classify(e), error: e.code }));
  });
}
function udp(r) {
  return new Promise((res) => {
    const s = dgram.createSocket('udp4');
    let done = false, local;
    const fin = (o) => { if (done) return; done = true; clearTimeout(t); try { s.close(); } catch {} res({ id: r.id, localPort: local, ...o }); };
    const t = setTimeout(() => fin({ outcome: 'timeout' }), timeoutMs);
    s.on('message', (m) => fin({ outcome: 'answered', reply: String(m).trim() }));
    s.on('error', (e) => fin({ outcome: classify(e), error: e.code }));
    s.connect(r.port, r.ip, () => { local = s.address().port; s.send('kpath\\n'); });
  });
}
const jobs = [];
for (const r of reqs) for (let i = 0; i < r.count; i++) jobs.push(r);
const out = [];
let next = 0;
async function worker() { while (next < jobs.length) { const r = jobs[next++]; out.push(await (r.protocol === 'udp' ? udp(r) : tcp(r))); } }
Promise.all(Array.from({ length: 16 }, worker)).then(() => process.stdout.write(JSON.stringify(out)));
`;

/** Makes the connections from inside `netns`; resolves with one Attempt per connection. */
export async function connectFrom(
  netns: string,
  reqs: readonly ConnectRequest[],
  timeoutMs = 1000,
): Promise<Attempt[]> {
  if (reqs.length === 0) return [];
  const out = await runAsync([
    'ip',
    'netns',
    'exec',
    netns,
    process.execPath,
    '-e',
    CLIENT_SCRIPT,
    JSON.stringify(reqs),
    String(timeoutMs),
  ]);
  return JSON.parse(out) as Attempt[];
}

/** Splits a server's answer line into the endpoint label and the client address it saw. */
export function parseReply(
  reply: string,
): { endpoint: string; observedIp: string; observedPort: number } | undefined {
  const m = /^(\S+) (\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(reply.trim());
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { endpoint: m[1], observedIp: m[2], observedPort: Number(m[3]) };
}

// The lab's DNS servers: in each CoreDNS pod a process that answers on UDP and TCP 53 with the CoreDNS
// model (and really forwards what the model forwards), and in each upstream's namespace one that answers
// as spec.dns says. Every query is logged as one JSON line, so `lab verify` can compare the names a
// pod's resolver really tried with the ones the model predicts.
import dgram from 'node:dgram';
import { appendFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { answerQuery, type CoreDnsModel } from '../dns/coredns.js';
import { canonical, type DnsReply, emptyReply, formatRecord } from '../dns/message.js';
import { upstreamAnswer } from '../dns/upstream.js';
import type { SourceText } from '../load/sources.js';
import { clusterDns } from '../trace/dns-step.js';
import { buildTwin } from '../twin.js';
import type { DnsRole } from './dns-plan.js';
import { decodeQuery, decodeReply, encodeQuery, type WireQuery, writeReply } from './dns-wire.js';

/** How one forwarded attempt went, in the model and for real. */
export interface ForwardCheck {
  upstream: string;
  model: string;
  real: string;
}

/** One line of a lab DNS server's query log. */
export interface DnsLogEntry {
  /** Milliseconds since the epoch. */
  at: number;
  /** CLOCK_MONOTONIC in nanoseconds (one clock for every process on the machine): orders entries across servers. */
  mono: string;
  seq: number;
  server: string;
  proto: 'udp' | 'tcp';
  client: string;
  name: string;
  type: string;
  /** The rcode sent, or `none` when the server stayed silent (an upstream that times out). */
  rcode: string;
  answer: string[];
  tc: boolean;
  forward?: ForwardCheck[];
  /** Set when the reply came from the model because the real upstream did not behave as modelled. */
  note?: string;
}

/** Sends one query to a real server over UDP; undefined after `timeoutMs` without a reply. */
export type Forwarder = (server: string, name: string, type: string) => Promise<DnsReply | undefined>;

export function udpForwarder(timeoutMs: number): Forwarder {
  return (server, name, type) =>
    new Promise((resolve) => {
      const s = dgram.createSocket('udp4');
      const id = Math.floor(Math.random() * 65536);
      const done = (r?: DnsReply) => {
        clearTimeout(t);
        try {
          s.close();
        } catch {}
        resolve(r);
      };
      const t = setTimeout(() => done(), timeoutMs);
      s.on('error', () => done());
      s.on('message', (m) => {
        try {
          const r = decodeReply(m);
          if (r.id === id) done(r);
        } catch {}
      });
      s.send(encodeQuery(id, name, type), 53, server);
    });
}

const recordKey = (r: DnsReply) =>
  [r.rcode, ...r.answer.map((x) => `${canonical(x.name)} ${x.type} ${x.data.toLowerCase()}`).sort()].join(
    '|',
  );

/**
 * CoreDNS's reply to a query from `clientIP`: the model's, with each forward attempt the model makes
 * repeated against the real upstream. When the real upstream agrees, the model's reply goes out (it holds
 * what the plugins after forward did, e.g. cache TTLs); when it answers differently, its reply is relayed
 * as CoreDNS relays it; when it is silent although the model expected a reply, the model answers and the
 * log says so.
 */
export async function coreDnsReply(
  model: CoreDnsModel,
  q: WireQuery,
  clientIP: string,
  forwarder: Forwarder,
): Promise<{ reply: DnsReply; forward: ForwardCheck[]; note?: string }> {
  const a = answerQuery(model, q.name, q.type, { clientIP });
  const checks: ForwardCheck[] = [];
  for (const attempt of a.forward) {
    const name = attempt.name ?? q.name;
    const up = model.upstreams.find((u) => u.ip === attempt.upstream);
    const real = await forwarder(attempt.upstream, name, q.type);
    checks.push({ upstream: attempt.upstream, model: attempt.outcome, real: real ? real.rcode : 'timeout' });
    if (!real && attempt.outcome === 'timeout') continue;
    if (!real) {
      return {
        reply: a.reply,
        forward: checks,
        note: `upstream ${attempt.upstream} did not reply to ${name} in the lab; answered from the model`,
      };
    }
    const modelled = up ? upstreamAnswer(up, name, q.type) : undefined;
    if (attempt.outcome === 'timeout' || !modelled || recordKey(modelled) !== recordKey(real)) {
      const direct = canonical(name) === canonical(q.name);
      return {
        // CoreDNS relays the upstream's reply for the name asked; for a name it looked up itself
        // (an ExternalName target) the model's reply stands, and the log says the upstream differed.
        reply: direct ? { ...real, question: { name: q.name, type: q.type } } : a.reply,
        forward: checks,
        note: `upstream ${attempt.upstream} replied ${real.rcode} [${real.answer.map(formatRecord).join(', ')}] for ${name} where the model expected ${attempt.outcome}`,
      };
    }
    break;
  }
  return { reply: a.reply, forward: checks };
}

export interface DnsServerConfig {
  /** `ns/pod` or `upstream/NAME`: echoed to non-DNS probes, as every lab server names itself. */
  label: string;
  role: DnsRole;
  /** Other TCP ports of the pod, answered with the lab's probe line (the metrics and health ports). */
  tcp: number[];
  udp: number[];
  /** The query log (one JSON line per query). */
  log: string;
  /** For CoreDNS: the cluster's input, from which the model is rebuilt exactly as `lab up` built it. */
  sources?: string;
  /** How long the lab's forward waits for an upstream (the model's 2 s would race the pod's 5 s timeout). */
  forwardTimeoutMs?: number;
}

function buildModel(cfg: DnsServerConfig): CoreDnsModel | undefined {
  if (cfg.role.kind !== 'coredns' || !cfg.sources) return undefined;
  const sources = JSON.parse(readFileSync(cfg.sources, 'utf8')) as SourceText[];
  return clusterDns(buildTwin(sources));
}

/** Starts listening; resolves once every port is bound. The edge: sockets and the log file. */
export async function serveDns(cfg: DnsServerConfig): Promise<void> {
  const model = buildModel(cfg);
  const forwarder = udpForwarder(cfg.forwardTimeoutMs ?? 800);
  let seq = 0;
  // Stamped when the query arrived (a forwarded one is logged only once the upstream answered).
  const log = (received: bigint, e: Omit<DnsLogEntry, 'at' | 'mono' | 'seq' | 'server'>) =>
    appendFileSync(
      cfg.log,
      `${JSON.stringify({ at: Date.now(), mono: String(received), seq: seq++, server: cfg.label, ...e })}\n`,
    );

  const answer = async (
    buf: Uint8Array,
    proto: 'udp' | 'tcp',
    addr: string,
    port: number,
  ): Promise<Uint8Array | undefined> => {
    const received = process.hrtime.bigint();
    const q = decodeQuery(buf);
    if (!q) return undefined;
    let reply: DnsReply | undefined;
    let extra: Pick<DnsLogEntry, 'forward' | 'note'> = {};
    if (cfg.role.kind === 'upstream') reply = upstreamAnswer(cfg.role.upstream, q.name, q.type);
    else if (model) {
      const r = await coreDnsReply(model, q, addr, forwarder);
      reply = r.reply;
      extra = { ...(r.forward.length ? { forward: r.forward } : {}), ...(r.note ? { note: r.note } : {}) };
    } else reply = emptyReply(q.name, q.type, 'SERVFAIL');
    const bytes = reply ? writeReply(q, reply, proto) : undefined;
    log(received, {
      proto,
      client: `${addr}:${port}`,
      name: q.name,
      type: q.type,
      rcode: reply ? reply.rcode : 'none',
      answer: reply ? reply.answer.map(formatRecord) : [],
      tc: bytes ? (bytes[2]! & 0x02) !== 0 : false,
      ...extra,
    });
    return bytes;
  };

  const probeLine = (addr: string, port: number) => `${cfg.label} ${addr}:${port}\n`;
  const binds: Promise<void>[] = [];
  const udpPorts = new Set([53, ...cfg.udp]);
  const tcpPorts = new Set([53, ...cfg.tcp]);
  for (const p of udpPorts) {
    const s = dgram.createSocket('udp4');
    s.on('message', (m, r) => {
      // The lab's probes send a short text line: they get the probe line back, like every lab server.
      if (p !== 53 || m.length < 12) {
        s.send(probeLine(r.address, r.port), r.port, r.address);
        return;
      }
      answer(m, 'udp', r.address, r.port).then(
        (b) => b && s.send(b, r.port, r.address),
        () => {},
      );
    });
    binds.push(
      new Promise((res, rej) => {
        s.once('error', rej);
        s.bind(p, '0.0.0.0', () => res());
      }),
    );
  }
  for (const p of tcpPorts) {
    const s = net.createServer((c) => {
      c.on('error', () => {});
      const addr = c.remoteAddress?.replace(/^::ffff:/, '') ?? '';
      const port = c.remotePort ?? 0;
      if (p !== 53) {
        c.end(probeLine(addr, port));
        return;
      }
      // A DNS client writes its query at once; the lab's TCP probe writes nothing and waits for a line.
      const idle = setTimeout(() => c.end(probeLine(addr, port)), 250);
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        clearTimeout(idle);
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          answer(msg, 'tcp', addr, port).then(
            (b) => {
              if (!b) return;
              const len = Buffer.alloc(2);
              len.writeUInt16BE(b.length);
              c.write(Buffer.concat([len, b]));
            },
            () => {},
          );
        }
      });
    });
    binds.push(
      new Promise((res, rej) => {
        s.once('error', rej);
        s.listen(p, '0.0.0.0', () => res());
      }),
    );
  }
  await Promise.all(binds);
}

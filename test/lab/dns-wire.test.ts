// The lab DNS server's wire format: the model's replies encoded and read back by an independent decoder
// (dns-packet), CoreDNS's truncation and EDNS0 echo, and one server answering real `dig` (dnsutils):
// dig's own printout must equal kpath's printDig of the same model reply.
import { execFile, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { answerQuery, buildCoreDns } from '../../src/dns/coredns.js';
import { printDig } from '../../src/dns/dig.js';
import type { DnsReply, ResourceRecord } from '../../src/dns/message.js';
import { upstreamAnswer } from '../../src/dns/upstream.js';
import { coreDnsReply, type Forwarder } from '../../src/lab/dns-server.js';
import { decodeQuery, decodeReply, encodeReply, type WireQuery, writeReply } from '../../src/lab/dns-wire.js';
import { demoState, shopClient, upstreams } from '../dns/fixture.js';

const st = demoState();
st.services[2]!.metadata.creationTimestamp = '2023-11-14T22:13:20Z';
const model = buildCoreDns(st, { upstreams });

const query = (name: string, type: string, extra: Partial<WireQuery> = {}): WireQuery => ({
  id: 4242,
  name,
  type,
  rd: true,
  ...extra,
});

const strip = ({ id: _id, ...r }: DnsReply & { id: number }): DnsReply => r;

const cases: [string, string][] = [
  ['web.shop.svc.cluster.local.', 'A'],
  ['web.shop.svc.cluster.local.', 'AAAA'],
  ['nope.shop.svc.cluster.local.', 'A'],
  ['_http._tcp.web.shop.svc.cluster.local.', 'SRV'],
  ['db.shop.svc.cluster.local.', 'A'],
  ['10.0.96.10.in-addr.arpa.', 'PTR'],
  ['dns-version.cluster.local.', 'TXT'],
  ['google.com.', 'A'],
  ['ext.shop.svc.cluster.local.', 'A'],
];

describe('replies on the wire, read back with dns-packet', () => {
  for (const [name, type] of cases) {
    it(`${name} ${type}: rcode, flags and every section survive`, () => {
      const reply = answerQuery(model, name, type).reply;
      for (const proto of ['udp', 'tcp'] as const) {
        const back = decodeReply(writeReply(query(name, type), reply, proto));
        expect(back.id).toBe(4242);
        expect(strip(back)).toEqual(reply);
      }
    });
  }

  it('copies RD from the query (dig +norec), as miekg SetReply does', () => {
    const reply = answerQuery(model, 'web.shop.svc.cluster.local.', 'A').reply;
    const back = decodeReply(
      writeReply(query('web.shop.svc.cluster.local.', 'A', { rd: false }), reply, 'udp'),
    );
    expect(back.flags).toEqual({ ...reply.flags, rd: false });
  });

  it('decodes a query and echoes its EDNS0 OPT with the supported options only (request.SizeAndDo)', () => {
    const wire = dnsPacket.encode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: 'web.shop.svc.cluster.local', type: 'A', class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          flags: 0,
          options: [
            { code: 10, data: Buffer.from('0123456789abcdef', 'hex') },
            { code: 8, data: Buffer.from('00011800c0a801', 'hex') },
          ],
        } as unknown as dnsPacket.Answer,
      ],
    });
    const q = decodeQuery(wire);
    expect(q).toMatchObject({ id: 7, name: 'web.shop.svc.cluster.local.', type: 'A', rd: true });
    expect(q?.edns?.udpSize).toBe(1232);
    const out = dnsPacket.decode(Buffer.from(writeReply(q!, answerQuery(model, q!.name, 'A').reply, 'udp')));
    const opt = out.additionals?.find((a) => a.type === 'OPT') as
      | { udpPayloadSize: number; options: { code: number }[] }
      | undefined;
    expect(opt?.udpPayloadSize).toBe(1232);
    expect(opt?.options.map((o) => o.code)).toEqual([10]); // the cookie; ECS (8) is not supported
  });

  it('is not a query: a short probe line, a response, two questions', () => {
    expect(decodeQuery(Buffer.from('kpath\n'))).toBeUndefined();
    const resp = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ name: 'a', type: 'A', class: 'IN' }],
    });
    expect(decodeQuery(resp)).toBeUndefined();
    const two = dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [
        { name: 'a', type: 'A', class: 'IN' },
        { name: 'b', type: 'A', class: 'IN' },
      ],
    });
    expect(decodeQuery(two)).toBeUndefined();
  });
});

function bigReply(n: number): DnsReply {
  const answer: ResourceRecord[] = [];
  for (let i = 0; i < n; i++)
    answer.push({
      name: 'big.shop.svc.cluster.local.',
      ttl: 30,
      type: 'A',
      data: `10.244.${i >> 8}.${i & 255}`,
    });
  return {
    question: { name: 'big.shop.svc.cluster.local.', type: 'A' },
    rcode: 'NOERROR',
    flags: { qr: true, aa: true, tc: false, rd: true, ra: false },
    answer,
    authority: [],
    additional: [],
  };
}

describe('truncation (request.Scrub → miekg Msg.Truncate)', () => {
  const reply = bigReply(60);
  const q = query('big.shop.svc.cluster.local.', 'A');

  it('UDP without EDNS0: at most 512 bytes, compressed, whole records, TC set', () => {
    const bytes = writeReply(q, reply, 'udp');
    expect(bytes.length).toBeLessThanOrEqual(512);
    const back = decodeReply(bytes);
    expect(back.flags.tc).toBe(true);
    const n = back.answer.length;
    expect(n).toBeGreaterThan(0);
    expect(back.answer).toEqual(reply.answer.slice(0, n));
    // One more record would not have fitted, even compressed.
    const more = encodeReply({ id: 1, reply: { ...reply, answer: reply.answer.slice(0, n + 1) } }, true);
    expect(more.length).toBeGreaterThan(512);
    // Compression is what made it fit: the same records uncompressed are larger.
    expect(encodeReply({ id: 1, reply: { ...reply, answer: back.answer } }).length).toBeGreaterThan(
      bytes.length,
    );
  });

  it('a reply that fits goes out uncompressed (Truncate: "don\'t waste effort compressing")', () => {
    const small = bigReply(3);
    expect(writeReply(q, small, 'udp')).toEqual(encodeReply({ id: 4242, reply: small }));
  });

  it('EDNS0 4096 and TCP: every record, no TC', () => {
    const runs: [WireQuery, 'udp' | 'tcp'][] = [
      [{ ...q, edns: { udpSize: 4096, options: [] } }, 'udp'],
      [q, 'tcp'],
    ];
    for (const [qq, proto] of runs) {
      const back = decodeReply(writeReply(qq, reply, proto));
      expect(back.flags.tc).toBe(false);
      expect(back.answer).toHaveLength(60);
    }
  });

  it('an EDNS0 size below 512 counts as 512 (RFC 6891)', () => {
    const bytes = writeReply({ ...q, edns: { udpSize: 100, options: [] } }, reply, 'udp');
    expect(bytes.length).toBeLessThanOrEqual(512);
    expect(bytes.length).toBeGreaterThan(400);
  });
});

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const dname = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => `${ls.join('.')}.`);
const record: fc.Arbitrary<ResourceRecord> = fc.oneof(
  fc.record({ name: dname, ttl: fc.nat(86400), type: fc.constant('A'), data: fc.ipV4() }),
  fc.record({ name: dname, ttl: fc.nat(86400), type: fc.constant('CNAME'), data: dname }),
  fc.record({
    name: dname,
    ttl: fc.nat(86400),
    type: fc.constant('SRV'),
    data: fc
      .tuple(fc.nat(65535), fc.nat(65535), fc.nat(65535), dname)
      .map(([p, w, port, t]) => `${p} ${w} ${port} ${t}`),
  }),
  fc.record({
    name: dname,
    ttl: fc.nat(86400),
    type: fc.constant('TXT'),
    data: fc.stringMatching(/^[a-z0-9 ]{0,40}$/).map((s) => `"${s}"`),
  }),
);

describe('encoder against dns-packet (property)', () => {
  it('any records, compressed or not, decode to themselves', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), dname, fc.boolean(), (rrs, qname, compress) => {
        const reply: DnsReply = {
          question: { name: qname, type: 'A' },
          rcode: 'NOERROR',
          flags: { qr: true, aa: false, tc: false, rd: true, ra: true },
          answer: rrs,
          authority: [],
          additional: [],
        };
        const back = decodeReply(encodeReply({ id: 9, reply }, compress));
        expect(strip(back)).toEqual(reply);
      }),
      { numRuns: 200 },
    );
  });
});

// ---- real dig against the encoder ----

function digMissing(): string | undefined {
  try {
    execFileSync('dig', ['-v'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'dig is not installed (apt-get install -y dnsutils)';
  }
}
const noDig = digMissing();
if (noDig && process.env.CI === 'true') {
  test('dig prerequisite', () => {
    throw new Error(`cannot run in CI: ${noDig}`);
  });
}

describe.skipIf(noDig !== undefined)(
  `real dig against the lab server's replies (${noDig ?? 'dig found'})`,
  () => {
    let sock: dgram.Socket;
    let port = 0;
    const sent = new Map<string, number>();
    // The upstream agrees with the model, as the lab's upstream servers do.
    const forwarder: Forwarder = async (server, name, type) => {
      const up = model.upstreams.find((u) => u.ip === server);
      return up ? upstreamAnswer(up, name, type) : undefined;
    };

    beforeAll(async () => {
      sock = dgram.createSocket('udp4');
      sock.on('message', async (m, r) => {
        const q = decodeQuery(m)!;
        const { reply } = await coreDnsReply(model, q, shopClient.status!.podIP!, forwarder);
        const bytes = writeReply(q, reply, 'udp');
        sent.set(`${q.name} ${q.type}`, bytes.length);
        sock.send(bytes, r.port, r.address);
      });
      await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
      port = sock.address().port;
    });
    afterAll(() => sock.close());

    const dig = (...args: string[]) =>
      new Promise<string>((res, rej) =>
        execFile(
          'dig',
          ['@127.0.0.1', '-p', String(port), '+nocookie', '+tries=1', '+time=3', ...args],
          (e, out) => (e ? rej(e) : res(out)),
        ),
      );
    const body = (out: string) => {
      const lines = out.split('\n');
      return `${lines
        .slice(
          lines.indexOf(';; Got answer:'),
          lines.findIndex((l) => l.startsWith(';; Query time:')),
        )
        .join('\n')}\n`;
    };

    for (const [name, type] of cases.filter(([, t]) => t !== 'PTR')) {
      it(`dig ${name} ${type} prints what printDig prints for the model's reply`, async () => {
        const out = await dig(name, type);
        const id = Number(/id: (\d+)/.exec(out)?.[1]);
        const reply = answerQuery(model, name, type, { clientIP: shopClient.status!.podIP! }).reply;
        expect(body(out)).toBe(printDig(reply, { id }));
        // The size dig received is the size the server wrote.
        expect(Number(/MSG SIZE {2}rcvd: (\d+)/.exec(out)?.[1])).toBe(sent.get(`${name} ${type}`));
      });
    }

    it('dig +noedns of a 60-record answer: flags qr aa tc, as many records as fit in 512 bytes', async () => {
      // A headless service with 60 ready endpoints, served by the model itself.
      const eps = Array.from({ length: 60 }, (_, i) => ({
        addresses: [`10.244.${i >> 8}.${(i & 255) + 1}`],
        conditions: { ready: true },
      }));
      const big = demoState();
      big.services.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'big', namespace: 'shop' },
        spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] },
      });
      big.endpointSlices.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'big-x', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'big' } },
        addressType: 'IPv4',
        endpoints: eps,
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      });
      const m = buildCoreDns(big, { upstreams });
      const s = dgram.createSocket('udp4');
      s.on('message', (msg, r) => {
        const q = decodeQuery(msg)!;
        s.send(writeReply(q, answerQuery(m, q.name, q.type).reply, 'udp'), r.port, r.address);
      });
      await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
      try {
        const out = await new Promise<string>((res, rej) =>
          execFile(
            'dig',
            [
              '@127.0.0.1',
              '-p',
              String(s.address().port),
              '+noedns',
              '+ignore',
              '+tries=1',
              'big.shop.svc.cluster.local',
              'A',
            ],
            (e, o) => (e ? rej(e) : res(o)),
          ),
        );
        expect(out).toMatch(/;; flags: qr aa tc rd; QUERY: 1, ANSWER: (\d+), AUTHORITY: 0, ADDITIONAL: 0/);
        const n = Number(/ANSWER: (\d+)/.exec(out)?.[1]);
        expect(n).toBeGreaterThan(20);
        expect(n).toBeLessThan(60);
        expect(Number(/MSG SIZE {2}rcvd: (\d+)/.exec(out)?.[1])).toBeLessThanOrEqual(512);
      } finally {
        s.close();
      }
    });
  },
);

describe('the lab CoreDNS forward: the real upstream is asked what the model forwards', () => {
  const q = query('google.com.', 'A');
  const client = shopClient.status!.podIP!;
  const modelled = answerQuery(model, 'google.com.', 'A', { clientIP: client });

  it('an upstream that agrees: the model reply goes out (with cache TTLs), the check is logged', async () => {
    const asked: string[] = [];
    const r = await coreDnsReply(model, q, client, async (server, name, type) => {
      asked.push(`${server} ${name} ${type}`);
      return upstreamAnswer(model.upstreams.find((u) => u.ip === server)!, name, type);
    });
    expect(asked).toEqual([`${modelled.forward[0]!.upstream} google.com. A`]);
    expect(r.reply).toEqual(modelled.reply);
    expect(r.forward).toEqual([
      { upstream: modelled.forward[0]!.upstream, model: 'NOERROR', real: 'NOERROR' },
    ]);
    expect(r.note).toBeUndefined();
  });

  it('an upstream that answers otherwise: its reply is relayed, and the log says so', async () => {
    const other: DnsReply = {
      ...modelled.reply,
      answer: [{ name: 'google.com.', ttl: 60, type: 'A', data: '192.0.2.1' }],
    };
    const r = await coreDnsReply(model, q, client, async () => other);
    expect(r.reply.answer).toEqual(other.answer);
    expect(r.note).toMatch(
      /replied NOERROR \[google\.com\. 60 IN A 192\.0\.2\.1\] for google\.com\. where the model expected NOERROR/,
    );
  });

  it('a silent upstream where the model expects a reply: the model answers, and the log says so', async () => {
    const r = await coreDnsReply(model, q, client, async () => undefined);
    expect(r.reply).toEqual(modelled.reply);
    expect(r.note).toMatch(/did not reply to google\.com\. in the lab; answered from the model/);
  });

  it('cluster names are never forwarded', async () => {
    let calls = 0;
    await coreDnsReply(model, query('web.shop.svc.cluster.local.', 'A'), client, async () => {
      calls++;
      return undefined;
    });
    expect(calls).toBe(0);
  });
});

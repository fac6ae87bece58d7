// Golden tests: printDig against real dig 9.18 output (test/dns/samples, see README there).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { answerQuery, buildCoreDns } from '../../src/dns/coredns.js';
import { printDig } from '../../src/dns/dig.js';
import type { DnsReply } from '../../src/dns/message.js';
import { demoState, upstreams } from './fixture.js';

function sample(file: string): { body: string; id: number } {
  const text = readFileSync(new URL(`./samples/${file}`, import.meta.url), 'utf8');
  const lines = text.split('\n');
  const from = lines.indexOf(';; Got answer:');
  const to = lines.findIndex((l) => l.startsWith(';; Query time:'));
  const id = Number(/id: (\d+)/.exec(text)![1]);
  return { body: `${lines.slice(from, to).join('\n')}\n`, id };
}

const st = demoState();
st.services[2]!.metadata.creationTimestamp = '2023-11-14T22:13:20Z'; // serial 1700000000 in the samples
const model = buildCoreDns(st, { upstreams });

const cases: [string, string, string][] = [
  ['dig_web.shop.svc.cluster.local_A.txt', 'web.shop.svc.cluster.local', 'A'],
  ['dig_web.shop.svc.cluster.local_AAAA.txt', 'web.shop.svc.cluster.local', 'AAAA'],
  ['dig_nope.shop.svc.cluster.local_A.txt', 'nope.shop.svc.cluster.local', 'A'],
  ['dig__http._tcp.web.shop.svc.cluster.local_SRV.txt', '_http._tcp.web.shop.svc.cluster.local', 'SRV'],
  ['dig_-x_10.96.0.10.txt', '10.0.96.10.in-addr.arpa', 'PTR'],
  ['dig_dns-version.cluster.local_TXT.txt', 'dns-version.cluster.local', 'TXT'],
  ['dig_google.com_A.txt', 'google.com', 'A'],
  ['dig_ext.shop.svc.cluster.local_A.txt', 'ext.shop.svc.cluster.local', 'A'],
];

describe('printDig matches dig 9.18', () => {
  for (const [file, name, type] of cases) {
    it(`${name} ${type}`, () => {
      const { body, id } = sample(file);
      expect(printDig(answerQuery(model, name, type).reply, { id })).toBe(body);
    });
  }
  it('SERVFAIL written by CoreDNS (forward got no reply): qr rd, no RA', () => {
    const dead = buildCoreDns(demoState(), { upstreams, corefile: '.:53 {\n forward . 10.0.0.3\n}\n' });
    const { body, id } = sample('dig_fail.example_A.txt');
    expect(printDig(answerQuery(dead, 'fail.example', 'A').reply, { id })).toBe(body);
  });
  it('short owner names pad to the tab stops', () => {
    const reply: DnsReply = {
      question: { name: 'x.b.', type: 'A' },
      rcode: 'NOERROR',
      flags: { qr: true, aa: true, tc: false, rd: true, ra: false },
      answer: [
        { name: 'x.b.', ttl: 5, type: 'A', data: '10.0.0.1' },
        { name: 'x.b.', ttl: 5, type: 'A', data: '10.0.0.2' },
      ],
      authority: [],
      additional: [],
    };
    const { body, id } = sample('dig_x.b_A.txt');
    expect(printDig(reply, { id })).toBe(body);
  });
});

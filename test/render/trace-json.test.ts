import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPAddr } from '../../src/net/ip.js';
import { makePacket } from '../../src/net/packet.js';
import {
  packetJson,
  renderTraceJson,
  TRACE_JSON_SCHEMA_VERSION,
  traceToJson,
} from '../../src/render/trace-json.js';
import { trace as traceArb } from './trace-arbitrary.js';
import { DISPOSITIONS, ending, northSouth, SEP, SVC_CHAIN } from './trace-fixtures.js';
import { checkSchema } from './trace-schema-check.js';

const schema = JSON.parse(
  readFileSync(new URL('../../docs/trace-json.schema.json', import.meta.url), 'utf8'),
);
const doc = readFileSync(new URL('../../docs/trace-json.md', import.meta.url), 'utf8');

/** Parsed back from the rendered text, so the test sees exactly what a consumer reads. */
const parsed = (t: Parameters<typeof renderTraceJson>[0]) => JSON.parse(renderTraceJson(t));

describe('trace JSON against docs/trace-json.schema.json', () => {
  it('the north–south trace conforms', () => {
    expect(checkSchema(schema, parsed(northSouth()))).toEqual([]);
  });

  it.each(DISPOSITIONS)('a trace ending %s conforms', (d) => {
    const j = parsed(ending(d));
    expect(checkSchema(schema, j)).toEqual([]);
    expect(j.disposition).toBe(d);
    expect(j.delivered === null).toBe(d !== 'DELIVERED');
  });

  it('any generated trace conforms, and round-trips through JSON.stringify unchanged', () => {
    fc.assert(
      fc.property(traceArb, (t) => {
        const j = traceToJson(t);
        expect(JSON.parse(renderTraceJson(t))).toEqual(j);
        expect(checkSchema(schema, j)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('the checker rejects what the schema forbids', () => {
    const good = parsed(northSouth());
    const broken = (f: (j: typeof good) => void) => {
      const j = structuredClone(good);
      f(j);
      return checkSchema(schema, j);
    };
    expect(broken((j) => delete j.hops[0].decidedBy)).toContain('$.hops[0]: missing decidedBy');
    expect(broken((j) => (j.disposition = 'LOST'))).toEqual(['$.disposition: "LOST" not in enum']);
    expect(broken((j) => (j.hops[0].before.ip.src = 3232235786))).toEqual([
      '$.hops[0].before.ip.src: expected string, got integer',
    ]);
    expect(broken((j) => (j.extra = 1))).toEqual(['$: unexpected property extra']);
    expect(broken((j) => (j.branches[0].dnat = 'node-1'))).toEqual([
      '$.branches[0].dnat: matches 0 of oneOf, expected exactly 1',
    ]);
    expect(broken((j) => (j.schemaVersion = 2))).toEqual(['$.schemaVersion: expected 1']);
  });

  it('schemaVersion in the code, the schema and the doc agree', () => {
    expect(schema.properties.schemaVersion.const).toBe(TRACE_JSON_SCHEMA_VERSION);
    expect(doc).toContain(`"schemaVersion": ${TRACE_JSON_SCHEMA_VERSION}`);
  });

  it('the doc names every field of the schema', () => {
    const names = new Set<string>();
    const walk = (s: unknown): void => {
      if (!s || typeof s !== 'object') return;
      const o = s as Record<string, unknown>;
      if (o.properties && typeof o.properties === 'object')
        for (const k of Object.keys(o.properties)) names.add(k);
      for (const v of Object.values(o)) walk(v);
    };
    walk(schema);
    const missing = [...names].filter((n) => !doc.includes(`\`${n}\``));
    expect(missing).toEqual([]);
  });
});

describe('trace JSON content', () => {
  const j = parsed(northSouth());

  it('carries the request, the disposition, masquerade and the delivery', () => {
    expect(j.schemaVersion).toBe(1);
    expect(j.request).toEqual({
      from: { spec: 'external', kind: 'external', ip: '198.51.100.5', port: null },
      to: { spec: 'svc/default/my-app', kind: 'service', ip: '203.0.113.50', port: 80 },
      protocol: 'tcp',
      seed: 1,
      forcedEndpoint: null,
    });
    expect(j.disposition).toBe('DELIVERED');
    expect(j.masquerade).toBe(true);
    expect(j.delivered).toEqual({
      pod: 'default/my-app-6d8f7b9c5d-m4q9z',
      to: 'default/my-app-6d8f7b9c5d-m4q9z',
      ip: '10.244.1.3',
      port: 8080,
      observedSource: '10.244.0.0:54321',
    });
  });

  it('quotes the deciding rule with its table, chain and rule number', () => {
    const dnat = j.hops[7];
    expect(dnat.action).toBe('DNAT');
    expect(dnat.decidedBy).toEqual({
      kind: 'iptables-rule',
      text: `-A ${SEP('10.244.1.3:8080')} -p tcp -m comment --comment "default/my-app" -m tcp -j DNAT --to-destination 10.244.1.3:8080`,
      table: 'nat',
      chain: SEP('10.244.1.3:8080'),
      ruleNumber: 2,
    });
    expect(dnat.before.ip.dst).toBe('192.168.1.10');
    expect(dnat.after.ip.dst).toBe('10.244.1.3');
    expect(dnat.after.l4).toEqual({ kind: 'tcp', sport: 54321, dport: 8080, flags: ['SYN'] });
    expect(dnat.changes).toEqual([
      { field: 'dst', from: '192.168.1.10:30080', to: '10.244.1.3:8080', tag: 'DNAT' },
    ]);
    expect(j.hops[5].after.mark).toBe(0x4000);
  });

  it('lists every random choice with its probability, DNAT target and the hop it was made at', () => {
    expect(j.branches).toHaveLength(6);
    const svc = j.branches.filter((b: { dnat: string | null }) => b.dnat !== null);
    expect(svc.map((b: { dnat: string; chosen: boolean; hop: number }) => [b.dnat, b.chosen, b.hop])).toEqual(
      [
        ['10.244.0.5:8080', false, 7],
        ['10.244.1.3:8080', true, 7],
        ['10.244.2.2:8080', false, 7],
      ],
    );
    expect(svc[0].probability).toBeCloseTo(1 / 3, 12);
    expect(svc[1].decidedBy.chain).toBe(SVC_CHAIN);
    expect(j.branches[0]).toMatchObject({ target: 'node-1', chosen: true, hop: 2, dnat: null });
  });

  it('shows a VXLAN packet as the inner frame with the outer headers under encap', () => {
    const enc = j.hops[10];
    expect(enc.component).toBe('vxlan');
    expect(enc.after.ip).toMatchObject({ src: '10.244.0.0', dst: '10.244.1.3' });
    expect(enc.after.eth).toEqual({ src: '3e:a1:5c:22:8f:01', dst: '3e:a1:5c:22:8f:02' });
    expect(enc.after.encap.vni).toBe(1);
    expect(enc.after.encap.outer.ip).toMatchObject({
      src: '192.168.1.10',
      dst: '192.168.1.11',
      protocol: 17,
      df: false,
    });
    expect(enc.after.encap.outer.l4).toEqual({ kind: 'udp', sport: 41357, dport: 8472 });
    // Outer length = 20 IP + 8 UDP + 8 VXLAN + 14 inner Ethernet + the 40-byte inner SYN.
    expect(enc.after.encap.outer.ip.totalLength).toBe(90);
    expect(enc.before.encap).toBeNull();
    expect(enc.changes[0]).toMatchObject({ field: 'encap', tag: 'encapsulate' });
  });

  it('has the return leg, what the client observes, and conntrack', () => {
    expect(j.return.disposition).toBe('DELIVERED');
    expect(j.return.observedSource).toBe('203.0.113.50:80');
    expect(j.return.delivered.pod).toBeNull();
    expect(j.return.hops[3].changes.map((c: { tag: string }) => c.tag)).toEqual(['un-DNAT', 'un-SNAT']);
    expect(j.conntrack[0].node).toBe('node-1');
    expect(j.conntrack[0].entries[0]).toMatch(/^tcp {6}6 60 SYN_RECV src=198\.51\.100\.5 /);
  });

  it('writes no bigint and no undefined anywhere', () => {
    const text = renderTraceJson(northSouth());
    expect(text).not.toMatch(/undefined|\d+n\b/);
    expect(() => JSON.stringify(traceToJson(northSouth()))).not.toThrow();
  });

  it('packetJson keeps ICMP echo ids and writes IPv6 in its canonical text form', () => {
    const p = packetJson(
      makePacket({
        src: IPAddr.parse('fd00:10:244:1::3'),
        dst: IPAddr.parse('FD00:0:0:0:0:0:0:a'),
        l4: { kind: 'icmp', type: 128, code: 0, id: 7, seq: 1 },
      }),
    );
    expect(p.l4).toEqual({ kind: 'icmp', type: 128, code: 0, id: 7, seq: 1 });
    expect(p.ip).toMatchObject({ version: 6, src: 'fd00:10:244:1::3', dst: 'fd00::a', protocol: 58 });
    expect(checkSchema({ $defs: schema.$defs, $ref: '#/$defs/packet' }, p)).toEqual([]);
  });
});

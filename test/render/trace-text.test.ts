import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makePacket, type Packet, tcp } from '../../src/net/packet.js';
import { pcapFile } from '../../src/render/pcap.js';
import { formatProbability, packetChanges } from '../../src/render/trace-changes.js';
import { packetText, renderTraceText, wrap } from '../../src/render/trace-text.js';
import type { Trace } from '../../src/trace/types.js';
import { trace as traceArb } from './trace-arbitrary.js';
import { DISPOSITIONS, dnsLookup, ending, ip, northSouth, SEP, SVC_CHAIN } from './trace-fixtures.js';

const ANSI = /\x1b\[[0-9;]*m/;

/** The value printed after a detail label, re-joined across its wrapped continuation lines. */
function detail(text: string, label: string, nth = 0): string {
  const lines = text.split('\n');
  const starts = lines
    .map((l, i) => (l.startsWith(`      ${label.padEnd(8)}`) ? i : -1))
    .filter((i) => i >= 0);
  const i = starts[nth];
  if (i === undefined) throw new Error(`no "${label}" line #${nth}`);
  const parts = [lines[i]!.slice(14)];
  for (let j = i + 1; j < lines.length && lines[j]!.startsWith(' '.repeat(16)); j++)
    parts.push(lines[j]!.slice(16));
  return parts.join(' ');
}

describe('renderTraceText on the north–south journey', () => {
  const text = renderTraceText(northSouth());

  it('matches the reviewed golden rendering', async () => {
    await expect(text).toMatchFileSnapshot('golden/trace-north-south.txt');
  });

  it('fits a 100-column terminal and uses no colour unless asked', () => {
    for (const line of text.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(100);
    expect(text).not.toMatch(ANSI);
    expect(renderTraceText(northSouth(), { color: true })).toMatch(ANSI);
  });

  it('quotes every deciding rule and route exactly, even when wrapped', () => {
    const t = northSouth();
    const rules = t.hops.filter((h) => h.decidedBy?.kind === 'iptables-rule').map((h) => h.decidedBy!.text);
    rules.forEach((r, i) => {
      expect(detail(text, 'rule', i)).toBe(r);
    });
    expect(detail(text, 'rule', 5)).toBe(
      `-A ${SEP('10.244.1.3:8080')} -p tcp -m comment --comment "default/my-app" -m tcp -j DNAT --to-destination 10.244.1.3:8080`,
    );
    expect(detail(text, 'route', 1)).toBe('10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink');
  });

  it('groups hops by node, netns and interface', () => {
    const headers = text.split('\n').filter((l) => /^(node|pod|lb|external)\//.test(l));
    expect(headers.slice(0, 6)).toEqual([
      'external/client · dev eth0',
      'lb/203.0.113.50 · netns lb',
      'node/node-1 · netns root · dev eth0',
      'node/node-1 · netns root · dev flannel.1',
      'node/node-2 · netns root · dev flannel.1',
      'node/node-2 · netns root · dev cni0',
    ]);
    expect(text).toMatch(/^ {3}3 {2}L3 {2}netfilter · jump +nat PREROUTING #1$/m);
  });

  it('marks DNAT, MASQUERADE, the TTL, the mark and the reply’s reverse NAT', () => {
    expect(text).toContain('change  dst 192.168.1.10:30080 → 10.244.1.3:8080 (DNAT)');
    expect(text).toContain(
      'change  src 198.51.100.5:54321 → 10.244.0.0:54321 (MASQUERADE); mark 0x4000 → 0x0',
    );
    expect(text).toContain('change  TTL 64 → 63');
    expect(text).toContain('change  mark 0x0 → 0x4000');
    expect(detail(text, 'change', 10)).toBe(
      'src 10.244.1.3:8080 → 192.168.1.10:30080 (un-DNAT); dst 10.244.0.0:54321 → 198.51.100.5:54321 (un-SNAT)',
    );
  });

  it('shows VXLAN as outer … [VXLAN vni 1] then the inner packet', () => {
    expect(text).toContain(
      '      after   outer IP 192.168.1.10.41357 > 192.168.1.11.8472 [VXLAN vni 1]\n' +
        '              inner IP 10.244.0.0.54321 > 10.244.1.3.8080: Flags [S], length 0\n',
    );
    expect(text).toContain('decapsulated: outer 192.168.1.10.41357 > 192.168.1.11.8472 [VXLAN vni 1]');
  });

  it("lists kube-proxy's random choice with probabilities and the followed branch", () => {
    expect(text).toContain('choice  1/3 → 10.244.0.5:8080  via KUBE-SEP-');
    expect(text).toContain(`1/3 → 10.244.1.3:8080  via ${SEP('10.244.1.3:8080')}  (followed, seed 1)`);
    expect(text).toMatch(/nat KUBE-SVC-[A-Z2-7]{16} #3$/m);
    expect(SVC_CHAIN).toMatch(/^KUBE-SVC-[A-Z2-7]{16}$/);
  });

  it('names the delivery, the source the pod observes, the return path and conntrack', () => {
    expect(text).toContain('\nDELIVERED  default/my-app-6d8f7b9c5d-m4q9z accepts TCP on 10.244.1.3:8080.\n');
    expect(text).toContain('  received by default/my-app-6d8f7b9c5d-m4q9z on 10.244.1.3:8080\n');
    expect(text).toContain(
      'it sees the connection come from 10.244.0.0:54321: source NAT, the sender was 198.51.100.5',
    );
    expect(text).toContain('external (198.51.100.5) sees the reply come from 203.0.113.50:80');
    expect(text).toMatch(/^ {2}r4 {2}L3 {2}conntrack · reverse NAT$/m);
    expect(text).toContain(
      '    tcp      6 60 SYN_RECV src=198.51.100.5 dst=192.168.1.10 sport=54321 dport=30080\n' +
        '        src=10.244.1.3 dst=10.244.0.0 sport=8080 dport=54321 mark=0 use=1\n',
    );
  });

  it('--explain: one sentence per hop instead of rules and packets', async () => {
    const t = northSouth();
    const ex = renderTraceText(t, { explain: true });
    await expect(ex).toMatchFileSnapshot('golden/trace-north-south-explain.txt');
    expect(ex).not.toContain('-A KUBE-');
    expect(ex).not.toContain('Flags [S]');
    const flat = ex.replace(/\n {6}/g, ' ');
    for (const h of [...t.hops, ...t.return!.hops]) expect(flat).toContain(h.explanation);
  });

  it('says a forced endpoint was forced, not drawn', () => {
    const t = northSouth();
    const forced: Trace = {
      ...t,
      request: { ...t.request, forcedEndpoint: 'default/my-app-6d8f7b9c5d-m4q9z' },
    };
    const out = renderTraceText(forced);
    expect(out).toContain(
      `1/3 → 10.244.1.3:8080  via ${SEP('10.244.1.3:8080')}  (followed, forced by --endpoint)`,
    );
    expect(out).toContain('1/3 → node-1  (followed, seed 1)');
    expect(out).toContain('endpoint forced to default/my-app-6d8f7b9c5d-m4q9z (--endpoint)');
  });
});

describe('renderTraceText for every disposition', () => {
  for (const d of DISPOSITIONS) {
    it(d, () => {
      const t = ending(d);
      const out = renderTraceText(t);
      expect(out).toContain(`\n${d}  ${t.reason}\n`);
      if (d === 'DELIVERED') {
        expect(out).toContain('received by shop/db-0 on 10.244.2.7:8080');
        expect(out).toContain('not traced (--no-return).');
      } else {
        expect(out).not.toContain('received by');
        expect(out).toContain('none: the packet was not delivered, so there is no reply.');
      }
      const last = t.hops.at(-1)?.decidedBy;
      if (last) expect(out.replace(/\n {16}/g, ' ')).toContain(last.text);
      if (d.startsWith('DNS_')) {
        expect(out).toContain('DNS  getaddrinfo("no-such-svc") with the glibc resolver: EAI_NONAME');
        expect(out).toContain('resolv  search default.svc.cluster.local svc.cluster.local cluster.local');
      }
    });
  }
});

describe('the DNS step', () => {
  it('shows the lookup, each query and its packet journey before the hops', () => {
    const t = { ...ending('DELIVERED'), dns: dnsLookup('DELIVERED', ending('DELIVERED')) };
    const out = renderTraceText(t);
    expect(out).toContain(
      [
        'DNS  getaddrinfo("my-app") with the glibc resolver: OK 10.96.0.15',
        '      resolv  search default.svc.cluster.local svc.cluster.local cluster.local',
        '              nameserver 10.96.0.10',
        '              options ndots:5',
        '      query   my-app.default.svc.cluster.local. A @10.96.0.10 → NOERROR (CoreDNS)',
        '              my-app.default.svc.cluster.local.\t30\tIN\tA\t10.96.0.15',
        '              packet: 2 hops, DELIVERED',
      ].join('\n'),
    );
    expect(out.indexOf('DNS  ')).toBeLessThan(out.indexOf('   1  L3'));
    const timeout = renderTraceText(ending('DNS_TIMEOUT'));
    expect(timeout).toContain('→ timeout (no answer)');
    expect(timeout).toContain('no reply within 5 s');
    expect(timeout).toContain('waited  10000 ms for replies that never came');
  });
});

describe('formatProbability', () => {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  it('writes n/d in lowest terms for every fraction with d ≤ 64', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 1, max: 63 }), (d, n) => {
        fc.pre(n < d);
        const g = gcd(n, d);
        expect(formatProbability(n / d)).toBe(`${n / g}/${d / g}`);
      }),
    );
  });
  it("reads kube-proxy's printed probabilities (statistic --probability, 11 decimals)", () => {
    // From a real KUBE-SVC chain (the seeds' and proxier_test.go's 0.3333333333x / 0.5000000000).
    expect(formatProbability(0.33333333349)).toBe('1/3');
    expect(formatProbability(0.5)).toBe('1/2');
    expect(formatProbability(0.2)).toBe('1/5');
    expect(formatProbability(1)).toBe('1/1');
    expect(formatProbability(0.7123)).toBe('71.2%');
  });
});

describe('packetChanges', () => {
  const base = makePacket({ src: ip('10.244.0.5'), dst: ip('10.96.0.15'), l4: tcp(40000, 80) });
  type Mut = 'src' | 'dst' | 'ttl' | 'mark' | 'df';
  const apply = (p: Packet, m: Mut): Packet => {
    switch (m) {
      case 'src':
        return { ...p, ip: { ...p.ip, src: ip('192.168.1.10') } };
      case 'dst':
        return { ...p, ip: { ...p.ip, dst: ip('10.244.1.3') } };
      case 'ttl':
        return { ...p, ip: { ...p.ip, ttl: p.ip.ttl - 1 } };
      case 'mark':
        return { ...p, mark: 0x4000 };
      case 'df':
        return { ...p, ip: { ...p.ip, df: !p.ip.df } };
    }
  };
  const FIELD: Record<Mut, string> = { src: 'src', dst: 'dst', ttl: 'TTL', mark: 'mark', df: 'DF' };

  it('reports exactly the fields that were rewritten', () => {
    fc.assert(
      fc.property(fc.subarray<Mut>(['src', 'dst', 'ttl', 'mark', 'df']), (muts) => {
        const after = muts.reduce(apply, base);
        const fields = packetChanges(base, after, 'forward', 'forward').map((c) => c.field);
        expect(new Set(fields)).toEqual(new Set(muts.map((m) => FIELD[m])));
      }),
    );
  });

  it('tags address rewrites by direction: NAT forward, conntrack undoing it on the reply', () => {
    const after = apply(apply(base, 'src'), 'dst');
    expect(packetChanges(base, after, 'DNAT', 'forward').map((c) => c.tag)).toEqual(['SNAT', 'DNAT']);
    expect(packetChanges(base, after, 'MASQUERADE', 'forward')[0]!.tag).toBe('MASQUERADE');
    expect(packetChanges(base, after, 'reverse NAT', 'return').map((c) => c.tag)).toEqual([
      'un-DNAT',
      'un-SNAT',
    ]);
  });
});

describe('layout', () => {
  it('wrap keeps words whole and within the width', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z]{1,12}$/), { maxLength: 60 }),
        fc.integer({ min: 20, max: 120 }),
        (ws, w) => {
          const lines = wrap(ws.join(' '), w, '  ', '    ');
          for (const l of lines) expect(l.length).toBeLessThanOrEqual(w);
          expect(
            lines
              .map((l) => l.trim())
              .join(' ')
              .trim(),
          ).toBe(ws.join(' '));
        },
      ),
    );
  });

  it('every line of any trace fits the width unless one word alone is wider', () => {
    fc.assert(
      fc.property(traceArb, fc.boolean(), (t, explain) => {
        const out = renderTraceText(t, { explain });
        for (const line of out.split('\n')) {
          if ([...line].length <= 100) continue;
          expect(
            line.split(' ').some((w) => w.length > 100 - 20),
            line,
          ).toBe(true);
        }
        for (const h of t.hops) expect(out).toMatch(new RegExp(`^ +${h.n}  `, 'm'));
        expect(out).toMatch(new RegExp(`\\n${t.disposition}( {2}|\\n)`));
      }),
      { numRuns: 150 },
    );
  });
});

// The packet lines are tcpdump's: the same packets written to a pcap and read back by the real tcpdump print
// the same addresses, ports and flags (tcpdump adds seq/win/options, which the trace leaves out).
const tcpdump = ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].find((p) => existsSync(p));
describe.skipIf(!tcpdump && process.env.CI !== 'true')('packet lines against the real tcpdump', () => {
  it('match `tcpdump -n -r` on the same packets', () => {
    if (!tcpdump) throw new Error('tcpdump is not installed (apt-get install -y tcpdump)');
    const t = northSouth();
    const packets = [...t.hops, ...t.return!.hops]
      .flatMap((h) => [h.before, h.after])
      .filter((p) => !p.encap);
    const dir = mkdtempSync(join(tmpdir(), 'kpath-trace-'));
    try {
      const file = join(dir, 'trace.pcap');
      writeFileSync(file, pcapFile(packets, { linkType: 'raw' }));
      const real = execFileSync(tcpdump, ['-n', '-r', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\S+ /, '').replace(/, (seq|ack|win) [\d:]+|, options \[[^\]]*\]/g, ''));
      expect(packets.map((p) => packetText(p).join(' '))).toEqual(real);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

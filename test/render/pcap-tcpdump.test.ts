// Our pcap files read by the real tcpdump (4.99 on Debian 12): no warnings, every checksum tcpdump checks is
// "correct"/"ok", and the lines an SRE would see. On port 8472 (flannel's VXLAN port) tcpdump's default decoder is
// OTV (Cisco Overlay Transport Virtualization, same 8-byte header layout): `-T vxlan` makes it print VXLAN, while
// 4789 (IANA's VXLAN port) decodes as VXLAN without options. Wireshark likewise needs "Decode As" for 8472.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encapVxlan, type Packet } from '../../src/net/packet.js';
import { tracePcap } from '../../src/render/pcap.js';
import type { Trace } from '../../src/trace/types.js';
import { portUnreachableTrace, udpReplyTrace, vxlanSynTrace } from './pcap-traces.js';

function tcpdumpMissing(): string | undefined {
  try {
    execFileSync('sh', ['-c', 'command -v tcpdump'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'tcpdump is not installed (apt-get install -y tcpdump)';
  }
}

const missing = tcpdumpMissing();
const inCI = process.env.CI === 'true';
const dir = mkdtempSync(join(tmpdir(), 'kpath-tcpdump-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Read {
  stdout: string;
  stderr: string;
}

function tcpdump(name: string, trace: Trace, args: string[]): Read {
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, tracePcap(trace));
  // tcpdump writes its "reading from file" banner (and any warning) to stderr; capture both streams.
  // TZ=UTC: without -tt tcpdump prints the local time of day.
  const out = execFileSync('sh', ['-c', `tcpdump -r "$0" "$@" 2>"$0.err"`, file, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  const err = execFileSync('cat', [`${file}.err`], { encoding: 'utf8' });
  return { stdout: out, stderr: err };
}

const banner = (link: string) => `reading from file ${link}, snapshot length 262144\n`;
const PROBLEMS = /incorrect|bad cksum|wrong|\[\|[a-z0-9]+\]|truncated|invalid/i;

describe.skipIf(missing !== undefined && !inCI)(
  `tcpdump reads our files${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('has its prerequisite', () => {
      expect(missing).toBeUndefined();
    });

    it('prints a VXLAN-encapsulated TCP SYN on flannel’s port 8472 as VXLAN with -T vxlan', () => {
      const r = tcpdump('syn', vxlanSynTrace(), ['-nn', '-v', '-tt', '-T', 'vxlan']);
      expect(r.stderr.replace(/file \S+, /, 'file F, ')).toBe(banner('F, link-type EN10MB (Ethernet)'));
      expect(r.stdout).not.toMatch(PROBLEMS);
      const lines = r.stdout.split('\n');
      const at = lines.findIndex((l) => l.includes('8472: VXLAN'));
      expect(lines.slice(at - 1, at + 3)).toEqual([
        '946684800.000003 IP (tos 0x0, ttl 64, id 0, offset 0, flags [none], proto UDP (17), length 90)',
        '    192.168.1.10.51234 > 192.168.1.11.8472: VXLAN, flags [I] (0x08), vni 1',
        'IP (tos 0x0, ttl 63, id 7238, offset 0, flags [DF], proto TCP (6), length 40)',
        '    10.244.0.5.45678 > 10.244.1.3.8080: Flags [S], cksum 0xc81b (correct), seq 1000, win 64240, length 0',
      ]);
      // The first record is the SYN leaving the pod; the last the SYN-ACK delivered back to it, TTL spent twice.
      expect(lines[0]).toBe(
        '946684800.000000 IP (tos 0x0, ttl 64, id 7238, offset 0, flags [DF], proto TCP (6), length 40)',
      );
      expect(lines.at(-2)).toBe(
        '    10.244.1.3.8080 > 10.244.0.5.45678: Flags [S.], cksum 0xb482 (correct), seq 5000, ack 1001, win 64240, length 0',
      );
      expect(lines.filter((l) => /^\d+\.\d{6} /.test(l))).toHaveLength(9);
    });

    it('prints the same packet on 8472 as OTV without -T vxlan (tcpdump’s port table, not a malformed packet)', () => {
      const r = tcpdump('syn-otv', vxlanSynTrace(), ['-nn']);
      expect(r.stdout).toContain(
        '00:00:00.000003 IP 192.168.1.10.51234 > 192.168.1.11.8472: OTV, flags [I] (0x08), overlay 0, instance 1\n' +
          'IP 10.244.0.5.45678 > 10.244.1.3.8080: Flags [S], seq 1000, win 64240, length 0\n',
      );
    });

    it('decodes VXLAN on 4789 without options, and shows the inner MACs with -e', () => {
      const t = vxlanSynTrace();
      const to4789 = (p: Packet): Packet =>
        p.encap && p.l4?.kind === 'udp'
          ? encapVxlan(p.encap.inner, {
              src: p.ip.src,
              dst: p.ip.dst,
              sport: p.l4.sport,
              dport: 4789,
              vni: p.encap.vni,
              ...(p.eth ? { eth: p.eth } : {}),
            })
          : p;
      const t4789: Trace = {
        ...t,
        hops: t.hops.map((h) => ({ ...h, before: to4789(h.before), after: to4789(h.after) })),
      };
      const r = tcpdump('syn-4789', t4789, ['-nn', '-e']);
      expect(r.stdout).toContain(
        '00:00:00.000003 52:54:00:00:01:0a > 52:54:00:00:01:0b, ethertype IPv4 (0x0800), length 104: ' +
          '192.168.1.10.51234 > 192.168.1.11.4789: VXLAN, flags [I] (0x08), vni 1\n' +
          'aa:aa:aa:00:00:0a > aa:aa:aa:00:00:0b, ethertype IPv4 (0x0800), length 54: ' +
          '10.244.0.5.45678 > 10.244.1.3.8080: Flags [S], seq 1000, win 64240, length 0\n',
      );
    });

    it('prints the ICMP port unreachable with the datagram it quotes', () => {
      const r = tcpdump('unreach', portUnreachableTrace(), ['-nn', '-vv']);
      expect(r.stderr.replace(/file \S+, /, 'file F, ')).toBe(banner('F, link-type RAW (Raw IP)'));
      expect(r.stdout).not.toMatch(PROBLEMS);
      expect(r.stdout).toContain(
        '00:00:00.000002 IP (tos 0xc0, ttl 64, id 30402, offset 0, flags [none], proto ICMP (1), length 61)\n' +
          '    10.244.1.3 > 10.244.0.5: ICMP 10.244.1.3 udp port 9999 unreachable, length 41\n' +
          '\tIP (tos 0x0, ttl 64, id 9784, offset 0, flags [DF], proto UDP (17), length 33)\n' +
          '    10.244.0.5.41000 > 10.244.1.3.9999: [udp sum ok] UDP, length 5\n',
      );
    });

    it('prints the UDP reply with the service IP as its source after reverse NAT, checksums ok', () => {
      const r = tcpdump('udp', udpReplyTrace(), ['-nn', '-vv', '-tt']);
      expect(r.stdout).not.toMatch(PROBLEMS);
      expect(r.stdout).toBe(
        [
          '946684800.000000 IP (tos 0x0, ttl 64, id 7, offset 0, flags [DF], proto UDP (17), length 68)',
          '    10.244.0.5.53001 > 10.96.0.20.9000: [udp sum ok] UDP, length 40',
          '946684800.000001 IP (tos 0x0, ttl 64, id 7, offset 0, flags [DF], proto UDP (17), length 68)',
          '    10.244.0.5.53001 > 10.244.1.3.9000: [udp sum ok] UDP, length 40',
          '946684800.000002 IP (tos 0x0, ttl 64, id 9, offset 0, flags [DF], proto UDP (17), length 84)',
          '    10.244.1.3.9000 > 10.244.0.5.53001: [udp sum ok] UDP, length 56',
          '946684800.000003 IP (tos 0x0, ttl 64, id 9, offset 0, flags [DF], proto UDP (17), length 84)',
          '    10.96.0.20.9000 > 10.244.0.5.53001: [udp sum ok] UDP, length 56',
          '',
        ].join('\n'),
      );
    });
  },
);

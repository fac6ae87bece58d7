// Differential test against the real kernel: a live capture (see kernel-capture.ts) of RSTs, ICMP errors, echo,
// UDP and flannel-style VXLAN, each frame parsed and serialised again by src/net/wire.ts and compared with the
// kernel's bytes. `KPATH_UPDATE_FIXTURES=1` also refreshes fixtures/kernel-capture.pcap from the live capture.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureKernelPackets, checkCapture, missingCapturePrerequisite } from './kernel-capture.js';

const missing = missingCapturePrerequisite();
const inCI = process.env.CI === 'true';

describe.skipIf(missing !== undefined && !inCI)(
  `live kernel capture${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('has its prerequisites', () => {
      expect(missing).toBeUndefined();
    });

    it('our serialisation of every captured frame equals the kernel’s bytes', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kpath-capture-'));
      try {
        const pcap = await captureKernelPackets(join(dir, 'live.pcap'));
        if (process.env.KPATH_UPDATE_FIXTURES === '1') {
          const fixture = new URL('./fixtures/kernel-capture.pcap', import.meta.url);
          writeFileSync(fixture, pcap);
          writeFileSync(
            new URL('./fixtures/kernel-capture.txt', import.meta.url),
            execFileSync('tcpdump', ['-r', fixture.pathname, '-nn', '-v', '-e'], {
              encoding: 'utf8',
              stdio: ['ignore', 'pipe', 'ignore'],
            }),
          );
        }
        const c = checkCapture(pcap);
        expect(c.mismatches).toEqual([]);
        // Every kind of frame the traffic produces must be there, so an empty capture cannot pass.
        for (const kind of [
          'IPv4 TCP [RST,ACK]',
          'IPv4 UDP',
          'IPv4 ICMP 3/3',
          'IPv4 ICMP 8/0',
          'IPv4 ICMP 0/0',
          'VXLAN(IPv4 TCP [RST,ACK]) IPv4 UDP',
          'VXLAN(IPv4 UDP) IPv4 UDP',
          'VXLAN(IPv4 ICMP 3/3) IPv4 UDP',
          'IPv6 TCP [RST,ACK]',
          'IPv6 UDP',
          'IPv6 ICMP 1/4',
          'IPv6 ICMP 128/0',
          'IPv6 ICMP 129/0',
        ]) {
          expect(c.exact).toContain(kind);
        }
        expect(c.fieldwise).toEqual(
          expect.arrayContaining(['IPv4 TCP [SYN]', 'VXLAN(IPv4 TCP [SYN]) IPv4 UDP', 'IPv6 TCP [SYN]']),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 30_000);
  },
);

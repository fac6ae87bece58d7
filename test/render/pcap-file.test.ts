// The pcap container: its header against the one tcpdump itself wrote on this machine, the record order of a
// trace, timestamps, link type choice, snaplen, and the one function that writes a file.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IPAddr } from '../../src/net/ip.js';
import { makePacket, udp } from '../../src/net/packet.js';
import { serializeFrame, serializeIp } from '../../src/net/wire.js';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  PCAP_EPOCH_SECONDS,
  PCAP_SNAPLEN,
  pcapFile,
  pcapTimestamp,
  readPcap,
  tracePackets,
  tracePcap,
  writeTracePcap,
} from '../../src/render/pcap.js';
import type { Trace } from '../../src/trace/types.js';
import { checksumErrors, checksumErrorsIp } from './checksum-model.js';
import { portUnreachableTrace, udpReplyTrace, vxlanSynTrace } from './pcap-traces.js';
import { northSouth } from './trace-fixtures.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const tcpdumpWritten = readFileSync(new URL('./fixtures/kernel-capture.pcap', import.meta.url));

describe('pcap file layout', () => {
  it('writes the same 24-byte global header as `tcpdump -w` on an Ethernet interface here', () => {
    // d4c3b2a1 = magic a1b2c3d4 little-endian, version 2.4, thiszone 0, sigfigs 0, snaplen 262144, linktype 1.
    expect(hex(tcpdumpWritten.subarray(0, 24))).toBe('d4c3b2a10200040000000000000000000000040001000000');
    expect(hex(tracePcap(vxlanSynTrace()).subarray(0, 24))).toBe(hex(tcpdumpWritten.subarray(0, 24)));
  });

  it('has one record for the packet before hop 1, one per hop after it, then the same for the return leg', () => {
    const t = vxlanSynTrace();
    const cap = readPcap(tracePcap(t));
    expect(cap.linkType).toBe(LINKTYPE_ETHERNET);
    expect(cap.snaplen).toBe(PCAP_SNAPLEN);
    const ret = t.return!.hops;
    const expected = [
      t.hops[0]!.before,
      ...t.hops.map((h) => h.after),
      ret[0]!.before,
      ...ret.map((h) => h.after),
    ];
    expect(cap.records.map((r) => hex(r.data))).toEqual(expected.map((p) => hex(serializeFrame(p))));
    expect(cap.records).toHaveLength(t.hops.length + 1 + ret.length + 1);
  });

  it('stamps records 1 µs apart from a fixed epoch, so the same trace gives the same bytes', () => {
    const cap = readPcap(tracePcap(vxlanSynTrace()));
    expect(cap.records.map((r) => [r.tsSec, r.tsFrac])).toEqual(
      cap.records.map((_, i) => [PCAP_EPOCH_SECONDS, i]),
    );
    expect(hex(tracePcap(vxlanSynTrace()))).toBe(hex(tracePcap(vxlanSynTrace())));
  });

  it('carries the microsecond into the seconds field after a million records', () => {
    expect(pcapTimestamp(999_999)).toEqual({ sec: PCAP_EPOCH_SECONDS, usec: 999_999 });
    expect(pcapTimestamp(1_000_000)).toEqual({ sec: PCAP_EPOCH_SECONDS + 1, usec: 0 });
    expect(pcapTimestamp(2_500_001)).toEqual({ sec: PCAP_EPOCH_SECONDS + 2, usec: 500_001 });
  });

  it('falls back to LINKTYPE_RAW (101) for the whole file when a packet has no Ethernet header', () => {
    const t = portUnreachableTrace();
    const cap = readPcap(tracePcap(t));
    expect(cap.linkType).toBe(LINKTYPE_RAW);
    expect(hex(cap.records[0]!.data)).toBe(hex(serializeIp(t.hops[0]!.before)));
  });

  it('writes raw IP on request even when MACs are known, and refuses Ethernet without them', () => {
    const t = vxlanSynTrace();
    const cap = readPcap(tracePcap(t, { linkType: 'raw' }));
    expect(cap.linkType).toBe(LINKTYPE_RAW);
    expect(hex(cap.records[0]!.data)).toBe(hex(serializeIp(t.hops[0]!.before)));
    expect(() => tracePcap(portUnreachableTrace(), { linkType: 'ethernet' })).toThrow(
      /packet 1 has no Ethernet header/,
    );
  });

  it('refuses a packet its 16-bit length field cannot describe rather than writing a wrapped length', () => {
    const big = (payloadLength: number) =>
      makePacket({
        src: IPAddr.parse('10.0.0.1'),
        dst: IPAddr.parse('10.0.0.2'),
        l4: udp(1, 2),
        payloadLength,
      });
    expect(readPcap(pcapFile([big(65535 - 28)])).records[0]!.origLen).toBe(65535);
    expect(() => pcapFile([big(65535 - 27)])).toThrow(/exceeds the 16-bit length field/);
  });

  it('writes only the header for a trace without hops, and skips an absent return leg', () => {
    const t = vxlanSynTrace();
    const empty: Trace = { ...t, hops: [], return: undefined };
    expect(tracePcap(empty).length).toBe(24);
    const oneWay: Trace = { ...t, return: undefined };
    expect(tracePackets(oneWay)).toHaveLength(t.hops.length + 1);
  });

  it('reads big-endian and nanosecond files as tcpdump writes them on other machines', () => {
    const be = new Uint8Array(24 + 16 + 2);
    const v = new DataView(be.buffer);
    v.setUint32(0, 0xa1b23c4d); // nanosecond magic, big-endian
    v.setUint16(4, 2);
    v.setUint16(6, 4);
    v.setUint32(16, 65535);
    v.setUint32(20, 101);
    v.setUint32(24, 7);
    v.setUint32(28, 123456789);
    v.setUint32(32, 2);
    v.setUint32(36, 60);
    const cap = readPcap(be);
    expect(cap).toMatchObject({ linkType: 101, snaplen: 65535 });
    expect(cap.records[0]).toMatchObject({ tsSec: 7, tsFrac: 123456789, origLen: 60 });
    expect(() => readPcap(new Uint8Array(24))).toThrow(/not a classic pcap/);
  });
});

describe('every record of a trace file verifies', () => {
  it.each([
    ['pod → pod over VXLAN', vxlanSynTrace],
    ['ICMP port unreachable', portUnreachableTrace],
    ['UDP reply through reverse NAT', udpReplyTrace],
    // The text renderer's north–south fixture, built by another hand: LB → NodePort → VXLAN → pod and back.
    ['north–south through a LoadBalancer', northSouth],
  ])('%s', (_, make) => {
    const cap = readPcap(tracePcap(make()));
    expect(cap.records.length).toBeGreaterThan(1);
    for (const r of cap.records) {
      expect(cap.linkType === LINKTYPE_ETHERNET ? checksumErrors(r.data) : checksumErrorsIp(r.data)).toEqual(
        [],
      );
    }
  });

  it('writes a MAC the datapath left empty as 00:00:00:00:00:00 instead of failing', () => {
    const t = vxlanSynTrace();
    const first = t.hops[0]!;
    const unresolved = {
      ...first,
      before: { ...first.before, eth: { src: first.before.eth!.src, dst: '' } },
    };
    const cap = readPcap(tracePcap({ ...t, hops: [unresolved, ...t.hops.slice(1)] }));
    expect(hex(cap.records[0]!.data.subarray(0, 6))).toBe('000000000000');
  });
});

describe('writeTracePcap', () => {
  it('writes exactly tracePcap’s bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kpath-pcap-'));
    try {
      const f = join(dir, 'trace.pcap');
      await writeTracePcap(vxlanSynTrace(), f);
      expect(hex(readFileSync(f))).toBe(hex(tracePcap(vxlanSynTrace())));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

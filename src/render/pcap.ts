// `--pcap`: a trace as a classic libpcap capture, one record per hop, readable by tcpdump and Wireshark.
// Only writeTracePcap touches the filesystem; everything else is bytes in, bytes out.
// Reading tip: tcpdump decodes UDP 8472 (flannel's VXLAN port) as OTV; `tcpdump -T vxlan -r FILE` prints VXLAN
// (4789 decodes as VXLAN by default). Wireshark needs "Decode As… VXLAN" for 8472 likewise.
import { writeFile } from 'node:fs/promises';
import type { Packet } from '../net/packet.js';
import { serializeFrame, serializeIp } from '../net/wire.js';
import type { Leg, Trace } from '../trace/types.js';

export const PCAP_MAGIC = 0xa1b2c3d4;
export const PCAP_SNAPLEN = 262144;
/** LINKTYPE_ETHERNET: every record starts with an Ethernet II header. */
export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_RAW: every record starts with the IPv4 or IPv6 header (not DLT_RAW's platform-dependent 12/14). */
export const LINKTYPE_RAW = 101;
/** The first record's time: 2000-01-01T00:00:00Z; each further record is 1 µs later, so files are reproducible. */
export const PCAP_EPOCH_SECONDS = 946684800;

export type LinkType = 'ethernet' | 'raw';

export interface PcapOptions {
  /**
   * `ethernet` needs every packet to carry MACs; `raw` writes IP packets only. Default: `ethernet` when every
   * packet has an Ethernet header, else `raw` for the whole file (classic pcap has one link type per file, and
   * made-up MACs would look like real ones to a reader).
   */
  linkType?: LinkType;
}

/**
 * The packets of a trace in capture order: the packet before the first hop, the packet after every hop, then the
 * same for the return leg. A hop that changes nothing still gets its record, so record N+1 is hop N.
 */
export function tracePackets(trace: Trace): Packet[] {
  const leg = (l: Leg | undefined): Packet[] => {
    if (!l || l.hops.length === 0) return [];
    return [l.hops[0]!.before, ...l.hops.map((h) => h.after)];
  };
  return [...leg(trace), ...leg(trace.return)];
}

/** The link type a set of packets is written with (see PcapOptions.linkType). */
export function chooseLinkType(packets: readonly Packet[], requested?: LinkType): LinkType {
  if (requested === 'ethernet') {
    const bare = packets.findIndex((p) => !p.eth);
    if (bare >= 0) throw new RangeError(`packet ${bare + 1} has no Ethernet header; use link type raw`);
    return 'ethernet';
  }
  if (requested === 'raw') return 'raw';
  return packets.every((p) => p.eth) ? 'ethernet' : 'raw';
}

/** The timestamp of record `index` (0-based): the epoch plus index microseconds. */
export function pcapTimestamp(index: number): { sec: number; usec: number } {
  return { sec: PCAP_EPOCH_SECONDS + Math.floor(index / 1_000_000), usec: index % 1_000_000 };
}

/** A classic libpcap file (magic a1b2c3d4 in little-endian order, as tcpdump writes it on x86; version 2.4). */
export function pcapFile(packets: readonly Packet[], opts: PcapOptions = {}): Uint8Array {
  const linkType = chooseLinkType(packets, opts.linkType);
  const frames = packets.map((p) => (linkType === 'ethernet' ? serializeFrame(p) : serializeIp(p)));
  // Every frame fits the snaplen (an IP packet is at most 65535 bytes), so incl_len is always orig_len.
  const size = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, PCAP_MAGIC, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, PCAP_SNAPLEN, true);
  v.setUint32(20, linkType === 'ethernet' ? LINKTYPE_ETHERNET : LINKTYPE_RAW, true);
  let at = 24;
  frames.forEach((f, i) => {
    const ts = pcapTimestamp(i);
    v.setUint32(at, ts.sec, true);
    v.setUint32(at + 4, ts.usec, true);
    v.setUint32(at + 8, f.length, true);
    v.setUint32(at + 12, f.length, true);
    out.set(f, at + 16);
    at += 16 + f.length;
  });
  return out;
}

/** The trace as a pcap file (see tracePackets for the record order). */
export function tracePcap(trace: Trace, opts: PcapOptions = {}): Uint8Array {
  return pcapFile(tracePackets(trace), opts);
}

export async function writeTracePcap(trace: Trace, path: string, opts: PcapOptions = {}): Promise<void> {
  await writeFile(path, tracePcap(trace, opts));
}

export interface PcapRecord {
  tsSec: number;
  /** Microseconds (nanoseconds for a file with the a1b23c4d magic). */
  tsFrac: number;
  data: Uint8Array;
  /** The length on the wire; more than data.length when the capture was cut at the snaplen. */
  origLen: number;
}

export interface PcapCapture {
  linkType: number;
  snaplen: number;
  records: PcapRecord[];
}

/** Reads a classic pcap file in either byte order, microsecond or nanosecond (as tcpdump -w writes them). */
export function readPcap(bytes: Uint8Array): PcapCapture {
  if (bytes.length < 24) throw new RangeError('not a pcap file: shorter than its 24-byte header');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLE = v.getUint32(0, true);
  const le = magicLE === PCAP_MAGIC || magicLE === 0xa1b23c4d;
  const magic = v.getUint32(0, le);
  if (magic !== PCAP_MAGIC && magic !== 0xa1b23c4d) {
    throw new RangeError(`not a classic pcap file (magic 0x${v.getUint32(0).toString(16)})`);
  }
  const records: PcapRecord[] = [];
  let at = 24;
  while (at + 16 <= bytes.length) {
    const incl = v.getUint32(at + 8, le);
    if (at + 16 + incl > bytes.length) throw new RangeError(`pcap record at offset ${at} is truncated`);
    records.push({
      tsSec: v.getUint32(at, le),
      tsFrac: v.getUint32(at + 4, le),
      data: bytes.subarray(at + 16, at + 16 + incl),
      origLen: v.getUint32(at + 12, le),
    });
    at += 16 + incl;
  }
  return { linkType: v.getUint32(20, le), snaplen: v.getUint32(16, le), records };
}

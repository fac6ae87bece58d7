// An independent checker for the wire tests: walks raw frame bytes by offsets (never through src/net/wire.ts)
// and verifies every checksum the brute-force way, with plain integer sums and a bit-at-a-time CRC32c.

/** Sum of the big-endian 16-bit words (odd length padded with a zero byte), unfolded. */
function wordSum(b: Uint8Array, from = 0, to = b.length): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += b[i]! * 256 + (i + 1 < to ? b[i + 1]! : 0);
  return s;
}

/** RFC 1071: data that includes a correct checksum sums to 0xffff in one's complement (0 mod 65535, not 0). */
function onesComplementOk(total: number): boolean {
  return total > 0 && total % 0xffff === 0;
}

function pseudoSum(b: Uint8Array, ipOff: number, v6: boolean, proto: number, len: number): number {
  return v6
    ? wordSum(b, ipOff + 8, ipOff + 40) + Math.floor(len / 65536) + (len % 65536) + proto
    : wordSum(b, ipOff + 12, ipOff + 20) + proto + len;
}

/** CRC32c one bit at a time (RFC 9260 appendix A's definition, no table). */
export function crc32cBitwise(b: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of b) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** checksumErrors for a bare IP packet (a LINKTYPE_RAW record). */
export function checksumErrorsIp(packet: Uint8Array): string[] {
  const frame = new Uint8Array(14 + packet.length);
  frame[12] = packet[0]! >> 4 === 6 ? 0x86 : 0x08;
  frame[13] = packet[0]! >> 4 === 6 ? 0xdd : 0x00;
  frame.set(packet, 14);
  return checksumErrors(frame);
}

/** Every checksum problem in an Ethernet frame (recursing into VXLAN on 4789/8472); empty when all verify. */
export function checksumErrors(frame: Uint8Array, where = 'frame'): string[] {
  const errs: string[] = [];
  const type = frame[12]! * 256 + frame[13]!;
  const ipOff = 14;
  let proto: number;
  let l4Off: number;
  let l4Len: number;
  const v6 = type === 0x86dd;
  if (type === 0x0800) {
    const ihl = (frame[ipOff]! & 15) * 4;
    if (!onesComplementOk(wordSum(frame, ipOff, ipOff + ihl))) errs.push(`${where}: IPv4 header checksum`);
    const total = frame[ipOff + 2]! * 256 + frame[ipOff + 3]!;
    if (total !== frame.length - ipOff)
      errs.push(`${where}: IPv4 total length ${total} vs ${frame.length - ipOff} bytes`);
    proto = frame[ipOff + 9]!;
    l4Off = ipOff + ihl;
    l4Len = total - ihl;
    if ((frame[ipOff + 6]! & 0x1f) !== 0 || frame[ipOff + 7] !== 0) return errs; // non-first fragment
  } else if (v6) {
    const plen = frame[ipOff + 4]! * 256 + frame[ipOff + 5]!;
    if (plen !== frame.length - ipOff - 40) errs.push(`${where}: IPv6 payload length ${plen}`);
    proto = frame[ipOff + 6]!;
    l4Off = ipOff + 40;
    l4Len = plen;
  } else {
    return [`${where}: ethertype ${type.toString(16)}`];
  }
  const end = l4Off + l4Len;
  if (proto === 6 || proto === 17 || (proto === 58 && v6)) {
    const sum = wordSum(frame, l4Off, end) + pseudoSum(frame, ipOff, v6, proto, l4Len);
    const stored = frame[l4Off + (proto === 6 ? 16 : proto === 17 ? 6 : 2)]! * 256;
    const zeroUdp = proto === 17 && !v6 && stored === 0 && frame[l4Off + 7] === 0;
    if (!zeroUdp && !onesComplementOk(sum))
      errs.push(`${where}: ${proto === 6 ? 'TCP' : proto === 17 ? 'UDP' : 'ICMPv6'} checksum`);
    if (proto === 17) {
      const ulen = frame[l4Off + 4]! * 256 + frame[l4Off + 5]!;
      if (ulen !== l4Len) errs.push(`${where}: UDP length ${ulen} vs ${l4Len}`);
      const dport = frame[l4Off + 2]! * 256 + frame[l4Off + 3]!;
      if ((dport === 4789 || dport === 8472) && l4Len >= 8 + 8 + 14) {
        errs.push(...checksumErrors(frame.subarray(l4Off + 16, end), `${where} > vxlan inner`));
      }
    }
  } else if (proto === 1 && !v6) {
    if (!onesComplementOk(wordSum(frame, l4Off, end))) errs.push(`${where}: ICMP checksum`);
  } else if (proto === 132) {
    const copy = Uint8Array.from(frame.subarray(l4Off, end));
    const stored = copy[8]! | (copy[9]! << 8) | (copy[10]! << 16) | (copy[11]! << 24);
    copy.fill(0, 8, 12);
    if (crc32cBitwise(copy) !== stored >>> 0) errs.push(`${where}: SCTP CRC32c`);
  }
  return errs;
}

/**
 * The frame with every IPv6 flow label zeroed (outer, and the header an ICMPv6 error quotes), the ICMPv6 checksum
 * recomputed to match. Linux sets auto flow labels (a per-flow hash); the Packet model has no flow label and
 * writes 0, so real IPv6 frames are compared after this.
 */
export function withoutFlowLabels(frame: Uint8Array): Uint8Array {
  const f = Uint8Array.from(frame);
  if (f[12] !== 0x86 || f[13] !== 0xdd) return f;
  const ip = 14;
  f[ip + 1]! &= 0xf0;
  f[ip + 2] = 0;
  f[ip + 3] = 0;
  const l4 = ip + 40;
  if (f[ip + 6] === 58 && f[l4]! < 128 && f.length >= l4 + 8 + 4 && f[l4 + 8]! >> 4 === 6) {
    const q = l4 + 8;
    f[q + 1]! &= 0xf0;
    f[q + 2] = 0;
    f[q + 3] = 0;
    f[l4 + 2] = 0;
    f[l4 + 3] = 0;
    const len = f.length - l4;
    let s = wordSum(f, l4, f.length) + pseudoSum(f, ip, true, 58, len);
    while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
    const c = ~s & 0xffff;
    f[l4 + 2] = c >> 8;
    f[l4 + 3] = c & 0xff;
  }
  return f;
}

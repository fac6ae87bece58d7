// The wire serialiser against real bytes: frames the kernel sent on this machine (fixtures/kernel-capture.pcap,
// made by kernel-capture.ts; its `tcpdump -nn -v -e` reading is fixtures/kernel-capture.txt), upstream sample
// packets, and property tests whose oracle is the independent checker in checksum-model.ts.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPAddr } from '../../src/net/ip.js';
import {
  encapVxlan,
  type IcmpHeader,
  type L4Header,
  makePacket,
  type Packet,
  type TcpFlag,
  tcp,
  udp,
} from '../../src/net/packet.js';
import {
  crc32c,
  internetChecksum,
  onesComplementSum,
  parseFrame,
  parseIp,
  serializeFrame,
  serializeIp,
} from '../../src/net/wire.js';
import { readPcap } from '../../src/render/pcap.js';
import { checksumErrors, checksumErrorsIp, crc32cBitwise } from './checksum-model.js';
import { checkCapture } from './kernel-capture.js';

const ip = IPAddr.parse;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fixture = readFileSync(new URL('./fixtures/kernel-capture.pcap', import.meta.url));
const records = readPcap(fixture).records;

describe('frames captured from the kernel (fixtures/kernel-capture.pcap)', () => {
  it('parse → serialise reproduces every frame: byte for byte, or field by field where Linux adds TCP options', () => {
    const c = checkCapture(fixture);
    expect(c.mismatches).toEqual([]);
    expect(c.exact).toEqual([
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
    ]);
    expect(c.fieldwise).toEqual(['IPv4 TCP [SYN]', 'VXLAN(IPv4 TCP [SYN]) IPv4 UDP', 'IPv6 TCP [SYN]']);
  });

  // The next three packets are built from the model with the values tcpdump printed (kernel-capture.txt), not
  // from our parser, so a field our parser and serialiser both misplaced would show here.
  it('a VXLAN-encapsulated RST built from the model equals the kernel frame (outer UDP checksum included)', () => {
    const inner = makePacket({
      src: ip('10.244.1.0'),
      dst: ip('10.244.0.0'),
      l4: { ...tcp(8080, 51500, ['RST', 'ACK']), seq: 0, ack: 4236672991 },
      eth: { src: 'aa:aa:aa:00:00:0b', dst: 'aa:aa:aa:00:00:0a' },
    });
    const outer = encapVxlan(inner, {
      src: ip('192.168.1.11'),
      dst: ip('192.168.1.10'),
      sport: 50014,
      dport: 8472,
      vni: 1,
      eth: { src: '02:00:00:00:00:0b', dst: '02:00:00:00:00:0a' },
    });
    const withId = { ...outer, ip: { ...outer.ip, id: 1068 } };
    expect(hex(serializeFrame(withId))).toBe(hex(records[7]!.data));
  });

  it('an ICMP port unreachable built from the model equals the kernel frame (tos 0xc0, quote, checksum)', () => {
    const dg = makePacket({
      src: ip('192.168.1.10'),
      dst: ip('192.168.1.11'),
      l4: udp(51810, 9999),
      payloadLength: 5,
      id: 39057,
    });
    const icmp = makePacket({
      src: ip('192.168.1.11'),
      dst: ip('192.168.1.10'),
      l4: { kind: 'icmp', type: 3, code: 3, quoted: { ip: dg.ip, l4: dg.l4! } },
      tos: 0xc0,
      df: false,
      id: 16514,
      eth: { src: '02:00:00:00:00:0b', dst: '02:00:00:00:00:0a' },
    });
    expect(hex(serializeFrame(icmp))).toBe(hex(records[3]!.data));
  });

  it('the ICMP error inside VXLAN built from the model equals the kernel frame', () => {
    const dg = makePacket({
      src: ip('10.244.0.0'),
      dst: ip('10.244.1.0'),
      l4: udp(39422, 9999),
      payloadLength: 5,
      id: 49310,
    });
    const icmp = makePacket({
      src: ip('10.244.1.0'),
      dst: ip('10.244.0.0'),
      l4: { kind: 'icmp', type: 3, code: 3, quoted: { ip: dg.ip, l4: dg.l4! } },
      tos: 0xc0,
      df: false,
      id: 12745,
      eth: { src: 'aa:aa:aa:00:00:0b', dst: 'aa:aa:aa:00:00:0a' },
    });
    const outer = encapVxlan(icmp, {
      src: ip('192.168.1.11'),
      dst: ip('192.168.1.10'),
      sport: 45986,
      dport: 8472,
      vni: 1,
      eth: { src: '02:00:00:00:00:0b', dst: '02:00:00:00:00:0a' },
    });
    expect(hex(serializeFrame({ ...outer, ip: { ...outer.ip, id: 1070 } }))).toBe(hex(records[9]!.data));
  });

  it('the SYN keeps the kernel’s ports, sequence number, flags and window; only the options are ours to drop', () => {
    const real = parseFrame(records[0]!.data);
    expect(real.l4).toEqual({
      kind: 'tcp',
      sport: 52832,
      dport: 8080,
      flags: ['SYN'],
      seq: 1522186601,
      ack: 0,
    });
    const ours = serializeFrame(real);
    // win 64240 as the kernel sent it (kernel-capture.txt line 2); 20-byte header, so length 40, not 60.
    expect(new DataView(ours.buffer).getUint16(14 + 20 + 14)).toBe(64240);
    expect(ours.length).toBe(14 + 40);
    expect(checksumErrors(ours)).toEqual([]);
  });
});

describe('checksums against independent computations', () => {
  it('computes the IPv4 header checksum of the classic example (Wikipedia "IPv4 header checksum": 0xb861)', () => {
    const p = makePacket({
      src: ip('192.168.0.1'),
      dst: ip('192.168.0.199'),
      l4: udp(1, 2),
      payloadLength: 0x73 - 28,
    });
    expect(hex(serializeIp(p).subarray(0, 20))).toBe('45000073000040004011b861c0a80001c0a800c7');
  });

  it('CRC32c matches RFC 3720 §B.4 test vectors and the check value', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('stores the SCTP CRC32c in the byte order of a real INIT (kbandla/dpkt dpkt/sctp.py test_bytearr INIT)', () => {
    const init = Buffer.from(
      '0fe40f1c000000009f78a704010000140bb7b0f9c0000fa00000a000abb7b0f9c'.replace(
        '0bb7b0f9c0000',
        'bb7b0f9c0000',
      ),
      'hex',
    );
    expect(init.length).toBe(32);
    const zeroed = Uint8Array.from(init);
    zeroed.fill(0, 8, 12);
    const le = Buffer.alloc(4);
    le.writeUInt32LE(crc32c(zeroed));
    expect(le.toString('hex')).toBe('9f78a704');
  });

  it('writes an SCTP INIT with verification tag 0 and a CRC32c the bit-wise model accepts', () => {
    const p = makePacket({
      src: ip('10.0.0.1'),
      dst: ip('10.0.0.2'),
      l4: { kind: 'sctp', sport: 5000, dport: 38412 },
    });
    const b = serializeIp(p);
    expect(b.length).toBe(20 + 12 + 20);
    expect(hex(b.subarray(24, 28))).toBe('00000000');
    expect(b[32]).toBe(1); // chunk type INIT
    expect(
      checksumErrors(serializeFrame({ ...p, eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' } })),
    ).toEqual([]);
  });

  it('sends a computed UDP checksum of 0 as 0xffff (RFC 768)', () => {
    // With sport 0 the datagram sums to S = ~checksum; a source port of 0xffff - S makes the sum 0xffff, the
    // checksum 0, which must go out as 0xffff.
    const pkt = (sport: number) =>
      serializeIp(makePacket({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), l4: udp(sport, 53) }));
    const s0 = ~((pkt(0)[26]! << 8) | pkt(0)[27]!) & 0xffff;
    const zeroSum = pkt(0xffff - s0);
    expect(hex(zeroSum.subarray(26, 28))).toBe('ffff');
    expect(checksumErrorsIp(zeroSum)).toEqual([]);
  });

  it('leaves a RST’s window at 0 as Linux does, and offers 64240 otherwise', () => {
    const win = (flags: TcpFlag[]) =>
      new DataView(
        serializeIp(makePacket({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), l4: tcp(1, 2, flags) })).buffer,
      ).getUint16(34);
    expect(win(['RST', 'ACK'])).toBe(0);
    expect(win(['SYN'])).toBe(64240);
    expect(win(['SYN', 'ACK'])).toBe(64240);
  });

  it('writes a non-first fragment with its offset and no transport header', () => {
    const p = makePacket({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), l4: udp(1, 2), payloadLength: 100 });
    const frag: Packet = { ...p, ip: { ...p.ip, df: false, fragOffset: 185 } };
    const b = serializeIp(frag);
    expect(b.length).toBe(p.ip.totalLength);
    expect(new DataView(b.buffer).getUint16(6)).toBe(185);
    expect(b.subarray(20).every((x) => x === 0)).toBe(true);
    expect(parseIp(b).ip.fragOffset).toBe(185);
  });

  it('writes the VXLAN header of RFC 7348: flags 0x08 (I), 24-bit VNI', () => {
    const inner = makePacket({
      src: ip('10.244.0.5'),
      dst: ip('10.244.1.3'),
      l4: tcp(1, 2),
      eth: { src: 'aa:aa:aa:00:00:0a', dst: 'aa:aa:aa:00:00:0b' },
    });
    const outer = encapVxlan(inner, {
      src: ip('192.168.1.10'),
      dst: ip('192.168.1.11'),
      sport: 1,
      dport: 4789,
      vni: 0xabcdef,
    });
    expect(hex(serializeIp(outer).subarray(28, 36))).toBe('08000000abcdef00');
  });

  it('gives an inner frame without MACs all-zero addresses, never invented ones', () => {
    const inner = makePacket({ src: ip('10.244.0.5'), dst: ip('10.244.1.3'), l4: tcp(1, 2) });
    const outer = encapVxlan(inner, {
      src: ip('192.168.1.10'),
      dst: ip('192.168.1.11'),
      sport: 1,
      dport: 8472,
      vni: 1,
    });
    expect(hex(serializeIp(outer).subarray(36, 48))).toBe('000000000000000000000000');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Property tests

const byte = fc.integer({ min: 0, max: 255 });
const mac = fc
  .array(byte, { minLength: 6, maxLength: 6 })
  .map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
const eth = fc.record({ src: mac, dst: mac });
const port = fc.integer({ min: 0, max: 65535 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const addr = (family: 4 | 6) =>
  family === 4
    ? u32.map((n) => IPAddr.fromBigInt(4, BigInt(n)))
    : fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((n) => IPAddr.fromBigInt(6, n));
const flags = fc.subarray<TcpFlag>(['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR']);
const tcpH = fc.record({
  kind: fc.constant('tcp' as const),
  sport: port,
  dport: port,
  flags,
  seq: u32,
  ack: u32,
});
const udpH = fc.record({ kind: fc.constant('udp' as const), sport: port, dport: port });
const sctpH = fc.record({ kind: fc.constant('sctp' as const), sport: port, dport: port });
const echo = (family: 4 | 6) =>
  fc.record({
    kind: fc.constant('icmp' as const),
    type: fc.constantFrom(...(family === 4 ? [0, 8] : [128, 129])),
    code: fc.constant(0),
    id: port,
    seq: port,
  });

interface Spec {
  family: 4 | 6;
  src: IPAddr;
  dst: IPAddr;
  l4: L4Header;
  ttl: number;
  tos: number;
  id: number;
  df: boolean;
  payloadLength: number;
  eth: { src: string; dst: string };
}

function build(s: Spec): Packet {
  const v6 = s.family === 6;
  return makePacket({
    src: s.src,
    dst: s.dst,
    l4: s.l4,
    ttl: s.ttl,
    tos: s.tos,
    // IPv6 has no identification and never fragments in the path: the model keeps id 0 and DF set.
    id: v6 ? 0 : s.id,
    df: v6 ? true : s.df,
    payloadLength: s.l4.kind === 'sctp' ? 0 : s.payloadLength,
    eth: s.eth,
  });
}

const simple = (family: 4 | 6) =>
  fc
    .record({
      src: addr(family),
      dst: addr(family),
      l4: fc.oneof(tcpH, udpH, sctpH, echo(family)),
      ttl: byte,
      tos: byte,
      id: port,
      df: fc.boolean(),
      payloadLength: fc.integer({ min: 0, max: 700 }),
      eth,
    })
    // A zero-payload UDP datagram to a VXLAN port is fine, but a random one is not a VXLAN packet: keep them apart.
    .filter((r) => r.l4.kind !== 'udp' || ![4789, 8472].includes(r.l4.dport))
    .map((r) => build({ family, ...r }));

const icmpError = (family: 4 | 6) =>
  fc
    .record({
      quoted: simple(family).filter((p) => p.l4?.kind === 'tcp' || p.l4?.kind === 'udp'),
      type: fc.constantFrom(...(family === 4 ? [3, 11, 12] : [1, 3, 4])),
      code: fc.integer({ min: 0, max: 15 }),
      ttl: byte,
      eth,
    })
    .map(({ quoted, type, code, ttl, eth: e }): Packet => {
      const l4: IcmpHeader = { kind: 'icmp', type, code, quoted: { ip: quoted.ip, l4: quoted.l4! } };
      return makePacket({
        src: quoted.ip.dst,
        dst: quoted.ip.src,
        l4,
        ttl,
        tos: 0xc0,
        df: family === 6,
        eth: e,
      });
    });

const anyFamily = fc.constantFrom<4 | 6>(4, 6);

/** IPv6 has no DF bit on the wire (encapVxlan's outer header says false, makePacket's true); parsing says true. */
function v6DfAsParsed(p: Packet): Packet {
  const ipv = p.ip.version === 6 ? { ...p.ip, df: true } : p.ip;
  return { ...p, ip: ipv, ...(p.encap ? { encap: { ...p.encap, inner: v6DfAsParsed(p.encap.inner) } } : {}) };
}
const plainPacket = anyFamily.chain((f) => simple(f));
// SCTP stays out of VXLAN: the model counts 12 SCTP bytes, the wire carries the 20-byte INIT chunk as well.
const vxlanPacket = fc
  .record({
    inner: plainPacket.filter((p) => p.l4?.kind !== 'sctp'),
    family: anyFamily,
    vni: fc.integer({ min: 0, max: 0xffffff }),
    sport: port,
    dport: fc.constantFrom(4789, 8472),
    eth,
  })
  .chain((r) =>
    fc
      .record({ src: addr(r.family), dst: addr(r.family) })
      .map(({ src, dst }) =>
        encapVxlan(r.inner, { src, dst, sport: r.sport, dport: r.dport, vni: r.vni, eth: r.eth }),
      ),
  );
const anyPacket = fc.oneof(
  plainPacket,
  vxlanPacket,
  anyFamily.chain((f) => icmpError(f)),
);

describe('properties', () => {
  it('every checksum in every frame we write verifies with the independent checker', () => {
    fc.assert(
      fc.property(anyPacket, (p) => {
        expect(checksumErrors(serializeFrame(p))).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('IPv4 headers (outer and inner) always verify to 0', () => {
    fc.assert(
      fc.property(anyPacket, (p) => {
        const check = (q: Packet, b: Uint8Array) => {
          if (q.ip.version === 4) expect(internetChecksum(b.subarray(0, 20))).toBe(0);
        };
        const b = serializeIp(p);
        check(p, b);
        if (p.encap) check(p.encap.inner, b.subarray((p.ip.version === 4 ? 20 : 40) + 16 + 14));
      }),
      { numRuns: 400 },
    );
  });

  it('serialise → parse gives back the packet (marks are not on the wire)', () => {
    fc.assert(
      fc.property(fc.oneof(plainPacket, vxlanPacket), (p) => {
        const b = serializeFrame(p);
        // Only SCTP's length differs from the model's: the INIT chunk is on the wire, not in Packet.
        const sized =
          p.l4?.kind === 'sctp' ? { ...p, ip: { ...p.ip, totalLength: p.ip.totalLength + 20 } } : p;
        const wire = v6DfAsParsed(sized);
        expect(b.length - 14).toBe(wire.ip.totalLength);
        expect(parseFrame(b)).toEqual(wire);
      }),
      { numRuns: 400 },
    );
  });

  it('ICMP errors round-trip too, the total length being the bytes written (quote included)', () => {
    fc.assert(
      fc.property(
        anyFamily.chain((f) => icmpError(f)),
        (p) => {
          const b = serializeFrame(p);
          const back = parseFrame(b);
          expect(back).toEqual({ ...p, ip: { ...p.ip, totalLength: b.length - 14 } });
          expect(hex(serializeFrame(back))).toBe(hex(b));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('onesComplementSum agrees with a BigInt sum taken mod 0xffff', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (b) => {
        let s = 0n;
        for (let i = 0; i < b.length; i += 2) s += BigInt(b[i]! * 256 + (b[i + 1] ?? 0));
        const model = s === 0n ? 0 : Number(s % 0xffffn) === 0 ? 0xffff : Number(s % 0xffffn);
        expect(onesComplementSum(b)).toBe(model);
      }),
    );
  });

  it('the table-driven CRC32c agrees with the bit-wise definition', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
        expect(crc32c(b)).toBe(crc32cBitwise(b));
      }),
    );
  });
});

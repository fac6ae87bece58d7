// DNS messages on the wire for the lab's DNS servers: queries are decoded with dns-packet; replies are
// encoded here, because CoreDNS (miekg/dns) compresses names only when a reply would not fit and then
// truncates to the client's size, and the byte count decides TC — dns-packet never compresses.
import dnsPacket from 'dns-packet';
import type { DnsReply, Rcode, ResourceRecord } from '../dns/message.js';
import { RCODE_NUMBER } from '../dns/message.js';
import { IPAddr } from '../net/ip.js';

/** One question as a server receives it. */
export interface WireQuery {
  id: number;
  name: string;
  type: string;
  rd: boolean;
  /** The client's EDNS0 OPT record, if it sent one: its UDP size and raw options. */
  edns?: { udpSize: number; options: { code: number; data: Uint8Array }[] };
}

const TYPE_NUMBER: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
};

const TYPE_NAME = new Map(Object.entries(TYPE_NUMBER).map(([k, v]) => [v, k]));

export function typeName(n: number): string {
  return TYPE_NAME.get(n) ?? `TYPE${n}`;
}

/** The question of a query, or undefined for something that is not a one-question query. */
export function decodeQuery(buf: Uint8Array): WireQuery | undefined {
  let p: dnsPacket.Packet;
  try {
    p = dnsPacket.decode(Buffer.from(buf));
  } catch {
    return undefined;
  }
  const q = p.questions?.[0];
  if (p.type !== 'query' || !q || p.questions?.length !== 1) return undefined;
  const flags = p.flags ?? 0;
  const opt = (p.additionals ?? []).find((a) => a.type === 'OPT') as
    | { udpPayloadSize?: number; options?: { code: number; data?: Buffer }[] }
    | undefined;
  const name = q.name === '' ? '.' : `${q.name}.`;
  return {
    id: p.id ?? 0,
    name,
    type: String(q.type),
    rd: (flags & dnsPacket.RECURSION_DESIRED) !== 0,
    ...(opt
      ? {
          edns: {
            udpSize: opt.udpPayloadSize ?? 512,
            options: (opt.options ?? []).map((o) => ({ code: o.code, data: new Uint8Array(o.data ?? []) })),
          },
        }
      : {}),
  };
}

// ---- encoding ----

class Writer {
  bytes: number[] = [];
  /** Lowercased suffix → offset, for name compression (RFC 1035 §4.1.4). */
  readonly names = new Map<string, number>();
  constructor(readonly compress: boolean) {}
  u8(v: number) {
    this.bytes.push(v & 0xff);
  }
  u16(v: number) {
    this.u8(v >> 8);
    this.u8(v);
  }
  u32(v: number) {
    this.u16(Math.floor(v / 65536));
    this.u16(v % 65536);
  }
  raw(b: ArrayLike<number>) {
    for (let i = 0; i < b.length; i++) this.u8(b[i] ?? 0);
  }
  name(n: string, compressible: boolean) {
    const labels = n === '.' ? [] : n.replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = this.names.get(suffix);
      if (this.compress && compressible && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.bytes.length < 0x3fff && !this.names.has(suffix)) this.names.set(suffix, this.bytes.length);
      const label = Buffer.from(labels[i] ?? '', 'utf8');
      this.u8(label.length);
      this.raw(label);
    }
    this.u8(0);
  }
}

/** The character-strings of TXT data as a zone file writes them: `"a b" "c"` or bare words. */
function txtStrings(data: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(data); m; m = re.exec(data)) out.push((m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1'));
  return out;
}

function rdata(w: Writer, rr: ResourceRecord): void {
  const f = rr.data.trim().split(/\s+/);
  const num = (i: number) => Number(f[i] ?? 0);
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      w.raw(IPAddr.parse(rr.data).toBytes());
      return;
    // miekg/dns compresses the names inside CNAME, NS, PTR, MX and SOA, never SRV's target (RFC 3597).
    case 'CNAME':
    case 'NS':
    case 'PTR':
      w.name(rr.data, true);
      return;
    case 'MX':
      w.u16(num(0));
      w.name(f[1] ?? '.', true);
      return;
    case 'SRV':
      w.u16(num(0));
      w.u16(num(1));
      w.u16(num(2));
      w.name(f[3] ?? '.', false);
      return;
    case 'SOA':
      w.name(f[0] ?? '.', true);
      w.name(f[1] ?? '.', true);
      for (let i = 2; i < 7; i++) w.u32(num(i));
      return;
    case 'TXT':
      for (const s of txtStrings(rr.data)) {
        const b = Buffer.from(s, 'utf8');
        w.u8(b.length);
        w.raw(b);
      }
      return;
    default:
      throw new Error(`cannot encode a ${rr.type} record`);
  }
}

function record(w: Writer, rr: ResourceRecord): void {
  w.name(rr.name, true);
  w.u16(TYPE_NUMBER[rr.type] ?? 0);
  w.u16(1); // IN
  w.u32(rr.ttl);
  const lenAt = w.bytes.length;
  w.u16(0);
  rdata(w, rr);
  const len = w.bytes.length - lenAt - 2;
  w.bytes[lenAt] = len >> 8;
  w.bytes[lenAt + 1] = len & 0xff;
}

/** An EDNS0 OPT pseudo-record as the reply carries it. */
export interface WireOpt {
  udpSize: number;
  options: { code: number; data: Uint8Array }[];
}

function opt(w: Writer, o: WireOpt): void {
  w.u8(0); // root
  w.u16(41);
  w.u16(o.udpSize);
  w.u32(0); // extended rcode 0, version 0, no flags
  let len = 0;
  for (const x of o.options) len += 4 + x.data.length;
  w.u16(len);
  for (const x of o.options) {
    w.u16(x.code);
    w.u16(x.data.length);
    w.raw(x.data);
  }
}

/** A reply as it goes out: the model's reply plus the message id, RD as asked and the OPT echoed. */
export interface WireReply {
  id: number;
  reply: DnsReply;
  opt?: WireOpt;
}

export function encodeReply(r: WireReply, compress = false): Uint8Array {
  const w = new Writer(compress);
  const { reply } = r;
  const f = reply.flags;
  w.u16(r.id);
  // QR, opcode QUERY, AA, TC, RD | RA, Z, rcode.
  w.u8((f.qr ? 0x80 : 0) | (f.aa ? 0x04 : 0) | (f.tc ? 0x02 : 0) | (f.rd ? 0x01 : 0));
  w.u8((f.ra ? 0x80 : 0) | (RCODE_NUMBER[reply.rcode] & 0x0f));
  w.u16(1);
  w.u16(reply.answer.length);
  w.u16(reply.authority.length);
  w.u16(reply.additional.length + (r.opt ? 1 : 0));
  w.name(reply.question.name, true);
  w.u16(TYPE_NUMBER[reply.question.type] ?? 0);
  w.u16(1);
  for (const rr of [...reply.answer, ...reply.authority, ...reply.additional]) record(w, rr);
  if (r.opt) opt(w, r.opt);
  return Uint8Array.from(w.bytes);
}

/** CoreDNS's supported EDNS0 options (request.SupportedOptions): NSID, EXPIRE, COOKIE, TCP-KEEPALIVE, PADDING. */
const SUPPORTED_OPTIONS = new Set([3, 9, 10, 11, 12]);

/**
 * What CoreDNS writes for a query (ScrubWriter: request.SizeAndDo, request.Scrub → miekg Msg.Truncate): the client's
 * OPT echoed with its supported options; sent uncompressed when it fits the client's size (UDP: 512, or
 * its EDNS0 size; TCP: 65535), else compressed and cut to whole records with TC set.
 */
export function writeReply(q: WireQuery, reply: DnsReply, proto: 'udp' | 'tcp'): Uint8Array {
  const optRR: WireOpt | undefined = q.edns
    ? { udpSize: q.edns.udpSize, options: q.edns.options.filter((o) => SUPPORTED_OPTIONS.has(o.code)) }
    : undefined;
  const base: WireReply = {
    id: q.id,
    reply: { ...reply, flags: { ...reply.flags, rd: q.rd } },
    ...(optRR ? { opt: optRR } : {}),
  };
  // RFC 6891: a size below 512 counts as 512.
  const size = proto === 'tcp' ? 65535 : Math.max(512, q.edns?.udpSize ?? 512);
  const plain = encodeReply(base);
  if (plain.length <= size) {
    // request.Scrub: a UDP reply over 1480 bytes (IPv4) is compressed anyway, to avoid fragmentation.
    return proto === 'udp' && plain.length > 1480 ? encodeReply(base, true) : plain;
  }
  // Truncate: count whole records (compressed) until one would not fit; the OPT is kept outside the budget.
  const optLen = optRR ? 11 + optRR.options.reduce((s, o) => s + 4 + o.data.length, 0) : 0;
  const sections = [reply.answer, reply.authority, reply.additional];
  const kept: ResourceRecord[][] = [[], [], []];
  let full = true;
  outer: for (const [i, rrs] of sections.entries()) {
    for (const rr of rrs) {
      const trial = kept.map((k, j) => (j === i ? [...k, rr] : k));
      const len = encodeReply(
        { ...base, reply: withSections(base.reply, trial), opt: undefined },
        true,
      ).length;
      if (len > size - optLen) {
        full = false;
        break outer;
      }
      kept[i]?.push(rr);
    }
  }
  const cut = withSections(base.reply, kept);
  return encodeReply(
    { ...base, reply: { ...cut, flags: { ...cut.flags, tc: cut.flags.tc || !full } } },
    true,
  );
}

function withSections(r: DnsReply, s: ResourceRecord[][]): DnsReply {
  return { ...r, answer: s[0] ?? [], authority: s[1] ?? [], additional: s[2] ?? [] };
}

/** A reply read back into the model's form (records as zone-file lines' parts), for comparisons. */
export function decodeReply(buf: Uint8Array): DnsReply & { id: number } {
  const p = dnsPacket.decode(Buffer.from(buf));
  const flags = p.flags ?? 0;
  const rec = (a: dnsPacket.Answer): ResourceRecord | undefined => {
    if (a.type === 'OPT') return undefined;
    const name = a.name === '' ? '.' : `${a.name}.`;
    const ttl = 'ttl' in a ? (a.ttl ?? 0) : 0;
    const d = (a as { data: unknown }).data;
    const abs = (n: string) => (n === '' ? '.' : `${n}.`);
    let data: string;
    switch (a.type) {
      case 'A':
      case 'AAAA':
        data = IPAddr.parse(String(d)).toString();
        break;
      case 'CNAME':
      case 'NS':
      case 'PTR':
        data = abs(String(d));
        break;
      case 'MX': {
        const m = d as dnsPacket.MxData;
        data = `${m.preference ?? 0} ${abs(m.exchange)}`;
        break;
      }
      case 'SRV': {
        const s = d as dnsPacket.SrvData;
        data = `${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${abs(s.target)}`;
        break;
      }
      case 'SOA': {
        const s = d as dnsPacket.SoaData;
        data = `${abs(s.mname)} ${abs(s.rname)} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
        break;
      }
      case 'TXT': {
        const parts = (Array.isArray(d) ? d : [d]) as (string | Buffer)[];
        data = parts.map((x) => `"${x.toString()}"`).join(' ');
        break;
      }
      default:
        data = String(d);
    }
    return { name, ttl, type: a.type, data };
  };
  const list = (xs: dnsPacket.Answer[] | undefined) =>
    (xs ?? []).map(rec).filter((x): x is ResourceRecord => x !== undefined);
  const q = p.questions?.[0];
  const rcodeNum = flags & 0x0f;
  const rcode = (Object.entries(RCODE_NUMBER).find(([, v]) => v === rcodeNum)?.[0] ?? 'SERVFAIL') as Rcode;
  return {
    id: p.id ?? 0,
    question: { name: q ? (q.name === '' ? '.' : `${q.name}.`) : '.', type: q ? String(q.type) : 'A' },
    rcode,
    flags: {
      qr: p.type === 'response',
      aa: (flags & dnsPacket.AUTHORITATIVE_ANSWER) !== 0,
      tc: (flags & dnsPacket.TRUNCATED_RESPONSE) !== 0,
      rd: (flags & dnsPacket.RECURSION_DESIRED) !== 0,
      ra: (flags & dnsPacket.RECURSION_AVAILABLE) !== 0,
    },
    answer: list(p.answers),
    authority: list(p.authorities),
    additional: list(p.additionals),
  };
}

/** A query as a client sends it (the lab's forward plugin, and tests). */
export function encodeQuery(id: number, name: string, type: string, rd = true): Uint8Array {
  return new Uint8Array(
    dnsPacket.encode({
      type: 'query',
      id,
      flags: rd ? dnsPacket.RECURSION_DESIRED : 0,
      questions: [{ name: name.replace(/\.$/, ''), type: type as dnsPacket.RecordType, class: 'IN' }],
    }),
  );
}

// A reply printed as dig (BIND 9.18) prints it: header, flags, OPT pseudosection, sections with
// dig's tab-stop columns. Timing and message size lines are left out (the model has neither).
import type { DnsReply, ResourceRecord } from './message.js';

export interface DigOptions {
  /** Message id shown in the header (dig's is random). */
  id?: number;
  /** CoreDNS echoes the client's EDNS0 OPT record; dig sends one by default (udp 1232). */
  edns?: boolean;
  /** When given, the `; <<>> DiG … <<>> ARGS` banner is printed with these arguments. */
  command?: string;
  /** When given, a `;; SERVER:` line follows the sections. */
  server?: string;
}

// masterdump.c indent(): fields start at tab stops (8 wide); a field already at or past its column
// gets one space instead.
class Columns {
  text = '';
  col = 0;
  field(s: string, column?: number): this {
    this.text += s;
    this.col += s.length;
    if (column === undefined) return this;
    if (this.col >= column) {
      this.text += ' ';
      this.col++;
    }
    while (this.col < column) {
      this.text += '\t';
      this.col = (Math.floor(this.col / 8) + 1) * 8;
    }
    return this;
  }
}

export function digRecordLine(rr: ResourceRecord): string {
  return new Columns()
    .field(rr.name, 24)
    .field(String(rr.ttl), 32)
    .field('IN', 40)
    .field(rr.type, 48)
    .field(rr.data).text;
}

function digQuestionLine(name: string, type: string): string {
  return new Columns().field(`;${name}`, 32).field('IN', 40).field(type).text;
}

export function printDig(reply: DnsReply, opts: DigOptions = {}): string {
  const lines: string[] = [];
  const edns = opts.edns ?? true;
  if (opts.command !== undefined) {
    lines.push('', `; <<>> DiG 9.18 <<>> ${opts.command}`, ';; global options: +cmd');
  }
  lines.push(';; Got answer:');
  if (/\.local\.?$/i.test(reply.question.name)) {
    lines.push(
      ';; WARNING: .local is reserved for Multicast DNS',
      ';; You are currently testing what happens when an mDNS query is leaked to DNS',
    );
  }
  lines.push(`;; ->>HEADER<<- opcode: QUERY, status: ${reply.rcode}, id: ${opts.id ?? 0}`);
  const f = reply.flags;
  const flags = [f.qr && 'qr', f.aa && 'aa', f.tc && 'tc', f.rd && 'rd', f.ra && 'ra']
    .filter(Boolean)
    .join(' ');
  const extra = reply.additional.length + (edns ? 1 : 0);
  lines.push(
    `;; flags: ${flags}; QUERY: 1, ANSWER: ${reply.answer.length}, AUTHORITY: ${reply.authority.length}, ADDITIONAL: ${extra}`,
  );
  if (f.rd && !f.ra) lines.push(';; WARNING: recursion requested but not available');
  lines.push('');
  if (edns) lines.push(';; OPT PSEUDOSECTION:', '; EDNS: version: 0, flags:; udp: 1232');
  lines.push(';; QUESTION SECTION:', digQuestionLine(reply.question.name, reply.question.type), '');
  const section = (title: string, rrs: ResourceRecord[]) => {
    if (rrs.length === 0) return;
    lines.push(`;; ${title} SECTION:`, ...rrs.map(digRecordLine), '');
  };
  section('ANSWER', reply.answer);
  section('AUTHORITY', reply.authority);
  section('ADDITIONAL', reply.additional);
  if (opts.server !== undefined) lines.push(`;; SERVER: ${opts.server}#53(${opts.server}) (UDP)`, '');
  return `${lines.join('\n')}\n`;
}

// Test-only builders: a tiny iptables-save reader (words, double quotes, `!`) so these tests do not depend on
// the shared parser, plus packet and context shorthands.

import type { MatchContext } from '../../src/datapath/netfilter/match.js';
import { IPAddr } from '../../src/net/ip.js';
import { makePacket, type Packet, type TcpFlag } from '../../src/net/packet.js';
import type { Chain, Rule, RuleOption, Ruleset, Table, TableName } from '../../src/node/iptables/types.js';
import { BUILTIN_CHAINS, ZERO_COUNTERS } from '../../src/node/iptables/types.js';

export function words(text: string): { word: string; quoted: boolean }[] {
  const out: { word: string; quoted: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i] as string)) {
      i++;
      continue;
    }
    if (text[i] === '"') {
      let w = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        w += text[i];
        i++;
      }
      i++;
      out.push({ word: w, quoted: true });
      continue;
    }
    let w = '';
    while (i < text.length && !/\s/.test(text[i] as string)) w += text[i++];
    out.push({ word: w, quoted: false });
  }
  return out;
}

/** Options of a rule written as iptables words (no `-A CHAIN`). */
export function ruleOf(text: string): Rule {
  const ws = words(text);
  const options: RuleOption[] = [];
  let negated = false;
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i] as { word: string; quoted: boolean };
    if (w.word === '!' && !w.quoted) {
      negated = true;
      continue;
    }
    const args: string[] = [];
    const quoted: boolean[] = [];
    while (i + 1 < ws.length) {
      const n = ws[i + 1] as { word: string; quoted: boolean };
      if (!n.quoted && (n.word === '!' || /^-{1,2}[a-zA-Z]/.test(n.word))) break;
      args.push(n.word);
      quoted.push(n.quoted);
      i++;
    }
    options.push({ negated, flag: w.word, args, ...(quoted.some((q) => q) ? { quoted } : {}) });
    negated = false;
  }
  return { options };
}

/** Reads iptables-save text (`*table`, `:CHAIN POLICY [0:0]`, `-A CHAIN ...`, `COMMIT`). */
export function rulesetOf(text: string): Ruleset {
  const tables: Table[] = [];
  let name: TableName | undefined;
  let chains = new Map<string, { policy: Chain['policy']; rules: Rule[] }>();
  const flush = () => {
    if (!name) return;
    for (const b of BUILTIN_CHAINS[name]) if (!chains.has(b)) chains.set(b, { policy: 'ACCEPT', rules: [] });
    tables.push({
      name,
      chains: [...chains].map(([n, c]) => ({
        name: n,
        policy: c.policy,
        counters: ZERO_COUNTERS,
        rules: c.rules,
      })),
    });
    name = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      flush();
      name = line.slice(1) as TableName;
      chains = new Map();
    } else if (line.startsWith(':')) {
      const [c, p] = line.slice(1).split(/\s+/);
      chains.set(c as string, { policy: (p ?? '-') as Chain['policy'], rules: [] });
    } else if (line.startsWith('-A ')) {
      const rest = line.slice(3);
      const sp = rest.indexOf(' ');
      const chain = sp < 0 ? rest : rest.slice(0, sp);
      let c = chains.get(chain);
      if (!c) {
        c = {
          policy: (name && BUILTIN_CHAINS[name].includes(chain) ? 'ACCEPT' : '-') as Chain['policy'],
          rules: [],
        };
        chains.set(chain, c);
      }
      c.rules.push(ruleOf(sp < 0 ? '' : rest.slice(sp + 1)));
    } else if (line === 'COMMIT') flush();
  }
  flush();
  return { tables };
}

export function tableOf(rs: Ruleset, name: TableName): Table {
  const t = rs.tables.find((x) => x.name === name);
  if (!t) throw new Error(`no table ${name}`);
  return t;
}

export const ip = (s: string): IPAddr => IPAddr.parse(s);

export function tcpPkt(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  flags: TcpFlag[] = ['SYN'],
): Packet {
  return makePacket({ src: ip(src), dst: ip(dst), l4: { kind: 'tcp', sport, dport, flags } });
}

export function udpPkt(src: string, sport: number, dst: string, dport: number): Packet {
  return makePacket({ src: ip(src), dst: ip(dst), l4: { kind: 'udp', sport, dport }, payloadLength: 1 });
}

/** Node addresses for `-m addrtype`: these are LOCAL, 127/8 too; everything else UNICAST. */
export function addrTypes(locals: string[]): NonNullable<MatchContext['addrType']> {
  return (a) => (a.isLoopback() || locals.some((l) => ip(l).equals(a)) ? 'LOCAL' : 'UNICAST');
}

export function ctx(over: Partial<MatchContext> = {}): MatchContext {
  return {
    hook: 'PREROUTING',
    ct: { state: 'NEW', dir: 'ORIGINAL' },
    addrType: addrTypes(['192.168.1.10']),
    now: 1000,
    ...over,
  };
}

// kube-proxy's hottest rule lines, read straight from the restore line without splitting it into words.
// In large-cluster mode (over 1,000 endpoints) kube-proxy writes the endpoint rules without comments,
// one of each per endpoint; they are ~300k of the ~330k rules of a 10,000-service, 100,000-endpoint
// node, and are stored as ShapedRules (one small object per rule; text and options from the shape):
//   -A KUBE-SVC-… -m statistic --mode random --probability P -j KUBE-SEP-…
//   -A KUBE-SVC-… -j KUBE-SEP-…
//   -A KUBE-SEP-… -s IP -j KUBE-MARK-MASQ
//   -A KUBE-SEP-… -m tcp -p tcp -j DNAT --to-destination IP:PORT
// The next two, one each per service port, are stored as plain rules built from cached parts:
//   -A KUBE-SERVICES -m comment --comment "C" -m tcp -p tcp -d CLUSTER-IP --dport N -j KUBE-SVC-…
//   -A KUBE-SVC-… -m comment --comment "C" -m tcp -p tcp -d CLUSTER-IP --dport N ! -s CIDR -j KUBE-MARK-MASQ
// Every part is the general path's (or the word-level fast path's, itself held to it by test), so the
// rule is the same whichever path reads it. Anything else — another spelling, an escaped quote, IPv6,
// a value that is not already in the kernel's form — is declined (undefined) and takes the word path,
// which owns the errors.
import {
  canonicalAddress,
  canonicalExtensionOptions,
  canonicalRule,
  isTargetExtension,
} from './canonical.js';
import { opt } from './extension.js';
import type { ShapeCanonicaliser } from './kube-proxy-shapes.js';
import { MATCHES } from './matches.js';
import { formatOption, plainWords } from './options.js';
import { type RuleShape, ShapedRule } from './shaped-rule.js';
import type { Rule, RuleOption, TableName } from './types.js';
import { CANONICAL_V4, CANONICAL_V4_PORT } from './values.js';

/** The table's chains by name; the stored rule jumps to the chain's own name string. */
export interface NamedChainLookup {
  get(name: string): { readonly builtin: boolean; readonly name: string } | undefined;
}

/** The stored rule for one line (`line` from index `from` on is the part after `-A CHAIN `), or undefined. */
export type LineCanonicaliser = (
  line: string,
  from: number,
  table: TableName,
  chains: NamedChainLookup,
) => Rule | undefined;

const STATISTIC = '-m statistic --mode random --probability ';
const COMMENT = '-m comment --comment "';
const PORT_LINES = [
  ['tcp', ' -m tcp -p tcp -d '],
  ['udp', ' -m udp -p udp -d '],
] as const;
const DNAT_LINES = [
  ['tcp', '-m tcp -p tcp -j DNAT --to-destination '],
  ['udp', '-m udp -p udp -j DNAT --to-destination '],
] as const;

/**
 * The four per-endpoint shapes from their values, for a payload whose writer hands them over
 * pre-split (restore-lines.ts); each answers exactly what the line path answers for the line the
 * writer would have written, or undefined to send that line down the line path.
 */
export interface KubeProxyLineParts {
  readonly line: LineCanonicaliser;
  /** `-j TARGET` */
  jump(target: string, chains: NamedChainLookup): Rule | undefined;
  /** `-s IP -j TARGET` */
  masq(ip: string, target: string, chains: NamedChainLookup): Rule | undefined;
  /** `-m statistic --mode random --probability P -j TARGET` */
  statistic(
    probability: string,
    target: string,
    table: TableName,
    chains: NamedChainLookup,
  ): Rule | undefined;
  /** `-m P -p P -j DNAT --to-destination IP:PORT` */
  dnat(protocol: string, to: string, table: TableName): Rule | undefined;
}

/** Line-level shapes over a word-level canonicaliser of the same restore session (for IPv4 payloads). */
export function kubeProxyLines(words: ShapeCanonicaliser): LineCanonicaliser {
  return kubeProxyLineParts(words).line;
}

/** kubeProxyLines, plus the same shapes from pre-split values. */
export function kubeProxyLineParts(words: ShapeCanonicaliser): KubeProxyLineParts {
  const jumps = new Map<string, RuleOption>();
  const jumpOption = (name: string): RuleOption => {
    let o = jumps.get(name);
    if (!o) {
      o = opt('-j', [name]);
      jumps.set(name, o);
    }
    return o;
  };
  const JUMP: RuleShape = { before: '-j ', after: '', options: (v) => [jumpOption(v)] };
  const masq = new Map<string, RuleShape>();
  const statistic = new Map<string, RuleShape | null>();
  const dnat = new Map<string, RuleShape | null>();
  // Options the word path stores for a sample line of a shape, to take the shared part from.
  const sample = (text: string, table: TableName, target: string): readonly RuleOption[] | undefined =>
    words(plainWords(text.split(' ')), table, {
      get: (n) => (n === target ? { builtin: false } : undefined),
    });

  const userChain = (line: string, at: number, chains: NamedChainLookup): string | undefined =>
    userChainNamed(line.slice(at), chains);
  const userChainNamed = (name: string, chains: NamedChainLookup): string | undefined => {
    if (isTargetExtension(name)) return undefined;
    const c = chains.get(name);
    return c && !c.builtin ? c.name : undefined;
  };

  // Stored options of the parts of the service-port lines, per value (undefined: refused).
  const general = (options: RuleOption[], table: TableName): readonly RuleOption[] | undefined => {
    try {
      return canonicalRule({ options }, table, 4).options;
    } catch {
      return undefined;
    }
  };
  const comments = new Map<string, readonly RuleOption[] | null>();
  // A lone `-m comment --comment "C"` as canonicalRule stores it (its canonicalGroup: the `-m` head,
  // then what the comment extension keeps), without grouping a whole rule for each service's comment.
  const commentMatch = MATCHES.get('comment');
  const commentOptions = (comment: string): readonly RuleOption[] | undefined => {
    if (!commentMatch) return undefined;
    try {
      const kept = canonicalExtensionOptions(
        commentMatch,
        'comment',
        [opt('--comment', [comment], false, [true])],
        { family: 4, proto: 0 },
      );
      return kept ? [opt('-m', ['comment']), ...kept] : undefined;
    } catch {
      return undefined;
    }
  };
  const portMatches = new Map<string, readonly RuleOption[] | null>();
  const notFrom = new Map<string, RuleOption | null>();

  /** `-m comment --comment "C" -m P -p P -d IP --dport N [! -s CIDR] -j CHAIN` (from at the `-m comment`). */
  const servicePortLine = (line: string, from: number, table: TableName, chains: NamedChainLookup) => {
    const q = line.indexOf('"', from + COMMENT.length);
    if (q < 0 || line.indexOf('"', q + 1) >= 0 || line.includes('\\')) return undefined;
    const comment = line.slice(from + COMMENT.length, q);
    let at = q + 1;
    const kind = PORT_LINES.find(([, text]) => line.startsWith(text, at));
    if (!kind) return undefined;
    at += kind[1].length;
    const sp = line.indexOf(' ', at);
    if (sp < 0 || !line.startsWith(' --dport ', sp)) return undefined;
    const ip = line.slice(at, sp);
    at = sp + 9;
    const sp2 = line.indexOf(' ', at);
    if (sp2 < 0 || !CANONICAL_V4.test(ip)) return undefined;
    const port = line.slice(at, sp2);
    if (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65535) return undefined;
    at = sp2;
    let negated: RuleOption | null | undefined;
    if (line.startsWith(' ! -s ', at)) {
      const sp3 = line.indexOf(' ', at + 6);
      if (sp3 < 0) return undefined;
      const cidr = line.slice(at + 6, sp3);
      negated = notFrom.get(cidr);
      if (negated === undefined) {
        negated = general([opt('-s', [cidr], true)], table)?.[0] ?? null;
        notFrom.set(cidr, negated);
      }
      if (negated?.flag !== '-s') return undefined;
      at = sp3;
    }
    if (!line.startsWith(' -j ', at)) return undefined;
    const target = userChain(line, at + 4, chains);
    if (target === undefined) return undefined;
    let c = comments.get(comment);
    if (c === undefined) {
      c = commentOptions(comment) ?? null;
      comments.set(comment, c);
    }
    const pk = `${kind[0]} ${port}`;
    let pm = portMatches.get(pk);
    if (pm === undefined) {
      // -p P -m P --dport N, as stored.
      pm = general([opt('-m', [kind[0]]), opt('-p', [kind[0]]), opt('--dport', [port])], table) ?? null;
      portMatches.set(pk, pm);
    }
    if (!c || !pm || pm.length !== 3) return undefined;
    const d = canonicalAddress('-d', opt('-d', [ip]), 4);
    if (!d) return undefined;
    // Base matches first (-s -d -p), then the matches in the order written, then the target.
    const j = jumpOption(target);
    const [m, p, dport] = pm as [RuleOption, RuleOption, RuleOption];
    return { options: negated ? [negated, d, m, ...c, p, dport, j] : [d, m, ...c, p, dport, j] };
  };

  const masqRule = (ip: string, name: string): Rule => {
    let shape = masq.get(name);
    if (!shape) {
      const j = jumpOption(name);
      shape = {
        before: '-s ',
        after: `/32 -j ${name}`,
        target: name,
        options: (v) => [opt('-s', [`${v}/32`]), j],
      };
      masq.set(name, shape);
    }
    return new ShapedRule(shape, ip);
  };
  const statisticRule = (p: string, name: string, table: TableName): Rule | undefined => {
    let shape = statistic.get(p);
    if (shape === undefined) {
      const kept = sample(`${STATISTIC}${p} -j KUBE-SEP-X`, table, 'KUBE-SEP-X');
      const head = kept?.slice(0, -1);
      shape = head?.length
        ? {
            before: `${head.map(formatOption).join(' ')} -j `,
            after: '',
            options: (v) => head.concat(jumpOption(v)),
          }
        : null;
      statistic.set(p, shape);
    }
    return shape ? new ShapedRule(shape, name) : undefined;
  };
  const dnatRule = (proto: string, text: string, to: string, table: TableName): Rule | undefined => {
    const key = `${table} ${proto}`;
    let shape = dnat.get(key);
    if (shape === undefined) {
      const kept = sample(`${text}10.0.0.1:80`, table, '');
      const last = kept?.[kept.length - 1];
      const head = kept?.slice(0, -1);
      shape =
        head && last?.flag === '--to-destination'
          ? {
              before: `${head.map(formatOption).join(' ')} --to-destination `,
              after: '',
              target: 'DNAT',
              options: (v) => head.concat(opt('--to-destination', [v])),
            }
          : null;
      dnat.set(key, shape);
    }
    return shape ? new ShapedRule(shape, to) : undefined;
  };

  const line: LineCanonicaliser = (line, from, table, chains) => {
    // Tabs and CRs change how iptables-restore splits the words: the word path reads those.
    if (line.includes('\t') || line.includes('\r')) return undefined;
    if (line.startsWith(COMMENT, from)) return servicePortLine(line, from, table, chains);
    // Quotes too, outside the one comment above.
    if (line.includes('"')) return undefined;
    if (line.startsWith('-j ', from)) {
      // -j KUBE-SEP-…
      const name = userChain(line, from + 3, chains);
      return name === undefined ? undefined : new ShapedRule(JUMP, name);
    }
    if (line.startsWith('-s ', from)) {
      // -s ENDPOINT-IP -j KUBE-MARK-MASQ: a bare canonical address is stored as a /32.
      const sp = line.indexOf(' ', from + 3);
      if (sp < 0 || !line.startsWith('-j ', sp + 1)) return undefined;
      const ip = line.slice(from + 3, sp);
      const name = CANONICAL_V4.test(ip) ? userChain(line, sp + 4, chains) : undefined;
      return name === undefined ? undefined : masqRule(ip, name);
    }
    if (line.startsWith(STATISTIC, from)) {
      // -m statistic --mode random --probability P -j KUBE-SEP-…
      const at = from + STATISTIC.length;
      const sp = line.indexOf(' ', at);
      if (sp < 0 || !line.startsWith('-j ', sp + 1)) return undefined;
      const name = userChain(line, sp + 4, chains);
      return name === undefined ? undefined : statisticRule(line.slice(at, sp), name, table);
    }
    for (const [proto, text] of DNAT_LINES) {
      if (!line.startsWith(text, from)) continue;
      // -m tcp -p tcp -j DNAT --to-destination IP:PORT: one canonical address and port is stored as written.
      const to = line.slice(from + text.length);
      return CANONICAL_V4_PORT.test(to) ? dnatRule(proto, text, to, table) : undefined;
    }
    return undefined;
  };

  // Pre-split values: a value the line path would have split differently (white space, a quote)
  // is declined, so the line is read as text.
  return {
    line,
    jump: (target, chains) => {
      if (!isPlainWord(target)) return undefined;
      const name = userChainNamed(target, chains);
      return name === undefined ? undefined : new ShapedRule(JUMP, name);
    },
    masq: (ip, target, chains) => {
      if (!CANONICAL_V4.test(ip) || !isPlainWord(target)) return undefined;
      const name = userChainNamed(target, chains);
      return name === undefined ? undefined : masqRule(ip, name);
    },
    statistic: (p, target, table, chains) => {
      if (!isPlainWord(p) || !isPlainWord(target)) return undefined;
      const name = userChainNamed(target, chains);
      return name === undefined ? undefined : statisticRule(p, name, table);
    },
    dnat: (proto, to, table) => {
      const kind = DNAT_LINES.find(([p]) => p === proto);
      return kind && CANONICAL_V4_PORT.test(to) ? dnatRule(proto, kind[1], to, table) : undefined;
    },
  };
}

/**
 * Text that is one word of a restore line, read the same by every path: not empty, printable ASCII,
 * no space and no quote (anything else is left to the text paths, which own those cases).
 */
export function isPlainWord(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x22 || c >= 0x7f) return false;
  }
  return true;
}

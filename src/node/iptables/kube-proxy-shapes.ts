// The few rule shapes kube-proxy writes by the hundred thousand (the KUBE-SVC → KUBE-SEP jumps and the
// KUBE-SEP hairpin and DNAT rules), canonicalised without the general machinery. It exists for speed
// alone: a 10,000-service payload is ~440k lines, and grouping options into extensions, keying them
// by flag and dispatching per extension dominated programming a node. It reuses the general path's
// own value canonicalisers (canonicalAddress, the extensions), so the stored rule is the same; anything
// outside these exact shapes — another spelling, a `!`, a quote, a target that is not a user chain, a
// value iptables would refuse — is declined (undefined) and takes the general path, which owns errors.
import { canonicalAddress, canonicalExtensionOptions, isTargetExtension } from './canonical.js';
import { type Extension, type ExtensionContext, opt } from './extension.js';
import { MATCHES } from './matches.js';
import { sharedOption } from './print.js';
import { protocolName, protocolNumber } from './protocols.js';
import { TARGET_TABLES, TARGETS } from './targets.js';
import type { RuleOption, TableName } from './types.js';
import type { Word } from './words.js';

/** The table's chains by name: the jump check needs an existing user chain. */
export interface ChainLookup {
  get(name: string): { readonly builtin: boolean } | undefined;
}

/** The stored options of a rule in one of kube-proxy's hot shapes, or undefined to take the general path. */
export type ShapeCanonicaliser = (
  words: readonly Word[],
  table: TableName,
  chains: ChainLookup,
) => RuleOption[] | undefined;

function known(e: Extension | undefined): Extension {
  if (!e) throw new Error('kube-proxy-shapes: an extension it relies on is not registered');
  return e;
}

const COMMENT = known(MATCHES.get('comment'));
const STATISTIC = known(MATCHES.get('statistic'));
const PORT_MATCHES = new Map([
  ['tcp', known(MATCHES.get('tcp'))],
  ['udp', known(MATCHES.get('udp'))],
]);
const DNAT = known(TARGETS.get('DNAT'));
const DNAT_TABLES = TARGET_TABLES.get('DNAT') ?? [];

/**
 * A canonicaliser for one restore session. It shares the option objects that repeat (the `-m` heads,
 * one `--probability` per value, one `--comment` per text, the jumps) between rules; rules are
 * immutable, so sharing is invisible. The repeated ones are marked sharedOption so printing formats
 * them once; option arrays are built with concat, sized exactly, as they outlive the payload.
 */
export function kubeProxyShapes(family: 4 | 6): ShapeCanonicaliser {
  const heads = new Map<string, RuleOption>();
  const head = (flag: string, name: string): RuleOption => {
    const k = `${flag} ${name}`;
    let o = heads.get(k);
    if (!o) {
      o = sharedOption(opt(flag, [name]));
      heads.set(k, o);
    }
    return o;
  };
  const statistic = new Map<string, RuleOption[] | null>();
  const noProto: ExtensionContext = { family, proto: 0 };
  const contexts = new Map<number, ExtensionContext>([[0, noProto]]);
  const comments = new Map<number, Map<string, readonly RuleOption[] | null>>();
  // The port match with no options (`-m tcp`), per protocol: its options, null for none, or REFUSED.
  const portMatches = new Map<string, RuleOption[] | null | typeof REFUSED>();

  /** `-m statistic --mode random --probability P`, as stored; null when iptables would refuse it. */
  const randomStatistic = (p: string): RuleOption[] | null => {
    let seg = statistic.get(p);
    if (seg === undefined) {
      seg =
        attempt(() => {
          const kept = canonicalExtensionOptions(
            STATISTIC,
            'statistic',
            [opt('--mode', ['random']), opt('--probability', [p])],
            noProto,
          );
          return kept ? [head('-m', 'statistic'), ...kept.map(sharedOption)] : [];
        }) ?? null;
      statistic.set(p, seg);
    }
    return seg;
  };

  const jumps = new Map<string, RuleOption>();
  // A jump to an existing user chain is stored as written; anything else the general path checks.
  const toChain = (name: string, chains: ChainLookup): RuleOption | undefined => {
    if (isTargetExtension(name) || chains.get(name)?.builtin !== false) return undefined;
    let o = jumps.get(name);
    if (!o) {
      o = opt('-j', [name]);
      jumps.set(name, o);
    }
    return o;
  };

  return (words, table, chains) => {
    const n = words.length;
    for (let k = 0; k < n; k++) if ((words[k] as Word).quoted && k !== 3) return undefined;
    let i = 0;
    let comment: string | undefined;
    if (at(words, 0, '-m') && at(words, 1, 'comment') && at(words, 2, '--comment') && n > 3) {
      comment = (words[3] as Word).text;
      i = 4;
    } else if (n > 3 && (words[3] as Word).quoted) return undefined;
    const rest = n - i;

    if (rest === 2 && at(words, i, '-j')) {
      // -j KUBE-SEP-…
      const j = toChain(text(words, i + 1), chains);
      const c = j && commentOf(comment, noProto);
      return c && j ? c.concat(j) : undefined;
    }
    if (rest === 4 && at(words, i, '-s') && at(words, i + 2, '-j')) {
      // -s ENDPOINT-IP -j KUBE-MARK-MASQ
      const j = toChain(text(words, i + 3), chains);
      const c = j && commentOf(comment, noProto);
      if (!c || !j) return undefined;
      const s = attempt(() => canonicalAddress('-s', opt('-s', [text(words, i + 1)]), family) ?? null);
      if (s === undefined) return undefined;
      // Base matches come first in iptables-save, whatever order they were written in.
      return s ? [s].concat(c, j) : c.concat(j);
    }
    if (
      rest === 8 &&
      at(words, i, '-m') &&
      at(words, i + 1, 'statistic') &&
      at(words, i + 2, '--mode') &&
      at(words, i + 3, 'random') &&
      at(words, i + 4, '--probability') &&
      at(words, i + 6, '-j')
    ) {
      // -m statistic --mode random --probability P -j KUBE-SEP-…
      const j = toChain(text(words, i + 7), chains);
      const c = j && commentOf(comment, noProto);
      const st = c && randomStatistic(text(words, i + 5));
      if (!c || !j || !st) return undefined;
      // concat sizes the array exactly: 440k rules' options arrays outlive the payload.
      return c.concat(st, j);
    }
    if (
      rest === 8 &&
      at(words, i, '-m') &&
      at(words, i + 2, '-p') &&
      at(words, i + 4, '-j') &&
      at(words, i + 5, 'DNAT') &&
      at(words, i + 6, '--to-destination')
    ) {
      // -m tcp -p tcp -j DNAT --to-destination IP:PORT
      const m = text(words, i + 1);
      const portMatch = PORT_MATCHES.get(m);
      if (!portMatch || text(words, i + 3) !== m || !DNAT_TABLES.includes(table)) return undefined;
      const proto = protocolNumber(m) as number;
      const ctx = protoContext(proto);
      const c = commentOf(comment, ctx);
      let match = portMatches.get(m);
      if (match === undefined) {
        match =
          attempt(() => canonicalExtensionOptions(portMatch, m, [], ctx)?.map(sharedOption) ?? null) ??
          REFUSED;
        portMatches.set(m, match);
      }
      const to = attempt(() =>
        canonicalExtensionOptions(DNAT, 'DNAT', [opt('--to-destination', [text(words, i + 7)])], ctx),
      );
      if (!c || match === REFUSED || !to) return undefined;
      const p = head('-p', protocolName(proto));
      return match
        ? [p].concat(c, head('-m', m), match, head('-j', 'DNAT'), to)
        : [p].concat(c, head('-j', 'DNAT'), to);
    }
    return undefined;
  };

  /** The comment's stored options; the same comment repeats on every rule of a service, so they are shared. */
  function commentOf(comment: string | undefined, ctx: ExtensionContext): readonly RuleOption[] | undefined {
    if (comment === undefined) return NONE;
    let perProto = comments.get(ctx.proto);
    if (!perProto) {
      perProto = new Map();
      comments.set(ctx.proto, perProto);
    }
    let kept = perProto.get(comment);
    if (kept === undefined) {
      kept = commentOptions(comment, ctx) ?? null;
      perProto.set(comment, kept);
    }
    return kept ?? undefined;
  }

  function commentOptions(comment: string, ctx: ExtensionContext): readonly RuleOption[] | undefined {
    const kept = attempt(() =>
      canonicalExtensionOptions(COMMENT, 'comment', [opt('--comment', [comment])], ctx),
    );
    if (kept === undefined) return undefined;
    return kept ? [head('-m', 'comment'), ...kept.map(sharedOption)] : NONE;
  }

  function protoContext(proto: number): ExtensionContext {
    let c = contexts.get(proto);
    if (!c) {
      c = { family, proto };
      contexts.set(proto, c);
    }
    return c;
  }
}

const NONE: readonly RuleOption[] = Object.freeze([]);
const REFUSED = 'refused';

function at(words: readonly Word[], k: number, t: string): boolean {
  return words[k]?.text === t;
}

function text(words: readonly Word[], k: number): string {
  return (words[k] as Word).text;
}

/** The value, or undefined when iptables would refuse it (the general path then reports why). */
function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

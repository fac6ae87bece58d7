// Canonicalisation: a rule as an agent wrote it → the rule as the kernel stores it and iptables-save
// prints it. iptables-save (nf_tables backend) prints the base matches first in a fixed order
// (-s -d -i -o -p -f), then each match in the order it was loaded with its options in the
// extension's own order, then the target. Matches and targets kpath does not know are kept
// verbatim and reported by unsupportedOptions.
import { byFlag, type Extension, type ExtensionContext, opt } from './extension.js';
import { MATCHES, protocolMatch } from './matches.js';
import { protocolName, protocolNumber } from './protocols.js';
import { ShapedRule } from './shaped-rule.js';
import { TARGET_TABLES, TARGETS } from './targets.js';
import type { Rule, RuleOption, TableName } from './types.js';
import { formatAddrMask, IptablesRuleError, parseAddrMask } from './values.js';

const BASE: Record<string, string> = {
  '-s': '-s',
  '--source': '-s',
  '--src': '-s',
  '-d': '-d',
  '--destination': '-d',
  '--dst': '-d',
  '-i': '-i',
  '--in-interface': '-i',
  '-o': '-o',
  '--out-interface': '-o',
  '-p': '-p',
  '--protocol': '-p',
  '-f': '-f',
  '--fragment': '-f',
};
const BASE_ORDER = ['-s', '-d', '-i', '-o', '-p', '-f'];
const HEADS: Record<string, string> = {
  '-m': '-m',
  '--match': '-m',
  '-j': '-j',
  '--jump': '-j',
  '-g': '-g',
  '--goto': '-g',
};

/** One loaded extension instance and the options it took. */
interface Group {
  readonly name: string;
  /** `-m`, `-j` or `-g`. */
  readonly head: string;
  readonly ext: Extension | undefined;
  readonly opts: RuleOption[];
  readonly implicit: boolean;
  /** Holds a flag its extension does not know: kept verbatim. */
  verbatim: boolean;
}

interface Grouped {
  readonly base: Map<string, RuleOption>;
  readonly matches: Group[];
  readonly target: Group | undefined;
  readonly proto: number;
}

function groupOptions(rule: Rule): Grouped {
  const base = new Map<string, RuleOption>();
  for (const o of rule.options) {
    const b = BASE[o.flag];
    if (!b) continue;
    if (base.has(b)) throw new IptablesRuleError(`multiple ${b} flags not allowed`);
    base.set(b, b === o.flag ? o : { ...o, flag: b });
  }
  const p = base.get('-p');
  let proto = 0;
  if (p) {
    const n = protocolNumber(p.args[0] ?? '');
    if (n === undefined) throw new IptablesRuleError(`unknown protocol "${p.args[0] ?? ''}" specified`);
    proto = n;
  }
  const matches: Group[] = [];
  let target: Group | undefined;
  // Loaded extensions, oldest first: iptables gives an option to the newest one that knows it.
  const loaded: Group[] = [];
  for (const o of rule.options) {
    if (BASE[o.flag]) continue;
    const head = HEADS[o.flag];
    if (head) {
      const name = o.args[0];
      if (name === undefined) throw new IptablesRuleError(`option "${o.flag}" requires an argument`);
      if (o.negated) throw new IptablesRuleError(`cannot have ! before ${o.flag}`);
      if (head === '-m') {
        const g: Group = { name, head, ext: MATCHES.get(name), opts: [], implicit: false, verbatim: false };
        matches.push(g);
        loaded.push(g);
      } else {
        if (target) throw new IptablesRuleError('multiple -j flags not allowed');
        target = {
          name,
          head,
          ext: head === '-j' ? TARGETS.get(name) : undefined,
          opts: [],
          implicit: false,
          verbatim: false,
        };
        loaded.push(target);
      }
      continue;
    }
    let owner: Group | undefined;
    for (let k = loaded.length - 1; k >= 0 && !owner; k--)
      if (loaded[k]?.ext?.flags.has(o.flag)) owner = loaded[k];
    if (!owner) {
      // libxtables load_proto: an unknown option with -p tcp/udp/sctp/icmp loads that match here.
      const pm = protocolMatch(proto);
      const ext = pm ? MATCHES.get(pm) : undefined;
      if (pm && ext?.flags.has(o.flag)) {
        owner = { name: pm, head: '-m', ext, opts: [], implicit: true, verbatim: false };
        matches.push(owner);
        loaded.push(owner);
      }
    }
    if (!owner) {
      for (let k = loaded.length - 1; k >= 0 && !owner; k--) if (!loaded[k]?.ext) owner = loaded[k];
      owner ??= loaded[loaded.length - 1];
      if (!owner) throw new IptablesRuleError(`unknown option "${o.flag}"`);
      owner.verbatim = true;
    }
    owner.opts.push(o);
  }
  return { base, matches: mergeNativeMatches(matches), target, proto };
}

// iptables-nft turns tcp/udp matches into nft payload expressions and reads them back as one match:
// a second `-m tcp` is folded into the first.
function mergeNativeMatches(matches: Group[]): Group[] {
  const out: Group[] = [];
  const first = new Map<string, Group>();
  for (const g of matches) {
    const f = first.get(g.name);
    if ((g.name === 'tcp' || g.name === 'udp') && f && !f.verbatim && !g.verbatim) {
      // The later value of a repeated option wins (`--dport 80 -m tcp --dport 81` keeps 81).
      for (const o of g.opts) {
        const c = f.ext?.flags.get(o.flag);
        const k = f.opts.findIndex((p) => f.ext?.flags.get(p.flag) === c);
        if (k >= 0) f.opts.splice(k, 1);
        f.opts.push(o);
      }
      continue;
    }
    if (!first.has(g.name)) first.set(g.name, g);
    out.push(g);
  }
  return out;
}

function canonicalBase(base: Map<string, RuleOption>, proto: number, family: 4 | 6): RuleOption[] {
  const out: RuleOption[] = [];
  for (const f of BASE_ORDER) {
    const o = base.get(f);
    if (!o) continue;
    if (f === '-s' || f === '-d') {
      const a = canonicalAddress(f, o, family);
      if (a) out.push(a);
    } else if (f === '-p') {
      if (proto === 0 && !o.negated) continue;
      out.push(opt('-p', [protocolName(proto)], o.negated));
    } else if (f === '-f') {
      out.push(opt('-f', [], o.negated));
    } else {
      const name = o.args[0] ?? '';
      if (name.length === 0 || name.length > 15)
        throw new IptablesRuleError(`interface name "${name}" must be 1 to 15 characters`);
      out.push(opt(f, [name], o.negated));
    }
  }
  return out;
}

/** A `-s`/`-d` option as stored: host bits cleared, `/len` added; undefined when it matches anything. */
export function canonicalAddress(flag: '-s' | '-d', o: RuleOption, family: 4 | 6): RuleOption | undefined {
  const a = parseAddrMask(o.args[0] ?? '', family);
  // An any-address without `!` is no match at all and is not printed.
  if (a.mask === 0 && (a.addr === '0.0.0.0' || a.addr === '::')) {
    // ...and with `!` it can never match: the kernel refuses the rule (EINVAL).
    if (o.negated) throw new IptablesRuleError(`! ${flag} ${a.addr}/0 can never match (Invalid argument)`);
    return undefined;
  }
  return opt(flag, [formatAddrMask(a)], o.negated);
}

/**
 * The options a known extension keeps, as stored (without its `-m`/`-j` head); null when the kernel
 * keeps no trace of the match. Throws IptablesRuleError where iptables refuses the options.
 */
export function canonicalExtensionOptions(
  ext: Extension,
  name: string,
  opts: readonly RuleOption[],
  ctx: ExtensionContext,
): RuleOption[] | null {
  return ext.canonical(byFlag(ext, name, opts), ctx);
}

function canonicalGroup(g: Group, ctx: ExtensionContext): RuleOption[] {
  const head = opt(g.head, [g.name]);
  if (!g.ext || g.verbatim) return [head, ...g.opts];
  const opts = canonicalExtensionOptions(g.ext, g.name, g.opts, ctx);
  return opts ? [head, ...opts] : [];
}

/**
 * The rule as the kernel stores it and iptables-save prints it. Throws IptablesRuleError where
 * iptables or the kernel would refuse the rule (bad values, repeated flags, a target in the wrong table).
 */
export function canonicalRule(rule: Rule, table: TableName, family: 4 | 6 = 4): Rule {
  const g = groupOptions(rule);
  const ctx: ExtensionContext = { family, proto: g.proto };
  const options = canonicalBase(g.base, g.proto, family);
  for (const m of g.matches) for (const o of canonicalGroup(m, ctx)) options.push(o);
  if (g.target) {
    const allowed = TARGET_TABLES.get(g.target.name);
    if (g.target.head === '-j' && allowed && !allowed.includes(table)) {
      throw new IptablesRuleError(`target ${g.target.name} is only valid in the ${allowed.join('/')} table`);
    }
    for (const o of canonicalGroup(g.target, ctx)) options.push(o);
  }
  return rule.counters ? { options, counters: rule.counters } : { options };
}

/**
 * The options of a rule that kpath cannot interpret: matches and targets it does not know (with
 * their options), and flags a known extension was given that kpath does not model. When `chains`
 * (the table's chain names) is given, a `-j` to something that is neither a known target nor a
 * chain is reported too; without it, an unknown `-j` without options is taken to be a chain.
 */
export function unsupportedOptions(rule: Rule, chains?: ReadonlySet<string>): RuleOption[] {
  let g: Grouped;
  try {
    g = groupOptions(rule);
  } catch {
    return [...rule.options];
  }
  const out: RuleOption[] = [];
  for (const m of g.matches) {
    if (!m.ext || m.verbatim) out.push(opt('-m', [m.name]), ...m.opts);
  }
  const t = g.target;
  if (t) {
    const chainJump = t.head === '-g' || (!t.ext && (chains ? chains.has(t.name) : t.opts.length === 0));
    if (!chainJump && (!t.ext || t.verbatim)) out.push(opt(t.head, [t.name]), ...t.opts);
  }
  return out;
}

/** The target of a rule (`-j`/`-g` name), if any: for jump checks. */
export function ruleTarget(rule: Rule): { readonly name: string; readonly goto: boolean } | undefined {
  if (rule instanceof ShapedRule) return { name: rule.target, goto: false };
  for (let k = rule.options.length - 1; k >= 0; k--) {
    const o = rule.options[k] as RuleOption;
    const h = HEADS[o.flag];
    if (h === '-j' || h === '-g') return { name: o.args[0] ?? '', goto: h === '-g' };
  }
  return undefined;
}

/** Whether `-j NAME` names a target extension rather than a chain. */
export function isTargetExtension(name: string): boolean {
  return TARGETS.has(name);
}

// What an iptables extension (a `-m` match or a `-j` target) looks like to the canonicaliser:
// the flags it owns and how it turns the options as written into the options iptables-save prints.
import type { RuleOption } from './types.js';
import { IptablesRuleError } from './values.js';

export interface ExtensionContext {
  readonly family: 4 | 6;
  /** The rule's `-p` protocol number (0 when none). */
  readonly proto: number;
}

export interface Extension {
  /** Every spelling of every flag it accepts, mapped to the canonical spelling. */
  readonly flags: ReadonlyMap<string, string>;
  /** Flags whose `!` it accepts. */
  readonly negatable: ReadonlySet<string>;
  /**
   * Options as iptables-save prints them (null: the kernel keeps no trace of this match at all);
   * throws IptablesRuleError on what iptables refuses.
   */
  canonical(opts: ReadonlyMap<string, RuleOption>, ctx: ExtensionContext): RuleOption[] | null;
}

const NO_ARGS: readonly string[] = Object.freeze([]);

export function opt(
  flag: string,
  args: readonly string[] = NO_ARGS,
  negated = false,
  quoted?: readonly boolean[],
): RuleOption {
  return quoted?.some((q) => q) ? { negated, flag, args, quoted } : { negated, flag, args };
}

/** Builds an Extension from `[canonical flag, ...aliases]` lists. */
export function extension(
  flags: readonly (readonly string[])[],
  negatable: readonly string[],
  canonical: Extension['canonical'],
): Extension {
  const map = new Map<string, string>();
  for (const [c, ...aliases] of flags) {
    map.set(c as string, c as string);
    for (const a of aliases) map.set(a, c as string);
  }
  return { flags: map, negatable: new Set(negatable), canonical };
}

/** Keys options by canonical flag; refuses a repeated flag or a `!` the extension does not allow, like iptables. */
export function byFlag(ext: Extension, name: string, opts: readonly RuleOption[]): Map<string, RuleOption> {
  const out = new Map<string, RuleOption>();
  for (const o of opts) {
    const c = ext.flags.get(o.flag) ?? o.flag;
    if (out.has(c)) throw new IptablesRuleError(`${name}: multiple ${c} flags not allowed`);
    if (o.negated && !ext.negatable.has(c))
      throw new IptablesRuleError(`${name}: option "${c}" cannot be inverted.`);
    out.set(c, c === o.flag ? o : { ...o, flag: c });
  }
  return out;
}

export function arg(o: RuleOption, k = 0): string {
  const a = o.args[k];
  if (a === undefined) throw new IptablesRuleError(`option "${o.flag}" requires an argument`);
  return a;
}

// The reference the kube-proxy fast paths are held to: what the general canonicaliser stores for a rule,
// or the error iptables-restore would refuse it with, and a table's chains as the fast paths look them up.
import { canonicalRule, isTargetExtension, ruleTarget } from '../../../src/node/iptables/canonical.js';
import type { RuleOption, Ruleset, TableName } from '../../../src/node/iptables/index.js';
import { wordsToOptions } from '../../../src/node/iptables/index.js';
import type { NamedChainLookup } from '../../../src/node/iptables/kube-proxy-lines.js';
import type { ChainLookup } from '../../../src/node/iptables/kube-proxy-shapes.js';
import { BUILTIN_CHAINS } from '../../../src/node/iptables/types.js';
import type { Word } from '../../../src/node/iptables/words.js';

/** The general path's verdict on a rule: its stored options, or the reason it is refused. */
export function generalVerdict(
  words: readonly Word[],
  table: TableName,
  family: 4 | 6,
  chains: ChainLookup,
): RuleOption[] | string {
  try {
    const options = [...canonicalRule({ options: wordsToOptions(words) }, table, family).options];
    const j = ruleTarget({ options });
    if (j && !(j.goto === false && isTargetExtension(j.name))) {
      const target = chains.get(j.name);
      const hasOptions = options[options.length - 1]?.flag !== (j.goto ? '-g' : '-j');
      if (!target && (j.goto || !hasOptions)) return `Chain '${j.name}' does not exist`;
      if (target?.builtin) return `cannot jump to built-in chain '${j.name}'`;
    }
    return options;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The chains of one table, by name, with whether each is built in. */
export function chainsOf(rs: Ruleset, table: TableName): NamedChainLookup {
  const t = rs.tables.find((x) => x.name === table);
  const m = new Map<string, { builtin: boolean; name: string }>();
  for (const c of t?.chains ?? [])
    m.set(c.name, { name: c.name, builtin: BUILTIN_CHAINS[table].includes(c.name) });
  return m;
}

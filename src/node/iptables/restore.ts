// iptables-restore and single iptables commands applied to a Ruleset as the kernel (nf_tables
// backend, iptables 1.8.9) would store them. One interpreter serves both reading a dump literally
// (parseIptablesSave: no canonicalisation, order as written) and applying agent payloads
// (applyRestore: rules canonicalised, chains in the order iptables-save prints them).
// Internally mutable and copy-on-write per chain, so a 100k-rule payload is linear; the result is a
// new Ruleset and the input is never changed.
import { InputError } from '../../model/errors.js';
import { canonicalRule, isTargetExtension, ruleTarget } from './canonical.js';
import { kubeProxyShapes, type ShapeCanonicaliser } from './kube-proxy-shapes.js';
import { OptionError, plainWords, wordsToOptions } from './options.js';
import {
  BUILTIN_CHAINS,
  type Chain,
  type Counters,
  type IptablesCommand,
  type Rule,
  type Ruleset,
  type Table,
  type TableName,
  ZERO_COUNTERS,
} from './types.js';
import { IptablesRuleError } from './values.js';
import { splitWords, type Word } from './words.js';

/** An iptables-save / iptables-restore text (or iptables command) that iptables would refuse: file:line and what is wrong. */
export class IptablesParseError extends InputError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super([{ file, line, message: reason }]);
    this.name = 'IptablesParseError';
  }
}

/** The order iptables-save (nf_tables backend) prints tables in, whatever order they were created in. */
export const TABLE_ORDER: readonly TableName[] = ['mangle', 'security', 'raw', 'filter', 'nat'];

const TABLE_NAMES = new Set<string>(TABLE_ORDER);

interface MChain {
  readonly name: string;
  readonly builtin: boolean;
  policy: Chain['policy'];
  counters: Counters;
  rules: Rule[] | readonly Rule[];
  /** rules is our own copy (safe to mutate). */
  owned: boolean;
  /** The unchanged input chain, reused when nothing changed. */
  orig: Chain | undefined;
}

interface MTable {
  readonly name: TableName;
  readonly chains: Map<string, MChain>;
  /** Jump references per chain name, built on demand for -X. */
  refs: Map<string, number> | undefined;
  orig: Table | undefined;
  dirty: boolean;
}

interface Mode {
  /** Canonicalise rules and keep tables/chains in iptables-save order (applying); else keep the text literally. */
  readonly kernel: boolean;
  readonly noflush: boolean;
  /** Take counters from `[p:b]` (iptables-restore --counters; iptables-save -c dumps). */
  readonly counters: boolean;
  readonly file: string;
  /** 4 for iptables, 6 for ip6tables (address syntax, /128 hosts, REJECT and recent defaults). */
  readonly family: 4 | 6;
}

class Session {
  readonly tables = new Map<TableName, MTable>();
  readonly tableOrder: TableName[] = [];
  private fast: ShapeCanonicaliser | undefined;

  constructor(
    base: Ruleset,
    readonly mode: Mode,
  ) {
    for (const t of base.tables) {
      const chains = new Map<string, MChain>();
      const builtins = BUILTIN_CHAINS[t.name];
      for (const c of t.chains) {
        chains.set(c.name, {
          name: c.name,
          builtin: builtins.includes(c.name),
          policy: c.policy,
          counters: c.counters,
          rules: c.rules,
          owned: false,
          orig: c,
        });
      }
      this.tables.set(t.name, { name: t.name, chains, refs: undefined, orig: t, dirty: false });
      this.tableOrder.push(t.name);
    }
  }

  table(name: TableName): MTable {
    let t = this.tables.get(name);
    if (!t) {
      t = { name, chains: new Map(), refs: undefined, orig: undefined, dirty: true };
      // A table comes into being with all its built-in chains (ACCEPT, zero counters).
      for (const c of BUILTIN_CHAINS[name]) t.chains.set(c, newChain(c, true, 'ACCEPT'));
      this.tables.set(name, t);
      this.tableOrder.push(name);
    }
    return t;
  }

  /** kube-proxy's hot rule shapes, canonicalised directly (see kube-proxy-shapes.ts). */
  shapes(): ShapeCanonicaliser {
    this.fast ??= kubeProxyShapes(this.mode.family);
    return this.fast;
  }

  freeze(): Ruleset {
    const order = this.mode.kernel ? TABLE_ORDER.filter((n) => this.tables.has(n)) : this.tableOrder;
    const tables: Table[] = [];
    for (const n of order) {
      const t = this.tables.get(n) as MTable;
      const changed = t.dirty || [...t.chains.values()].some((c) => c.orig === undefined || c.owned);
      if (!changed && t.orig) {
        tables.push(t.orig);
        continue;
      }
      let chains = [...t.chains.values()];
      if (this.mode.kernel) {
        // iptables-save: built-in chains in hook order, then user chains sorted by name (byte order).
        const builtins = BUILTIN_CHAINS[n].map((b) => t.chains.get(b)).filter((c): c is MChain => !!c);
        // The default sort compares UTF-16 code units, as `<` does; without a comparator it is several
        // times faster on the 100k+ chain names of a large cluster.
        const names: string[] = [];
        for (const c of chains) if (!c.builtin) names.push(c.name);
        names.sort();
        chains = builtins;
        for (const name of names) chains.push(t.chains.get(name) as MChain);
      }
      tables.push({ name: n, chains: chains.map(freezeChain) });
    }
    return { tables };
  }
}

function newChain(name: string, builtin: boolean, policy: Chain['policy']): MChain {
  return { name, builtin, policy, counters: ZERO_COUNTERS, rules: [], owned: true, orig: undefined };
}

function freezeChain(c: MChain): Chain {
  if (
    c.orig &&
    !c.owned &&
    c.orig.policy === c.policy &&
    c.orig.counters === c.counters &&
    c.orig.rules === c.rules
  ) {
    return c.orig;
  }
  return { name: c.name, policy: c.policy, counters: c.counters, rules: c.rules };
}

function own(c: MChain): Rule[] {
  if (!c.owned) {
    c.rules = [...c.rules];
    c.owned = true;
  }
  return c.rules as Rule[];
}

/** Raised inside the interpreter; the caller adds file and line. */
class LineError extends Error {}

const COUNTERS = /^\[(\d+):(\d+)\]$/;

function parseCounters(text: string): Counters {
  // Every chain line of an agent payload says [0:0]; Counters are never mutated, so one value serves.
  if (text === '[0:0]') return ZERO_COUNTERS;
  const m = COUNTERS.exec(text);
  if (!m) throw new LineError(`bad counters "${text}"`);
  return { packets: BigInt(m[1] as string), bytes: BigInt(m[2] as string) };
}

function checkChainName(name: string): void {
  if (name.length > 28) throw new LineError(`chain name \`${name}' too long (must be under 29 chars)`);
  if (name.startsWith('-') || name.startsWith('!'))
    throw new LineError(`chain name not allowed to start with \`${name[0]}'`);
  if (isTargetExtension(name)) throw new LineError(`chain name may not clash with target name \`${name}'`);
}

function getChain(t: MTable, name: string | undefined): MChain {
  if (name === undefined) throw new LineError('missing chain name');
  const c = t.chains.get(name);
  if (!c)
    throw new LineError(
      `chain '${name}' in table '${t.name}' does not exist (No chain/target/match by that name)`,
    );
  return c;
}

function flushChain(t: MTable, c: MChain): void {
  if (c.rules.length === 0) return;
  c.rules = [];
  c.owned = true;
  t.refs = undefined;
  t.dirty = true;
}

function refsOf(t: MTable): Map<string, number> {
  if (!t.refs) {
    const refs = new Map<string, number>();
    for (const c of t.chains.values()) {
      for (const r of c.rules) {
        const j = ruleTarget(r);
        if (j) refs.set(j.name, (refs.get(j.name) ?? 0) + 1);
      }
    }
    t.refs = refs;
  }
  return t.refs;
}

function deleteChain(t: MTable, name: string): void {
  const c = getChain(t, name);
  if (c.builtin) throw new LineError(`cannot delete built-in chain '${name}'`);
  // nf_tables refuses both a non-empty chain and one still jumped to with EBUSY.
  if (c.rules.length > 0)
    throw new LineError(`CHAIN_DEL failed (Device or resource busy): chain ${name} is not empty`);
  if ((refsOf(t).get(name) ?? 0) > 0) {
    throw new LineError(`CHAIN_DEL failed (Device or resource busy): chain ${name} is still referenced`);
  }
  t.chains.delete(name);
  t.dirty = true;
}

function createChain(t: MTable, name: string): void {
  checkChainName(name);
  if (t.chains.has(name)) throw new LineError(`chain '${name}' already exists (File exists)`);
  t.chains.set(name, newChain(name, false, '-'));
  t.dirty = true;
}

function setPolicy(c: MChain, policy: string): void {
  if (!c.builtin) throw new LineError(`cannot set policy of user-defined chain '${c.name}'`);
  if (policy !== 'ACCEPT' && policy !== 'DROP') throw new LineError(`bad policy name "${policy}"`);
  c.policy = policy;
}

/** Builds the stored rule from its words: canonicalised and jump-checked when applying, literal when reading. */
function makeRule(s: Session, t: MTable, words: readonly Word[], counters: Counters | undefined): Rule {
  if (s.mode.kernel) {
    const fast = s.shapes()(words, t.name, t.chains);
    if (fast) return counters && s.mode.counters ? { options: fast, counters } : { options: fast };
  }
  return makeRuleGeneral(s, t, words, counters);
}

function makeRuleGeneral(
  s: Session,
  t: MTable,
  words: readonly Word[],
  counters: Counters | undefined,
): Rule {
  let options: ReturnType<typeof wordsToOptions>;
  try {
    options = wordsToOptions(words);
  } catch (e) {
    if (e instanceof OptionError) throw new LineError(e.message);
    throw e;
  }
  let rule: Rule = counters && s.mode.counters ? { options, counters } : { options };
  if (!s.mode.kernel) return rule;
  try {
    rule = canonicalRule(rule, t.name, s.mode.family);
  } catch (e) {
    if (e instanceof IptablesRuleError) throw new LineError(e.message);
    throw e;
  }
  const j = ruleTarget(rule);
  if (j && !(j.goto === false && isTargetExtension(j.name))) {
    const target = t.chains.get(j.name);
    const hasOptions = rule.options[rule.options.length - 1]?.flag !== (j.goto ? '-g' : '-j');
    // A -j with options to an unknown name is an extension kpath does not model (kept verbatim).
    if (!target && (j.goto || !hasOptions)) throw new LineError(`Chain '${j.name}' does not exist`);
    if (target?.builtin)
      throw new LineError(`cannot jump to built-in chain '${j.name}' (No such file or directory)`);
  }
  return rule;
}

function addRule(t: MTable, c: MChain, rule: Rule, at: number | undefined): void {
  const rules = own(c);
  if (at === undefined) rules.push(rule);
  else {
    if (at < 1 || at > rules.length + 1) throw new LineError('Index of insertion too big');
    rules.splice(at - 1, 0, rule);
  }
  t.dirty = true;
  if (t.refs) {
    const j = ruleTarget(rule);
    if (j) t.refs.set(j.name, (t.refs.get(j.name) ?? 0) + 1);
  }
}

function sameRule(a: Rule, b: Rule): boolean {
  if (a.options.length !== b.options.length) return false;
  return a.options.every((o, k) => {
    const p = b.options[k];
    return (
      !!p && o.flag === p.flag && o.negated === p.negated && o.args.join('\u0000') === p.args.join('\u0000')
    );
  });
}

/** Runs one command line (already split into words) inside the current table. */
function runCommand(s: Session, t: MTable, words: Word[]): void {
  let counters: Counters | undefined;
  if (words[0]?.text.startsWith('[') && COUNTERS.test(words[0].text))
    counters = parseCounters((words.shift() as Word).text);
  const cmd = words[0]?.text;
  const chainName = words[1]?.text;
  switch (cmd) {
    case '-A':
    case '--append': {
      const c = getChain(t, chainName);
      addRule(t, c, makeRule(s, t, words.slice(2), counters), undefined);
      return;
    }
    case '-I':
    case '--insert': {
      const c = getChain(t, chainName);
      let rest = words.slice(2);
      let at = 1;
      if (rest[0] && /^\d+$/.test(rest[0].text) && !rest[0].quoted) {
        at = Number(rest[0].text);
        rest = rest.slice(1);
      }
      addRule(t, c, makeRule(s, t, rest, counters), at);
      return;
    }
    case '-D':
    case '--delete': {
      const c = getChain(t, chainName);
      const rest = words.slice(2);
      const rules = own(c);
      let k: number;
      if (rest.length === 1 && /^\d+$/.test(rest[0]?.text ?? '')) k = Number(rest[0]?.text) - 1;
      else {
        const rule = makeRule(s, t, rest, undefined);
        k = rules.findIndex((r) => sameRule(r, rule));
      }
      if (k < 0 || k >= rules.length)
        throw new LineError('Bad rule (does a matching rule exist in that chain?)');
      rules.splice(k, 1);
      t.refs = undefined;
      t.dirty = true;
      return;
    }
    case '-N':
    case '--new-chain':
      if (chainName === undefined) throw new LineError('-N requires a chain name');
      if (words.length > 2) throw new LineError(`unexpected argument "${words[2]?.text}"`);
      createChain(t, chainName);
      return;
    case '-X':
    case '--delete-chain':
      if (chainName === undefined) {
        const user = [...t.chains.values()].filter((c) => !c.builtin);
        for (const c of user) flushChain(t, c);
        for (const c of user) deleteChain(t, c.name);
      } else deleteChain(t, chainName);
      return;
    case '-F':
    case '--flush':
      if (chainName === undefined) for (const c of t.chains.values()) flushChain(t, c);
      else flushChain(t, getChain(t, chainName));
      return;
    case '-P':
    case '--policy': {
      const c = getChain(t, chainName);
      setPolicy(c, words[2]?.text ?? '');
      t.dirty = true;
      return;
    }
    default:
      throw new LineError(`unknown command "${cmd ?? ''}"`);
  }
}

function runText(s: Session, text: string): void {
  let table: MTable | undefined;
  let tableLine = 0;
  // Lines are cut one at a time rather than split up front: half a million line strings held for the
  // whole payload would all outlive the young generation and be copied twice by the GC.
  let lineCount = 0;
  for (let n = 0, start = 0; start <= text.length; n++) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    const raw = text.slice(start, end);
    start = end + 1;
    lineCount = n + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const lineNo = n + 1;
    const trimmed = line.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    try {
      if (trimmed.startsWith('*')) {
        if (table)
          throw new LineError(`table '${table.name}' (line ${tableLine}) has no COMMIT before a new table`);
        const name = trimmed.slice(1).trim();
        if (!TABLE_NAMES.has(name)) throw new LineError(`unknown table '${name}'`);
        table = s.table(name as TableName);
        tableLine = lineNo;
        if (!s.mode.noflush) {
          // Without --noflush a table block replaces the table: no rules, no user chains.
          for (const c of [...table.chains.values()]) {
            if (c.builtin) flushChain(table, c);
            else table.chains.delete(c.name);
          }
          table.dirty = true;
        }
        continue;
      }
      if (!table) throw new LineError('no table specified (a "*table" line must come first)');
      if (trimmed === 'COMMIT') {
        table = undefined;
        continue;
      }
      if (trimmed.startsWith(':')) {
        const parts = trimmed
          .slice(1)
          .trim()
          .split(/[ \t]+/);
        const [name, policy, counters] = parts;
        if (!name || !policy)
          throw new LineError('chain line needs a name and a policy (":NAME POLICY [packets:bytes]")');
        const parsed = counters === undefined ? undefined : parseCounters(counters);
        const existing = table.chains.get(name);
        if (existing?.builtin) {
          // `-` keeps the built-in policy.
          if (policy !== '-') setPolicy(existing, policy);
          if (parsed && s.mode.counters) existing.counters = parsed;
          table.dirty = true;
        } else {
          // iptables-restore: a declared user chain that exists is flushed, otherwise created; a policy
          // given for it is accepted and ignored.
          if (existing) flushChain(table, existing);
          else createChain(table, name);
          if (parsed && s.mode.counters) (table.chains.get(name) as MChain).counters = parsed;
        }
        continue;
      }
      runCommand(s, table, splitWords(trimmed));
    } catch (e) {
      if (e instanceof LineError) throw new IptablesParseError(s.mode.file, lineNo, e.message);
      throw e;
    }
  }
  if (table) {
    // Mirrors iptables-restore's "COMMIT expected at line N" (the line after the last).
    throw new IptablesParseError(
      s.mode.file,
      lineCount + (text.endsWith('\n') ? 0 : 1),
      `COMMIT expected for table '${table.name}'`,
    );
  }
}

/**
 * Reads iptables-save output (or iptables-restore input) literally: tables and chains in the order
 * written, rule options as written (no canonicalisation), counters kept. Commands restore accepts
 * (-A, -I, -D, -N, -X, -F, -P) are carried out.
 */
export function parseIptablesSave(text: string, file = '<iptables-save>'): Ruleset {
  const s = new Session({ tables: [] }, { kernel: false, noflush: false, counters: true, file, family: 4 });
  runText(s, text);
  return s.freeze();
}

/**
 * A fresh node's netfilter once kubelet and kube-proxy run, before they add anything: the tables
 * they touch (mangle, filter, nat — kubelet's and kube-proxy's canary chains live in these three)
 * with their built-in chains, policy ACCEPT, no rules. raw and security do not exist until
 * something uses them (a fresh netns shows no table at all; iptables-nft creates a table, with all
 * its built-in chains, on first use).
 */
export function emptyRuleset(): Ruleset {
  const s = new Session(
    { tables: [] },
    { kernel: true, noflush: true, counters: false, file: '', family: 4 },
  );
  for (const t of ['mangle', 'filter', 'nat'] as const) s.table(t);
  return s.freeze();
}

export interface RestoreOptions {
  /** iptables-restore --noflush: table blocks change only what they name. */
  readonly noflush: boolean;
  /** iptables-restore --counters: take `[p:b]` counters from the payload. */
  readonly counters?: boolean;
  /** Name used in error messages. */
  readonly file?: string;
  /** 6 for an ip6tables-restore payload; default 4. */
  readonly family?: 4 | 6;
}

/**
 * Applies an iptables-restore payload as the kernel would: every rule canonicalised as stored, `:CHAIN`
 * for an existing user chain flushes it, `-X` deletes, built-in policies set, jumps checked.
 * All or nothing: on error an IptablesParseError names the line and the input is unchanged.
 */
export function applyRestore(rs: Ruleset, payload: string, opts: RestoreOptions): Ruleset {
  const s = new Session(rs, {
    kernel: true,
    noflush: opts.noflush,
    counters: opts.counters ?? false,
    file: opts.file ?? '<iptables-restore>',
    family: opts.family ?? 4,
  });
  runText(s, payload);
  return s.freeze();
}

/** One `iptables -t TABLE -A/-I/-N/-P ...` call (`ip6tables` with family 6), as the kernel would carry it out. */
export function applyIptablesCommand(rs: Ruleset, cmd: IptablesCommand, family: 4 | 6 = 4): Ruleset {
  const s = new Session(rs, { kernel: true, noflush: true, counters: false, file: 'iptables', family });
  const t = s.table(cmd.table);
  const words = plainWords(cmd.args ?? []);
  try {
    switch (cmd.op) {
      case 'append':
        addRule(t, getChain(t, cmd.chain), makeRule(s, t, words, undefined), undefined);
        break;
      case 'insert':
        addRule(t, getChain(t, cmd.chain), makeRule(s, t, words, undefined), cmd.position ?? 1);
        break;
      case 'new-chain':
        createChain(t, cmd.chain);
        break;
      case 'policy':
        setPolicy(getChain(t, cmd.chain), cmd.policy ?? '');
        t.dirty = true;
        break;
    }
  } catch (e) {
    if (e instanceof LineError)
      throw new IptablesParseError(`iptables -t ${cmd.table}`, undefined, e.message);
    throw e;
  }
  return s.freeze();
}

// iptables-restore and single iptables commands applied to a Ruleset as the kernel (nf_tables
// backend, iptables 1.8.9) would store them. One interpreter serves both reading a dump literally
// (parseIptablesSave: no canonicalisation, order as written) and applying agent payloads
// (applyRestore: rules canonicalised, chains in the order iptables-save prints them).
// Internally mutable and copy-on-write per chain, so a 100k-rule payload is linear; the result is a
// new Ruleset and the input is never changed.
import { InputError } from '../../model/errors.js';
import { canonicalRule, isTargetExtension, ruleTarget } from './canonical.js';
import { sortByName } from './chain-order.js';
import {
  isPlainWord,
  type KubeProxyLineParts,
  kubeProxyLineParts,
  type LineCanonicaliser,
} from './kube-proxy-lines.js';
import { kubeProxyShapes, type ShapeCanonicaliser } from './kube-proxy-shapes.js';
import { OptionError, plainWords, wordsToOptions } from './options.js';
import { RESTORE_LINE, type RestoreLines } from './restore-lines.js';
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

/**
 * A chain being changed. Its public fields are exactly a Chain's, and its bookkeeping is private, so
 * once the session ends it is handed out as the frozen Chain itself: a 100k-chain restore allocates
 * (and the GC copies) one object per chain, not two.
 */
class MChain implements Chain {
  readonly name: string;
  policy: Chain['policy'];
  counters: Counters;
  rules: Rule[] | readonly Rule[];
  readonly #builtin: boolean;
  /** rules is our own copy (safe to mutate). */
  #owned: boolean;
  /** The unchanged input chain, reused when nothing changed. */
  #orig: Chain | undefined;

  constructor(name: string, builtin: boolean, policy: Chain['policy'], orig: Chain | undefined) {
    this.name = name;
    this.policy = orig ? orig.policy : policy;
    this.counters = orig ? orig.counters : ZERO_COUNTERS;
    this.rules = orig ? orig.rules : [];
    this.#builtin = builtin;
    this.#owned = orig === undefined;
    this.#orig = orig;
  }

  get builtin(): boolean {
    return this.#builtin;
  }

  get owned(): boolean {
    return this.#owned;
  }

  get orig(): Chain | undefined {
    return this.#orig;
  }

  /** The rules as our own mutable copy. */
  own(): Rule[] {
    if (!this.#owned) {
      this.rules = [...this.rules];
      this.#owned = true;
    }
    return this.rules as Rule[];
  }

  /** Empties the chain (a new array: the old one may be the input's). */
  clear(): void {
    this.rules = [];
    this.#owned = true;
  }

  /** The chain as stored: the input chain when nothing changed, else this object, now done changing. */
  freeze(): Chain {
    const o = this.#orig;
    if (
      o &&
      !this.#owned &&
      o.policy === this.policy &&
      o.counters === this.counters &&
      o.rules === this.rules
    ) {
      return o;
    }
    this.#orig = undefined;
    return this;
  }
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
  private fastLines: KubeProxyLineParts | undefined;

  constructor(
    base: Ruleset,
    readonly mode: Mode,
  ) {
    for (const t of base.tables) {
      const chains = new Map<string, MChain>();
      const builtins = BUILTIN_CHAINS[t.name];
      for (const c of t.chains) {
        chains.set(c.name, new MChain(c.name, builtins.includes(c.name), c.policy, c));
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

  /** The hottest of them read from the line itself (IPv4 payloads only; see kube-proxy-lines.ts). */
  lines(): KubeProxyLineParts | undefined {
    if (!this.mode.kernel || this.mode.family !== 4) return undefined;
    this.fastLines ??= kubeProxyLineParts(this.shapes());
    return this.fastLines;
  }

  freeze(): Ruleset {
    const order = this.mode.kernel ? TABLE_ORDER.filter((n) => this.tables.has(n)) : this.tableOrder;
    const tables: Table[] = [];
    for (const n of order) {
      const t = this.tables.get(n) as MTable;
      let changed = t.dirty;
      if (!changed) for (const c of t.chains.values()) if (c.orig === undefined || c.owned) changed = true;
      if (!changed && t.orig) {
        tables.push(t.orig);
        continue;
      }
      let chains = [...t.chains.values()];
      if (this.mode.kernel) {
        // iptables-save: built-in chains in hook order, then user chains sorted by name (byte order).
        const user = chains.filter((c) => !c.builtin);
        chains = BUILTIN_CHAINS[n].map((b) => t.chains.get(b)).filter((c): c is MChain => !!c);
        for (const c of sortByName(user)) chains.push(c);
      }
      tables.push({ name: n, chains: chains.map((c) => c.freeze()) });
    }
    return { tables };
  }
}

function newChain(name: string, builtin: boolean, policy: Chain['policy']): MChain {
  return new MChain(name, builtin, policy, undefined);
}

function own(c: MChain): Rule[] {
  return c.own();
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
  c.clear();
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

function createChain(t: MTable, name: string, known = false): void {
  checkChainName(name);
  // known: the caller has just looked the name up and found no chain.
  if (!known && t.chains.has(name)) throw new LineError(`chain '${name}' already exists (File exists)`);
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
  if (at === undefined) {
    // A chain of one or two rules (most of kube-proxy's 100k+) is kept exactly sized: the first push
    // to an array reserves 17 slots, which would be most of what a large ruleset holds.
    if (rules.length === 0) c.rules = [rule];
    else if (rules.length === 1) c.rules = [rules[0] as Rule, rule];
    else rules.push(rule);
  } else {
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

/** `-A CHAIN …` in one of kube-proxy's hottest shapes, appended without splitting the line; false otherwise. */
function appendLine(t: MTable, line: string, lines: LineCanonicaliser): boolean {
  const sp = line.indexOf(' ', 3);
  const c = sp > 3 ? t.chains.get(line.slice(3, sp)) : undefined;
  const rule = c && lines(line, sp + 1, t.name, t.chains);
  if (!c || !rule) return false;
  addRule(t, c, rule, undefined);
  return true;
}

/** `:NAME - [0:0]`, the chain line of every agent payload, split without a regex; else the general split. */
function chainLineParts(trimmed: string): string[] {
  if (trimmed.endsWith(' - [0:0]')) {
    const name = trimmed.slice(1, -8);
    if (name !== '' && !/[ \t]/.test(name)) return [name, '-', '[0:0]'];
  }
  return trimmed
    .slice(1)
    .trim()
    .split(/[ \t]+/);
}

/** Where a payload is: the open table block, if any, and the line that opened it. */
interface Cursor {
  table: MTable | undefined;
  tableLine: number;
}

/** One line of a payload (without its newline). */
function runLine(
  s: Session,
  at: Cursor,
  raw: string,
  lineNo: number,
  lines: LineCanonicaliser | undefined,
): void {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const trimmed = line.trimStart();
  if (trimmed === '' || trimmed.startsWith('#')) return;
  try {
    if (trimmed.startsWith('*')) {
      if (at.table)
        throw new LineError(
          `table '${at.table.name}' (line ${at.tableLine}) has no COMMIT before a new table`,
        );
      const name = trimmed.slice(1).trim();
      if (!TABLE_NAMES.has(name)) throw new LineError(`unknown table '${name}'`);
      const table = s.table(name as TableName);
      at.table = table;
      at.tableLine = lineNo;
      if (!s.mode.noflush) {
        // Without --noflush a table block replaces the table: no rules, no user chains.
        for (const c of [...table.chains.values()]) {
          if (c.builtin) flushChain(table, c);
          else table.chains.delete(c.name);
        }
        table.dirty = true;
      }
      return;
    }
    const table = at.table;
    if (!table) throw new LineError('no table specified (a "*table" line must come first)');
    if (trimmed === 'COMMIT') {
      at.table = undefined;
      return;
    }
    if (trimmed.startsWith(':')) {
      const [name, policy, counters] = chainLineParts(trimmed);
      if (!name || !policy)
        throw new LineError('chain line needs a name and a policy (":NAME POLICY [packets:bytes]")');
      declareChain(s, table, name, policy, counters === undefined ? undefined : parseCounters(counters));
      return;
    }
    if (lines && trimmed.startsWith('-A ') && appendLine(table, trimmed, lines)) return;
    runCommand(s, table, splitWords(trimmed));
  } catch (e) {
    if (e instanceof LineError) throw new IptablesParseError(s.mode.file, lineNo, e.message);
    throw e;
  }
}

/** A `:NAME POLICY [p:b]` line. */
function declareChain(
  s: Session,
  table: MTable,
  name: string,
  policy: string,
  parsed: Counters | undefined,
): void {
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
    else createChain(table, name, true);
    if (parsed && s.mode.counters) (table.chains.get(name) as MChain).counters = parsed;
  }
}

function commitExpected(s: Session, table: MTable, line: number): IptablesParseError {
  // Mirrors iptables-restore's "COMMIT expected at line N" (the line after the last).
  return new IptablesParseError(s.mode.file, line, `COMMIT expected for table '${table.name}'`);
}

function runText(s: Session, text: string): void {
  const lines = s.lines()?.line;
  const at: Cursor = { table: undefined, tableLine: 0 };
  // Lines are cut one at a time rather than split up front: half a million line strings held for the
  // whole payload would all outlive the young generation and be copied twice by the GC.
  let lineCount = 0;
  for (let n = 0, start = 0; start <= text.length; n++) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    const raw = text.slice(start, end);
    start = end + 1;
    lineCount = n + 1;
    runLine(s, at, raw, n + 1, lines);
  }
  if (at.table) throw commitExpected(s, at.table, lineCount + (text.endsWith('\n') ? 0 : 1));
}

/** A payload's lines, the pre-split ones stored straight from their values where the line path would store the same rule. */
function runLines(s: Session, payload: RestoreLines): void {
  const parts = s.lines();
  const at: Cursor = { table: undefined, tableLine: 0 };
  const { kind: kinds, a: as, b: bs, c: cs } = payload.columns();
  const n = kinds.length;
  // The chain of the last pre-split rule: an SVC chain's jumps and a SEP chain's two rules come in
  // a row. Only rules follow it; any other line may create or delete chains, and forgets it.
  let lastName: string | undefined;
  let lastChain: MChain | undefined;
  for (let i = 0; i < n; i++) {
    const kind = kinds[i];
    const table = at.table;
    if (kind !== RESTORE_LINE.TEXT && table && (kind === RESTORE_LINE.CHAIN || parts)) {
      const a = as[i] as string;
      if (kind === RESTORE_LINE.CHAIN) {
        lastName = undefined;
        // The text path splits `:NAME - [0:0]` the same way when NAME is one plain word.
        if (isPlainWord(a)) {
          try {
            declareChain(s, table, a, '-', ZERO_COUNTERS);
          } catch (e) {
            if (e instanceof LineError) throw new IptablesParseError(s.mode.file, i + 1, e.message);
            throw e;
          }
          continue;
        }
      } else if (parts) {
        let c: MChain | undefined;
        if (a === lastName) c = lastChain;
        else if (isPlainWord(a)) {
          c = table.chains.get(a);
          lastName = c ? a : undefined;
          lastChain = c;
        }
        if (c) {
          let rule: Rule | undefined;
          const b = bs[i] as string;
          if (kind === RESTORE_LINE.JUMP) rule = parts.jump(b, table.chains);
          else if (kind === RESTORE_LINE.STATISTIC)
            rule = parts.statistic(cs[i] as string, b, table.name, table.chains);
          else if (kind === RESTORE_LINE.MASQ) rule = parts.masq(cs[i] as string, b, table.chains);
          else if (kind === RESTORE_LINE.DNAT) rule = parts.dnat(b, cs[i] as string, table.name);
          if (rule) {
            addRule(table, c, rule, undefined);
            continue;
          }
        }
      }
    }
    lastName = undefined;
    runLine(s, at, payload.text(i), i + 1, parts?.line);
  }
  if (at.table) throw commitExpected(s, at.table, n + 1);
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
export function applyRestore(rs: Ruleset, payload: string | RestoreLines, opts: RestoreOptions): Ruleset {
  const s = new Session(rs, {
    kernel: true,
    noflush: opts.noflush,
    counters: opts.counters ?? false,
    file: opts.file ?? '<iptables-restore>',
    family: opts.family ?? 4,
  });
  if (typeof payload === 'string') runText(s, payload);
  else runLines(s, payload);
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

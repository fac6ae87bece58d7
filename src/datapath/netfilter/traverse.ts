// Walks one iptables chain the way ipt_do_table does: rules in order, jumps push a return point, goto replaces
// it, RETURN pops, falling off a built-in chain applies its policy. `statistic --mode random` makes a branch point.
import { seededRandom } from '../../model/seeded-random.js';
import type { Packet } from '../../net/packet.js';
import type { Chain, Rule, Table, TableName } from '../../node/iptables/types.js';
import { type MatchContext, type MatchResult, matchRule, type RecentState } from './match.js';
import { formatRule, type StructuredRule, structureRule } from './rule.js';
import { applyTarget, formatLogLine, type NatAction } from './target.js';

/** A rule quoted as iptables-save lists it, with where it sits (1-based rule number, as `iptables -L --line-numbers`). */
export interface RuleRef {
  readonly table: TableName;
  readonly chain: string;
  readonly number: number;
  readonly text: string;
  /** For a matched rule whose target rewrote the packet (MARK, CONNMARK): the packet right after it. */
  readonly after?: Packet;
}

export type Verdict =
  | { readonly kind: 'ACCEPT' }
  | { readonly kind: 'DROP' }
  | { readonly kind: 'REJECT'; readonly with: string }
  /** Fell off (or RETURNed from) a built-in chain: its policy decides. */
  | { readonly kind: 'POLICY'; readonly policy: 'ACCEPT' | 'DROP' }
  /** Fell off the user chain the traversal started in. */
  | { readonly kind: 'RETURN' }
  /** DNAT/SNAT/MASQUERADE: the connection gets this binding, then the packet is accepted by this table. */
  | { readonly kind: 'NAT'; readonly action: NatAction }
  | { readonly kind: 'UNSUPPORTED'; readonly reason: string; readonly rule?: RuleRef };

export interface Branch {
  readonly probability: number;
  /** The rule that fires on this branch; absent when no rule of the cascade fires and the chain goes on/ends. */
  readonly rule?: RuleRef;
  readonly target?: string;
}

export interface BranchPoint {
  readonly table: TableName;
  readonly chain: string;
  /** Rule number of the first random rule of the cascade. */
  readonly number: number;
  readonly branches: readonly Branch[];
}

export interface BranchTaken {
  readonly point: BranchPoint;
  readonly chosen: number;
}

export interface TraversalResult {
  readonly verdict: Verdict;
  /** The packet after MARK/CONNMARK. NAT is not applied here (it goes through conntrack). */
  readonly packet: Packet;
  /** Every rule that matched, in order. */
  readonly matched: readonly RuleRef[];
  readonly branches: readonly BranchTaken[];
  /** Kernel log lines written by LOG rules. */
  readonly logs: readonly string[];
  /** NOTRACK / CT --notrack fired (raw table). */
  readonly notrack: boolean;
  /** TRACE fired. */
  readonly trace: boolean;
  readonly recent?: RecentState;
  /** Rule ids of `statistic --mode nth` rules that counted this packet. */
  readonly nthHits: readonly string[];
}

/** Picks a branch index; or names the DNAT destination (`10.244.1.3:8080`) the traversal must reach. */
export type Choice = ((point: BranchPoint) => number) | { readonly dnatTo: string };

const MAX_DEPTH = 64;

interface Frame {
  chain: Chain;
  index: number;
  /** Random decisions fixed by the branch chosen at a cascade (rule index → fires). */
  forced: Map<number, boolean>;
  /** For a long chain: the only rule indexes that can match this packet (see `candidates`), walked in order. */
  order?: readonly number[];
  pos: number;
}

/** Per long chain: rules keyed by the one destination address or port they require, and the rest. */
interface ChainIndex {
  readonly byDst: ReadonlyMap<string, readonly number[]>;
  readonly byDport: ReadonlyMap<number, readonly number[]>;
  readonly generic: readonly number[];
}

/** Chains shorter than this are walked rule by rule; longer ones (KUBE-SERVICES with 10,000 services) use an index. */
const INDEX_MIN_RULES = 32;
const chainIndexes = new WeakMap<Chain, ChainIndex | null>();
const chainMaps = new WeakMap<Table, Map<string, Chain>>();

function chainMap(table: Table): Map<string, Chain> {
  let m = chainMaps.get(table);
  if (!m) {
    m = new Map(table.chains.map((c) => [c.name, c]));
    chainMaps.set(table, m);
  }
  return m;
}

/** A rule's required destination: a non-negated single-host `-d`, else a non-negated single `--dport`. */
function ruleKey(rule: Rule): { dst?: string; dport?: number } {
  const s = structureCached(rule);
  if (!s.ok) return {};
  for (const b of s.rule.base) {
    if (b.field !== 'dst' || b.negated) continue;
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/32)?$/.exec(b.value);
    if (m?.[1]) return { dst: m[1] };
  }
  for (const m of s.rule.modules) {
    if (m.module !== 'tcp' && m.module !== 'udp' && m.module !== 'sctp') continue;
    for (const o of m.options) {
      if (
        (o.flag === '--dport' || o.flag === '--destination-port') &&
        !o.negated &&
        /^\d+$/.test(o.args[0] ?? '')
      ) {
        return { dport: Number(o.args[0]) };
      }
    }
  }
  return {};
}

function indexOf(chain: Chain): ChainIndex | undefined {
  if (chain.rules.length < INDEX_MIN_RULES) return undefined;
  let idx = chainIndexes.get(chain);
  if (idx === undefined) {
    const byDst = new Map<string, number[]>();
    const byDport = new Map<number, number[]>();
    const generic: number[] = [];
    chain.rules.forEach((rule, i) => {
      const k = ruleKey(rule);
      if (k.dst !== undefined) byDst.set(k.dst, [...(byDst.get(k.dst) ?? []), i]);
      else if (k.dport !== undefined) byDport.set(k.dport, [...(byDport.get(k.dport) ?? []), i]);
      else generic.push(i);
    });
    idx = { byDst, byDport, generic };
    chainIndexes.set(chain, idx);
  }
  return idx ?? undefined;
}

/**
 * The rules of a long chain that could match this packet, in chain order: those requiring its destination
 * address or port, and those requiring neither. The destination does not change during one traversal (only
 * NAT rewrites it, through conntrack, after the table has decided), so the set holds for the whole walk.
 */
function candidates(chain: Chain, packet: Packet): readonly number[] | undefined {
  const idx = indexOf(chain);
  if (!idx) return undefined;
  const dst = packet.ip.version === 4 ? idx.byDst.get(packet.ip.dst.toString()) : undefined;
  const l4 = packet.l4;
  const dport = l4 && l4.kind !== 'icmp' ? idx.byDport.get(l4.dport) : undefined;
  if (!dst && !dport) return idx.generic;
  return [...idx.generic, ...(dst ?? []), ...(dport ?? [])].sort((a, b) => a - b);
}

function frameFor(chain: Chain, packet: Packet): Frame {
  const order = candidates(chain, packet);
  return { chain, index: 0, forced: new Map(), pos: 0, ...(order ? { order } : {}) };
}

const ruleTexts = new WeakMap<Rule, string>();

function ref(table: Table, chain: Chain, i: number, rule: Rule): RuleRef {
  // A rule's text never changes; quoting it is the dearest part of a match, so do it once.
  let text = ruleTexts.get(rule);
  if (text === undefined) {
    text = formatRule(chain.name, rule);
    ruleTexts.set(rule, text);
  }
  return { table: table.name, chain: chain.name, number: i + 1, text };
}

const structured = new WeakMap<Rule, ReturnType<typeof structureRule>>();
function structureCached(rule: Rule): ReturnType<typeof structureRule> {
  let s = structured.get(rule);
  if (!s) {
    s = structureRule(rule);
    structured.set(rule, s);
  }
  return s;
}

function targetLabel(s: StructuredRule): string | undefined {
  return s.target?.name;
}

/** Walks a chain (and everything it jumps to) for one packet; `choice` resolves `statistic` branch points. */
export function traverseChain(
  table: Table,
  chainName: string,
  packet: Packet,
  ctx: MatchContext,
  choice: Choice,
): TraversalResult {
  if (typeof choice !== 'function') {
    const outcomes = allOutcomes(table, chainName, packet, ctx);
    // Without a branch point there is nothing to force.
    if (outcomes.length === 1 && outcomes[0]) return outcomes[0].result;
    const want = choice.dnatTo;
    const hit = outcomes.find(
      (o) => o.result.verdict.kind === 'NAT' && natText(o.result.verdict.action) === want,
    );
    if (!hit) {
      const res = run(table, chainName, packet, ctx, () => 0);
      return {
        ...res,
        verdict: { kind: 'UNSUPPORTED', reason: `no branch of ${table.name} ${chainName} DNATs to ${want}` },
      };
    }
    return hit.result;
  }
  return run(table, chainName, packet, ctx, choice);
}

/** The `--to-destination`/`--to-source` text of a NAT action, for matching a forced choice. */
export function natText(a: NatAction): string {
  if (a.type === 'MASQUERADE') return 'MASQUERADE';
  const r = a.to;
  const addr = r.addrs
    ? r.addrs[0].equals(r.addrs[1])
      ? r.addrs[0].toString()
      : `${r.addrs[0].toString()}-${r.addrs[1].toString()}`
    : '';
  const host = r.addrs && r.addrs[0].family === 6 && r.ports ? `[${addr}]` : addr;
  if (!r.ports) return host;
  const ports = r.ports[0] === r.ports[1] ? `${r.ports[0]}` : `${r.ports[0]}-${r.ports[1]}`;
  return `${host}:${ports}`;
}

function run(
  table: Table,
  chainName: string,
  packet0: Packet,
  ctx0: MatchContext,
  choose: (point: BranchPoint) => number,
): TraversalResult {
  const chains = chainMap(table);
  let packet = packet0;
  let recent = ctx0.recent;
  const matched: RuleRef[] = [];
  const branches: BranchTaken[] = [];
  const logs: string[] = [];
  const nthHits: string[] = [];
  let notrack = false;
  let trace = false;
  const done = (verdict: Verdict): TraversalResult => ({
    verdict,
    packet,
    matched,
    branches,
    logs,
    notrack,
    trace,
    ...(recent ? { recent } : {}),
    nthHits,
  });
  const start = chains.get(chainName);
  if (!start)
    return done({ kind: 'UNSUPPORTED', reason: `chain ${chainName} does not exist in table ${table.name}` });
  const stack: Frame[] = [frameFor(start, packet0)];
  // One context per `recent` state; a rule id only for the rules that count packets (statistic nth).
  let baseCtx: MatchContext = recent ? { ...ctx0, recent } : ctx0;
  let baseRecent = recent;
  const ctxFor = (chain: Chain, i: number, counts = true): MatchContext => {
    if (baseRecent !== recent) {
      baseCtx = recent ? { ...ctx0, recent } : ctx0;
      baseRecent = recent;
    }
    return counts ? { ...baseCtx, ruleId: `${table.name}/${chain.name}/${i + 1}` } : baseCtx;
  };
  const counts = (sr: StructuredRule): boolean => sr.modules.some((m) => m.module === 'statistic');
  const endOfStack = (): Verdict =>
    start.policy === '-' ? { kind: 'RETURN' } : { kind: 'POLICY', policy: start.policy };
  for (let steps = 0; steps < 1_000_000; steps++) {
    const frame = stack[stack.length - 1];
    if (!frame) return done(endOfStack());
    const { chain } = frame;
    const i = frame.order ? (frame.order[frame.pos] ?? chain.rules.length) : frame.index;
    const rule = chain.rules[i];
    if (!rule) {
      stack.pop();
      continue;
    }
    const s = structureCached(rule);
    if (!s.ok) return done({ kind: 'UNSUPPORTED', reason: s.reason, rule: ref(table, chain, i, rule) });
    let r: MatchResult = matchRule(s.rule, packet, ctxFor(chain, i, counts(s.rule)), frame.forced.get(i));
    if (r.kind === 'random') {
      const point = cascade(table, chain, i, packet, ctxFor);
      const chosen = choose(point);
      const b = point.branches[chosen];
      if (!b)
        return done({
          kind: 'UNSUPPORTED',
          reason: `branch ${chosen} does not exist`,
          rule: ref(table, chain, i, rule),
        });
      branches.push({ point, chosen });
      const fireAt = b.rule ? b.rule.number - 1 : Number.POSITIVE_INFINITY;
      for (let j = i; j < chain.rules.length && j <= fireAt; j++) frame.forced.set(j, j === fireAt);
      r = matchRule(s.rule, packet, ctxFor(chain, i, counts(s.rule)), frame.forced.get(i));
    }
    frame.forced.delete(i);
    if (r.kind === 'unsupported')
      return done({ kind: 'UNSUPPORTED', reason: r.reason, rule: ref(table, chain, i, rule) });
    if (r.kind === 'random')
      return done({
        kind: 'UNSUPPORTED',
        reason: 'unresolved random match',
        rule: ref(table, chain, i, rule),
      });
    if (r.recent) recent = r.recent;
    if (r.nthHit) nthHits.push(r.nthHit);
    if (frame.order) frame.pos++;
    else frame.index++;
    if (r.kind === 'nomatch') continue;
    const here = ref(table, chain, i, rule);
    matched.push(here);
    const t = s.rule.target;
    if (!t) continue;
    if (!t.builtin) {
      const next = chains.get(t.name);
      if (!next)
        return done({
          kind: 'UNSUPPORTED',
          reason: `target ${t.name} is neither a modelled target nor a chain of table ${table.name}`,
          rule: here,
        });
      if (t.goto) stack.pop();
      if (stack.length >= MAX_DEPTH)
        return done({ kind: 'UNSUPPORTED', reason: 'chain nesting too deep (loop?)', rule: here });
      stack.push(frameFor(next, packet));
      continue;
    }
    const eff = applyTarget(t, packet);
    switch (eff.kind) {
      case 'verdict':
        if (eff.verdict === 'RETURN') {
          stack.pop();
          continue;
        }
        return done({ kind: eff.verdict });
      case 'reject':
        return done({ kind: 'REJECT', with: eff.with });
      case 'nat':
        return done({ kind: 'NAT', action: eff.action });
      case 'packet':
        packet = eff.packet;
        matched[matched.length - 1] = { ...here, after: packet };
        continue;
      case 'log':
        logs.push(formatLogLine(eff.prefix, packet, ctx0.inIface, ctx0.outIface));
        continue;
      case 'trace':
        trace = true;
        continue;
      case 'notrack':
        notrack = true;
        continue;
      case 'unsupported':
        return done({ kind: 'UNSUPPORTED', reason: eff.reason, rule: here });
    }
  }
  return done({ kind: 'UNSUPPORTED', reason: 'traversal did not terminate' });
}

/**
 * The branch point at a `statistic --mode random` rule: the rules from here on that could fire first, each with
 * the probability that it is the first to fire (kube-proxy's cascade 1/3, 1/2, 1 gives 1/3 each), and — if the
 * cascade can fall through — the remainder.
 */
function cascade(
  table: Table,
  chain: Chain,
  from: number,
  packet: Packet,
  ctxFor: (chain: Chain, i: number) => MatchContext,
): BranchPoint {
  const branches: Branch[] = [];
  let rest = 1;
  let j = from;
  for (; j < chain.rules.length && rest > 0; j++) {
    const rule = chain.rules[j] as Rule;
    const s = structureCached(rule);
    if (!s.ok) break;
    const r = matchRule(s.rule, packet, ctxFor(chain, j));
    if (r.kind === 'nomatch') continue;
    if (r.kind === 'random') {
      const target = targetLabel(s.rule);
      branches.push({
        probability: rest * r.probability,
        rule: ref(table, chain, j, rule),
        ...(target ? { target } : {}),
      });
      rest *= 1 - r.probability;
      continue;
    }
    if (r.kind === 'match') {
      const target = targetLabel(s.rule);
      branches.push({ probability: rest, rule: ref(table, chain, j, rule), ...(target ? { target } : {}) });
      rest = 0;
    }
    break;
  }
  if (rest > 0) branches.push({ probability: rest });
  return { table: table.name, chain: chain.name, number: from + 1, branches };
}

export interface Outcome {
  readonly probability: number;
  /** Branch indices chosen, in order; replay with `replayChoice(path)`. */
  readonly path: readonly number[];
  readonly result: TraversalResult;
}

/** Follows a recorded path of branch choices (then the first branch). */
export function replayChoice(path: readonly number[]): (point: BranchPoint) => number {
  let k = 0;
  return () => path[k++] ?? 0;
}

/** A deterministic PRNG choice (mulberry32): the same seed gives the same branches. */
export function seededChoice(seed: number): (point: BranchPoint) => number {
  const random = seededRandom(seed);
  return (point) => {
    const x = random();
    let acc = 0;
    for (let i = 0; i < point.branches.length; i++) {
      acc += point.branches[i]?.probability ?? 0;
      if (x < acc) return i;
    }
    return point.branches.length - 1;
  };
}

/** Every way through the chain, with its probability — like upstream kube-proxy's tracer collecting every DNAT. */
export function allOutcomes(
  table: Table,
  chainName: string,
  packet: Packet,
  ctx: MatchContext,
  limit = 10_000,
): Outcome[] {
  const out: Outcome[] = [];
  const todo: number[][] = [[]];
  while (todo.length > 0 && out.length < limit) {
    const prefix = todo.pop() as number[];
    const result = run(table, chainName, packet, ctx, replayChoice(prefix));
    let probability = 1;
    result.branches.forEach((b, k) => {
      probability *= b.point.branches[b.chosen]?.probability ?? 0;
      if (k >= prefix.length) {
        for (let alt = b.point.branches.length - 1; alt >= 1; alt--) {
          todo.push([...result.branches.slice(0, k).map((x) => x.chosen), alt]);
        }
      }
    });
    out.push({ probability, path: result.branches.map((b) => b.chosen), result });
  }
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

function comparePaths(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

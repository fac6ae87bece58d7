// Test-side ports of upstream's iptables test tooling (kubernetes/kubernetes
// pkg/util/iptables/testing/parse.go + fake.go, and pkg/proxy/iptables/proxier_test.go:
// sortIPTablesRules, iptablesTracer/tracePacket/runPacketFlowTests), re-written from their behaviour.

import type { KubeProxyInput } from '../../../src/agents/kube-proxy/proxier.js';
import type { KubeProxyConfig } from '../../../src/model/cluster.js';
import type { EndpointSlice, Protocol, Service } from '../../../src/model/k8s.js';
import { IPAddr, Prefix } from '../../../src/net/ip.js';
import type { IptablesCommand } from '../../../src/node/iptables/types.js';

// ---- a parsed iptables dump (parse.go) -------------------------------------------------------

export interface ParsedRule {
  raw: string;
  chain: string;
  comment?: string;
  protocol?: { neg: boolean; value: string };
  source?: { neg: boolean; value: string };
  sourceType?: { neg: boolean; value: string };
  dest?: { neg: boolean; value: string };
  destType?: { neg: boolean; value: string };
  dport?: { neg: boolean; value: string };
  jump?: string;
  probability?: string;
  toDestination?: string;
  rcheck?: boolean;
  mark?: string;
  ctstate?: string;
}

export interface DumpChain {
  name: string;
  rules: ParsedRule[];
}
export interface DumpTable {
  name: string;
  chains: DumpChain[];
}
export interface Dump {
  tables: DumpTable[];
}

/** Splits a rule into words; a double-quoted string is one word (quotes removed). */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ') {
      i++;
      continue;
    }
    if (line[i] === '"') {
      const end = line.indexOf('"', i + 1);
      out.push(line.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    let end = line.indexOf(' ', i);
    if (end < 0) end = line.length;
    out.push(line.slice(i, end));
    i = end;
  }
  return out;
}

export function parseRule(line: string): ParsedRule {
  const w = splitWords(line);
  const rule: ParsedRule = { raw: line, chain: w[1] ?? '' };
  let neg = false;
  for (let i = 2; i < w.length; i++) {
    const f = w[i]!;
    const next = (): string => w[++i] ?? '';
    switch (f) {
      case '!':
        neg = true;
        continue;
      case '-m':
        i++; // module names are skipped, as upstream's parser does
        break;
      case '--comment':
        rule.comment = next();
        break;
      case '-p':
        rule.protocol = { neg, value: next() };
        break;
      case '-s':
        rule.source = { neg, value: next() };
        break;
      case '--src-type':
        rule.sourceType = { neg, value: next() };
        break;
      case '-d':
        rule.dest = { neg, value: next() };
        break;
      case '--dst-type':
        rule.destType = { neg, value: next() };
        break;
      case '--dport':
        rule.dport = { neg, value: next() };
        break;
      case '-j':
        rule.jump = next();
        break;
      case '--probability':
        rule.probability = next();
        break;
      case '--to-destination':
        rule.toDestination = next();
        break;
      case '--rcheck':
        rule.rcheck = true;
        break;
      case '--mark':
        rule.mark = next();
        break;
      case '--ctstate':
        rule.ctstate = next();
        break;
      default:
        break;
    }
    neg = false;
  }
  return rule;
}

function getTable(d: Dump, name: string): DumpTable {
  let t = d.tables.find((x) => x.name === name);
  if (!t) {
    t = { name, chains: [] };
    d.tables.push(t);
  }
  return t;
}
function getChain(t: DumpTable, name: string): DumpChain {
  let c = t.chains.find((x) => x.name === name);
  if (!c) {
    c = { name, rules: [] };
    t.chains.push(c);
  }
  return c;
}

export function parseDump(text: string): Dump {
  const d: Dump = { tables: [] };
  let table: DumpTable | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line === 'COMMIT') continue;
    if (line.startsWith('*')) table = getTable(d, line.slice(1));
    else if (line.startsWith(':')) getChain(table!, line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ')) {
      const r = parseRule(line);
      getChain(table!, r.chain).rules.push(r);
    } else if (line.startsWith('-X ')) {
      const name = line.slice(3).trim();
      table!.chains = table!.chains.filter((c) => c.name !== name);
    } else throw new Error(`unparseable line ${line}`);
  }
  return d;
}

export function dumpString(d: Dump): string {
  const out: string[] = [];
  for (const t of d.tables) {
    out.push(`*${t.name}`);
    for (const c of t.chains) out.push(`:${c.name} - [0:0]`);
    for (const c of t.chains) for (const r of c.rules) out.push(r.raw);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

// ---- sortIPTablesRules ----------------------------------------------------------------------

function commentServiceName(r: ParsedRule): string | undefined {
  if (r.comment === undefined) return undefined;
  const m = r.comment.search(/[ :]/);
  return m === -1 ? r.comment : r.comment.slice(0, m);
}
function orderByCommentServiceName(a: ParsedRule, b: ParsedRule): boolean {
  const x = commentServiceName(a);
  const y = commentServiceName(b);
  if (x === undefined || y === undefined) return false;
  return x < y;
}
/** Go's sort.SliceStable with a less function (stable merge via index tiebreak). */
function stableSort<T>(xs: T[], less: (a: T, b: T) => boolean): void {
  const idx = xs.map((x, i) => ({ x, i }));
  idx.sort((p, q) => (less(p.x, q.x) ? -1 : less(q.x, p.x) ? 1 : p.i - q.i));
  for (let i = 0; i < xs.length; i++) xs[i] = idx[i]!.x;
}
function chainLess(a: string, b: string): boolean {
  if (a === 'KUBE-NODEPORTS') return true;
  if (b === 'KUBE-NODEPORTS') return false;
  if (a === 'KUBE-SERVICES') return true;
  if (b === 'KUBE-SERVICES') return false;
  const ka = a.startsWith('KUBE-');
  const kb = b.startsWith('KUBE-');
  if (ka && !kb) return true;
  if (!ka && kb) return false;
  return a < b;
}

export function sortIPTablesRules(text: string): string {
  const d = parseDump(text);
  d.tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of d.tables) stableSort(t.chains, (a, b) => chainLess(a.name, b.name));
  const find = (table: string, chain: string): DumpChain | undefined =>
    d.tables.find((t) => t.name === table)?.chains.find((c) => c.name === chain);
  for (const [table, chain] of [
    ['filter', 'KUBE-NODEPORTS'],
    ['nat', 'KUBE-NODEPORTS'],
    ['filter', 'KUBE-SERVICES'],
  ] as const) {
    const c = find(table, chain);
    if (c) stableSort(c.rules, orderByCommentServiceName);
  }
  const natSvc = find('nat', 'KUBE-SERVICES');
  if (natSvc) {
    const last = (r: ParsedRule): boolean => r.comment?.includes('must be the last rule') ?? false;
    stableSort(natSvc.rules, (a, b) => {
      if (last(a)) return false;
      if (last(b)) return true;
      return orderByCommentServiceName(a, b);
    });
  }
  return dumpString(d);
}

/** Upstream's expected dumps are dedented blocks: trim each line, drop blank lines. */
export function dedent(text: string): string {
  return `${text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('\n')}\n`;
}

// ---- the fake iptables a tracer runs on (fake.go) -------------------------------------------

const FAKE_BUILTINS: Record<string, string[]> = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  mangle: [],
};

/** A fake node: the jump commands applied (EnsureRule stores args joined by spaces), then the restore. */
export function fakeIptables(jumpRules: readonly IptablesCommand[], restorePayload: string): Dump {
  const d: Dump = { tables: [] };
  for (const [t, chains] of Object.entries(FAKE_BUILTINS)) {
    const table = getTable(d, t);
    for (const c of chains) getChain(table, c);
  }
  for (const cmd of jumpRules) {
    const table = getTable(d, cmd.table);
    const chain = getChain(table, cmd.chain);
    if (cmd.op === 'insert') {
      const raw = `-A ${cmd.chain} ${(cmd.args ?? []).join(' ')}`;
      chain.rules.splice((cmd.position ?? 1) - 1, 0, parseRule(raw));
    } else if (cmd.op === 'append') {
      chain.rules.push(parseRule(`-A ${cmd.chain} ${(cmd.args ?? []).join(' ')}`));
    }
  }
  // --noflush restore: a ":CHAIN" line flushes that chain; rules are appended.
  let table: DumpTable | undefined;
  for (const rawLine of restorePayload.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line === 'COMMIT') continue;
    if (line.startsWith('*')) table = getTable(d, line.slice(1));
    else if (line.startsWith(':')) getChain(table!, line.slice(1).split(' ')[0]!).rules = [];
    else if (line.startsWith('-X ')) {
      const name = line.slice(3).trim();
      table!.chains = table!.chains.filter((c) => c.name !== name);
    } else {
      const r = parseRule(line);
      getChain(table!, r.chain).rules.push(r);
    }
  }
  return d;
}

// ---- the tracer (iptablesTracer) ------------------------------------------------------------

export const TEST_NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11', '2001:db8::1', '2001:db8:1::2'];

function matchesIPOrCIDR(ip: string, m: { neg: boolean; value: string } | undefined): boolean {
  if (!m) return true;
  const addr = IPAddr.tryParse(ip);
  let match: boolean;
  if (m.value.includes('/')) {
    const p = Prefix.tryParse(m.value);
    match = addr !== undefined && (p?.contains(addr) ?? false);
  } else {
    const other = IPAddr.tryParse(m.value);
    match = addr !== undefined && other !== undefined && addr.equals(other);
  }
  return m.neg ? !match : match;
}

export class IptablesTracer {
  readonly matches: string[] = [];
  readonly outputs: string[] = [];
  markMasq = false;
  private readonly local: Set<string>;

  constructor(
    private readonly dump: Dump,
    nodeIPs: readonly string[],
  ) {
    this.local = new Set(['127.0.0.1', '::1', ...nodeIPs.map((s) => IPAddr.parse(s).toString())]);
  }

  private addrType(ip: string, m: { neg: boolean; value: string } | undefined): boolean {
    if (!m) return true;
    if (m.value !== 'LOCAL') throw new Error(`unsupported addrtype ${m.value}`);
    const a = IPAddr.tryParse(ip);
    const isLocal = a !== undefined && this.local.has(a.toString());
    return m.neg ? !isLocal : isLocal;
  }

  private ruleMatches(r: ParsedRule, src: string, proto: string, dst: string, dport: number): boolean {
    // Rules that depend on state the tracer does not model never match.
    if (r.rcheck || r.mark !== undefined || r.ctstate !== undefined) return false;
    if (!matchesIPOrCIDR(src, r.source)) return false;
    if (!this.addrType(src, r.sourceType)) return false;
    if (r.protocol) {
      const eq = r.protocol.value === proto.toLowerCase();
      if (r.protocol.neg ? eq : !eq) return false;
    }
    if (!matchesIPOrCIDR(dst, r.dest)) return false;
    if (!this.addrType(dst, r.destType)) return false;
    if (r.dport) {
      const eq = r.dport.value === String(dport);
      if (r.dport.neg ? eq : !eq) return false;
    }
    return true;
  }

  runChain(table: string, chain: string, src: string, proto: string, dst: string, dport: number): boolean {
    const c = this.dump.tables.find((t) => t.name === table)?.chains.find((x) => x.name === chain);
    if (!c) return false;
    for (const r of c.rules) {
      if (r.jump === undefined) continue;
      if (!this.ruleMatches(r, src, proto, dst, dport)) continue;
      this.matches.push(r.raw);
      switch (r.jump) {
        case 'KUBE-MARK-MASQ':
          this.markMasq = true;
          continue;
        case 'ACCEPT':
        case 'REJECT':
        case 'DROP':
          this.outputs.push(r.jump);
          return true;
        case 'DNAT':
          this.outputs.push(r.toDestination ?? '');
          return true;
        default: {
          const terminated = this.runChain(table, r.jump, src, proto, dst, dport);
          // A probabilistic jump keeps scanning so every endpoint of a fan-out is collected.
          if (terminated && r.probability === undefined) return true;
        }
      }
    }
    return false;
  }
}

export function tracePacket(
  dump: Dump,
  src: string,
  proto: string,
  dst: string,
  dport: number,
  nodeIPs: readonly string[] = TEST_NODE_IPS,
): { output: string; masq: boolean; matches: string[] } {
  const t = new IptablesTracer(dump, nodeIPs);
  t.runChain('nat', 'PREROUTING', src, proto, dst, dport);
  // "Commit" the DNAT as upstream does (split at the first colon; never exercised for IPv6).
  const natDst = t.outputs.length > 0 ? t.outputs[0]!.split(':')[0]! : dst;
  for (const c of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) {
    t.runChain('filter', c, src, proto, natDst, dport);
  }
  return { output: t.outputs.join(', '), masq: t.markMasq, matches: t.matches };
}

export interface PacketFlowTest {
  name: string;
  sourceIP: string;
  protocol?: Protocol;
  destIP: string;
  destPort: number;
  output: string;
  masq?: boolean;
}

export function runPacketFlows(
  dump: Dump,
  flows: readonly PacketFlowTest[],
): { name: string; output: string; masq: boolean }[] {
  return flows.map((f) => {
    const r = tracePacket(dump, f.sourceIP, f.protocol ?? 'TCP', f.destIP, f.destPort);
    return { name: f.name, output: r.output, masq: r.masq };
  });
}
export function expectedFlows(
  flows: readonly PacketFlowTest[],
): { name: string; output: string; masq: boolean }[] {
  return flows.map((f) => ({ name: f.name, output: f.output, masq: f.masq ?? false }));
}

// ---- upstream's fake proxier (NewFakeProxier) -----------------------------------------------

export const TEST_NODE_NAME = 'test-node';

export function fakeProxierConfig(family: 4 | 6, over: Partial<KubeProxyConfig> = {}): KubeProxyConfig {
  return {
    mode: 'iptables',
    clusterCIDRs: [Prefix.parse(family === 4 ? '10.0.0.0/8' : 'fd00:10::/64')],
    masqueradeAll: false,
    masqueradeBit: 14,
    detectLocalMode: 'ClusterCIDR',
    nodePortAddresses: [],
    localhostNodePorts: true,
    masqueradeRandomFully: false,
    conntrackTCPBeLiberal: false,
    ...over,
  };
}

/** Interface addresses of the fake network: lo 127.0.0.1, ::1; eth0 the test node IPs. */
export const FAKE_INTERFACE_ADDRESSES = [
  { ifname: 'lo', ip: IPAddr.parse('127.0.0.1') },
  { ifname: 'lo', ip: IPAddr.parse('::1') },
  ...TEST_NODE_IPS.map((s) => ({ ifname: 'eth0', ip: IPAddr.parse(s) })),
];

export function fakeProxierInput(
  services: Service[],
  endpointSlices: EndpointSlice[],
  opts: { family?: 4 | 6; config?: Partial<KubeProxyConfig> } = {},
): KubeProxyInput {
  const family = opts.family ?? 4;
  return {
    nodeName: TEST_NODE_NAME,
    nodeIPs: [IPAddr.parse(family === 4 ? '192.168.0.2' : '2001:db8::1')],
    nodePodCIDRs: [],
    family,
    config: fakeProxierConfig(family, opts.config),
    services,
    endpointSlices,
    localInterfaceAddresses: FAKE_INTERFACE_ADDRESSES,
    markFormat: 'upstream-test',
    nfacct: true,
  };
}

// ---- fixtures like makeTestService / makeTestEndpointSlice ----------------------------------

export function makeService(
  ns: string,
  name: string,
  spec: Service['spec'],
  status?: Service['status'],
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, annotations: {} },
    spec,
    ...(status ? { status } : {}),
  };
}

export function makeSlice(
  ns: string,
  svc: string,
  n: number,
  body: Pick<EndpointSlice, 'addressType' | 'endpoints' | 'ports'>,
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-${n}`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    ...body,
  };
}

/** The rules of one chain as `assertIPTablesChainEqual` sees them (raw lines, newline-terminated). */
export function chainRules(payload: string, table: string, chain: string): string {
  const d = parseDump(payload);
  const c = d.tables.find((t) => t.name === table)?.chains.find((x) => x.name === chain);
  return (c?.rules ?? []).map((r) => `${r.raw}\n`).join('');
}

/** Generate with the fake proxier setup and return the fake node dump for tracing. */
export function nodeDump(out: { restorePayload: string; jumpRules: readonly IptablesCommand[] }): Dump {
  return fakeIptables(out.jumpRules, out.restorePayload);
}

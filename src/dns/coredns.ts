// A CoreDNS server as configured by a Corefile: server block selection, the plugin chain in
// plugin.cfg order, and each modelled plugin's effect on the reply. Pure: one query in, one reply out.
import type { ClusterState } from '../model/cluster.js';
import { type Corefile, kubeadmCorefile, parseCorefile, type ServerBlock } from './corefile.js';
import { buildDnsIndex, type DnsIndex } from './kube-index.js';
import { KubernetesPlugin } from './kubernetes-plugin.js';
import {
  addressFromReverse,
  canonical,
  type DnsReply,
  emptyReply,
  fqdn,
  isSubdomain,
  type Rcode,
  type ResourceRecord,
} from './message.js';
import {
  type AutopathConfig,
  type CacheConfig,
  type ForwardConfig,
  type HostsConfig,
  type PluginConfig,
  pluginChain,
  type RewriteConfig,
  type RewriteRule,
} from './plugins.js';
import { parseNodeResolvConf, type ResolvConf } from './resolv-conf.js';
import { type UpstreamDnsServer, upstreamAnswer } from './upstream.js';

interface Server {
  block: ServerBlock;
  chain: PluginConfig[];
  kubernetes?: KubernetesPlugin;
}

export interface CoreDnsModel {
  state: ClusterState;
  index: DnsIndex;
  corefile: Corefile;
  /** Where the Corefile came from: the kube-system/coredns ConfigMap or kubeadm's default. */
  corefileSource: 'configmap' | 'kubeadm-default';
  servers: Server[];
  upstreams: UpstreamDnsServer[];
  /** The node's resolv.conf, which CoreDNS (dnsPolicy Default) reads for `forward . /etc/resolv.conf`. */
  nodeResolvConf: ResolvConf;
  nodeResolvConfText: string;
}

export interface CoreDnsOptions {
  upstreams?: UpstreamDnsServer[];
  /** Overrides the ConfigMap. */
  corefile?: string;
  /** The node's resolv.conf text; default `nameserver <first upstream>`. */
  nodeResolvConf?: string;
  /** Reuse an index built earlier for the same state. */
  index?: DnsIndex;
}

/** One upstream attempt made by the forward plugin. */
export interface ForwardAttempt {
  upstream: string;
  /** The name forwarded (after rewrite, or an ExternalName's target). */
  name?: string;
  outcome: Rcode | 'timeout';
}

/** A server reply plus how CoreDNS reached it (CoreDNS always replies; silent upstreams become SERVFAIL). */
export interface ServerAnswer {
  reply: DnsReply;
  /** The plugins that acted, in order, e.g. `rewrite name exact … (Corefile:4)`, `kubernetes`, `forward → 8.8.8.8`. */
  path: string[];
  forward: ForwardAttempt[];
  /** Upstreams the forward policy could have picked first instead (random / round_robin). */
  forwardAlternatives: string[];
  unsupported: string[];
}

export function defaultNodeResolvConf(upstreams: UpstreamDnsServer[]): string {
  return upstreams[0] ? `nameserver ${upstreams[0].ip}\n` : '';
}

/** The Corefile text the cluster runs: the kube-system/coredns ConfigMap's `Corefile`, else kubeadm's. */
export function clusterCorefile(state: ClusterState): {
  text: string;
  source: 'configmap' | 'kubeadm-default';
} {
  const cm = state.configMaps.find(
    (c) => c.metadata.namespace === 'kube-system' && c.metadata.name === 'coredns',
  );
  const data = cm?.data as Record<string, unknown> | undefined;
  const text = data?.Corefile;
  if (typeof text === 'string') return { text, source: 'configmap' };
  return { text: kubeadmCorefile(state.config.clusterDomain), source: 'kubeadm-default' };
}

export function buildCoreDns(state: ClusterState, opts: CoreDnsOptions = {}): CoreDnsModel {
  const index = opts.index ?? buildDnsIndex(state);
  const { text, source } =
    opts.corefile !== undefined
      ? { text: opts.corefile, source: 'configmap' as const }
      : clusterCorefile(state);
  const corefile = parseCorefile(text);
  const upstreams = opts.upstreams ?? [];
  const nodeResolvConf = parseNodeResolvConf(opts.nodeResolvConf ?? defaultNodeResolvConf(upstreams));
  const servers = corefile.servers.map((block) => {
    const chain = pluginChain(block);
    const k = chain.find((p) => p.plugin === 'kubernetes');
    return {
      block,
      chain,
      ...(k && k.plugin === 'kubernetes' ? { kubernetes: new KubernetesPlugin(index, k.options) } : {}),
    };
  });
  return {
    state,
    index,
    corefile,
    corefileSource: source,
    servers,
    upstreams,
    nodeResolvConf,
    nodeResolvConfText: opts.nodeResolvConf ?? defaultNodeResolvConf(upstreams),
  };
}

export interface QueryOptions {
  /** The client's source address (autopath finds the client pod by it). */
  clientIP?: string;
  port?: number;
}

type Outcome = { written: true; reply: DnsReply } | { written: false; rcode: Rcode };

interface Ctx {
  model: CoreDnsModel;
  server: Server;
  clientIP?: string;
  port: number;
  trace: ServerAnswer;
  depth: number;
}

/** What CoreDNS answers for one question. */
export function answerQuery(
  model: CoreDnsModel,
  name: string,
  type: string,
  opts: QueryOptions = {},
): ServerAnswer {
  const trace: ServerAnswer = {
    reply: emptyReply(name, type, 'NOERROR'),
    path: [],
    forward: [],
    forwardAlternatives: [],
    unsupported: [],
  };
  trace.reply = serve(model, fqdn(name), type.toUpperCase(), opts.clientIP, opts.port ?? 53, trace, 0);
  return trace;
}

function serve(
  model: CoreDnsModel,
  qname: string,
  qtype: string,
  clientIP: string | undefined,
  port: number,
  trace: ServerAnswer,
  depth: number,
): DnsReply {
  // core/dnsserver/server.go: walk the name from the full name towards the root; the first zone key that matches wins.
  let server: Server | undefined;
  let best = -1;
  for (const s of model.servers) {
    if (s.block.port !== port) continue;
    for (const z of s.block.zones) {
      if (isSubdomain(qname, z) && z.length > best) {
        best = z.length;
        server = s;
      }
    }
  }
  if (!server) {
    trace.path.push('no server block for this zone');
    return { ...emptyReply(qname, qtype, 'REFUSED'), flags: serverFlags() };
  }
  const ctx: Ctx = { model, server, ...(clientIP ? { clientIP } : {}), port, trace, depth };
  const out = run(ctx, 0, qname, qtype);
  if (out.written) return out.reply;
  // A plugin returned an error rcode without writing: the server writes it (plugin.ClientWrite).
  trace.path.push(`server writes ${out.rcode}`);
  return { ...emptyReply(qname, qtype, out.rcode), flags: serverFlags() };
}

function serverFlags() {
  return { qr: true, aa: false, tc: false, rd: true, ra: false };
}

function run(ctx: Ctx, i: number, qname: string, qtype: string): Outcome {
  const p = ctx.server.chain[i];
  if (!p) {
    ctx.trace.path.push('end of plugin chain (no next plugin): SERVFAIL');
    return { written: false, rcode: 'SERVFAIL' };
  }
  const next = (name: string = qname, type: string = qtype) => run(ctx, i + 1, name, type);
  switch (p.plugin) {
    case 'no-op':
      return next();
    case 'unsupported':
      ctx.trace.unsupported.push(
        `plugin ${p.name} (Corefile:${p.line}) is not modelled; the query passed it unchanged`,
      );
      return next();
    case 'loadbalance':
      // loadbalance shuffles A/AAAA/MX order per reply; kpath keeps the order deterministic.
      return next();
    case 'cache':
      return cache(ctx, p, qname, next);
    case 'rewrite':
      return rewrite(ctx, p, qname, qtype, next);
    case 'autopath':
      return autopath(ctx, p, qname, qtype, next);
    case 'hosts':
      return hosts(ctx, p, qname, qtype, next);
    case 'kubernetes':
      return kubernetes(ctx, qname, qtype, next);
    case 'forward':
      return forward(ctx, p, qname, qtype, next);
  }
}

function kubernetes(ctx: Ctx, qname: string, qtype: string, next: () => Outcome): Outcome {
  const k = ctx.server.kubernetes!;
  const r = k.serve(qname, qtype);
  if (r.kind === 'next') {
    if (r.reason.startsWith('fallthrough')) ctx.trace.path.push(`kubernetes: NXDOMAIN, fallthrough`);
    return next();
  }
  ctx.trace.path.push(
    `kubernetes: ${r.rcode}${r.rcode === 'NOERROR' && r.answer.length === 0 ? ' (NODATA)' : ''}`,
  );
  let answer = r.answer;
  if (r.upstreamLookup) {
    // plugin/pkg/upstream: the ExternalName target is resolved through this CoreDNS again. The
    // upstream rcode is ignored; a failed lookup (no reply) drops the CNAME.
    ctx.trace.path.push(`kubernetes: ExternalName → resolving ${r.upstreamLookup.target} through CoreDNS`);
    const inner = ctx.depth < 8 ? serveInner(ctx, r.upstreamLookup.target, qtype) : undefined;
    answer = inner ? [r.upstreamLookup.cname, ...inner.answer] : [];
  }
  const reply: DnsReply = {
    question: { name: qname, type: qtype },
    rcode: r.rcode,
    flags: { qr: true, aa: r.rcode !== 'REFUSED', tc: false, rd: true, ra: false },
    answer,
    authority:
      answer.length === 0 && r.rcode === 'NOERROR' && r.authority.length === 0
        ? [k.soa(k.matchZone(qname)!)]
        : r.authority,
    additional: r.additional,
  };
  return { written: true, reply };
}

function serveInner(ctx: Ctx, name: string, type: string): DnsReply | undefined {
  const before = ctx.trace.forward.length;
  const reply = serve(ctx.model, name, type, ctx.clientIP, ctx.port, ctx.trace, ctx.depth + 1);
  const attempts = ctx.trace.forward.slice(before);
  // A forward that got no reply at all makes the upstream lookup fail (not a written reply).
  if (attempts.length > 0 && attempts.every((a) => a.outcome === 'timeout')) return undefined;
  return reply;
}

function upstreamList(ctx: Ctx, p: ForwardConfig): string[] {
  const list = [...p.to];
  if (p.fromResolvConf) list.push(...ctx.model.nodeResolvConf.nameservers);
  // forward caps the list at 15 upstreams.
  return list.slice(0, 15);
}

function forward(ctx: Ctx, p: ForwardConfig, qname: string, qtype: string, next: () => Outcome): Outcome {
  if (!isSubdomain(qname, p.from) || p.except.some((z) => isSubdomain(qname, z))) return next();
  const list = upstreamList(ctx, p);
  if (list.length === 0) {
    ctx.trace.path.push(`forward (Corefile:${p.line}): no upstreams`);
    return { written: false, rcode: 'SERVFAIL' };
  }
  if (p.policy !== 'sequential' && list.length > 1) ctx.trace.forwardAlternatives = list.slice(1);
  // Each upstream gets a 2s read timeout inside a 5s request deadline, so at most three attempts.
  const maxAttempts = Math.min(2 * list.length, 3);
  for (let a = 0; a < maxAttempts; a++) {
    const ip = list[a % list.length]!;
    if (ip === ctx.model.index.dnsServiceIP.toString() || ip.startsWith('127.')) {
      ctx.trace.unsupported.push(
        `forward to ${ip} loops back to CoreDNS (the loop plugin would stop CoreDNS)`,
      );
    }
    const up = ctx.model.upstreams.find((u) => u.ip === ip);
    const reply = up ? upstreamAnswer(up, qname, qtype) : undefined;
    ctx.trace.forward.push({ upstream: ip, name: qname, outcome: reply ? reply.rcode : 'timeout' });
    if (!reply) continue;
    ctx.trace.path.push(`forward (Corefile:${p.line}) → ${ip}${up ? ` (${up.name})` : ''}: ${reply.rcode}`);
    // Answers pass through unchanged, upstream SERVFAIL and NXDOMAIN included (no failover configured).
    return { written: true, reply: { ...reply, question: { name: qname, type: qtype } } };
  }
  ctx.trace.path.push(`forward (Corefile:${p.line}): no upstream replied within 5s: SERVFAIL`);
  return { written: false, rcode: 'SERVFAIL' };
}

function cache(ctx: Ctx, p: CacheConfig, qname: string, next: () => Outcome): Outcome {
  if (!p.zones.some((z) => isSubdomain(qname, z))) return next();
  const out = next();
  if (!out.written) return out;
  const r = out.reply;
  const all = [...r.answer, ...r.authority, ...r.additional];
  if (all.length === 0) return out;
  let duration: number;
  const denial = r.rcode === 'NXDOMAIN' || (r.rcode === 'NOERROR' && r.answer.length === 0);
  if (r.rcode === 'SERVFAIL') duration = p.servfailTTL;
  else if (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN') return out;
  else {
    let min = Math.min(...all.map((x) => x.ttl));
    if (denial) {
      // dnsutil.MinimalTTL: a denial is bounded by its SOA's MINIMUM field too.
      for (const soa of r.authority.filter((x) => x.type === 'SOA')) {
        const minimum = Number(soa.data.split(/\s+/)[6]);
        if (Number.isFinite(minimum)) min = Math.min(min, minimum);
      }
    }
    const [floor, cap] = denial ? [p.denialMinTTL, p.denialCap] : [p.successMinTTL, p.successCap];
    duration = Math.min(Math.max(min, floor), cap);
  }
  const disabled = (denial ? p.disableDenial : p.disableSuccess).some((z) => isSubdomain(qname, z));
  ctx.trace.path.push(
    `cache (Corefile:${p.line}): TTL ${duration}${disabled ? ' (not stored: disabled for this zone)' : ''}`,
  );
  // The cache rewrites the TTL of every RR in the reply it passes on, stored or not.
  const setTTL = (rs: ResourceRecord[]) => rs.map((x) => ({ ...x, ttl: duration }));
  return {
    written: true,
    reply: {
      ...r,
      answer: setTTL(r.answer),
      authority: setTTL(r.authority),
      additional: setTTL(r.additional),
    },
  };
}

/** CoreDNS's `{n}` capture-group replacement (rewrite/name.go regexStringRewriter). */
function regexReplace(pattern: string, replacement: string, src: string): string | undefined {
  const m = new RegExp(pattern).exec(src);
  if (!m) return undefined;
  return replacement.replace(/\{(\d+)\}/g, (all, g: string) => m[Number(g)] ?? all);
}

/** Applies one rule to a lowercased absolute name; undefined when it does not match. */
export function applyRewrite(rule: RewriteRule, name: string): string | undefined {
  switch (rule.match) {
    case 'exact':
      return name === rule.from ? rule.to : undefined;
    case 'prefix':
      return name.startsWith(rule.from) ? rule.to + name.slice(rule.from.length) : undefined;
    case 'suffix':
      return name.endsWith(rule.from) ? name.slice(0, name.length - rule.from.length) + rule.to : undefined;
    case 'substring':
      return name.includes(rule.from) ? name.replaceAll(rule.from, rule.to) : undefined;
    case 'regex':
      return regexReplace(rule.from, rule.to, name);
  }
}

/** A string mapping applied to answer owner names and values. */
type Remap = (s: string) => string;

/** The response rules one applied rule contributes (rewrite/name.go responseRuleFor). */
function responseRules(
  rule: RewriteRule,
  before: string,
  after: string,
): { names: Remap[]; values: Remap[] } {
  const names: Remap[] = [];
  const values: Remap[] = [];
  if (rule.auto) {
    // suffix rules revert by swapping the suffixes; the others map the rewritten name (and names
    // below it) back to the name before the rule.
    const remap: Remap =
      rule.match === 'suffix'
        ? (s) => (s.endsWith(rule.to) ? s.slice(0, s.length - rule.to.length) + rule.from : s)
        : (s) =>
            s === after ? before : s.endsWith(`.${after}`) ? s.slice(0, s.length - after.length) + before : s;
    names.push(remap);
    values.push(remap);
  }
  for (const a of rule.answerName) names.push((s) => regexReplace(a.from, a.to, s) ?? s);
  for (const a of rule.answerValue) values.push((s) => regexReplace(a.from, a.to, s) ?? s);
  return { names, values };
}

// The rdata field that holds a name, for the record types rewrite's value rules touch.
function rewriteValue(rr: ResourceRecord, f: Remap): ResourceRecord {
  const parts = rr.data.split(' ');
  const at =
    rr.type === 'CNAME' || rr.type === 'PTR' || rr.type === 'NS' || rr.type === 'DNAME'
      ? 0
      : rr.type === 'SRV'
        ? 3
        : rr.type === 'MX'
          ? 1
          : -1;
  if (at < 0 || parts[at] === undefined) return rr;
  parts[at] = f(parts[at]!);
  return { ...rr, data: parts.join(' ') };
}

function rewrite(
  ctx: Ctx,
  p: RewriteConfig,
  qname: string,
  qtype: string,
  next: (n?: string) => Outcome,
): Outcome {
  let name = canonical(qname);
  const names: Remap[] = [];
  const values: Remap[] = [];
  for (const rule of p.rules) {
    const out = applyRewrite(rule, name);
    if (out === undefined) continue;
    ctx.trace.path.push(
      `rewrite name ${rule.match} ${rule.from} ${rule.to} (Corefile:${rule.line}): ${name} → ${out}`,
    );
    const r = responseRules(rule, name, out);
    names.push(...r.names);
    values.push(...r.values);
    name = out;
    if (rule.mode === 'stop') break;
  }
  if (name === canonical(qname) && names.length === 0 && values.length === 0) return next();
  const out = next(name);
  if (!out.written) return out;
  // The question always goes back as asked; answer records only through the response rules, in rule order.
  const revert = (rs: ResourceRecord[]) =>
    rs.map((rr) => {
      let owner = canonical(rr.name);
      for (const f of names) owner = f(owner);
      let res: ResourceRecord = { ...rr, name: owner === canonical(rr.name) ? rr.name : owner };
      for (const f of values) res = rewriteValue(res, f);
      return res;
    });
  return {
    written: true,
    reply: { ...out.reply, question: { name: qname, type: qtype }, answer: revert(out.reply.answer) },
  };
}

function autopath(
  ctx: Ctx,
  p: AutopathConfig,
  qname: string,
  qtype: string,
  next: (n?: string) => Outcome,
): Outcome {
  if (!p.zones.some((z) => isSubdomain(qname, z))) return next();
  const k = ctx.server.kubernetes;
  if (p.source !== '@kubernetes') {
    ctx.trace.unsupported.push(`autopath from ${p.source} is not modelled (only @kubernetes)`);
    return next();
  }
  // kubernetes AutoPath: only names in its zones, only with `pods verified`, only for a Running client pod.
  const zone = k?.matchZone(qname);
  if (!k || !zone || k.opts.pods !== 'verified' || !ctx.clientIP) return next();
  const pod = (ctx.model.index.podsByIP.get(ctx.clientIP) ?? []).find((x) => x.status?.phase === 'Running');
  if (!pod) return next();
  const ns = pod.metadata.namespace ?? 'default';
  const search = zone === '.' ? [`${ns}.svc.`, 'svc.', '.'] : [`${ns}.svc.${zone}`, `svc.${zone}`, zone];
  search.push(...ctx.model.nodeResolvConf.search.map((s) => canonical(s)), '');
  const first = search[0]!;
  const lname = canonical(qname);
  if (!(lname === first || lname.endsWith(`.${first}`))) return next();
  const base = lname === first ? '' : lname.slice(0, lname.length - first.length - 1);
  let firstOut: Outcome | undefined;
  for (const [i, s] of search.entries()) {
    const candidate = s === '' ? fqdn(base) : `${base}.${s}`;
    const out = next(candidate);
    if (i === 0) firstOut = out;
    if (!out.written || out.reply.rcode === 'NXDOMAIN') continue;
    ctx.trace.path.push(`autopath: ${qname} answered as ${candidate}`);
    const answer = out.reply.answer;
    const firstRR = answer[0];
    // cnamer: a CNAME from the asked name to the owner that answered, with that record's TTL.
    const cname =
      firstRR && canonical(firstRR.name) !== lname
        ? [{ name: qname, ttl: firstRR.ttl, type: 'CNAME', data: firstRR.name }]
        : [];
    return {
      written: true,
      reply: { ...out.reply, question: { name: qname, type: qtype }, answer: [...cname, ...answer] },
    };
  }
  ctx.trace.path.push('autopath: every candidate was NXDOMAIN; the first reply is returned');
  return firstOut!;
}

function hosts(ctx: Ctx, p: HostsConfig, qname: string, qtype: string, next: () => Outcome): Outcome {
  if (!p.zones.some((z) => isSubdomain(qname, z))) return next();
  if (p.file && p.entries.length === 0)
    ctx.trace.unsupported.push(`hosts file ${p.file} is not readable in the model (treated as empty)`);
  const lname = canonical(qname);
  const answer: ResourceRecord[] = [];
  let exists = false;
  if (qtype === 'PTR') {
    const ip = addressFromReverse(lname);
    const names = ip && !p.noReverse ? p.entries.filter((x) => x.ip.equals(ip)).flatMap((e) => e.names) : [];
    // hosts.go: a PTR it cannot answer always goes to the next plugin, fallthrough or not.
    if (names.length === 0) return next();
    for (const n of names) answer.push({ name: qname, ttl: p.ttl, type: 'PTR', data: n });
    exists = true;
  }
  for (const e of p.entries) {
    if (!e.names.includes(lname)) continue;
    exists = true;
    if ((qtype === 'A' && e.ip.family === 4) || (qtype === 'AAAA' && e.ip.family === 6)) {
      answer.push({ name: qname, ttl: p.ttl, type: qtype, data: e.ip.toString() });
    }
  }
  if (answer.length === 0 && !exists) {
    const ft = p.fallthrough;
    if (ft && (ft.length === 0 || ft.some((z) => isSubdomain(qname, z)))) return next();
    // hosts has no SOA to make an NXDOMAIN with, so it answers SERVFAIL.
    ctx.trace.path.push('hosts: name not in hosts and no fallthrough: SERVFAIL');
    return { written: false, rcode: 'SERVFAIL' };
  }
  ctx.trace.path.push(`hosts (Corefile:${p.line}): ${answer.length} record(s)`);
  return {
    written: true,
    reply: {
      ...emptyReply(qname, qtype, 'NOERROR'),
      flags: { qr: true, aa: true, tc: false, rd: true, ra: false },
      answer,
    },
  };
}

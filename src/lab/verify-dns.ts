// `lab verify --dns`: real lookups with glibc's getaddrinfo (`getent ahosts`) inside pod namespaces,
// compared with the glibc resolver model — the addresses (or the failure) and the names tried, as the
// lab's DNS servers logged them (search-list expansion, ndots, A and AAAA).

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { CoreDnsModel } from '../dns/coredns.js';
import { answerQuery } from '../dns/coredns.js';
import { canonical, formatRecord } from '../dns/message.js';
import { type LookupStatus, type PodLookup, resolve } from '../dns/stub-resolver.js';
import type { Pod } from '../model/k8s.js';
import { seededRandom } from '../model/seeded-random.js';
import { formatTable } from '../render/table.js';
import { clusterDns } from '../trace/dns-step.js';
import type { Twin } from '../twin.js';
import { netnsEtcDir, podHostsFile } from './dns-plan.js';
import type { DnsLogEntry } from './dns-server.js';
import { dnsLogPath, labToVerify } from './lifecycle.js';
import { labPlan } from './plan.js';

export type DnsNameKind =
  | 'service-short'
  | 'service-ns'
  | 'service-fqdn'
  | 'headless'
  | 'pod-ip'
  | 'statefulset-host'
  | 'externalname'
  | 'external'
  | 'missing'
  | 'few-dots';

/** One lookup to make: `name` resolved inside `pod`'s namespace. */
export interface DnsCase {
  pod: string;
  netns: string;
  name: string;
  kind: DnsNameKind;
}

/** What one side says of a lookup: success with addresses, or failure; and the queries sent, as `name TYPE` runs. */
export interface DnsOutcome {
  ok: boolean;
  addresses: string[];
  /** One entry per name tried in a row: `web.shop.svc.cluster.local. A,AAAA`. */
  queries: string[];
  /** The model's getaddrinfo status (the real side only shows getent's exit status). */
  status?: LookupStatus;
}

export interface DnsVerdict {
  case: DnsCase;
  predicted: DnsOutcome;
  real: DnsOutcome;
  /**
   * For an absolute name asked of CoreDNS: the answer section of one A query as `dig` printed it,
   * against the model's (owner, TTL, type, data — CNAME chains included).
   */
  dig?: { predicted: string[]; real: string[] };
  differences: string[];
}

export interface DnsVerifyReport {
  lab: string;
  verdicts: DnsVerdict[];
  agree: number;
  differ: number;
  /** Why some pods were left out (host network, no resolv.conf). */
  skipped: string[];
}

export interface DnsVerifyOptions {
  lab?: string;
  /** Verify N lookups picked at random (seeded) instead of all. */
  sample?: number;
  seed?: number;
  /** Milliseconds one getent may take (timeouts of dead upstreams add up). */
  timeoutMs?: number;
}

const podKey = (p: Pod) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;

/** The names to look up from `pod`: one of each kind the cluster has. */
export function dnsNames(model: CoreDnsModel, pod: Pod): { name: string; kind: DnsNameKind }[] {
  const state = model.state;
  const domain = state.config.clusterDomain;
  const ns = pod.metadata.namespace ?? 'default';
  const svcNs = (s: { metadata: { namespace?: string } }) => s.metadata.namespace ?? 'default';
  const clusterIP = state.services.filter(
    (s) => s.spec.type !== 'ExternalName' && s.spec.clusterIP && s.spec.clusterIP !== 'None',
  );
  const own = clusterIP.find((s) => svcNs(s) === ns) ?? clusterIP[0];
  const other = clusterIP.find((s) => svcNs(s) !== ns) ?? own;
  const headless = state.services.find((s) => s.spec.clusterIP === 'None' && s.spec.selector);
  const external = state.services.find((s) => s.spec.type === 'ExternalName');
  const peer = state.pods.find((p) => p !== pod && p.status?.podIP && !p.spec.hostNetwork);
  const host = state.pods.find((p) => p !== pod && p.spec.hostname && p.spec.subdomain);
  const upstreamName = model.upstreams
    .flatMap((u) => u.records)
    .find((r) => r.type === 'A' || r.type === 'CNAME');
  const out: { name: string; kind: DnsNameKind }[] = [];
  if (own) out.push({ name: own.metadata.name, kind: 'service-short' });
  if (other) out.push({ name: `${other.metadata.name}.${svcNs(other)}`, kind: 'service-ns' });
  if (own) out.push({ name: `${own.metadata.name}.${svcNs(own)}.svc.${domain}.`, kind: 'service-fqdn' });
  if (other) out.push({ name: `${other.metadata.name}.${svcNs(other)}.svc`, kind: 'few-dots' });
  if (headless)
    out.push({ name: `${headless.metadata.name}.${svcNs(headless)}.svc.${domain}`, kind: 'headless' });
  if (peer?.status?.podIP && !peer.status.podIP.includes(':'))
    out.push({
      name: `${peer.status.podIP.replace(/\./g, '-')}.${svcNs(peer)}.pod.${domain}`,
      kind: 'pod-ip',
    });
  if (host)
    out.push({
      name: `${host.spec.hostname}.${host.spec.subdomain}.${svcNs(host)}`,
      kind: 'statefulset-host',
    });
  if (external) out.push({ name: `${external.metadata.name}.${svcNs(external)}`, kind: 'externalname' });
  out.push({ name: upstreamName ? upstreamName.name.replace(/\.$/, '') : 'example.com', kind: 'external' });
  out.push({ name: `kpath-no-such-name.${ns}`, kind: 'missing' });
  // /etc/hosts answers its own names before DNS (nsswitch `files dns`); the model covers DNS only.
  const hostsNames = new Set(
    podHostsFile(pod, domain)
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .flatMap((l) => l.split(/\s+/).slice(1)),
  );
  const seen = new Set<string>();
  return out.filter((c) => {
    const key = c.name.replace(/\.$/, '');
    if (seen.has(c.name) || hostsNames.has(key)) return false;
    seen.add(c.name);
    return true;
  });
}

/** Every lookup `verifyDns` would make in `lab` (pure), and the pods it leaves out. */
export function dnsCases(twin: Twin, lab: string): { cases: DnsCase[]; skipped: string[] } {
  const model = clusterDns(twin);
  const plan = labPlan(twin, lab);
  const withResolvConf = new Set(
    (plan.files ?? []).filter((f) => f.path.endsWith('/resolv.conf')).map((f) => f.path),
  );
  const cases: DnsCase[] = [];
  const skipped: string[] = [];
  for (const n of plan.namespaces) {
    if (n.role !== 'pod' || !n.pod) continue;
    const pod = twin.state.pods.find((p) => podKey(p) === n.pod);
    if (!pod) continue;
    if (!withResolvConf.has(`${netnsEtcDir(n.name)}/resolv.conf`)) {
      skipped.push(
        `${n.pod}: no resolv.conf of its own (host network, or dnsPolicy None without nameservers)`,
      );
      continue;
    }
    for (const c of dnsNames(model, pod)) cases.push({ pod: n.pod, netns: n.name, ...c });
  }
  return { cases, skipped };
}

/** `name A,AAAA` runs: consecutive queries for one name folded, their types sorted. */
export function queryRuns(qs: readonly { name: string; type: string }[]): string[] {
  const runs: { name: string; types: string[] }[] = [];
  for (const q of qs) {
    const name = canonical(q.name);
    const last = runs[runs.length - 1];
    if (last && last.name === name) last.types.push(q.type);
    else runs.push({ name, types: [q.type] });
  }
  return runs.map((r) => `${r.name} ${r.types.sort().join(',')}`);
}

/** The model's side: glibc getaddrinfo(AF_UNSPEC) in the pod; queries only to servers the lab runs. */
export function predictLookup(
  model: CoreDnsModel,
  pod: Pod,
  name: string,
  served: (server: string) => boolean,
): DnsOutcome {
  const l: PodLookup = resolve(model, name, pod, { resolver: 'glibc', family: 'any' });
  return {
    ok: l.result.status === 'OK',
    addresses: [...new Set(l.result.addresses)].sort(),
    queries: queryRuns(l.queries.filter((q) => served(q.server))),
    status: l.result.status,
  };
}

/** `getent ahosts` output: the distinct addresses (each is printed per socket type). */
export function parseGetent(stdout: string): string[] {
  const out = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+)\s+(STREAM|DGRAM|RAW)\b/.exec(line);
    if (m?.[1]) out.add(m[1]);
  }
  return [...out].sort();
}

/** `dig +noall +answer` lines as zone-file records (`owner TTL IN TYPE data`, single spaces). */
export function parseDigAnswer(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith(';'))
    .map((l) => l.trim().split(/\s+/).join(' '));
}

function inNetns(
  netns: string,
  argv: string[],
  timeoutMs: number,
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      'ip',
      ['netns', 'exec', netns, ...argv],
      { encoding: 'utf8', timeout: timeoutMs },
      (err, stdout) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout });
      },
    );
  });
}

interface LogCursor {
  path: string;
  /** The server's label (`upstream/NAME` or the CoreDNS pod). */
  label: string;
  /** The address clients use for it: the kube-dns ClusterIP for CoreDNS, the upstream's own. */
  address: string;
  offset: number;
}

function logSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

function readSince(c: LogCursor): DnsLogEntry[] {
  if (!existsSync(c.path)) return [];
  const text = readFileSync(c.path).subarray(c.offset).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DnsLogEntry);
}

function compare(p: DnsOutcome, r: DnsOutcome, notes: string[]): string[] {
  const d: string[] = [];
  if (p.ok !== r.ok)
    d.push(
      `predicted ${p.ok ? 'success' : `failure (${p.status})`}, getent ${r.ok ? 'succeeded' : 'failed'}`,
    );
  else if (p.addresses.join(' ') !== r.addresses.join(' '))
    d.push(`addresses: predicted ${p.addresses.join(' ') || '-'}, real ${r.addresses.join(' ') || '-'}`);
  if (p.queries.join(' | ') !== r.queries.join(' | '))
    d.push(`queries: predicted [${p.queries.join(' | ')}], real [${r.queries.join(' | ')}]`);
  return [...d, ...notes];
}

/**
 * Makes every lookup (or a seeded sample) one after another — so each server log segment belongs to
 * one lookup — and compares each with the model's prediction.
 */
export async function verifyDns(twin: Twin, opts: DnsVerifyOptions = {}): Promise<DnsVerifyReport> {
  const { lab } = labToVerify(twin, opts.lab);
  const model = clusterDns(twin);
  let { cases, skipped } = dnsCases(twin, lab);
  if (opts.sample !== undefined && opts.sample < cases.length) {
    const rnd = seededRandom(opts.seed ?? 1);
    const pool = [...cases];
    const picked: DnsCase[] = [];
    while (picked.length < opts.sample && pool.length)
      picked.push(...pool.splice(Math.floor(rnd() * pool.length), 1));
    const order = new Map(cases.map((c, i) => [c, i]));
    cases = picked.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  }
  const dnsIP = model.index.dnsServiceIP.toString();
  const cursors: LogCursor[] = labPlan(twin, lab)
    .servers.filter((s) => s.dns)
    .map((s) => ({
      path: dnsLogPath(lab, s.netns),
      label: s.label,
      address: s.dns?.kind === 'upstream' ? s.dns.upstream.ip : dnsIP,
      offset: 0,
    }));
  const served = (server: string) => cursors.some((c) => c.address === server);
  const verdicts: DnsVerdict[] = [];
  for (const c of cases) {
    const pod = twin.state.pods.find((p) => podKey(p) === c.pod);
    if (!pod) continue;
    const predicted = predictLookup(model, pod, c.name, served);
    for (const cur of cursors) cur.offset = logSize(cur.path);
    const g = await inNetns(c.netns, ['getent', 'ahosts', c.name], opts.timeoutMs ?? 60_000);
    // The resolver's own queries: those that reached the servers its resolv.conf names (CoreDNS's
    // forwards show up in the upstream's log too, but a ClusterFirst pod never asks the upstream).
    const nameservers = (readFileSafe(`${netnsEtcDir(c.netns)}/resolv.conf`) ?? '')
      .split('\n')
      .map((l) => /^nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((x): x is string => !!x);
    const entries = cursors
      .filter((cur) => nameservers.includes(cur.address))
      .flatMap(readSince)
      .sort((a, b) => {
        const d = BigInt(a.mono) - BigInt(b.mono);
        return d < 0n ? -1 : d > 0n ? 1 : 0;
      });
    const forwardNotes = cursors
      .flatMap(readSince)
      .filter((e) => e.note)
      .map((e) => `${e.server}: ${e.name} ${e.type}: ${e.note}`);
    const real: DnsOutcome = {
      ok: g.code === 0,
      addresses: g.code === 0 ? parseGetent(g.stdout) : [],
      queries: queryRuns(entries),
    };
    const differences = compare(predicted, real, [...new Set(forwardNotes)]);
    // The raw answer, where one query says it all: an absolute name asked of CoreDNS (dig does not search).
    let dig: DnsVerdict['dig'];
    const fq = absoluteName(c, twin.state.config.clusterDomain);
    if (fq && nameservers[0] === dnsIP) {
      const d = await inNetns(
        c.netns,
        ['dig', '+noall', '+answer', '+nocookie', '+tries=1', '+time=3', fq, 'A'],
        opts.timeoutMs ?? 60_000,
      );
      const clientIP = pod.status?.podIP;
      const want = answerQuery(model, fq, 'A', clientIP ? { clientIP } : {}).reply.answer.map(formatRecord);
      dig = {
        predicted: want,
        real: d.code === 0 ? parseDigAnswer(d.stdout) : [`dig exited with ${d.code}`],
      };
      if (want.join('\n') !== dig.real.join('\n'))
        differences.push(`dig ${fq} A: predicted [${want.join(', ')}], real [${dig.real.join(', ')}]`);
    }
    verdicts.push({ case: c, predicted, real, ...(dig ? { dig } : {}), differences });
  }
  const differ = verdicts.filter((v) => v.differences.length > 0).length;
  return { lab, verdicts, agree: verdicts.length - differ, differ, skipped };
}

/** The absolute name `dig` asks for a case whose raw answer is worth comparing (a service, headless, ExternalName). */
function absoluteName(c: DnsCase, domain: string): string | undefined {
  if (c.kind === 'service-fqdn') return c.name;
  if (c.kind === 'headless') return `${c.name.replace(/\.$/, '')}.`;
  if (c.kind === 'externalname') return `${c.name}.svc.${domain}.`;
  return undefined;
}

function readFileSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function outcomeCell(o: DnsOutcome): string {
  return o.ok ? o.addresses.join(' ') || '(no address)' : o.status ? `${o.status}` : 'failed';
}

/** The report as text: one row per lookup, then each difference spelled out. */
export function formatDnsReport(r: DnsVerifyReport, opts: { onlyDifferences?: boolean } = {}): string {
  const rows: string[][] = [['', 'POD', 'NAME', 'KIND', 'PREDICTED', 'GETENT', 'NAMES TRIED']];
  for (const v of r.verdicts) {
    if (opts.onlyDifferences && v.differences.length === 0) continue;
    rows.push([
      v.differences.length ? 'DIFF' : 'ok',
      v.case.pod,
      v.case.name,
      v.case.kind,
      outcomeCell(v.predicted),
      outcomeCell(v.real),
      String(v.real.queries.length),
    ]);
  }
  let out = `DNS in lab ${r.lab}: ${r.verdicts.length} lookups with getent ahosts (glibc), ${r.agree} agree with the model, ${r.differ} differ\n\n`;
  if (rows.length > 1) out += `${formatTable(rows)}\n`;
  for (const v of r.verdicts.filter((x) => x.differences.length)) {
    out += `\n${v.case.pod} ${v.case.name}:\n${v.differences.map((d) => `  ${d}\n`).join('')}`;
  }
  for (const s of r.skipped) out += `skipped ${s}\n`;
  return out;
}

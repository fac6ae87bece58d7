// The /etc/resolv.conf kubelet gives a pod (pkg/kubelet/network/dns/dns.go), and how the stub
// resolvers read such a file back.
import type { ClusterState } from '../model/cluster.js';
import { InputError, problemAt } from '../model/errors.js';
import type { Pod } from '../model/k8s.js';
import { objectKey } from '../model/k8s.js';

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** kubelet's parseResolvConf: every nameserver; the last search and options lines win; `domain` ignored. */
export function parseNodeResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const f = line.split(/\s+/).filter(Boolean);
    if (f.length === 0) continue;
    if (f[0] === 'nameserver' && f[1]) out.nameservers.push(f[1]);
    if (f[0] === 'search') out.search = f.slice(1).map((s) => (s === '.' ? s : s.replace(/\.$/, '')));
    if (f[0] === 'options') out.options = f.slice(1);
  }
  return out;
}

// Kubernetes ≥1.28 (ExpandedDNSConfig GA): 32 search domains, 2048 characters; 3 nameservers.
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;
export const MAX_NAMESERVERS = 3;

function omitDuplicates(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** formDNSSearchFitsLimits: cut to 32, drop domains over 253 chars, then cut whole domains from the end to 2048 chars. */
function fitSearch(search: string[]): string[] {
  let s = search.slice(0, MAX_DNS_SEARCH_PATHS).filter((d) => d.length <= 253);
  const len = s.join(' ').length;
  if (len > MAX_DNS_SEARCH_LIST_CHARS) {
    let cut = 0;
    let n = 0;
    for (let i = s.length - 1; i >= 0; i--) {
      cut += s[i]!.length + 1;
      n++;
      if (len - cut <= MAX_DNS_SEARCH_LIST_CHARS) break;
    }
    s = s.slice(0, s.length - n);
  }
  return s;
}

/** mergeDNSOptions: by name, the pod's value wins. kubelet builds this from a Go map (order unspecified); kpath keeps first-seen order. */
function mergeOptions(base: string[], pod: { name: string; value?: string }[]): string[] {
  const m = new Map<string, string>();
  for (const o of base) {
    const i = o.indexOf(':');
    if (i >= 0) m.set(o.slice(0, i), o.slice(i + 1));
    else m.set(o, '');
  }
  for (const o of pod) m.set(o.name, o.value ?? '');
  return [...m].map(([k, v]) => (v ? `${k}:${v}` : k));
}

export type EffectiveDnsPolicy = 'cluster' | 'host' | 'none';

/** getPodDNSType: ClusterFirst on a hostNetwork pod silently falls back to the node's config. */
export function effectivePolicy(pod: Pod): EffectiveDnsPolicy {
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'None') return 'none';
  if (policy === 'Default') return 'host';
  if (policy === 'ClusterFirstWithHostNet') return 'cluster';
  return pod.spec.hostNetwork ? 'host' : 'cluster';
}

/** The DNS config kubelet hands the runtime for a pod. */
export function podDnsConfig(state: ClusterState, pod: Pod, nodeResolvConf = ''): ResolvConf {
  const node = parseNodeResolvConf(nodeResolvConf);
  const kind = effectivePolicy(pod);
  const ns = pod.metadata.namespace ?? 'default';
  const domain = state.config.clusterDomain;
  let cfg: ResolvConf;
  if (kind === 'cluster') {
    cfg = {
      nameservers: [state.config.dnsServiceIP.toString()],
      search: omitDuplicates([`${ns}.svc.${domain}`, `svc.${domain}`, domain, ...node.search]),
      options: ['ndots:5'],
    };
  } else if (kind === 'host') {
    cfg = { ...node };
  } else {
    cfg = { nameservers: [], search: [], options: [] };
  }
  const dc = pod.spec.dnsConfig;
  if (dc) {
    cfg = {
      nameservers: omitDuplicates([...cfg.nameservers, ...(dc.nameservers ?? [])]),
      search: omitDuplicates([...cfg.search, ...(dc.searches ?? [])]),
      options: mergeOptions(cfg.options, dc.options ?? []),
    };
  }
  if (kind === 'none' && cfg.nameservers.length === 0) {
    // API validation: dnsPolicy None requires at least one nameserver in dnsConfig.
    throw new InputError([
      problemAt(
        state.sources.get(objectKey(pod)),
        'spec.dnsConfig.nameservers',
        'dnsPolicy None needs at least one nameserver',
        `Pod ${ns}/${pod.metadata.name}`,
      ),
    ]);
  }
  return {
    nameservers: cfg.nameservers.slice(0, MAX_NAMESERVERS),
    search: fitSearch(cfg.search),
    options: cfg.options,
  };
}

/** The file as the CRI runtime (containerd) writes it: search, nameserver lines, options. */
export function formatResolvConf(c: ResolvConf): string {
  let out = '';
  if (c.search.length > 0) out += `search ${c.search.join(' ')}\n`;
  for (const n of c.nameservers) out += `nameserver ${n}\n`;
  if (c.options.length > 0) out += `options ${c.options.join(' ')}\n`;
  return out;
}

/** `/etc/resolv.conf` inside the pod. `nodeResolvConf` is the node's file (kubelet --resolv-conf). */
export function resolvConf(state: ClusterState, pod: Pod, nodeResolvConf = ''): string {
  return formatResolvConf(podDnsConfig(state, pod, nodeResolvConf));
}

/** The settings a stub resolver takes from resolv.conf. */
export interface ResolverSettings {
  nameservers: string[];
  search: string[];
  ndots: number;
  timeout: number;
  attempts: number;
  rotate: boolean;
  singleRequest: boolean;
  noTldQuery: boolean;
}

/** What both resolvers assume before reading resolv.conf (ndots 1, timeout 5 s, 2 attempts). */
function resolverDefaults(): ResolverSettings {
  return {
    nameservers: [],
    search: [],
    ndots: 1,
    timeout: 5,
    attempts: 2,
    rotate: false,
    singleRequest: false,
    noTldQuery: false,
  };
}

/** glibc res_init.c: last search/domain line wins; ndots ≤15, timeout ≤30, attempts ≤5; 3 nameservers. */
export function glibcSettings(text: string): ResolverSettings {
  const s = resolverDefaults();
  for (const raw of text.split('\n')) {
    const f = raw
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    if (f[0] === 'nameserver' && f[1] && s.nameservers.length < 3) s.nameservers.push(f[1]);
    if (f[0] === 'search' || f[0] === 'domain') s.search = f.slice(1);
    if (f[0] === 'options') {
      for (const o of f.slice(1)) {
        const [k, v] = o.split(':');
        const n = Number(v);
        if (k === 'ndots' && Number.isFinite(n)) s.ndots = Math.min(n, 15);
        if (k === 'timeout' && Number.isFinite(n)) s.timeout = Math.min(Math.max(n, 1), 30);
        if (k === 'attempts' && Number.isFinite(n)) s.attempts = Math.min(Math.max(n, 1), 5);
        if (k === 'rotate') s.rotate = true;
        if (k === 'single-request' || k === 'single-request-reopen') s.singleRequest = true;
        if (k === 'no-tld-query') s.noTldQuery = true;
      }
    }
  }
  return s;
}

/** musl resolvconf.c: lines that overflow its 256-byte buffer are skipped; only ndots/attempts/timeout are read. */
export function muslSettings(text: string): ResolverSettings {
  const s = resolverDefaults();
  for (const raw of text.split('\n')) {
    if (raw.length + 1 > 255) continue; // fgets into a 256-byte buffer: an overlong line is dropped whole.
    const f = raw.trim().split(/\s+/).filter(Boolean);
    if (f[0] === 'nameserver' && f[1] && s.nameservers.length < 3) s.nameservers.push(f[1]);
    if (f[0] === 'search' || f[0] === 'domain') s.search = f.slice(1);
    if (f[0] === 'options') {
      for (const o of f.slice(1)) {
        const [k, v] = o.split(':');
        const n = Number(v);
        if (k === 'ndots' && Number.isFinite(n)) s.ndots = Math.min(n, 15);
        if (k === 'attempts' && Number.isFinite(n)) s.attempts = Math.min(n, 10);
        if (k === 'timeout' && Number.isFinite(n)) s.timeout = Math.min(n, 60);
      }
    }
  }
  return s;
}

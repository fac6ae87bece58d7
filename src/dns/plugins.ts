// The CoreDNS plugins kpath models, configured from Corefile directives (each plugin's setup.go).
import { IPAddr } from '../net/ip.js';
import { CorefileError, type Directive, type ServerBlock } from './corefile.js';
import { DEFAULT_KUBERNETES_OPTIONS, type KubernetesOptions, type PodsMode } from './kubernetes-plugin.js';
import { canonical } from './message.js';

/** plugin.cfg order: the order plugins run in, whatever order the Corefile lists them in. */
export const PLUGIN_ORDER = [
  'metadata',
  'cancel',
  'tls',
  'reload',
  'nsid',
  'bufsize',
  'root',
  'bind',
  'debug',
  'trace',
  'ready',
  'health',
  'pprof',
  'prometheus',
  'errors',
  'log',
  'dnstap',
  'local',
  'dns64',
  'acl',
  'any',
  'chaos',
  'loadbalance',
  'cache',
  'rewrite',
  'dnssec',
  'autopath',
  'minimal',
  'template',
  'transfer',
  'hosts',
  'route53',
  'azure',
  'clouddns',
  'k8s_external',
  'kubernetes',
  'file',
  'auto',
  'secondary',
  'etcd',
  'loop',
  'forward',
  'grpc',
  'erratic',
  'whoami',
  'on',
  'sign',
] as const;

/** Plugins that never change an answer in this model (they log, export metrics, serve health, …). */
export const NO_OP_PLUGINS = new Set([
  'errors',
  'log',
  'health',
  'ready',
  'reload',
  'loop',
  'prometheus',
  'cancel',
  'debug',
  'bind',
  'bufsize',
  'nsid',
  'metadata',
  'trace',
  'pprof',
  'dnstap',
  'root',
  'on',
]);

export type ForwardPolicy = 'random' | 'round_robin' | 'sequential';

export interface ForwardConfig {
  plugin: 'forward';
  from: string;
  /** Upstream addresses (IP text) in Corefile order; `/etc/resolv.conf` is expanded by the server. */
  to: string[];
  /** True when `to` came from a resolv.conf file (CoreDNS's own: the node's under dnsPolicy Default). */
  fromResolvConf: boolean;
  policy: ForwardPolicy;
  except: string[];
  maxConcurrent?: number;
  line: number;
}

export interface CacheConfig {
  plugin: 'cache';
  zones: string[];
  successCap: number;
  denialCap: number;
  successMinTTL: number;
  denialMinTTL: number;
  servfailTTL: number;
  disableSuccess: string[];
  disableDenial: string[];
  line: number;
}

export type NameMatch = 'exact' | 'prefix' | 'suffix' | 'substring' | 'regex';

export interface RewriteRule {
  mode: 'stop' | 'continue';
  match: NameMatch;
  /** Lowercased and absolute for every match type except a regex FROM (rewrite/name.go newNameRule). */
  from: string;
  to: string;
  /** `answer auto`; exact rules always revert (auto). */
  auto: boolean;
  /** `answer name REGEX TO`: rewrite answer owner names. */
  answerName: { from: string; to: string }[];
  /** `answer value REGEX TO`: rewrite answer values (CNAME/PTR/NS/SRV targets…). */
  answerValue: { from: string; to: string }[];
  line: number;
}

export interface RewriteConfig {
  plugin: 'rewrite';
  rules: RewriteRule[];
  line: number;
}

export interface HostsConfig {
  plugin: 'hosts';
  zones: string[];
  entries: { ip: IPAddr; names: string[] }[];
  ttl: number;
  noReverse: boolean;
  fallthrough?: string[];
  /** Files other than inline entries are not readable in the model. */
  file?: string;
  line: number;
}

export interface AutopathConfig {
  plugin: 'autopath';
  zones: string[];
  /** `@kubernetes`, or a resolv.conf path (not modelled). */
  source: string;
  line: number;
}

export interface KubernetesConfig {
  plugin: 'kubernetes';
  options: KubernetesOptions;
  /** Options accepted by CoreDNS that do not change answers here (kubeconfig, endpoint, …). */
  ignored: string[];
  line: number;
}

export interface LoadbalanceConfig {
  plugin: 'loadbalance';
  line: number;
}

export interface NoOpConfig {
  plugin: 'no-op';
  name: string;
  line: number;
}

export interface UnsupportedConfig {
  plugin: 'unsupported';
  name: string;
  line: number;
}

export type PluginConfig =
  | ForwardConfig
  | CacheConfig
  | RewriteConfig
  | HostsConfig
  | AutopathConfig
  | KubernetesConfig
  | LoadbalanceConfig
  | NoOpConfig
  | UnsupportedConfig;

/** The chain of one server block in execution order. */
export function pluginChain(block: ServerBlock): PluginConfig[] {
  const seen = new Set<string>();
  const configs: { order: number; config: PluginConfig }[] = [];
  for (const d of block.directives) {
    if (seen.has(d.name) && d.name !== 'rewrite')
      throw new CorefileError(d.line, `plugin ${d.name} given twice in one server block`);
    seen.add(d.name);
    const order = PLUGIN_ORDER.indexOf(d.name as (typeof PLUGIN_ORDER)[number]);
    configs.push({ order: order < 0 ? PLUGIN_ORDER.length : order, config: configure(d, block) });
  }
  // rewrite may be given more than once; its rules join one plugin instance in Corefile order.
  const merged: { order: number; config: PluginConfig }[] = [];
  for (const c of configs) {
    const prev = merged.find((m) => m.config.plugin === 'rewrite');
    if (c.config.plugin === 'rewrite' && prev && prev.config.plugin === 'rewrite')
      prev.config.rules.push(...c.config.rules);
    else merged.push(c);
  }
  return merged.sort((a, b) => a.order - b.order).map((c) => c.config);
}

function configure(d: Directive, block: ServerBlock): PluginConfig {
  switch (d.name) {
    case 'kubernetes':
      return kubernetes(d, block);
    case 'forward':
      return forward(d);
    case 'cache':
      return cache(d, block);
    case 'rewrite':
      return { plugin: 'rewrite', rules: [rewriteRule(d.args, d.line)], line: d.line };
    case 'hosts':
      return hosts(d, block);
    case 'autopath':
      return autopath(d, block);
    case 'loadbalance':
      return { plugin: 'loadbalance', line: d.line };
    default:
      if (NO_OP_PLUGINS.has(d.name)) return { plugin: 'no-op', name: d.name, line: d.line };
      if (!PLUGIN_ORDER.includes(d.name as (typeof PLUGIN_ORDER)[number]))
        throw new CorefileError(d.line, `unknown directive '${d.name}'`);
      return { plugin: 'unsupported', name: d.name, line: d.line };
  }
}

function zonesOrBlock(args: string[], block: ServerBlock): string[] {
  return args.length > 0 ? args.map((z) => canonical(z)) : block.zones;
}

function int(text: string | undefined, line: number, what: string, min: number, max: number): number {
  if (text === undefined || !/^\d+$/.test(text))
    throw new CorefileError(line, `${what}: expected a number, got "${text ?? ''}"`);
  const n = Number(text);
  if (n < min || n > max) throw new CorefileError(line, `${what}: ${n} is outside ${min}..${max}`);
  return n;
}

/** Go durations as CoreDNS's options take them (`30s`, `5m`), or bare seconds. */
function seconds(text: string | undefined, line: number, what: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(text ?? '');
  if (!m) throw new CorefileError(line, `${what}: invalid duration "${text ?? ''}"`);
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

function kubernetes(d: Directive, block: ServerBlock): KubernetesConfig {
  const zones = zonesOrBlock(d.args, block);
  const options: KubernetesOptions = { ...DEFAULT_KUBERNETES_OPTIONS, zones, namespaces: [] };
  const ignored: string[] = [];
  for (const o of d.block) {
    switch (o.name) {
      case 'pods':
        if (!['disabled', 'insecure', 'verified'].includes(o.args[0] ?? ''))
          throw new CorefileError(o.line, `pods: invalid mode "${o.args[0] ?? ''}"`);
        options.pods = o.args[0] as PodsMode;
        break;
      case 'fallthrough':
        options.fallthrough = o.args.map((z) => canonical(z));
        break;
      case 'ttl':
        options.ttl = int(o.args[0], o.line, 'ttl', 0, 3600);
        break;
      case 'endpoint_pod_names':
        options.endpointPodNames = true;
        break;
      case 'noendpoints':
        options.noEndpoints = true;
        break;
      case 'namespaces':
        options.namespaces = o.args.map((n) => n.toLowerCase());
        break;
      case 'ignore':
        if (o.args[0] !== 'empty_service')
          throw new CorefileError(o.line, `ignore: unknown value "${o.args[0] ?? ''}"`);
        options.ignoreEmptyService = true;
        break;
      case 'kubeconfig':
      case 'endpoint':
      case 'tls':
      case 'startup_timeout':
      case 'apiserver_qps':
      case 'apiserver_burst':
      case 'apiserver_max_inflight':
        ignored.push(o.name);
        break;
      default:
        throw new CorefileError(o.line, `kubernetes: option "${o.name}" is not modelled`);
    }
  }
  return { plugin: 'kubernetes', options, ignored, line: d.line };
}

function forward(d: Directive): ForwardConfig {
  const [from, ...to] = d.args;
  if (!from || to.length === 0) throw new CorefileError(d.line, 'forward: needs FROM and at least one TO');
  const cfg: ForwardConfig = {
    plugin: 'forward',
    from: canonical(from),
    to: [],
    fromResolvConf: false,
    policy: 'random',
    except: [],
    line: d.line,
  };
  for (const t of to) {
    if (t.startsWith('/')) {
      cfg.fromResolvConf = true;
      continue;
    }
    if (t.startsWith('tls://'))
      throw new CorefileError(d.line, `forward: DNS over TLS (${t}) is not modelled`);
    const addr = t.replace(/^dns:\/\//, '');
    const bracketed = /^\[(.+)\](?::\d+)?$/.exec(addr);
    const host = bracketed ? bracketed[1]! : /^[^:]+:\d+$/.test(addr) ? addr.split(':')[0]! : addr;
    if (!IPAddr.tryParse(host)) throw new CorefileError(d.line, `forward: not an IP address: "${t}"`);
    cfg.to.push(IPAddr.parse(host).toString());
  }
  for (const o of d.block) {
    switch (o.name) {
      case 'policy':
        if (!['random', 'round_robin', 'sequential'].includes(o.args[0] ?? ''))
          throw new CorefileError(o.line, `forward: unknown policy "${o.args[0] ?? ''}"`);
        cfg.policy = o.args[0] as ForwardPolicy;
        break;
      case 'except':
        cfg.except.push(...o.args.map((z) => canonical(z)));
        break;
      case 'max_concurrent':
        cfg.maxConcurrent = int(o.args[0], o.line, 'max_concurrent', 0, 1e9);
        break;
      case 'force_tcp':
      case 'prefer_udp':
      case 'expire':
      case 'health_check':
      case 'max_fails':
      case 'tls':
      case 'tls_servername':
      case 'next':
      case 'failover':
        if (o.name === 'next' || o.name === 'failover')
          throw new CorefileError(o.line, `forward: "${o.name}" is not modelled`);
        break;
      default:
        throw new CorefileError(o.line, `forward: unknown option "${o.name}"`);
    }
  }
  return cfg;
}

function cache(d: Directive, block: ServerBlock): CacheConfig {
  let args = d.args;
  let cap = 3600;
  let denialCap = 1800;
  if (args[0] && /^\d+$/.test(args[0])) {
    cap = Number(args[0]);
    denialCap = cap;
    args = args.slice(1);
  }
  const cfg: CacheConfig = {
    plugin: 'cache',
    zones: zonesOrBlock(args, block),
    successCap: cap,
    denialCap,
    successMinTTL: 5,
    denialMinTTL: 5,
    servfailTTL: 5,
    disableSuccess: [],
    disableDenial: [],
    line: d.line,
  };
  for (const o of d.block) {
    switch (o.name) {
      case 'success':
      case 'denial': {
        // success|denial CAPACITY [TTL] [MINTTL]
        const ttl = o.args[1] !== undefined ? int(o.args[1], o.line, `${o.name} TTL`, 0, 1e9) : undefined;
        const min = o.args[2] !== undefined ? int(o.args[2], o.line, `${o.name} MINTTL`, 0, 1e9) : undefined;
        if (o.name === 'success') {
          if (ttl !== undefined) cfg.successCap = ttl;
          if (min !== undefined) cfg.successMinTTL = min;
        } else {
          if (ttl !== undefined) cfg.denialCap = ttl;
          if (min !== undefined) cfg.denialMinTTL = min;
        }
        break;
      }
      case 'servfail':
        cfg.servfailTTL = seconds(o.args[0], o.line, 'servfail');
        break;
      case 'disable': {
        const zones = o.args.slice(1).map((z) => canonical(z));
        const list = zones.length > 0 ? zones : cfg.zones;
        if (o.args[0] === 'success') cfg.disableSuccess.push(...list);
        else if (o.args[0] === 'denial') cfg.disableDenial.push(...list);
        else throw new CorefileError(o.line, `cache: disable needs success or denial`);
        break;
      }
      case 'prefetch':
      case 'serve_stale':
      case 'keepttl':
        break;
      default:
        throw new CorefileError(o.line, `cache: unknown option "${o.name}"`);
    }
  }
  return cfg;
}

/** `rewrite [continue|stop] name [exact|prefix|suffix|substring|regex] FROM TO [answer auto | answer name|value FROM TO …]`. */
export function rewriteRule(argsIn: string[], line: number): RewriteRule {
  let args = argsIn;
  let mode: 'stop' | 'continue' = 'stop';
  if (args[0] === 'continue' || args[0] === 'stop') {
    mode = args[0];
    args = args.slice(1);
  }
  if (args[0] !== 'name')
    throw new CorefileError(line, `rewrite: only "name" rules are modelled (got "${args[0] ?? ''}")`);
  args = args.slice(1);
  let match: NameMatch = 'exact';
  if (args.length >= 3) {
    const m = (args[0] ?? '').toLowerCase();
    if (!['exact', 'prefix', 'suffix', 'substring', 'regex'].includes(m))
      throw new CorefileError(line, `rewrite name: unknown match type "${args[0]}"`);
    match = m as NameMatch;
    args = args.slice(1);
  }
  const [from, to, ...rest] = args;
  if (from === undefined || to === undefined)
    throw new CorefileError(line, 'rewrite name: needs FROM and TO');
  const regex = (pattern: string) => {
    try {
      new RegExp(pattern);
    } catch {
      throw new CorefileError(line, `rewrite: invalid regex "${pattern}"`);
    }
    return pattern;
  };
  // plugin.Name.Normalize lowercases and appends the final dot, even for prefix and substring rules.
  const rule: RewriteRule = {
    mode,
    match,
    from: match === 'regex' ? regex(from) : canonical(from),
    to: canonical(to),
    auto: match === 'exact',
    answerName: [],
    answerValue: [],
    line,
  };
  for (let i = 0; i < rest.length; ) {
    if (rest[i] === 'answer') i++;
    const kind = rest[i];
    i++;
    if (kind === 'auto') rule.auto = true;
    else if ((kind === 'name' || kind === 'value') && rest[i] !== undefined && rest[i + 1] !== undefined) {
      const r = { from: regex(rest[i]!), to: canonical(rest[i + 1]!) };
      (kind === 'name' ? rule.answerName : rule.answerValue).push(r);
      i += 2;
    } else
      throw new CorefileError(
        line,
        `rewrite: invalid answer rule "${kind ?? ''}" (answer auto | name FROM TO | value FROM TO)`,
      );
  }
  if (rule.auto && rule.answerName.length > 0 && match !== 'exact') {
    throw new CorefileError(line, 'rewrite: answer auto cannot be combined with answer name rules');
  }
  return rule;
}

function hosts(d: Directive, block: ServerBlock): HostsConfig {
  const [file, ...zones] = d.args;
  const cfg: HostsConfig = {
    plugin: 'hosts',
    zones: zonesOrBlock(zones, block),
    entries: [],
    ttl: 3600,
    noReverse: false,
    ...(file ? { file } : {}),
    line: d.line,
  };
  for (const o of d.block) {
    const ip = IPAddr.tryParse(o.name);
    if (ip) {
      cfg.entries.push({ ip, names: o.args.map((n) => canonical(n)) });
      continue;
    }
    switch (o.name) {
      case 'ttl':
        cfg.ttl = int(o.args[0], o.line, 'ttl', 0, 65535);
        break;
      case 'no_reverse':
        cfg.noReverse = true;
        break;
      case 'reload':
        break;
      case 'fallthrough':
        cfg.fallthrough = o.args.map((z) => canonical(z));
        break;
      default:
        throw new CorefileError(o.line, `hosts: unknown option "${o.name}"`);
    }
  }
  return cfg;
}

function autopath(d: Directive, block: ServerBlock): AutopathConfig {
  const source = d.args[d.args.length - 1];
  if (!source) throw new CorefileError(d.line, 'autopath: needs @kubernetes or a resolv.conf');
  return { plugin: 'autopath', zones: zonesOrBlock(d.args.slice(0, -1), block), source, line: d.line };
}

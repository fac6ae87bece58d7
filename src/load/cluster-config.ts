// The cluster document (kpath.dev/v1alpha1 Cluster) and kube-proxy's own KubeProxyConfiguration →
// ClusterConfig, with kubeadm's, Flannel's and kube-proxy's defaults for everything not stated.

import type { UpstreamDnsServer, ZoneRecord } from '../dns/upstream.js';
import type {
  ClusterConfig,
  CniConfig,
  DeclaredNode,
  DetectLocalMode,
  ExternalHost,
  KubeProxyConfig,
  ProxyMode,
  UnderlaySubnet,
} from '../model/cluster.js';
import type { SourceRef } from '../model/k8s.js';
import { IPAddr, Prefix } from '../net/ip.js';
import { closest } from './did-you-mean.js';
import { bool, cidr, Findings, int, ip, list, oneOf, record, show, str, stringMap } from './field-checks.js';
import { childPath as at, isRecord, type ParsedObject, subPath } from './parse.js';
import { deriveUnderlay } from './underlay.js';

export const CLUSTER_API_VERSION = 'kpath.dev/v1alpha1';
export const KUBE_PROXY_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';

type Obj = Record<string, unknown>;

/** Unknown keys are errors in our own schema, with the nearest known key as a hint. */
function onlyKeys(f: Findings, r: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(r)) {
    if (allowed.includes(k)) continue;
    const hint = closest(k, allowed);
    f.addAtKey(
      at(path, k),
      `unknown field${hint ? `; did you mean "${hint}"?` : ''} (known: ${allowed.join(', ')})`,
    );
  }
}

const SPEC_KEYS = [
  'podCIDR',
  'serviceCIDR',
  'nodeCIDRMaskSize',
  'clusterDomain',
  'dnsServiceIP',
  'nodePortRange',
  'cni',
  'kubeProxy',
  'loadBalancer',
  'underlay',
  'nodes',
  'externalHosts',
  'dns',
] as const;
const CNI_KEYS = ['plugin', 'backend', 'mtu', 'vni', 'port', 'bridge', 'hairpinMode', 'policyAgent'] as const;
const KUBE_PROXY_KEYS = [
  'mode',
  'clusterCIDR',
  'iptables',
  'nftables',
  'detectLocalMode',
  'detectLocal',
  'nodePortAddresses',
  'conntrack',
  'masqueradeRandomFully',
] as const;
/** KubeProxyConfiguration's top-level fields (k8s.io/kube-proxy/config/v1alpha1 types.go). */
const UPSTREAM_KUBE_PROXY_KEYS = [
  'apiVersion',
  'kind',
  'featureGates',
  'clientConnection',
  'logging',
  'hostnameOverride',
  'bindAddress',
  'healthzBindAddress',
  'metricsBindAddress',
  'bindAddressHardFail',
  'enableProfiling',
  'showHiddenMetricsForVersion',
  'serviceProxyName',
  'mode',
  'iptables',
  'ipvs',
  'nftables',
  'winkernel',
  'detectLocalMode',
  'detectLocal',
  'clusterCIDR',
  'nodePortAddresses',
  'oomScoreAdj',
  'conntrack',
  'configSyncPeriod',
  'portRange',
] as const;

export const DEFAULTS = {
  name: 'kpath',
  podCIDR: '10.244.0.0/16', // Flannel's kube-flannel.yml net-conf.json Network (kubeadm --pod-network-cidr)
  serviceCIDR: '10.96.0.0/12', // kubeadm's default serviceSubnet
  nodeCIDRMaskSize: 24, // kube-controller-manager --node-cidr-mask-size (IPv4)
  clusterDomain: 'cluster.local', // kubeadm's default dnsDomain
  nodePortRange: { from: 30000, to: 32767 }, // kube-apiserver --service-node-port-range
  cni: {
    plugin: 'flannel',
    backend: 'vxlan',
    mtu: 1500,
    vxlanVNI: 1, // Flannel's VXLAN backend VNI default
    vxlanPort: 8472, // Flannel leaves the port to the kernel, whose VXLAN default is 8472 (not IANA's 4789)
    bridgeName: 'cni0', // the bridge plugin Flannel delegates to
    hairpinMode: true, // kube-flannel.yml's conflist: "delegate": {"hairpinMode": true, ...}
    policyAgent: 'none' as const, // Flannel enforces no NetworkPolicy
  } satisfies CniConfig,
} as const;

interface KubeProxyPartial {
  mode?: ProxyMode;
  clusterCIDRs?: Prefix[];
  iptables: { masqueradeAll?: boolean; masqueradeBit?: number; localhostNodePorts?: boolean };
  nftables: { masqueradeAll?: boolean; masqueradeBit?: number };
  detectLocalMode?: DetectLocalMode;
  bridgeInterface?: string;
  interfaceNamePrefix?: string;
  nodePortAddresses?: string[];
  conntrackTCPBeLiberal?: boolean;
  masqueradeRandomFully?: boolean;
}

const DETECT_LOCAL_MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'] as const;

/** The KubeProxyConfiguration fields kpath honours, from the cluster document or the real document. */
function readKubeProxy(f: Findings, r: Obj, path: string, strict: boolean): KubeProxyPartial {
  const out: KubeProxyPartial = { iptables: {}, nftables: {} };
  if (strict) onlyKeys(f, r, path, KUBE_PROXY_KEYS);
  if (r.mode !== undefined) {
    // An empty mode is kube-proxy's "best available", iptables on Linux.
    const m =
      r.mode === ''
        ? 'iptables'
        : oneOf(f, r.mode, at(path, 'mode'), ['iptables', 'ipvs', 'nftables'] as const);
    if (m) out.mode = m;
  }
  if (r.clusterCIDR !== undefined) {
    const s = str(f, r.clusterCIDR, at(path, 'clusterCIDR'));
    if (s !== undefined) {
      const parts = s === '' ? [] : s.split(',').map((x) => x.trim());
      const prefixes = parts.map((x) => cidr(f, x, at(path, 'clusterCIDR')));
      if (prefixes.every((p) => p !== undefined)) {
        if (prefixes.length > 2 || (prefixes.length === 2 && prefixes[0]!.family === prefixes[1]!.family)) {
          f.add(
            at(path, 'clusterCIDR'),
            `at most one CIDR per IP family (dual-stack pair), found ${show(s)}`,
          );
        } else out.clusterCIDRs = prefixes as Prefix[];
      }
    }
  }
  for (const table of ['iptables', 'nftables'] as const) {
    const t = record(f, r[table], at(path, table));
    if (!t) continue;
    const tp = at(path, table);
    if (strict) {
      onlyKeys(
        f,
        t,
        tp,
        table === 'iptables'
          ? ['masqueradeAll', 'masqueradeBit', 'localhostNodePorts']
          : ['masqueradeAll', 'masqueradeBit'],
      );
    }
    const all = bool(f, t.masqueradeAll, at(tp, 'masqueradeAll'));
    if (all !== undefined) out[table].masqueradeAll = all;
    const bit = int(f, t.masqueradeBit, at(tp, 'masqueradeBit'), 0, 31);
    if (bit !== undefined) out[table].masqueradeBit = bit;
    if (table === 'iptables') {
      const lnp = bool(f, t.localhostNodePorts, at(tp, 'localhostNodePorts'));
      if (lnp !== undefined) out.iptables.localhostNodePorts = lnp;
    }
  }
  if (r.detectLocalMode !== undefined && r.detectLocalMode !== '') {
    const m = oneOf(f, r.detectLocalMode, at(path, 'detectLocalMode'), DETECT_LOCAL_MODES);
    if (m) out.detectLocalMode = m;
  }
  const dl = record(f, r.detectLocal, at(path, 'detectLocal'));
  if (dl) {
    if (strict) onlyKeys(f, dl, at(path, 'detectLocal'), ['bridgeInterface', 'interfaceNamePrefix']);
    const b = str(f, dl.bridgeInterface, subPath(path, 'detectLocal.bridgeInterface'));
    if (b) out.bridgeInterface = b;
    const p = str(f, dl.interfaceNamePrefix, subPath(path, 'detectLocal.interfaceNamePrefix'));
    if (p) out.interfaceNamePrefix = p;
  }
  if (out.detectLocalMode === 'BridgeInterface' && !out.bridgeInterface) {
    f.add(
      subPath(path, 'detectLocal.bridgeInterface'),
      'is required when detectLocalMode is BridgeInterface',
    );
  }
  if (out.detectLocalMode === 'InterfaceNamePrefix' && !out.interfaceNamePrefix) {
    f.add(
      subPath(path, 'detectLocal.interfaceNamePrefix'),
      'is required when detectLocalMode is InterfaceNamePrefix',
    );
  }
  if (r.nodePortAddresses !== undefined && r.nodePortAddresses !== null) {
    const npa = list(f, r.nodePortAddresses, at(path, 'nodePortAddresses'));
    const vals: string[] = [];
    npa.forEach((v, i) => {
      const p = at(at(path, 'nodePortAddresses'), i);
      if (v === 'primary') {
        if (npa.length > 1) f.add(p, '"primary" must be the only entry');
        vals.push('primary');
      } else {
        const c = cidr(f, v, p);
        if (c) vals.push(c.toString());
      }
    });
    out.nodePortAddresses = vals;
  }
  const ct = record(f, r.conntrack, at(path, 'conntrack'));
  if (ct) {
    if (strict) onlyKeys(f, ct, at(path, 'conntrack'), ['tcpBeLiberal']);
    const lib = bool(f, ct.tcpBeLiberal, subPath(path, 'conntrack.tcpBeLiberal'));
    if (lib !== undefined) out.conntrackTCPBeLiberal = lib;
  }
  if (strict) {
    const rf = bool(f, r.masqueradeRandomFully, at(path, 'masqueradeRandomFully'));
    if (rf !== undefined) out.masqueradeRandomFully = rf;
  }
  return out;
}

function mergeKubeProxy(layers: KubeProxyPartial[], podCIDR: Prefix): KubeProxyConfig {
  const pick = <T>(get: (l: KubeProxyPartial) => T | undefined, dflt: T): T => {
    let v = dflt;
    for (const l of layers) {
      const x = get(l);
      if (x !== undefined) v = x;
    }
    return v;
  };
  const mode = pick((l) => l.mode, 'iptables' as ProxyMode);
  // nftables mode has its own masquerade settings; iptables and ipvs share the iptables ones.
  const table = mode === 'nftables' ? 'nftables' : 'iptables';
  return {
    mode,
    // kubeadm passes the pod network as --cluster-cidr.
    clusterCIDRs: pick((l) => l.clusterCIDRs, [podCIDR]),
    masqueradeAll: pick((l) => l[table].masqueradeAll, false),
    masqueradeBit: pick((l) => l[table].masqueradeBit, 14),
    detectLocalMode: pick((l) => l.detectLocalMode, 'ClusterCIDR' as DetectLocalMode),
    bridgeInterface: pick<string | undefined>((l) => l.bridgeInterface, undefined),
    interfaceNamePrefix: pick<string | undefined>((l) => l.interfaceNamePrefix, undefined),
    // kube-proxy's nftables mode treats an empty nodePortAddresses as "primary" (server_linux.go).
    nodePortAddresses: pick((l) => l.nodePortAddresses, mode === 'nftables' ? ['primary'] : []),
    localhostNodePorts: pick((l) => l.iptables.localhostNodePorts, true),
    // Debian 12's iptables 1.8.9 supports --random-fully, so kube-proxy appends it.
    masqueradeRandomFully: pick((l) => l.masqueradeRandomFully, true),
    conntrackTCPBeLiberal: pick((l) => l.conntrackTCPBeLiberal, false),
  };
}

/** `a.b.c.d-a.b.c.e` → the fewest prefixes covering exactly that range. */
export function rangeToPrefixes(from: IPAddr, to: IPAddr): Prefix[] {
  const out: Prefix[] = [];
  let cur = from.value;
  const bits = from.bits;
  while (cur <= to.value) {
    let len = bits;
    // Grow the block while it stays aligned on cur and inside the range.
    while (len > 0) {
      const size = 1n << BigInt(bits - len + 1);
      if (cur % size !== 0n || cur + size - 1n > to.value) break;
      len--;
    }
    out.push(Prefix.of(from.add(cur - from.value), len));
    cur += 1n << BigInt(bits - len);
  }
  return out;
}

function poolEntry(f: Findings, v: unknown, path: string): Prefix[] {
  const s = str(f, v, path);
  if (s === undefined) return [];
  const dash = s.indexOf('-');
  if (dash > 0) {
    const a = ip(f, s.slice(0, dash).trim(), path);
    const b = ip(f, s.slice(dash + 1).trim(), path);
    if (!a || !b) return [];
    if (a.family !== b.family || a.compare(b) > 0) {
      f.add(path, `invalid range ${show(s)}: the first address must not be after the last, in one family`);
      return [];
    }
    return rangeToPrefixes(a, b);
  }
  if (!s.includes('/')) {
    const a = ip(f, s, path);
    return a ? [Prefix.host(a)] : [];
  }
  const c = cidr(f, s, path);
  return c ? [c] : [];
}

function nodePortRange(f: Findings, v: unknown, path: string): { from: number; to: number } | undefined {
  const s = str(f, v, path);
  if (s === undefined) return undefined;
  // utilnet.ParsePortRange: "from-to", "from+offset" or a single port.
  const m = /^\s*(\d+)\s*(?:([-+])\s*(\d+))?\s*$/.exec(s);
  if (!m) {
    f.add(path, `invalid port range ${show(s)} (expected from-to, e.g. 30000-32767)`);
    return undefined;
  }
  const from = Number(m[1]);
  const to = m[2] === '+' ? from + Number(m[3]) : m[2] === '-' ? Number(m[3]) : from;
  if (from < 1 || to > 65535 || from > to) {
    f.add(path, `invalid port range ${show(s)}: ports must be 1-65535 and from ≤ to`);
    return undefined;
  }
  return { from, to };
}

function subSource(source: SourceRef | undefined, field: string): SourceRef | undefined {
  if (!source) return undefined;
  const p = source.fields?.get(field);
  return { file: source.file, line: p?.line ?? source.line, col: p?.col ?? source.col };
}

function ifName(f: Findings, v: unknown, path: string): string | undefined {
  const s = str(f, v, path);
  // IFNAMSIZ is 16 with the NUL: interface names are at most 15 bytes, no '/' or whitespace.
  if (s !== undefined && (s.length === 0 || s.length > 15 || /[\s/]/.test(s))) {
    f.add(path, `invalid interface name ${show(s)} (1-15 characters, no '/' or spaces)`);
    return undefined;
  }
  return s;
}

export interface ConfigInputs {
  cluster?: ParsedObject;
  kubeProxy?: ParsedObject;
  /** InternalIPs of Node objects, for the derived underlay when nothing else names the nodes. */
  nodeObjectIPs: IPAddr[];
}

export function buildClusterConfig(inputs: ConfigInputs): { config: ClusterConfig; findings: Findings[] } {
  const doc = inputs.cluster;
  const f = new Findings(
    doc?.source,
    doc ? `Cluster ${String((doc.value.metadata as Obj | undefined)?.name ?? DEFAULTS.name)}` : undefined,
    doc?.keys,
  );
  const findings = [f];
  const root = doc?.value ?? {};
  if (doc) {
    onlyKeys(f, root, '', ['apiVersion', 'kind', 'metadata', 'spec']);
    const md = record(f, root.metadata, 'metadata');
    if (md) {
      onlyKeys(f, md, 'metadata', ['name', 'labels', 'annotations']);
      stringMap(f, md.labels, 'metadata.labels', 'label value');
    }
  }
  const spec = record(f, root.spec, 'spec') ?? {};
  onlyKeys(f, spec, 'spec', SPEC_KEYS);
  const name =
    (isRecord(root.metadata) && typeof root.metadata.name === 'string' && root.metadata.name) ||
    DEFAULTS.name;

  const podCIDR = cidr(f, spec.podCIDR, 'spec.podCIDR') ?? Prefix.parse(DEFAULTS.podCIDR);
  const serviceCIDR = cidr(f, spec.serviceCIDR, 'spec.serviceCIDR') ?? Prefix.parse(DEFAULTS.serviceCIDR);
  if (podCIDR.overlaps(serviceCIDR)) {
    f.add(
      spec.serviceCIDR !== undefined ? 'spec.serviceCIDR' : 'spec.podCIDR',
      `service CIDR ${serviceCIDR} overlaps pod CIDR ${podCIDR}`,
    );
  }
  const dfltMask = podCIDR.family === 4 ? DEFAULTS.nodeCIDRMaskSize : 64;
  let nodeCIDRMaskSize =
    int(f, spec.nodeCIDRMaskSize, 'spec.nodeCIDRMaskSize', 1, podCIDR.addr.bits) ?? dfltMask;
  if (nodeCIDRMaskSize < podCIDR.len) {
    if (spec.nodeCIDRMaskSize !== undefined) {
      f.add('spec.nodeCIDRMaskSize', `/${nodeCIDRMaskSize} is larger than the pod CIDR ${podCIDR}`);
    }
    nodeCIDRMaskSize = podCIDR.len;
  }
  let clusterDomain = str(f, spec.clusterDomain, 'spec.clusterDomain') ?? DEFAULTS.clusterDomain;
  clusterDomain = clusterDomain.replace(/\.$/, '');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(clusterDomain)) {
    f.add('spec.clusterDomain', `${show(clusterDomain)} is not a DNS domain`);
    clusterDomain = DEFAULTS.clusterDomain;
  }
  // kubeadm's DNS address is the 10th address of the service CIDR (10.96.0.10).
  let dnsServiceIP = ip(f, spec.dnsServiceIP, 'spec.dnsServiceIP') ?? serviceCIDR.nth(10);
  if (!serviceCIDR.contains(dnsServiceIP)) {
    f.add('spec.dnsServiceIP', `${dnsServiceIP} is outside the service CIDR ${serviceCIDR}`);
    dnsServiceIP = serviceCIDR.nth(10);
  }
  const range = nodePortRange(f, spec.nodePortRange, 'spec.nodePortRange') ?? { ...DEFAULTS.nodePortRange };

  const cniIn = record(f, spec.cni, 'spec.cni') ?? {};
  onlyKeys(f, cniIn, 'spec.cni', CNI_KEYS);
  const cni: CniConfig = {
    plugin:
      oneOf(f, cniIn.plugin, 'spec.cni.plugin', ['bridge', 'flannel', 'calico', 'cilium'] as const) ??
      DEFAULTS.cni.plugin,
    backend:
      oneOf(f, cniIn.backend, 'spec.cni.backend', ['vxlan', 'host-gw'] as const) ?? DEFAULTS.cni.backend,
    mtu: int(f, cniIn.mtu, 'spec.cni.mtu', 576, 65535) ?? DEFAULTS.cni.mtu,
    vxlanVNI: int(f, cniIn.vni, 'spec.cni.vni', 0, 16777215) ?? DEFAULTS.cni.vxlanVNI,
    vxlanPort: int(f, cniIn.port, 'spec.cni.port', 1, 65535) ?? DEFAULTS.cni.vxlanPort,
    bridgeName: ifName(f, cniIn.bridge, 'spec.cni.bridge') ?? DEFAULTS.cni.bridgeName,
    hairpinMode: bool(f, cniIn.hairpinMode, 'spec.cni.hairpinMode') ?? DEFAULTS.cni.hairpinMode,
    policyAgent:
      oneOf(f, cniIn.policyAgent, 'spec.cni.policyAgent', ['none', 'kube-router'] as const) ??
      DEFAULTS.cni.policyAgent,
  };

  const layers: KubeProxyPartial[] = [];
  const kpIn = record(f, spec.kubeProxy, 'spec.kubeProxy');
  if (kpIn) layers.push(readKubeProxy(f, kpIn, 'spec.kubeProxy', true));
  if (inputs.kubeProxy) {
    const kf = new Findings(inputs.kubeProxy.source, 'KubeProxyConfiguration', inputs.kubeProxy.keys);
    findings.push(kf);
    onlyKeys(kf, inputs.kubeProxy.value, '', UPSTREAM_KUBE_PROXY_KEYS);
    layers.push(readKubeProxy(kf, inputs.kubeProxy.value, '', false));
  }
  const kubeProxy = mergeKubeProxy(layers, podCIDR);

  const lbIn = record(f, spec.loadBalancer, 'spec.loadBalancer') ?? {};
  onlyKeys(f, lbIn, 'spec.loadBalancer', ['pool', 'sourceMode']);
  const pool = list(f, lbIn.pool, 'spec.loadBalancer.pool').flatMap((v, i) =>
    poolEntry(f, v, at('spec.loadBalancer.pool', i)),
  );
  const sourceMode =
    oneOf(f, lbIn.sourceMode, 'spec.loadBalancer.sourceMode', ['preserve', 'snat'] as const) ?? 'preserve';

  const underlay: UnderlaySubnet[] = [];
  list(f, spec.underlay, 'spec.underlay').forEach((u, i) => {
    const p = at('spec.underlay', i);
    const r = record(f, u, p);
    if (!r) return;
    onlyKeys(f, r, p, ['cidr', 'gateway']);
    if (r.cidr === undefined) f.add(p, 'cidr is required');
    const c = cidr(f, r.cidr, at(p, 'cidr'));
    const g = ip(f, r.gateway, at(p, 'gateway'));
    if (c && g && !c.contains(g)) f.add(at(p, 'gateway'), `${g} is outside ${c}`);
    if (c) underlay.push(g && c.contains(g) ? { cidr: c, gateway: g } : { cidr: c });
  });

  const nodes: DeclaredNode[] = [];
  const seenNames = new Map<string, string>();
  list(f, spec.nodes, 'spec.nodes').forEach((n, i) => {
    const p = at('spec.nodes', i);
    const r = record(f, n, p);
    if (!r) return;
    onlyKeys(f, r, p, ['name', 'ip', 'podCIDR', 'labels', 'ready']);
    const nm = str(f, r.name, at(p, 'name'));
    const addr = ip(f, r.ip, at(p, 'ip'));
    if (r.name === undefined) f.add(p, 'name is required');
    if (r.ip === undefined) f.add(p, 'ip is required');
    const pc = cidr(f, r.podCIDR, at(p, 'podCIDR'));
    if (pc && !podCIDR.covers(pc))
      f.add(at(p, 'podCIDR'), `${pc} is outside the cluster pod CIDR ${podCIDR}`);
    stringMap(f, r.labels, at(p, 'labels'), 'label value');
    const ready = bool(f, r.ready, at(p, 'ready')) ?? true;
    if (nm !== undefined && seenNames.has(nm))
      f.add(at(p, 'name'), `node ${show(nm)} is declared twice (first at ${seenNames.get(nm)})`);
    if (nm === undefined || !addr) return;
    const pos = f.source?.fields?.get(at(p, 'name'));
    seenNames.set(nm, `${p}${pos ? `, line ${pos.line}` : ''}`);
    if (underlay.length > 0 && spec.underlay !== undefined && !underlay.some((u) => u.cidr.contains(addr))) {
      f.add(
        at(p, 'ip'),
        `${addr} is on none of the underlay segments (${underlay.map((u) => u.cidr.toString()).join(', ')})`,
      );
    }
    nodes.push({
      name: nm,
      ip: addr,
      ...(pc ? { podCIDR: pc } : {}),
      labels: isRecord(r.labels)
        ? (Object.fromEntries(Object.entries(r.labels).map(([k, v]) => [k, String(v)])) as Record<
            string,
            string
          >)
        : {},
      ready,
      ...(doc ? { source: subSource(doc.source, p) } : {}),
    });
  });

  const externalHosts: ExternalHost[] = [];
  list(f, spec.externalHosts, 'spec.externalHosts').forEach((h, i) => {
    const p = at('spec.externalHosts', i);
    const r = record(f, h, p);
    if (!r) return;
    onlyKeys(f, r, p, ['name', 'ip']);
    if (r.name === undefined) f.add(p, 'name is required');
    if (r.ip === undefined) f.add(p, 'ip is required');
    const nm = str(f, r.name, at(p, 'name'));
    const addr = ip(f, r.ip, at(p, 'ip'));
    if (nm !== undefined && addr)
      externalHosts.push({ name: nm, ip: addr, ...(doc ? { source: subSource(doc.source, p) } : {}) });
  });

  const derivedFrom = nodes.length > 0 ? nodes.map((n) => n.ip) : inputs.nodeObjectIPs;
  const finalUnderlay = spec.underlay !== undefined ? underlay : deriveUnderlay(derivedFrom);
  const dns = readDns(f, spec.dns, finalUnderlay);
  const config: ClusterConfig = {
    name,
    podCIDR,
    serviceCIDR,
    nodeCIDRMaskSize,
    clusterDomain,
    dnsServiceIP,
    nodePortRange: range,
    cni,
    kubeProxy,
    loadBalancer: { pool, sourceMode },
    underlay: finalUnderlay,
    nodes,
    externalHosts,
    dns,
    ...(doc ? { source: doc.source } : {}),
  };
  return { config, findings };
}

// ---- spec.dns: the DNS servers outside the cluster ----

const DNS_KEYS = ['upstreams', 'nodeResolvConf'] as const;
const UPSTREAM_KEYS = ['name', 'ip', 'behaviour', 'records'] as const;
const RECORD_KEYS = ['name', 'type', 'data', 'ttl'] as const;
export const UPSTREAM_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'NS', 'PTR', 'MX', 'SRV', 'TXT', 'SOA'] as const;
type RecordType = (typeof UPSTREAM_RECORD_TYPES)[number];

/**
 * The root zone's SOA (as a.root-servers.net serves it): a recursive resolver puts it in the authority
 * section of an NXDOMAIN for a name under a TLD that does not exist.
 */
export const ROOT_SOA: ZoneRecord = {
  name: '.',
  type: 'SOA',
  data: 'a.root-servers.net. nstld.verisign-grs.com. 2024112100 1800 900 604800 86400',
  ttl: 86400,
};

/**
 * With no `spec.dns.upstreams`: one resolver at the first underlay gateway, where a kubeadm node's
 * resolv.conf points when DHCP hands out the router as DNS server; it knows no names (NXDOMAIN).
 */
export function defaultUpstreams(underlay: readonly UnderlaySubnet[]): UpstreamDnsServer[] {
  const gw = underlay.find((u) => u.gateway)?.gateway;
  return gw ? [{ name: 'upstream', ip: gw.toString(), behaviour: 'answer', records: [ROOT_SOA] }] : [];
}

/** A domain name as zone files write them: labels of letters, digits, `-` and `_` (SRV owners); `.` is the root. */
function isZoneName(s: string): boolean {
  if (s === '.') return true;
  const t = s.endsWith('.') ? s.slice(0, -1) : s;
  return (
    t.length > 0 &&
    t.length <= 253 &&
    t.split('.').every((l) => /^[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?$/.test(l))
  );
}

const absolute = (s: string): string => (s === '.' || s.endsWith('.') ? s : `${s}.`);

/** The record's rdata checked for its type and written as dig prints it (absolute names, quoted TXT). */
function rdata(f: Findings, type: RecordType, data: string, path: string): string | undefined {
  const words = data.trim().split(/\s+/);
  const bad = (expected: string) => {
    f.add(path, `invalid ${type} data ${show(data)} (expected ${expected})`);
    return undefined;
  };
  const num = (w: string | undefined, max: number) => w !== undefined && /^\d+$/.test(w) && Number(w) <= max;
  const name = (w: string | undefined) => w !== undefined && isZoneName(w);
  switch (type) {
    case 'A':
    case 'AAAA': {
      const a = IPAddr.tryParse(data);
      if (!a || a.family !== (type === 'A' ? 4 : 6) || data.trim() !== data)
        return bad(`an IPv${type === 'A' ? 4 : 6} address`);
      return a.toString();
    }
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return words.length === 1 && name(words[0]) ? absolute(words[0]!) : bad('one domain name');
    case 'MX':
      return words.length === 2 && num(words[0], 65535) && name(words[1])
        ? `${Number(words[0])} ${absolute(words[1]!)}`
        : bad('PREFERENCE HOST, e.g. 10 mail.example.com.');
    case 'SRV':
      return words.length === 4 && words.slice(0, 3).every((w) => num(w, 65535)) && name(words[3])
        ? `${words.slice(0, 3).map(Number).join(' ')} ${absolute(words[3]!)}`
        : bad('PRIORITY WEIGHT PORT TARGET, e.g. 0 100 443 web.example.com.');
    case 'SOA':
      return words.length === 7 &&
        name(words[0]) &&
        name(words[1]) &&
        words.slice(2).every((w) => num(w, 4294967295))
        ? `${absolute(words[0]!)} ${absolute(words[1]!)} ${words.slice(2).map(Number).join(' ')}`
        : bad('MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM');
    case 'TXT':
      // dig prints TXT strings quoted; a bare string is one character-string.
      return data.startsWith('"') ? data : JSON.stringify(data);
  }
}

/** `owner [ttl] [IN] TYPE rdata`: a record written as one zone-file line. */
function zoneLine(
  f: Findings,
  line: string,
  path: string,
): { name: unknown; type: unknown; data: unknown; ttl?: unknown } | undefined {
  const w = line.trim().split(/\s+/);
  const owner = w.shift();
  const ttl = w[0] !== undefined && /^\d+$/.test(w[0]) ? Number(w.shift()) : undefined;
  if (w[0]?.toUpperCase() === 'IN') w.shift();
  const type = w.shift();
  if (!owner || !type || w.length === 0) {
    f.add(path, `cannot read ${show(line)} as a record (expected NAME [TTL] [IN] TYPE DATA, or a mapping)`);
    return undefined;
  }
  return { name: owner, type: type.toUpperCase(), data: w.join(' '), ...(ttl !== undefined ? { ttl } : {}) };
}

function readRecord(f: Findings, v: unknown, path: string): ZoneRecord | undefined {
  let r: Record<string, unknown> | undefined;
  if (typeof v === 'string') r = zoneLine(f, v, path);
  else {
    r = record(f, v, path);
    if (r) onlyKeys(f, r, path, RECORD_KEYS);
  }
  if (!r) return undefined;
  for (const k of ['name', 'type', 'data'] as const) if (r[k] === undefined) f.add(path, `${k} is required`);
  const at_ = (k: string) => (typeof v === 'string' ? path : at(path, k));
  const nm = str(f, r.name, at_('name'));
  if (nm !== undefined && !isZoneName(nm)) f.add(at_('name'), `${show(nm)} is not a domain name`);
  const t = oneOf(
    f,
    typeof r.type === 'string' ? r.type.toUpperCase() : r.type,
    at_('type'),
    UPSTREAM_RECORD_TYPES,
  );
  // An address or a number written unquoted in YAML is still the record's text.
  const rawData = typeof r.data === 'number' ? String(r.data) : r.data;
  const d = str(f, rawData, at_('data'));
  const ttl = int(f, r.ttl, at_('ttl'), 0, 2147483647);
  if (nm === undefined || !isZoneName(nm) || !t || d === undefined) return undefined;
  const data = rdata(f, t, d, at_('data'));
  if (data === undefined) return undefined;
  return { name: absolute(nm), type: t, data, ...(ttl !== undefined ? { ttl } : {}) };
}

function readDns(
  f: Findings,
  v: unknown,
  underlay: readonly UnderlaySubnet[],
): { upstreams: UpstreamDnsServer[]; nodeResolvConf?: string } {
  const r = record(f, v, 'spec.dns') ?? {};
  onlyKeys(f, r, 'spec.dns', DNS_KEYS);
  const upstreams: UpstreamDnsServer[] = [];
  const names = new Map<string, string>();
  const ips = new Map<string, string>();
  list(f, r.upstreams, 'spec.dns.upstreams').forEach((u, i) => {
    const p = at('spec.dns.upstreams', i);
    const ur = record(f, u, p);
    if (!ur) return;
    onlyKeys(f, ur, p, UPSTREAM_KEYS);
    if (ur.name === undefined) f.add(p, 'name is required');
    if (ur.ip === undefined) f.add(p, 'ip is required');
    const nm = str(f, ur.name, at(p, 'name'));
    if (nm !== undefined && names.has(nm))
      f.add(at(p, 'name'), `upstream ${show(nm)} is declared twice (first at ${names.get(nm)})`);
    const addr = ip(f, ur.ip, at(p, 'ip'));
    if (addr && ips.has(addr.toString()))
      f.add(at(p, 'ip'), `${addr} is already the address of upstream ${show(ips.get(addr.toString()))}`);
    const behaviour =
      oneOf(f, ur.behaviour, at(p, 'behaviour'), ['answer', 'servfail', 'timeout'] as const) ?? 'answer';
    const records = list(f, ur.records, at(p, 'records'))
      .map((x, j) => readRecord(f, x, at(at(p, 'records'), j)))
      .filter((x): x is ZoneRecord => x !== undefined);
    // RFC 1034 3.6.2: a name with a CNAME holds no other data.
    const owners = new Map<string, Set<string>>();
    for (const rec of records) {
      const key = rec.name.toLowerCase();
      owners.set(key, (owners.get(key) ?? new Set()).add(rec.type));
    }
    for (const [owner, types] of owners) {
      if (types.has('CNAME') && types.size > 1)
        f.add(
          at(p, 'records'),
          `${owner} has a CNAME and other records (${[...types].filter((t) => t !== 'CNAME').join(', ')}); a CNAME must be alone`,
        );
    }
    const fresh = nm !== undefined && !names.has(nm) && addr !== undefined && !ips.has(addr.toString());
    if (nm !== undefined && !names.has(nm)) {
      const pos = f.source?.fields?.get(at(p, 'name'));
      names.set(nm, `${p}${pos ? `, line ${pos.line}` : ''}`);
    }
    if (addr && !ips.has(addr.toString()) && nm !== undefined) ips.set(addr.toString(), nm);
    if (fresh) upstreams.push({ name: nm, ip: addr.toString(), behaviour, records });
  });
  let nodeResolvConf: string | undefined;
  const text = str(f, r.nodeResolvConf, 'spec.dns.nodeResolvConf');
  if (text !== undefined) {
    text.split('\n').forEach((line, i) => {
      const w = line
        .replace(/[#;].*$/, '')
        .trim()
        .split(/\s+/);
      if (w[0] === 'nameserver' && (w[1] === undefined || !IPAddr.tryParse(w[1])))
        f.add(
          'spec.dns.nodeResolvConf',
          `line ${i + 1}: nameserver ${show(w[1] ?? '')} is not an IP address`,
        );
    });
    nodeResolvConf = text.endsWith('\n') || text === '' ? text : `${text}\n`;
  }
  return {
    upstreams: r.upstreams === undefined || r.upstreams === null ? defaultUpstreams(underlay) : upstreams,
    ...(nodeResolvConf !== undefined ? { nodeResolvConf } : {}),
  };
}

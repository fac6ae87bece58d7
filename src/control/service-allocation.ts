// The API server's Service allocators (ClusterIP, NodePort, healthCheckNodePort) and a cloud
// controller's LoadBalancer address assignment. Stated values are validated and kept; missing ones
// are allocated. The real allocators pick at random inside the upper ("dynamic") band of the range
// (KEP-3070 for ClusterIPs, KEP-3668 for NodePorts) and fall back to the lower band; kpath picks
// the first free slot at or after a hash of the service's namespace/name in the same band order,
// so a service keeps its address when others are added and the result is reproducible.
import type { ClusterConfig } from '../model/cluster.js';
import type { Service, ServicePort, ServiceSpec } from '../model/k8s.js';
import { IPAddr, type Prefix } from '../net/ip.js';
import { describe, type Findings, problem } from './findings.js';
import { fnv32a, mix32, stableUID } from './names.js';

/** Slots 0..size-1, with the first `offset` slots kept for static (user-chosen) allocation. */
export class BandedRange {
  private readonly used = new Set<number>();

  constructor(
    readonly size: number,
    readonly offset: number,
  ) {}

  has(i: number): boolean {
    return this.used.has(i);
  }

  /** Marks a slot used; false when it already was. */
  reserve(i: number): boolean {
    if (this.used.has(i)) return false;
    this.used.add(i);
    return true;
  }

  /** The first free slot at or after hash(seed) in the upper band, then in the lower band. */
  allocate(seed: string): number | undefined {
    const h = mix32(fnv32a(seed));
    const bands: [number, number][] = [
      [this.offset, this.size],
      [0, this.offset],
    ];
    for (const [lo, hi] of bands) {
      const n = hi - lo;
      if (n <= 0) continue;
      const start = h % n;
      for (let k = 0; k < n; k++) {
        const i = lo + ((start + k) % n);
        if (this.reserve(i)) return i;
      }
    }
    return undefined;
  }
}

/** ipallocator calculateRangeOffset: min(max(16, size/16), 256), 0 for ranges of 16 or fewer. */
export function clusterIPBandOffset(rangeSize: number): number {
  if (rangeSize <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(rangeSize / 16)), 256);
}

/** portallocator calculateRangeOffset: min(max(16, size/32), 128), 0 for ranges of 16 or fewer. */
export function nodePortBandOffset(rangeSize: number): number {
  if (rangeSize <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(rangeSize / 32)), 128);
}

/** The service CIDR as slots: slot i is network+1+i; IPv4 leaves out network and broadcast. */
export class ServiceIPRange {
  readonly slots: BandedRange;

  constructor(readonly cidr: Prefix) {
    const total = cidr.size;
    // Keep the bitmap to 2^24 slots; larger (IPv6) ranges are never filled by a simulated cluster.
    const usable = cidr.family === 4 ? total - 2n : total - 1n;
    const size = Number(usable > 1n << 24n ? 1n << 24n : usable < 0n ? 0n : usable);
    this.slots = new BandedRange(size, clusterIPBandOffset(size));
  }

  slotOf(ip: IPAddr): number | undefined {
    if (!this.cidr.contains(ip)) return undefined;
    const i = ip.value - this.cidr.addr.value - 1n;
    return i >= 0n && i < BigInt(this.slots.size) ? Number(i) : undefined;
  }

  ipOf(slot: number): IPAddr {
    return this.cidr.nth(BigInt(slot) + 1n);
  }
}

interface Claim {
  svc: Service;
  field: string;
}

/** Services with ClusterIP(s), node ports, health-check node port and LB ingress filled. */
export function allocateServices(input: Service[], config: ClusterConfig, f: Findings): Service[] {
  const services = input.map(withDefaults);
  const ipRange = new ServiceIPRange(config.serviceCIDR);
  const { from, to } = config.nodePortRange;
  const ports = new BandedRange(to - from + 1, nodePortBandOffset(to - from + 1));
  const ipClaims = new Map<number, Claim>();
  const portClaims = new Map<number, Claim>();
  const lb = new LoadBalancerPool(config.loadBalancer.pool);

  // Pass 1: what the input states is checked and reserved before anything is handed out.
  for (const svc of services) {
    const spec = svc.spec;
    if (spec.type !== 'ExternalName' && spec.clusterIP && spec.clusterIP !== 'None') {
      const ip = IPAddr.tryParse(spec.clusterIP);
      const slot = ip ? ipRange.slotOf(ip) : undefined;
      if (!ip) problem(f, svc, 'spec.clusterIP', `invalid IP address "${spec.clusterIP}"`);
      else if (slot === undefined) {
        problem(
          f,
          svc,
          'spec.clusterIP',
          `${ip} is not a usable address of the service CIDR ${config.serviceCIDR}`,
        );
      } else claim(f, ipClaims, slot, { svc, field: 'spec.clusterIP' }, `clusterIP ${ip}`, ipRange.slots);
    }
    (spec.ports ?? []).forEach((p, i) => {
      if (p.nodePort === undefined || p.nodePort === 0) return;
      const field = `spec.ports[${i}].nodePort`;
      if (p.nodePort < from || p.nodePort > to) {
        problem(f, svc, field, `nodePort ${p.nodePort} is outside the NodePort range ${from}-${to}`);
        return;
      }
      // One service may reuse a nodePort for the same port number on another protocol (DNS 53 TCP+UDP).
      const prev = portClaims.get(p.nodePort - from);
      if (prev?.svc === svc && sameNumberOtherProtocol(spec.ports ?? [], p)) return;
      claim(f, portClaims, p.nodePort - from, { svc, field }, `nodePort ${p.nodePort}`, ports);
    });
    if (spec.healthCheckNodePort) {
      const hc = spec.healthCheckNodePort;
      if (hc < from || hc > to) {
        problem(
          f,
          svc,
          'spec.healthCheckNodePort',
          `healthCheckNodePort ${hc} is outside the NodePort range ${from}-${to}`,
        );
      } else
        claim(f, portClaims, hc - from, { svc, field: 'spec.healthCheckNodePort' }, `nodePort ${hc}`, ports);
    }
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) if (ing.ip) lb.reserve(ing.ip);
    if (spec.type === 'LoadBalancer' && spec.loadBalancerIP) lb.reserve(spec.loadBalancerIP);
  }
  if (f.problems.length > 0) return services;

  // Pass 2: allocation, the two services with fixed addresses first.
  const isFixed = (i: number) => Number(isKubernetes(services[i]!) || isKubeDns(services[i]!));
  const order = [...services.keys()].sort((a, b) => isFixed(b) - isFixed(a));
  for (const i of order) {
    const svc = services[i]!;
    const spec = svc.spec;
    if (spec.type === 'ExternalName' || spec.clusterIP) continue;
    // `default/kubernetes` always holds the first address and kube-dns the configured DNS IP.
    const fixed = isKubernetes(svc) ? 0 : isKubeDns(svc) ? ipRange.slotOf(config.dnsServiceIP) : undefined;
    if (fixed !== undefined) {
      if (!ipRange.slots.reserve(fixed)) {
        const holder = ipClaims.get(fixed);
        const by = holder ? ` by ${describe(holder.svc)}` : '';
        problem(f, svc, 'spec.clusterIP', `its fixed address ${ipRange.ipOf(fixed)} is already taken${by}`);
        continue;
      }
      spec.clusterIP = ipRange.ipOf(fixed).toString();
      continue;
    }
    const slot = ipRange.slots.allocate(`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`);
    if (slot === undefined) {
      problem(f, svc, 'spec.clusterIP', `no free address left in the service CIDR ${config.serviceCIDR}`);
      continue;
    }
    spec.clusterIP = ipRange.ipOf(slot).toString();
  }

  for (const svc of services) {
    const spec = svc.spec;
    const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
    fillFamilies(spec, config);
    const wantsNodePorts =
      spec.type === 'NodePort' ||
      (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    if (wantsNodePorts) {
      const byNumber = new Map<number, number>();
      for (const p of spec.ports ?? []) if (p.nodePort) byNumber.set(p.port, p.nodePort);
      (spec.ports ?? []).forEach((p, i) => {
        if (p.nodePort) return;
        // initNodePorts: ports with the same number (other protocol) share one nodePort.
        const shared = byNumber.get(p.port);
        if (shared) {
          p.nodePort = shared;
          return;
        }
        const slot = ports.allocate(`${key}:${i}`);
        if (slot === undefined)
          problem(f, svc, `spec.ports[${i}].nodePort`, `no free port left in ${from}-${to}`);
        else {
          p.nodePort = from + slot;
          byNumber.set(p.port, p.nodePort);
        }
      });
    }
    if (spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' && !spec.healthCheckNodePort) {
      const slot = ports.allocate(`${key}:healthCheck`);
      if (slot === undefined)
        problem(f, svc, 'spec.healthCheckNodePort', `no free port left in ${from}-${to}`);
      else spec.healthCheckNodePort = from + slot;
    }
    if (spec.type === 'LoadBalancer' && !svc.status?.loadBalancer?.ingress?.length) {
      const ip = spec.loadBalancerIP ?? lb.next();
      if (ip) svc.status = { ...(svc.status ?? {}), loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } };
      else {
        svc.status = { ...(svc.status ?? {}), loadBalancer: {} };
        f.warnings.push(
          `${describe(svc)}: EXTERNAL-IP stays <pending>: no free address in the load balancer pool`,
        );
      }
    }
  }
  return services;
}

function isKubeDns(s: Service): boolean {
  return s.metadata.name === 'kube-dns' && s.metadata.namespace === 'kube-system';
}

function isKubernetes(s: Service): boolean {
  return s.metadata.name === 'kubernetes' && (s.metadata.namespace ?? 'default') === 'default';
}

function claim(
  f: Findings,
  claims: Map<number, Claim>,
  slot: number,
  c: Claim,
  what: string,
  range: BandedRange,
): void {
  const prev = claims.get(slot);
  if (prev) {
    problem(f, c.svc, c.field, `${what} is already used by ${describe(prev.svc)}`);
    problem(f, prev.svc, prev.field, `${what} is also used by ${describe(c.svc)}`);
    return;
  }
  claims.set(slot, c);
  range.reserve(slot);
}

function sameNumberOtherProtocol(ports: ServicePort[], p: ServicePort): boolean {
  return ports.some(
    (q) => q !== p && q.nodePort === p.nodePort && q.port === p.port && q.protocol !== p.protocol,
  );
}

/** API defaults for the fields the allocators and later layers read (a copy; input untouched). */
function withDefaults(s: Service): Service {
  const spec: ServiceSpec = { ...s.spec, type: s.spec?.type ?? 'ClusterIP' };
  spec.ports = (s.spec?.ports ?? []).map((p) => ({
    ...p,
    protocol: p.protocol ?? 'TCP',
    targetPort: p.targetPort ?? p.port,
  }));
  if (!spec.clusterIP && spec.clusterIPs?.length) spec.clusterIP = spec.clusterIPs[0];
  if (spec.type !== 'ExternalName') {
    spec.sessionAffinity ??= 'None';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  const ns = s.metadata.namespace ?? 'default';
  const metadata = { ...s.metadata, uid: s.metadata.uid ?? stableUID('Service', ns, s.metadata.name) };
  return { ...s, metadata, spec, ...(s.status ? { status: { ...s.status } } : {}) };
}

function fillFamilies(spec: ServiceSpec, config: ClusterConfig): void {
  if (spec.type === 'ExternalName' || !spec.clusterIP) return;
  const ip = spec.clusterIP === 'None' ? undefined : IPAddr.tryParse(spec.clusterIP);
  const family = (ip?.family ?? config.serviceCIDR.family) === 6 ? 'IPv6' : 'IPv4';
  if (!spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
  spec.ipFamilies ??= [family];
  spec.ipFamilyPolicy ??= 'SingleStack';
}

/** The cloud (or MetalLB-style) address pool, handed out in order. */
class LoadBalancerPool {
  private readonly used = new Set<string>();
  private prefix = 0;
  private index = 0n;

  constructor(private readonly pool: Prefix[]) {}

  reserve(ip: string): void {
    const a = IPAddr.tryParse(ip);
    this.used.add(a ? a.toString() : ip);
  }

  next(): string | undefined {
    while (this.prefix < this.pool.length) {
      const p = this.pool[this.prefix]!;
      if (this.index >= p.size) {
        this.prefix++;
        this.index = 0n;
        continue;
      }
      const ip = p.nth(this.index++).toString();
      if (!this.used.has(ip)) {
        this.used.add(ip);
        return ip;
      }
    }
    return undefined;
  }
}

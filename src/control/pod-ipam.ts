// Pod addresses as the CNI's host-local IPAM hands them out on each node: the node's podCIDR, the
// gateway (.1, on cni0) reserved, pods from .2 upward skipping addresses in use, never the
// broadcast address. Also kubelet's status: hostIP(s), phase and conditions.
import type { NodeInfo } from '../model/cluster.js';
import type { Pod, PodCondition, PodStatus } from '../model/k8s.js';
import { IPAddr, type Prefix } from '../net/ip.js';
import { describe, type Findings, problem } from './findings.js';

/** Conditions of a running, ready pod, in the order kubelet reports them (1.29+). */
export const READY_CONDITIONS: readonly PodCondition[] = [
  { type: 'PodReadyToStartContainers', status: 'True' },
  { type: 'Initialized', status: 'True' },
  { type: 'Ready', status: 'True' },
  { type: 'ContainersReady', status: 'True' },
  { type: 'PodScheduled', status: 'True' },
];

/** host-local's range for a node: first usable is network+2 (network+1 is the gateway), last is broadcast-1. */
export class HostLocalRange {
  private readonly used = new Set<bigint>();
  private cursor: bigint;
  private readonly first: bigint;
  private readonly last: bigint;

  constructor(readonly subnet: Prefix) {
    const v4 = subnet.family === 4;
    this.first = subnet.addr.value + 2n;
    // IPv4 keeps the broadcast address out; IPv6 has none.
    this.last = subnet.last.value - (v4 ? 1n : 0n);
    this.cursor = this.first;
  }

  get gateway(): IPAddr {
    return this.subnet.nth(1);
  }

  reserve(ip: IPAddr): void {
    this.used.add(ip.value);
  }

  /** The next free address after the last one handed out, as host-local's round-robin does. */
  next(): IPAddr | undefined {
    const size = this.last - this.first + 1n;
    if (size <= 0n) return undefined;
    for (let tried = 0n; tried < size; tried++) {
      const v = this.cursor;
      this.cursor = v >= this.last ? this.first : v + 1n;
      if (!this.used.has(v)) {
        this.used.add(v);
        return IPAddr.fromBigInt(this.subnet.family, v);
      }
    }
    return undefined;
  }
}

/** Fills status.podIP(s), hostIP(s), phase and conditions of scheduled pods. */
export function assignPodIPs(pods: Pod[], infos: NodeInfo[], f: Findings): Pod[] {
  const nodeByName = new Map(infos.map((n) => [n.name, n]));
  const ranges = new Map(infos.map((n) => [n.name, new HostLocalRange(n.podCIDR)]));
  const owners = new Map<bigint, Pod>();
  const stated = pods.map((p) => {
    const node = p.spec.nodeName ? nodeByName.get(p.spec.nodeName) : undefined;
    const ips = statedIPs(p, f);
    if (!ips || p.spec.hostNetwork) return ips;
    ips.forEach(({ ip, field }) => {
      if (node && !node.podCIDR.contains(ip)) {
        problem(f, p, field, `pod IP ${ip} is outside the podCIDR ${node.podCIDR} of node ${node.name}`);
      }
      const other = owners.get(ip.value);
      if (other) {
        problem(f, p, field, `pod IP ${ip} is also used by ${describe(other)}`);
        problem(f, other, 'status.podIP', `pod IP ${ip} is also used by ${describe(p)}`);
      } else owners.set(ip.value, p);
      if (node) ranges.get(node.name)?.reserve(ip);
    });
    return ips;
  });
  return pods.map((p, i) => {
    const node = p.spec.nodeName ? nodeByName.get(p.spec.nodeName) : undefined;
    if (!node) return p;
    let ips = stated[i]?.map((s) => s.ip);
    // hostNetwork pods share the node's addresses; kubelet reports the node IP unless stated.
    if (p.spec.hostNetwork) ips ??= [node.internalIP];
    if (!ips) {
      // A pod stated as Pending, Succeeded or Failed without an IP has no sandbox holding one.
      if (p.status?.phase && p.status.phase !== 'Running')
        return withStatus(p, node, undefined, p.status.phase);
      const ip = ranges.get(node.name)?.next();
      if (!ip) {
        f.warnings.push(
          `${describe(p)} stays ContainerCreating: no free address in ${node.podCIDR} on ${node.name}`,
        );
        return withStatus(p, node, undefined, 'Pending');
      }
      ips = [ip];
    }
    return withStatus(p, node, ips, undefined);
  });
}

function statedIPs(p: Pod, f: Findings): { ip: IPAddr; field: string }[] | undefined {
  const s = p.status;
  const list = s?.podIPs?.length
    ? s.podIPs.map((x, i) => ({ text: x.ip, field: `status.podIPs[${i}].ip` }))
    : s?.podIP
      ? [{ text: s.podIP, field: 'status.podIP' }]
      : [];
  if (list.length === 0) return undefined;
  const out: { ip: IPAddr; field: string }[] = [];
  for (const { text, field } of list) {
    const ip = IPAddr.tryParse(text);
    if (ip) out.push({ ip, field });
    else problem(f, p, field, `invalid IP address "${text}"`);
  }
  return out.length > 0 ? out : undefined;
}

function withStatus(p: Pod, node: NodeInfo, ips: IPAddr[] | undefined, phase: string | undefined): Pod {
  const prev: PodStatus = p.status ?? {};
  const nodeIP = node.internalIP.toString();
  const status: PodStatus = {
    ...prev,
    phase: prev.phase ?? phase ?? 'Running',
    conditions:
      prev.conditions ??
      (phase === 'Pending' ? [{ type: 'PodScheduled', status: 'True' }] : [...READY_CONDITIONS]),
    hostIP: nodeIP,
    hostIPs: [{ ip: nodeIP }],
  };
  if (ips) {
    // Address text is built from a bigint: once per address, not once per field.
    const texts = ips.map((ip) => ip.toString());
    status.podIP = texts[0]!;
    status.podIPs = texts.map((ip) => ({ ip }));
  }
  return { ...p, status };
}

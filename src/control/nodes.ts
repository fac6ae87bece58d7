// Node registration (as kubelet registers itself) and kube-controller-manager's range allocator
// for spec.podCIDR, resolved to NodeInfo with each node's underlay segment.
import type { ClusterConfig, DeclaredNode, NodeInfo, UnderlaySubnet } from '../model/cluster.js';
import { problemAt } from '../model/errors.js';
import type { Labels, Node } from '../model/k8s.js';
import { IPAddr, Prefix } from '../net/ip.js';
import { describe, type Findings, problem } from './findings.js';
import { stableUID } from './names.js';

export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** The labels kubelet puts on the Node it registers (pkg/kubelet/kubelet_node_status.go). */
export function kubeletLabels(name: string): Labels {
  return {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
  };
}

export interface RegisteredNodes {
  nodes: Node[];
  nodeInfo: NodeInfo[];
}

interface Candidate {
  node: Node;
  ip: IPAddr | undefined;
  stated: Prefix[];
  ready: boolean;
  /** Reports a problem at a field of this node's input. */
  report: (field: string, message: string) => void;
}

/**
 * Nodes from Node objects, or else from the Cluster document's `nodes` (registered as kubelet and
 * kubeadm would: the first declared node carries the control-plane role label, so it hosts the API
 * server behind `default/kubernetes`, but no NoSchedule taint — kpath's declared nodes all run
 * workloads, as in the seeds' scenarios).
 */
export function registerNodes(config: ClusterConfig, input: Node[], f: Findings): RegisteredNodes {
  const candidates = input.length > 0 ? input.map((n) => fromNodeObject(n, f)) : declaredNodes(config, f);
  const names = new Set<string>();
  for (const c of candidates) {
    if (names.has(c.node.metadata.name))
      c.report('metadata.name', `duplicate node name "${c.node.metadata.name}"`);
    names.add(c.node.metadata.name);
  }
  checkOverlaps(candidates);
  for (const c of candidates) {
    for (const p of c.stated) {
      if (!config.podCIDR.covers(p)) {
        f.warnings.push(
          `${describe(c.node)}: podCIDR ${p} is outside the cluster pod CIDR ${config.podCIDR}`,
        );
      }
    }
  }
  if (config.nodeCIDRMaskSize < config.podCIDR.len || config.nodeCIDRMaskSize > config.podCIDR.addr.bits) {
    f.problems.push(
      problemAt(
        config.source,
        'spec.nodeCIDRMaskSize',
        `node CIDR mask /${config.nodeCIDRMaskSize} does not fit the pod CIDR ${config.podCIDR}`,
      ),
    );
    return { nodes: [], nodeInfo: [] };
  }
  const allocated = allocateNodeCIDRs(
    config.podCIDR,
    config.nodeCIDRMaskSize,
    candidates.map((c) => c.stated),
  );
  const nodes: Node[] = [];
  const nodeInfo: NodeInfo[] = [];
  candidates.forEach((c, i) => {
    const podCIDR = c.stated[0] ?? allocated[i];
    if (!podCIDR) {
      c.report('spec.podCIDR', `no free /${config.nodeCIDRMaskSize} left in the pod CIDR ${config.podCIDR}`);
      return;
    }
    if (!c.ip) return;
    const underlay = underlayOf(config.underlay, c.ip);
    if (!underlay) {
      c.report('status.addresses', `node IP ${c.ip} is in none of the underlay subnets`);
      return;
    }
    const cidrs = c.stated.length > 0 ? c.stated : [podCIDR];
    const node: Node = {
      ...c.node,
      spec: { ...c.node.spec, podCIDR: cidrs[0]!.toString(), podCIDRs: cidrs.map(String) },
    };
    nodes.push(node);
    nodeInfo.push({
      name: node.metadata.name,
      internalIP: c.ip,
      podCIDR,
      labels: node.metadata.labels ?? {},
      ready: c.ready,
      underlay,
    });
  });
  return { nodes, nodeInfo };
}

/**
 * The range allocator (pkg/controller/nodeipam/ipam/cidrset): CIDRs already on nodes are occupied
 * first, then each node without one gets the lowest free /maskSize, in node order.
 */
export function allocateNodeCIDRs(
  clusterCIDR: Prefix,
  maskSize: number,
  stated: readonly (readonly Prefix[])[],
): (Prefix | undefined)[] {
  const shift = BigInt(clusterCIDR.addr.bits - maskSize);
  const total = 1n << BigInt(maskSize - clusterCIDR.len);
  const occupied = new Set<bigint>();
  for (const list of stated) {
    for (const p of list) {
      if (!p.overlaps(clusterCIDR) || p.family !== clusterCIDR.family) continue;
      const inside = clusterCIDR.covers(p) ? p : clusterCIDR;
      const first = (inside.addr.value - clusterCIDR.addr.value) >> shift;
      const last = (inside.last.value - clusterCIDR.addr.value) >> shift;
      for (let i = first; i <= last && occupied.size < total; i++) occupied.add(i);
    }
  }
  let next = 0n;
  return stated.map((list) => {
    if (list.length > 0) return undefined;
    while (next < total && occupied.has(next)) next++;
    if (next >= total) return undefined;
    occupied.add(next);
    return clusterCIDR.subnet(maskSize, next);
  });
}

function underlayOf(segments: UnderlaySubnet[], ip: IPAddr): UnderlaySubnet | undefined {
  // With no underlay configured, each node sits on the /24 (/64) around its address.
  if (segments.length === 0) return { cidr: Prefix.of(ip, ip.family === 4 ? 24 : 64) };
  return segments.find((s) => s.cidr.contains(ip));
}

function fromNodeObject(n: Node, f: Findings): Candidate {
  const report = (field: string, message: string) => problem(f, n, field, message);
  const addrs = n.status?.addresses ?? [];
  const idx = addrs.findIndex((a) => a.type === 'InternalIP');
  let ip: IPAddr | undefined;
  if (idx < 0) report('status.addresses', 'node has no InternalIP address');
  else {
    ip = IPAddr.tryParse(addrs[idx]!.address);
    if (!ip) report(`status.addresses[${idx}].address`, `invalid IP address "${addrs[idx]!.address}"`);
  }
  const texts = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
  const field = n.spec?.podCIDRs?.length ? (i: number) => `spec.podCIDRs[${i}]` : () => 'spec.podCIDR';
  const stated: Prefix[] = [];
  texts.forEach((t, i) => {
    const p = Prefix.tryParse(t);
    if (p && t.includes('/')) stated.push(p);
    else report(field(i), `invalid CIDR "${t}"`);
  });
  const readyCond = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
  // A Node without status (a hand-written manifest) is taken as a healthy, registered node.
  const ready = readyCond ? readyCond.status === 'True' : true;
  const name = n.metadata.name;
  const node: Node = {
    ...n,
    metadata: {
      ...n.metadata,
      uid: n.metadata.uid ?? stableUID('Node', undefined, name),
      labels: { ...kubeletLabels(name), ...(n.metadata.labels ?? {}) },
    },
    spec: { ...(n.spec ?? {}) },
    status: {
      ...(n.status ?? {}),
      addresses: addrs.length > 0 ? addrs : [],
      conditions: n.status?.conditions ?? [{ type: 'Ready', status: 'True' }],
    },
  };
  return { node, ip, stated, ready, report };
}

function declaredNodes(config: ClusterConfig, f: Findings): Candidate[] {
  return config.nodes.map((d: DeclaredNode, i: number) => {
    const source = d.source ?? config.source;
    const base = `spec.nodes[${i}]`;
    const report = (field: string, message: string) => {
      const local = field === 'status.addresses' ? 'ip' : field === 'spec.podCIDR' ? 'podCIDR' : field;
      f.problems.push(problemAt(source, `${base}.${local}`, message, `Node ${d.name}`));
    };
    const labels: Labels = {
      ...kubeletLabels(d.name),
      ...(i === 0 ? { [CONTROL_PLANE_LABEL]: '' } : {}),
      ...d.labels,
    };
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: d.name, uid: stableUID('Node', undefined, d.name), labels },
      spec: {},
      status: {
        addresses: [
          { type: 'InternalIP', address: d.ip.toString() },
          { type: 'Hostname', address: d.name },
        ],
        conditions: [{ type: 'Ready', status: d.ready ? 'True' : 'False' }],
      },
    };
    return { node, ip: d.ip, stated: d.podCIDR ? [d.podCIDR] : [], ready: d.ready, report };
  });
}

/** Stated podCIDRs may not overlap (a sweep over CIDRs sorted by start address). */
function checkOverlaps(candidates: Candidate[]): void {
  const all = candidates.flatMap((c) => c.stated.map((p) => ({ p, c })));
  all.sort((a, b) => a.p.addr.compare(b.p.addr) || a.p.len - b.p.len);
  let widest: { p: Prefix; c: Candidate } | undefined;
  for (const cur of all) {
    if (widest && widest.p.family === cur.p.family && widest.p.overlaps(cur.p) && widest.c !== cur.c) {
      const msg = (other: Candidate, p: Prefix) => `podCIDR overlaps ${p} of ${describe(other.node)}`;
      cur.c.report('spec.podCIDR', msg(widest.c, widest.p));
      widest.c.report('spec.podCIDR', msg(cur.c, cur.p));
    }
    if (!widest || widest.p.family !== cur.p.family || cur.p.last.compare(widest.p.last) > 0) widest = cur;
  }
}

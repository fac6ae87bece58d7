// Places the cluster on a plane: external hosts and load balancers on top, the underlay as a bar, nodes as
// boxes in a grid below it, each holding its devices (eth0, flannel.1, cni0) and its pods in groups.
// Pure and deterministic, so the same cluster and options always draw the same picture.
import type { Topology, TopologyNode, TopologyPod } from './api.js';
import type { Grouping } from './url-state.js';

export interface Box {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PodBox extends Box {
  pod: TopologyPod;
}

export interface GroupBox extends Box {
  label: string;
  count: number;
}

export interface DeviceBox extends Box {
  name: string;
  kind: string;
  label: string;
}

export interface NodeBox extends Box {
  node: TopologyNode;
  collapsed: boolean;
  devices: DeviceBox[];
  groups: GroupBox[];
  pods: PodBox[];
}

export interface Layout {
  width: number;
  height: number;
  externals: (Box & { label: string; sub: string })[];
  loadBalancers: (Box & { label: string; sub: string })[];
  underlay: Box & { label: string };
  nodes: NodeBox[];
  /** Centre points by id (`ext:client`, `lb:203.0.113.50`, `underlay`, `node:node-1`, `dev:node-1/eth0`, `pod:ns/name`). */
  anchors: Map<string, { x: number; y: number }>;
}

export interface LayoutOptions {
  group: Grouping;
  /** Whether a node's box is collapsed (pods hidden, only counted). */
  collapsed: (node: string) => boolean;
}

const NODE_W = 356;
const POD_W = 160;
const POD_H = 38;
const GAP = 24;
const PAD = 10;

export function groupKey(pod: TopologyPod, group: Grouping): string {
  if (group === 'namespace') return pod.namespace;
  return pod.workload ? `${pod.namespace}/${pod.workload}` : `${pod.namespace}/(no controller)`;
}

/** Nodes collapse by default in big clusters, so 50 nodes and 500 pods still fit the screen. */
export function collapsedByDefault(t: Topology): boolean {
  return t.nodes.reduce((n, node) => n + node.pods.length, 0) > 60;
}

function nodeBox(node: TopologyNode, x: number, y: number, opts: LayoutOptions): NodeBox {
  const collapsed = opts.collapsed(node.name);
  const devices: DeviceBox[] = [];
  let dx = x + PAD;
  const devY = y + 48;
  for (const d of node.devices) {
    const label = d.kind === 'vxlan' && d.vxlan ? `${d.name} vni ${d.vxlan.vni}` : d.name;
    const w = Math.max(64, label.length * 7 + 16);
    devices.push({
      id: `dev:${node.name}/${d.name}`,
      x: dx,
      y: devY,
      w,
      h: 26,
      name: d.name,
      kind: d.kind,
      label,
    });
    dx += w + 8;
  }
  let cy = devY + 26 + 14;
  const groups: GroupBox[] = [];
  const pods: PodBox[] = [];
  if (!collapsed) {
    const byGroup = new Map<string, TopologyPod[]>();
    for (const p of node.pods) {
      const k = groupKey(p, opts.group);
      byGroup.set(k, [...(byGroup.get(k) ?? []), p]);
    }
    for (const [label, members] of [...byGroup].sort(([a], [b]) => a.localeCompare(b))) {
      const rows = Math.ceil(members.length / 2);
      const h = 20 + rows * (POD_H + 6);
      groups.push({
        id: `group:${node.name}/${label}`,
        x: x + PAD,
        y: cy,
        w: NODE_W - 2 * PAD,
        h,
        label,
        count: members.length,
      });
      members.forEach((pod, i) => {
        pods.push({
          id: `pod:${pod.namespace}/${pod.name}`,
          x: x + PAD + 6 + (i % 2) * (POD_W + 6),
          y: cy + 20 + Math.floor(i / 2) * (POD_H + 6),
          w: POD_W,
          h: POD_H,
          pod,
        });
      });
      cy += h + 8;
    }
  } else {
    cy += 22;
  }
  return { id: `node:${node.name}`, x, y, w: NODE_W, h: cy - y + 4, node, collapsed, devices, groups, pods };
}

export function layoutTopology(t: Topology, opts: LayoutOptions): Layout {
  // Small clusters in one row; big ones in a square-ish grid (8 columns at 50 nodes).
  const cols = Math.max(1, Math.min(t.nodes.length, Math.max(3, Math.ceil(Math.sqrt(t.nodes.length)))));
  const width = Math.max(cols * (NODE_W + GAP) + GAP, 760);
  const anchors = new Map<string, { x: number; y: number }>();
  const centre = (b: Box) => anchors.set(b.id, { x: b.x + b.w / 2, y: b.y + b.h / 2 });

  const top: { id: string; label: string; sub: string }[] = [
    ...t.externals.map((e) => ({ id: `ext:${e.name}`, label: e.name, sub: e.ip })),
    ...t.loadBalancers.map((l) => ({ id: `lb:${l.ip}`, label: `load balancer ${l.ip}`, sub: l.service })),
  ];
  const topW = 200;
  const topGap = Math.max(GAP, (width - top.length * topW) / (top.length + 1));
  const placed = top.map((b, i) => ({ ...b, x: topGap + i * (topW + topGap), y: 16, w: topW, h: 44 }));
  const externals = placed.filter((b) => b.id.startsWith('ext:'));
  const loadBalancers = placed.filter((b) => b.id.startsWith('lb:'));
  for (const b of placed) centre(b);

  const gw = t.underlay.map((u) => `${u.cidr}${u.gateway ? ` via gateway ${u.gateway}` : ''}`).join(', ');
  const underlay = {
    id: 'underlay',
    x: GAP,
    y: top.length ? 92 : 16,
    w: width - 2 * GAP,
    h: 30,
    label: `underlay ${gw}`,
  };
  centre(underlay);

  const nodes: NodeBox[] = [];
  let y = underlay.y + underlay.h + 40;
  for (let r = 0; r * cols < t.nodes.length; r++) {
    const row = t.nodes
      .slice(r * cols, r * cols + cols)
      .map((n, c) => nodeBox(n, GAP + c * (NODE_W + GAP), y, opts));
    nodes.push(...row);
    y += Math.max(...row.map((b) => b.h)) + GAP;
  }
  for (const n of nodes) {
    centre(n);
    for (const d of n.devices) centre(d);
    for (const p of n.pods) centre(p);
  }
  return { width, height: y + 8, externals, loadBalancers, underlay, nodes, anchors };
}

/** Where a hop happened, as an anchor id of the layout (the most specific one that is drawn). */
export function hopAnchor(
  layout: Layout,
  at: { node: string | null; netns: string; owner: string; iface: string | null },
): string | undefined {
  const has = (id: string) => (layout.anchors.has(id) ? id : undefined);
  if (at.netns.startsWith('external/')) return has(`ext:${at.netns.slice('external/'.length)}`);
  if (at.netns === 'lb') {
    const ip = /(\S+)$/.exec(at.owner)?.[1];
    return has(`lb:${ip}`) ?? layout.loadBalancers[0]?.id;
  }
  if (at.netns === 'underlay' || !at.node) return 'underlay';
  if (at.owner.startsWith('pod/')) return has(`pod:${at.owner.slice(4)}`) ?? has(`node:${at.node}`);
  if (at.iface) {
    const dev = has(`dev:${at.node}/${at.iface}`);
    if (dev) return dev;
    // The host end of a pod's veth: drawn at the pod it leads to.
    const n = layout.nodes.find((b) => b.node.name === at.node);
    const pod = n?.node.pods.find((p) => p.hostVeth === at.iface);
    if (pod) return has(`pod:${pod.namespace}/${pod.name}`) ?? n?.id;
  }
  return has(`node:${at.node}`);
}

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
  /** `namespace`, or `namespace/Kind/name` of the workload (`ns/(bare pods)` for pods without one). */
  key: string;
  /** `node:key`, as the URL's `gfold` names it. */
  fold: string;
  label: string;
  count: number;
  collapsed: boolean;
  /** A search hit is among its pods, or in its label. */
  hit: boolean;
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
  group: Grouping;
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
  /** Whether a group of pods on a node is collapsed (its pods hidden, only counted); default: open. */
  groupCollapsed?: (fold: string, members: readonly TopologyPod[], hit: boolean) => boolean;
  /** The search text: groups holding a matching pod (or whose label matches) are marked as hits. */
  search?: string;
}

const NODE_W = 356;
const POD_W = 160;
const POD_H = 38;
const GAP = 24;
const PAD = 10;

const GROUP_HEAD = 20;

export function groupKey(pod: TopologyPod, group: Grouping): string {
  if (group === 'namespace') return pod.namespace;
  const c = pod.controller;
  return c ? `${pod.namespace}/${c.kind}/${c.name}` : `${pod.namespace}/(bare pods)`;
}

/** Nodes collapse by default in big clusters, so 50 nodes and 500 pods still fit the screen. */
export function collapsedByDefault(t: Topology): boolean {
  return t.nodes.reduce((n, node) => n + node.pods.length, 0) > 60;
}

/** A group of more than 6 pods (3 rows) starts collapsed; one holding a search hit is always open. */
export function groupCollapsedByDefault(count: number): boolean {
  return count > 6;
}

/** What a search matches on a pod: its name, IP or namespace (case-insensitive, substring). */
export function podMatches(pod: TopologyPod, search: string): boolean {
  const q = search.trim().toLowerCase();
  return !!q && [pod.name, pod.ip, pod.namespace].some((t) => t?.toLowerCase().includes(q));
}

/** The groups of a node's pods, sorted by key, each with its members in the node's order. */
export function podGroups(node: TopologyNode, group: Grouping): [string, TopologyPod[]][] {
  const byGroup = new Map<string, TopologyPod[]>();
  for (const p of node.pods) {
    const k = groupKey(p, group);
    const members = byGroup.get(k);
    if (members) members.push(p);
    else byGroup.set(k, [p]);
  }
  return [...byGroup].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
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
    const q = opts.search?.trim().toLowerCase() ?? '';
    for (const [key, members] of podGroups(node, opts.group)) {
      const fold = `${node.name}:${key}`;
      const hit = !!q && (key.toLowerCase().includes(q) || members.some((p) => podMatches(p, q)));
      const folded = opts.groupCollapsed?.(fold, members, hit) ?? false;
      const rows = folded ? 0 : Math.ceil(members.length / 2);
      const h = GROUP_HEAD + rows * (POD_H + 6) + (folded ? 0 : 2);
      groups.push({
        id: `group:${fold}`,
        x: x + PAD,
        y: cy,
        w: NODE_W - 2 * PAD,
        h,
        key,
        fold,
        label: key,
        count: members.length,
        collapsed: folded,
        hit,
      });
      if (!folded) {
        members.forEach((pod, i) => {
          pods.push({
            id: `pod:${pod.namespace}/${pod.name}`,
            x: x + PAD + 6 + (i % 2) * (POD_W + 6),
            y: cy + GROUP_HEAD + Math.floor(i / 2) * (POD_H + 6),
            w: POD_W,
            h: POD_H,
            pod,
          });
        });
      }
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
    for (const g of n.groups) centre(g);
    for (const p of n.pods) centre(p);
  }
  return { group: opts.group, width, height: y + 8, externals, loadBalancers, underlay, nodes, anchors };
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
  const groupOf = (podKey: string) => {
    const n = layout.nodes.find((b) => b.node.name === at.node);
    const pod = n?.node.pods.find((p) => `${p.namespace}/${p.name}` === podKey);
    const g =
      pod && n?.groups.find((b) => b.count > 0 && b.collapsed && b.key === groupKey(pod, layout.group));
    return g ? has(g.id) : undefined;
  };
  if (at.owner.startsWith('pod/')) {
    const key = at.owner.slice(4);
    return has(`pod:${key}`) ?? groupOf(key) ?? has(`node:${at.node}`);
  }
  if (at.iface) {
    const dev = has(`dev:${at.node}/${at.iface}`);
    if (dev) return dev;
    // The host end of a pod's veth: drawn at the pod it leads to.
    const n = layout.nodes.find((b) => b.node.name === at.node);
    const pod = n?.node.pods.find((p) => p.hostVeth === at.iface);
    if (pod) {
      const key = `${pod.namespace}/${pod.name}`;
      return has(`pod:${key}`) ?? groupOf(key) ?? n?.id;
    }
  }
  return has(`node:${at.node}`);
}

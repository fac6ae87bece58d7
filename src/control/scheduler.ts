// kube-scheduler, reduced to what decides placement in kpath: spec.nodeName is kept, nodeSelector and
// taints/tolerations filter nodes (NotReady and cordoned nodes carry the taints the node lifecycle
// controller gives them), and the rest spreads evenly: fewest pods so far, then node order.
import type { NodeInfo } from '../model/cluster.js';
import type { Node, Pod, PodSpec } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import { type Findings, problem } from './findings.js';
import { canonicalJSON } from './names.js';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

/** spec.taints plus the taints TaintNodesByCondition puts on NotReady and cordoned nodes. */
export function nodeTaints(node: Node, ready: boolean): Taint[] {
  const out = ((node.spec?.taints ?? []) as Taint[]).filter((t) => t && typeof t.key === 'string');
  if (!ready) {
    out.push({ key: NOT_READY_TAINT, effect: 'NoSchedule' }, { key: NOT_READY_TAINT, effect: 'NoExecute' });
  }
  if (node.spec?.unschedulable) out.push({ key: UNSCHEDULABLE_TAINT, effect: 'NoSchedule' });
  return out;
}

/** v1.Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  // An empty key with Equal never matches; Equal compares values ("" when unset).
  return !!t.key && (t.value ?? '') === (taint.value ?? '');
}

/** Whether a pod with this spec may be placed on the node (nodeSelector and NoSchedule/NoExecute taints). */
export function nodeAdmits(spec: PodSpec, node: Node, ready: boolean, extra: Toleration[] = []): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const tols = [...((spec.tolerations as Toleration[] | undefined) ?? []), ...extra];
  for (const taint of nodeTaints(node, ready)) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tols.some((t) => tolerates(t, taint))) return false;
  }
  return true;
}

/**
 * Places every pod without spec.nodeName; returns new pod values (input untouched). A pod with a
 * stated IP but no node goes to the node whose podCIDR holds that IP, when that node admits it.
 */
export function schedulePods(pods: Pod[], nodes: Node[], infos: NodeInfo[], f: Findings): Pod[] {
  const byName = new Map(nodes.map((n, i) => [n.metadata.name, i]));
  const counts = new Array<number>(nodes.length).fill(0);
  for (const p of pods) {
    const name = p.spec.nodeName;
    if (!name) continue;
    const i = byName.get(name);
    if (i === undefined) problem(f, p, 'spec.nodeName', `node "${name}" does not exist`);
    else counts[i]!++;
  }
  const groups = new Map<string, NodeHeap>();
  return pods.map((p) => {
    if (p.spec.nodeName) return p;
    const hinted = hintedNode(p, infos);
    let chosen: number | undefined;
    if (hinted !== undefined && nodeAdmits(p.spec, nodes[hinted]!, infos[hinted]!.ready)) chosen = hinted;
    else {
      const key = canonicalJSON([p.spec.nodeSelector ?? {}, p.spec.tolerations ?? []]);
      let heap = groups.get(key);
      if (!heap) {
        heap = new NodeHeap(counts);
        nodes.forEach((n, i) => {
          if (nodeAdmits(p.spec, n, infos[i]!.ready)) heap!.push(i);
        });
        groups.set(key, heap);
      }
      chosen = heap.takeLeastLoaded();
    }
    if (chosen === undefined) {
      f.warnings.push(
        `Pod ${p.metadata.namespace ?? 'default'}/${p.metadata.name} stays Pending: 0/${nodes.length} nodes are available (nodeSelector, taints or readiness)`,
      );
      return {
        ...p,
        status: {
          ...(p.status ?? {}),
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False' }],
        },
      };
    }
    counts[chosen]!++;
    return { ...p, spec: { ...p.spec, nodeName: nodes[chosen]!.metadata.name } };
  });
}

function hintedNode(p: Pod, infos: NodeInfo[]): number | undefined {
  const text = p.status?.podIP ?? p.status?.podIPs?.[0]?.ip;
  const ip = text ? IPAddr.tryParse(text) : undefined;
  if (!ip || p.spec.hostNetwork) return undefined;
  const i = infos.findIndex((n) => n.podCIDR.contains(ip));
  return i < 0 ? undefined : i;
}

/** A min-heap of node indices by (pod count, node order); counts are shared and only grow. */
class NodeHeap {
  private readonly items: [number, number][] = [];
  constructor(private readonly counts: number[]) {}

  push(i: number): void {
    this.items.push([this.counts[i]!, i]);
    this.up(this.items.length - 1);
  }

  takeLeastLoaded(): number | undefined {
    while (this.items.length > 0) {
      const [count, i] = this.items[0]!;
      this.pop();
      // Another group may have placed pods on this node since it was pushed: re-queue with its count.
      if (count !== this.counts[i]) {
        this.push(i);
        continue;
      }
      this.items.push([count + 1, i]);
      this.up(this.items.length - 1);
      return i;
    }
    return undefined;
  }

  private less(a: [number, number], b: [number, number]): boolean {
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  }

  private pop(): void {
    const last = this.items.pop()!;
    if (this.items.length === 0) return;
    this.items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.items.length && this.less(this.items[l]!, this.items[m]!)) m = l;
      if (r < this.items.length && this.less(this.items[r]!, this.items[m]!)) m = r;
      if (m === i) return;
      [this.items[i], this.items[m]] = [this.items[m]!, this.items[i]!];
      i = m;
    }
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.items[i]!, this.items[parent]!)) return;
      [this.items[i], this.items[parent]] = [this.items[parent]!, this.items[i]!];
      i = parent;
    }
  }
}

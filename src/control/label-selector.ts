// The Service's plain-map selector, and an index of pods by label key=value so that selecting pods
// costs the size of the smallest matching bucket, not the cluster (metav1.LabelSelector matching
// itself is model/label-selector.ts).
import type { LabelSelector, Labels } from '../model/k8s.js';
import { labelSelectorMatches } from '../model/label-selector.js';

/** A Service selector (plain map): every pair must match; an empty map selects nothing here. */
export function mapSelectorMatches(sel: Labels, labels: Labels | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel)) if (l[k] !== v) return false;
  return true;
}

interface Labelled {
  metadata: { namespace?: string; labels?: Labels };
}

/** Objects indexed by namespace and label key=value, in insertion order. */
export class LabelIndex<T extends Labelled> {
  private readonly byPair = new Map<string, T[]>();
  private readonly byNamespace = new Map<string, T[]>();

  add(o: T): void {
    const ns = o.metadata.namespace ?? '';
    push(this.byNamespace, ns, o);
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) push(this.byPair, pairKey(ns, k, v), o);
  }

  /** Objects in `namespace` whose labels satisfy every pair of `sel` (insertion order). */
  selectMap(namespace: string, sel: Labels): T[] {
    const pairs = Object.entries(sel);
    if (pairs.length === 0) return [];
    let smallest: T[] | undefined;
    for (const [k, v] of pairs) {
      const bucket = this.byPair.get(pairKey(namespace, k, v));
      if (!bucket) return [];
      if (!smallest || bucket.length < smallest.length) smallest = bucket;
    }
    return (smallest ?? []).filter((o) => mapSelectorMatches(sel, o.metadata.labels));
  }

  /** Objects in `namespace` matching a full LabelSelector (an empty selector matches all). */
  select(namespace: string, sel: LabelSelector): T[] {
    const ml = sel.matchLabels ?? {};
    const candidates =
      Object.keys(ml).length > 0 ? this.selectMap(namespace, ml) : (this.byNamespace.get(namespace) ?? []);
    return candidates.filter((o) => labelSelectorMatches(sel, o.metadata.labels));
  }
}

function pairKey(ns: string, k: string, v: string): string {
  return `${ns}\u0000${k}\u0000${v}`;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

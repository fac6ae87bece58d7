// The API server's index of pods by spec.nodeName: what a kubelet's watch (fieldSelector
// spec.nodeName=<node>) reads, so the agents of one node never scan every pod of the cluster.
import type { Pod } from '../model/k8s.js';

// Keyed by the pod list itself (a ClusterState's lists are never changed in place), so a state
// built from another with new pods gets its own index, and an index lives as long as its list.
const INDEX = new WeakMap<readonly Pod[], ReadonlyMap<string, readonly Pod[]>>();

/** Pods by spec.nodeName, in list order; built once per list. */
export function podsByNode(pods: readonly Pod[]): ReadonlyMap<string, readonly Pod[]> {
  let index = INDEX.get(pods);
  if (!index) {
    const m = new Map<string, Pod[]>();
    for (const pod of pods) {
      const n = pod.spec.nodeName;
      if (n === undefined || n === '') continue;
      const list = m.get(n);
      if (list) list.push(pod);
      else m.set(n, [pod]);
    }
    index = m;
    INDEX.set(pods, index);
  }
  return index;
}

/** The pods bound to one node, in list order. */
export function podsOnNode(pods: readonly Pod[], nodeName: string): readonly Pod[] {
  return podsByNode(pods).get(nodeName) ?? [];
}

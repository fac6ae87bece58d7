// The whole pipeline for one input: manifests → Cluster → ClusterState → NodeState per node (on demand,
// because a 1,000-node cluster should not program 999 nodes to show one).
import { programNode } from './agents/index.js';
import { runControlPlane } from './control/index.js';
import { loadCluster } from './load/index.js';
import type { SourceText } from './load/sources.js';
import type { Cluster, ClusterState } from './model/cluster.js';
import { NotFoundError } from './model/errors.js';
import type { NodeState } from './node/state.js';

export interface Twin {
  readonly cluster: Cluster;
  readonly state: ClusterState;
  /** The node's state as its agents programmed it; throws NotFoundError for an unknown node. */
  node(name: string): NodeState;
  nodes(): NodeState[];
  /** The input it was built from, when known (lab mode hands it to the CoreDNS servers it starts). */
  readonly sources?: readonly SourceText[];
}

export function buildTwin(sources: SourceText[]): Twin {
  const cluster = loadCluster(sources);
  return { ...twinOf(cluster, runControlPlane(cluster)), sources };
}

/** The twin of a cluster whose control plane already ran (a bench that loaded it itself). */
export function twinOf(cluster: Cluster, state: ClusterState): Twin {
  const programmed = new Map<string, NodeState>();
  const node = (name: string): NodeState => {
    let ns = programmed.get(name);
    if (!ns) {
      if (!state.nodeInfo.some((n) => n.name === name)) {
        throw new NotFoundError(
          `node "${name}" not found; the cluster's nodes are ${state.nodeInfo.map((n) => n.name).join(', ')}`,
        );
      }
      ns = programNode(state, name);
      programmed.set(name, ns);
    }
    return ns;
  };
  return { cluster, state, node, nodes: () => state.nodeInfo.map((n) => node(n.name)) };
}

// CategorizeEndpoints (pkg/proxy/topology.go): which endpoints serve Cluster and Local traffic
// policy on this node, with the fallback to serving+terminating endpoints.
import type { EndpointInfo } from './endpoints.js';
import { type ServicePortInfo, usesClusterEndpoints, usesLocalEndpoints } from './service-port.js';

export interface NodeTopology {
  /** The node's `topology.kubernetes.io/zone` label, if any. */
  readonly zone?: string;
  /** The node's name, for PreferSameNode hints (`hints.forNodes`). */
  readonly nodeName?: string;
  /** Feature PreferSameTrafficDistribution: honour node hints. */
  readonly preferSameNode?: boolean;
}

export interface CategorizedEndpoints {
  readonly clusterEndpoints: readonly EndpointInfo[];
  readonly localEndpoints: readonly EndpointInfo[];
  readonly allReachableEndpoints: readonly EndpointInfo[];
  readonly hasAnyEndpoints: boolean;
}

function canUseTopology(
  endpoints: readonly EndpointInfo[],
  topo: NodeTopology | undefined,
): 'node' | 'zone' | false {
  if (!topo) return false;
  let hasReady = false;
  let nodeOk = topo.preferSameNode === true && topo.nodeName !== undefined;
  let nodeMatch = false;
  let zoneOk = topo.zone !== undefined;
  let zoneMatch = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    hasReady = true;
    if (!ep.nodeHints || ep.nodeHints.length === 0) nodeOk = false;
    else if (topo.nodeName !== undefined && ep.nodeHints.includes(topo.nodeName)) nodeMatch = true;
    if (!ep.zoneHints || ep.zoneHints.length === 0) zoneOk = false;
    else if (topo.zone !== undefined && ep.zoneHints.includes(topo.zone)) zoneMatch = true;
  }
  if (!hasReady) return false;
  // Any ready endpoint without hints disables topology; so does having no hint for this node/zone.
  if (nodeOk && nodeMatch) return 'node';
  if (zoneOk && zoneMatch) return 'zone';
  return false;
}

function availableForTopology(ep: EndpointInfo, mode: 'node' | 'zone', topo: NodeTopology): boolean {
  if (mode === 'node') return ep.nodeHints?.includes(topo.nodeName ?? '') ?? false;
  return ep.zoneHints?.includes(topo.zone ?? '') ?? false;
}

export function categorizeEndpoints(
  endpoints: readonly EndpointInfo[],
  sp: ServicePortInfo,
  topo?: NodeTopology,
): CategorizedEndpoints {
  let clusterEndpoints: EndpointInfo[] = [];
  let localEndpoints: EndpointInfo[] = [];
  let hasAnyEndpoints = false;
  let useTopology: 'node' | 'zone' | false = false;
  let useServingTerminating = false;

  if (usesClusterEndpoints(sp)) {
    useTopology = canUseTopology(endpoints, topo);
    const mode = useTopology;
    clusterEndpoints = endpoints.filter(
      (ep) => ep.ready && (mode === false || availableForTopology(ep, mode, topo as NodeTopology)),
    );
    // No ready endpoints anywhere: fall back to serving, terminating ones.
    if (clusterEndpoints.length === 0)
      clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }
  if (!usesLocalEndpoints(sp)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) {
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  } else if (hasLocalServingTerminating) {
    useServingTerminating = true;
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  }
  if (!usesClusterEndpoints(sp)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  }
  if (useTopology === false && !useServingTerminating) {
    // Cluster endpoints then hold every ready endpoint, a superset of the local ones.
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }
  const merged = new Map<string, EndpointInfo>();
  for (const ep of clusterEndpoints) merged.set(ep.endpoint, ep);
  for (const ep of localEndpoints) merged.set(ep.endpoint, ep);
  // Upstream merges through a Go map (random order); we keep the "ip:port" string order.
  const allReachableEndpoints = [...merged.values()].sort((a, b) =>
    a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0,
  );
  return { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints };
}

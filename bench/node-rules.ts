// One node's rules on the bench cluster (issue #2's goal: under 2 s): programNode for the first node
// (kubelet → CNI → kube-proxy iptables mode) plus rendering its iptables-save, cold (first node) and
// warm. Reported, never asserted; `npm run bench` includes it.
// Usage (with the young generation the kpath binary runs with, src/cli/main.ts):
// node --expose-gc --max-semi-space-size=256 dist/bench/node-rules.js [--nodes N --services N --replicas N]
// For hot spots: node --cpu-prof --expose-gc --max-semi-space-size=256 dist/bench/node-rules.js
import { pathToFileURL } from 'node:url';
import { programNode } from '../src/agents/index.js';
import { runControlPlane } from '../src/control/index.js';
import { loadCluster } from '../src/load/index.js';
import type { ClusterState } from '../src/model/cluster.js';
import { printIptablesSave } from '../src/node/iptables/index.js';
import { generateClusterYaml, type ScaleSpec } from './generate.js';
import { arg, type Cost, measure } from './measure.js';

/** Programs and renders the first node (cold), then the second (warm). */
export function nodeRulesBench(state: ClusterState): void {
  const nodeName = state.nodeInfo[0]!.name;
  const cold: Cost = { wall: 0, cpu: 0 };
  const node = measure(
    `program one node (${nodeName}: CNI + kube-proxy, first)`,
    () => programNode(state, nodeName),
    cold,
  );
  const text = measure('render its iptables-save', () => printIptablesSave(node.host.iptables), cold);
  console.log(
    `  one node's rules, first node: ${cold.wall.toFixed(0)} ms wall, ${cold.cpu.toFixed(0)} ms cpu (goal < 2000 ms); ${text.split('\n').length} lines`,
  );
  const other = state.nodeInfo[1]?.name ?? nodeName;
  measure(`program + render another node (${other}, warm)`, () =>
    printIptablesSave(programNode(state, other).host.iptables),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const spec: ScaleSpec = {
    nodes: arg('nodes', 1000),
    services: arg('services', 10000),
    replicas: arg('replicas', 10),
  };
  console.log(
    `kpath node-rules bench: ${spec.nodes} nodes, ${spec.services} services, ${spec.services * spec.replicas} endpoints`,
  );
  const yaml = measure('generate manifests (YAML text)', () => generateClusterYaml(spec));
  const cluster = measure('load (parse, validate, default)', () =>
    loadCluster([{ file: 'bench.yaml', text: yaml }]),
  );
  nodeRulesBench(measure('control plane (schedule, IPAM, EndpointSlices)', () => runControlPlane(cluster)));
}

// One node's rules on the bench cluster (issue #2's goal: under 2 s): programNode for the first node
// (kubelet → CNI → kube-proxy iptables mode) plus rendering its iptables-save, cold (first node) and
// warm. Reported, never asserted. CPU time is printed beside wall time, since the wall clock on a
// shared machine measures the neighbours too; peak RSS is the kernel's own (resourceUsage().maxRSS).
// Usage: node --expose-gc dist/bench/node-rules.js [--nodes N --services N --replicas N]
// For hot spots: node --cpu-prof --expose-gc dist/bench/node-rules.js
import { performance } from 'node:perf_hooks';
import { programNode } from '../src/agents/index.js';
import { runControlPlane } from '../src/control/index.js';
import { loadCluster } from '../src/load/index.js';
import { printIptablesSave } from '../src/node/iptables/index.js';
import { generateClusterYaml, type ScaleSpec } from './generate.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0).padStart(5);
const maxRss = () => process.resourceUsage().maxRSS * 1024;

interface Cost {
  wall: number;
  cpu: number;
}

function measure<T>(label: string, fn: () => T, sum?: Cost): T {
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1000;
  if (sum) {
    sum.wall += wall;
    sum.cpu += cpu;
  }
  const heap = process.memoryUsage().heapUsed;
  console.log(
    `${label.padEnd(46)} ${wall.toFixed(0).padStart(7)} ms wall ${cpu.toFixed(0).padStart(7)} ms cpu   heap ${mib(heap)} MiB   peak RSS ${mib(maxRss())} MiB`,
  );
  return r;
}

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
const state = measure('control plane (schedule, IPAM, EndpointSlices)', () => runControlPlane(cluster));
const nodeName = state.nodeInfo[0]!.name;

const cold: Cost = { wall: 0, cpu: 0 };
const node = measure(`program one node (${nodeName}, first)`, () => programNode(state, nodeName), cold);
const text = measure('render its iptables-save', () => printIptablesSave(node.host.iptables), cold);
console.log(
  `  one node's rules, first node: ${cold.wall.toFixed(0)} ms wall, ${cold.cpu.toFixed(0)} ms cpu (goal < 2000 ms); ${text.split('\n').length} lines`,
);
const other = state.nodeInfo[1]?.name ?? nodeName;
const warm: Cost = { wall: 0, cpu: 0 };
measure(
  `program + render another node (${other}, warm)`,
  () => printIptablesSave(programNode(state, other).host.iptables),
  warm,
);
console.log(`peak RSS ${mib(maxRss()).trim()} MiB`);

// `npm run bench`: scale and speed numbers, reported, never asserted. Run with --expose-gc for steadier
// memory figures, and with the young generation the kpath binary runs with (src/cli/main.ts). Usage:
// node --expose-gc --max-semi-space-size=256 dist/bench/run.js [--nodes N --services N --replicas N]
// CPU time (process.cpuUsage, user + system) is printed beside wall time: on a shared machine the wall
// clock measures the neighbours too. For hot spots: add --cpu-prof.
import { performance } from 'node:perf_hooks';
import { runControlPlane } from '../src/control/index.js';
import { loadCluster } from '../src/load/index.js';
import { readSources } from '../src/load/sources.js';
import { type TraceQuery, traceConnection, worldOf } from '../src/trace/index.js';
import { buildTwin, type Twin, twinOf } from '../src/twin.js';
import { generateClusterYaml, type ScaleSpec } from './generate.js';
import { arg, maxRss, measure, mib } from './measure.js';
import { nodeRulesBench } from './node-rules.js';
import { dnsBench, policyBench } from './policy-dns.js';
import { traceLargeBench } from './trace-large.js';

const spec: ScaleSpec = {
  nodes: arg('nodes', 1000),
  services: arg('services', 10000),
  replicas: arg('replicas', 10),
};
console.log(
  `kpath bench: ${spec.nodes} nodes, ${spec.services} services, ${spec.services * spec.replicas} endpoints`,
);

const yaml = measure('generate manifests (YAML text)', () => generateClusterYaml(spec));
console.log(`  manifests: ${(yaml.length / 2 ** 20).toFixed(1)} MiB`);
const cluster = measure('load (parse, validate, default)', () =>
  loadCluster([{ file: 'bench.yaml', text: yaml }]),
);
const state = measure('control plane (schedule, IPAM, EndpointSlices)', () => runControlPlane(cluster));
const endpoints = state.endpointSlices.reduce((n, s) => n + s.endpoints.length, 0);
console.log(`  pods ${state.pods.length}, services ${state.services.length}, endpoints ${endpoints}`);
nodeRulesBench(state);

// ---- traces: the median of many, once the twin (and its world) is built ----------------------------

function median(label: string, twin: Twin, query: TraceQuery, runs: number): void {
  for (let i = 0; i < 20; i++) traceConnection(twin, { ...query, seed: i + 1 }); // warm up the JIT
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    traceConnection(twin, { ...query, seed: i + 1 });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(3);
  console.log(`${label.padEnd(58)} median ${at(0.5)} ms   p90 ${at(0.9)} ms   (${runs} traces)`);
}

const demo = buildTwin(await readSources(['examples/demo']));
worldOf(demo);
console.log('\ntraces on the demo cluster');
const oneWay = { protocol: 'tcp', seed: 1, noReturn: true } as const;
median(
  '  pod → ClusterIP, one way',
  demo,
  { ...oneWay, from: 'shop/web-576dc54788-9gvgj', to: 'svc/default/my-app' },
  500,
);
median(
  '  pod → ClusterIP, there and back',
  demo,
  { ...oneWay, noReturn: false, from: 'shop/web-576dc54788-9gvgj', to: 'svc/default/my-app' },
  500,
);
median(
  '  external → LB → NodePort → pod, one way',
  demo,
  { ...oneWay, from: 'external', to: 'svc/default/my-app' },
  500,
);
median(
  '  external → LB → NodePort → pod, there and back',
  demo,
  { ...oneWay, noReturn: false, from: 'external', to: 'svc/default/my-app' },
  500,
);

// The large cluster itself (the one loaded above, no node programmed yet): the world is lazy, so a trace
// programs only the nodes on its path (bench/trace-large.ts; issue #3's goal: under 20 ms once loaded).
const bigTwin = twinOf(cluster, state);
traceLargeBench(bigTwin, 200);

dnsBench(bigTwin.state);
policyBench();

console.log(`peak RSS ${mib(maxRss()).trim()} MiB`);

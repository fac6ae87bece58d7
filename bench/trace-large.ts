// Traces on the large cluster (issue #3's goal: under 20 ms once it is loaded): 1,000 nodes, 10,000 services,
// 100,000 endpoints, the bench cluster of issue #2. The world is lazy, so the first trace of each kind programs
// only the nodes on its path (reported apart, wall and CPU); then the median and p90 of many traces there and
// back, each with its own seed (source port) but the same backend (--endpoint), so no further node is
// programmed while timing. Reported, never asserted.
// Usage: node --expose-gc --max-semi-space-size=256 dist/bench/trace-large.js
//   [--nodes N --services N --replicas N --runs N]
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type TraceQuery, traceConnection, worldOf } from '../src/trace/index.js';
import { buildTwin, type Twin } from '../src/twin.js';
import { generateClusterYaml, type ScaleSpec } from './generate.js';
import { arg, maxRss, measure, mib } from './measure.js';

function cpuMs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

function quantile(sorted: readonly number[], q: number): string {
  return (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN).toFixed(3);
}

/** One kind of trace: the first one (programs its nodes), then `runs` more, each timed alone. */
function traceKind(label: string, twin: Twin, query: TraceQuery, runs: number): void {
  const world = worldOf(twin);
  const before = world.programmed().length;
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const first = traceConnection(twin, query);
  const wall = performance.now() - t0;
  const cpu = cpuMs(cpu0);
  const added = world.programmed().slice(before);
  console.log(
    `${label}: ${first.disposition}${first.return ? ` / return ${first.return.disposition}` : ''}, ${first.hops.length + (first.return?.hops.length ?? 0)} hops`,
  );
  console.log(
    `  first trace (programs ${added.length} node${added.length === 1 ? '' : 's'}${added.length ? `: ${added.join(', ')}` : ''})`.padEnd(
      58,
    ) + ` ${wall.toFixed(0).padStart(7)} ms wall ${cpu.toFixed(0).padStart(7)} ms cpu`,
  );
  for (let i = 0; i < 20; i++) traceConnection(twin, { ...query, seed: query.seed + 1000 + i }); // JIT warm-up
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    traceConnection(twin, { ...query, seed: query.seed + i });
    walls.push(performance.now() - t);
    cpus.push(cpuMs(c));
  }
  const grew = world.programmed().length - before - added.length;
  walls.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  console.log(
    `  then, once loaded (${runs} traces${grew ? `; ${grew} more nodes programmed!` : ''})`.padEnd(58) +
      ` median ${quantile(walls, 0.5)} ms wall (${quantile(cpus, 0.5)} cpu)   p90 ${quantile(walls, 0.9)} ms wall (${quantile(cpus, 0.9)} cpu)`,
  );
}

/**
 * The large-cluster trace numbers on a twin of a bench/generate.ts cluster whose nodes are not programmed yet
 * (issue #2's 1,000 nodes / 10,000 services / 100,000 endpoints in `npm run bench`).
 */
export function traceLargeBench(twin: Twin, runs: number): void {
  const services = twin.state.services.filter((s) => /^svc-\d+$/.test(s.metadata.name)).length;
  const endpoints = twin.state.endpointSlices.reduce((n, s) => n + s.endpoints.length, 0);
  console.log(
    `\ntraces on the large cluster: ${twin.state.nodeInfo.length} nodes, ${services} services, ${endpoints} endpoints`,
  );
  measure('  world: index pods, services, underlay from ClusterState', () => {
    const w = worldOf(twin);
    // Touch the ClusterState indexes (pods, services) so their one-off cost is counted here.
    w.pod('');
    w.service('');
    return w;
  });
  const spec = { services };
  const state = twin.state;
  // bench/generate.ts: svc-I lives in ns-(I mod namespaces), backed by Deployment svc-I's pods; every 20th is
  // a LoadBalancer, every other 8th a NodePort.
  const namespaces = Math.max(1, Math.floor(spec.services / 100));
  const svcNs = (i: number) => `ns-${i % namespaces}`;
  const podsOf = (i: number) =>
    state.pods.filter(
      (p) => p.metadata.namespace === svcNs(i) && p.metadata.labels?.app === `svc-${i}` && p.status?.podIP,
    );
  const name = (p: { metadata: { namespace?: string; name: string } }) =>
    `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
  const typeOf = (i: number) => (i % 20 === 0 ? 'LoadBalancer' : i % 8 === 0 ? 'NodePort' : 'ClusterIP');
  // Services from the middle of the list, so no rule is found early by luck.
  const pick = (pred: (i: number) => boolean) => {
    for (let i = Math.floor(spec.services / 2); i < spec.services; i++) if (pred(i)) return i;
    throw new Error('the generated cluster lacks a service the bench needs');
  };
  const clusterIP = pick((i) => typeOf(i) === 'ClusterIP');
  const client = podsOf(pick((i) => i > clusterIP && typeOf(i) === 'ClusterIP'))[0];
  const backend = podsOf(clusterIP).find((p) => p.spec.nodeName !== client?.spec.nodeName);
  const peer = podsOf(pick((i) => i > clusterIP + 1 && typeOf(i) === 'ClusterIP')).find(
    (p) => p.spec.nodeName !== client?.spec.nodeName,
  );
  // externalTrafficPolicy Cluster (generate.ts makes every third non-ClusterIP one Local).
  const nodePort = pick((i) => typeOf(i) === 'NodePort' && i % 3 !== 0);
  const npBackend = podsOf(nodePort)[0];
  if (!client || !backend || !peer || !npBackend)
    throw new Error('the generated cluster lacks the pods the bench needs');

  traceKind(
    '  pod → ClusterIP, there and back',
    twin,
    {
      protocol: 'tcp',
      seed: 1,
      from: name(client),
      to: `svc/${svcNs(clusterIP)}/svc-${clusterIP}`,
      endpoint: name(backend),
    },
    runs,
  );
  traceKind(
    '  pod → pod across nodes, there and back',
    twin,
    { protocol: 'tcp', seed: 1, from: name(client), to: name(peer) },
    runs,
  );
  traceKind(
    `  external → NodePort (${state.nodeInfo[0]?.name}) → pod, there and back`,
    twin,
    {
      protocol: 'tcp',
      seed: 1,
      from: 'external',
      to: `svc/${svcNs(nodePort)}/svc-${nodePort}`,
      endpoint: name(npBackend),
    },
    runs,
  );
  const used = process.memoryUsage();
  console.log(
    `  nodes programmed in all: ${worldOf(twin).programmed().length} of ${state.nodeInfo.length}; heap ${mib(used.heapUsed)} MiB, peak RSS ${mib(maxRss())} MiB`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const spec: ScaleSpec = {
    nodes: arg('nodes', 1000),
    services: arg('services', 10000),
    replicas: arg('replicas', 10),
  };
  const yaml = measure('generate manifests', () => generateClusterYaml(spec));
  const twin = measure('load + control plane (buildTwin; no node programmed)', () =>
    buildTwin([{ file: 'bench.yaml', text: yaml }]),
  );
  traceLargeBench(twin, arg('runs', 200));
}

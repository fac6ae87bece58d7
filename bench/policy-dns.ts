// Policy and DNS numbers for `npm run bench`: the NetworkPolicy matrix on 5,000 pods in 100 namespaces with
// 2,000 policies, one connection's verdict, and CoreDNS queries answered per second on a big cluster.
import { performance } from 'node:perf_hooks';
import { answerQuery, buildCoreDns } from '../src/dns/coredns.js';
import type { ClusterState } from '../src/model/cluster.js';
import { evaluateConnection } from '../src/policy/evaluate.js';
import { reachabilityMatrix } from '../src/policy/matrix.js';
import { buildPolicyIndex } from '../src/policy/policy-index.js';
import { buildTwin } from '../src/twin.js';
import { measure } from './measure.js';

/** 100 namespaces × 50 pods (10 apps of 5 replicas, on ports 80 and 8080), 20 policies per namespace. */
export function policyClusterYaml(): string {
  const out: string[] = [
    'apiVersion: kpath.dev/v1alpha1\nkind: Cluster\nmetadata: {name: policy-bench}\nspec:\n  podCIDR: 10.0.0.0/12\n  nodeCIDRMaskSize: 20\n  nodes:',
  ];
  for (let n = 0; n < 20; n++) out.push(`    - {name: node-${n}, ip: 192.168.0.${n + 10}}`);
  for (let ns = 0; ns < 100; ns++) {
    out.push(
      `---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns-${ns}, labels: {team: t${ns % 10}, env: ${ns % 2 ? 'prod' : 'dev'}}}`,
    );
    for (let app = 0; app < 10; app++) {
      out.push(`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-${app}, namespace: ns-${ns}}
spec:
  replicas: 5
  selector: {matchLabels: {app: app-${app}}}
  template:
    metadata: {labels: {app: app-${app}, tier: ${app < 5 ? 'web' : 'db'}}}
    spec: {containers: [{name: c, ports: [{name: http, containerPort: 80}, {name: alt, containerPort: 8080}]}]}`);
    }
    for (let p = 0; p < 20; p++) {
      const app = p % 10;
      out.push(`---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np-${p}, namespace: ns-${ns}}
spec:
  podSelector: {matchLabels: {app: app-${app}}}
  policyTypes: [Ingress${p % 4 === 0 ? ', Egress' : ''}]
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {team: t${(ns + p) % 10}}}
          podSelector: {matchExpressions: [{key: tier, operator: In, values: [web]}]}
        - podSelector: {matchLabels: {app: app-${(app + 1) % 10}}}
      ports: [{port: ${p % 3 === 0 ? "'http'" : 8080}}]${
        p % 4 === 0
          ? `
  egress:
    - to: [{namespaceSelector: {matchLabels: {env: prod}}}]
    - ports: [{port: 53, protocol: UDP}]`
          : ''
      }`);
    }
  }
  return out.join('\n');
}

export function policyBench(): void {
  console.log('\nNetworkPolicy: 5,000 pods in 100 namespaces, 2,000 policies');
  const twin = measure('  load + control plane', () =>
    buildTwin([{ file: 'policy-bench.yaml', text: policyClusterYaml() }]),
  );
  const index = measure('  policy index (equivalence classes)', () => buildPolicyIndex(twin.state));
  const m = measure("  full matrix on every pod's declared ports", () => reachabilityMatrix(index));
  console.log(`  ${m.froms.length} × ${m.tos.length} pods`);
  const from = 'ns-3/' + twin.state.pods.find((p) => p.metadata.namespace === 'ns-3')!.metadata.name;
  const to = 'ns-7/' + twin.state.pods.find((p) => p.metadata.namespace === 'ns-7')!.metadata.name;
  for (let i = 0; i < 50; i++) evaluateConnection(index, from, to, 80, 'TCP');
  const t0 = performance.now();
  const runs = 2000;
  for (let i = 0; i < runs; i++) evaluateConnection(index, from, to, 80, 'TCP');
  console.log(
    `  one connection's verdict (with its reason)${' '.repeat(15)} ${((performance.now() - t0) / runs).toFixed(3)} ms`,
  );
}

export function dnsBench(state: ClusterState): void {
  console.log(`\nDNS: CoreDNS model on ${state.services.length} services`);
  const model = measure('  build the CoreDNS model and its index', () => buildCoreDns(state));
  const names = state.services
    .slice(0, 2000)
    .map((s) => `${s.metadata.name}.${s.metadata.namespace}.svc.cluster.local.`);
  const misses = names.map((n) => `x${n}`);
  for (const n of names.slice(0, 200)) answerQuery(model, n, 'A');
  const t0 = performance.now();
  let q = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < names.length; i++) {
      answerQuery(model, names[i]!, 'A');
      answerQuery(model, misses[i]!, 'A');
      q += 2;
    }
  }
  const s = (performance.now() - t0) / 1000;
  console.log(
    `  queries answered (half hits, half NXDOMAIN)${' '.repeat(14)} ${Math.round(q / s)} per second`,
  );
}

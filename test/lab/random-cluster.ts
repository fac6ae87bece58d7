// Random clusters for the randomised lab differential test: 1–4 nodes, Flannel VXLAN or host-gw (with the
// bridge's hairpin mode mostly on, as Flannel's delegate sets it, sometimes off), up to 30 app pods placed
// on random nodes, TCP or UDP ports, behind ClusterIP, NodePort or LoadBalancer services with
// externalTrafficPolicy Cluster or Local, sessionAffinity None or ClientIP (default or explicit timeout),
// and services with no endpoint or a single one (a pod probing its own service is the hairpin case).
// Manifests as YAML text.
import fc from 'fast-check';

export interface RandomApp {
  /** The node index of each replica; empty = a service without endpoints. */
  replicas: number[];
  port: number;
  protocol: 'TCP' | 'UDP';
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  local: boolean;
  /** sessionAffinity ClientIP with this timeoutSeconds (0 = the API default, 10800); absent = None. */
  affinity?: number;
}

export interface RandomCluster {
  nodes: number;
  backend: 'vxlan' | 'host-gw';
  /** The CNI bridge's hairpinMode (kube-flannel's delegate config sets it true). */
  hairpinMode: boolean;
  apps: RandomApp[];
}

export interface ClusterSize {
  nodes: { min: number; max: number };
  pods: { min: number; max: number };
  apps: { min: number; max: number };
}

/** Small-to-medium clusters: what most CI runs build. */
export const SMALL: ClusterSize = {
  nodes: { min: 1, max: 3 },
  pods: { min: 0, max: 10 },
  apps: { min: 1, max: 4 },
};

/** The issue's upper bound: 4 nodes, 30 app pods. */
export const LARGE: ClusterSize = {
  nodes: { min: 4, max: 4 },
  pods: { min: 30, max: 30 },
  apps: { min: 4, max: 8 },
};

/**
 * Timeouts far longer than a verify run, so stickiness never expires mid-test (0 = the API default); the
 * hand-made case below uses 60 s on a cluster small enough to verify well within it.
 */
const AFFINITY_TIMEOUTS = [0, 300, 600, 10800];

const app = (): fc.Arbitrary<Omit<RandomApp, 'replicas'>> =>
  fc.record(
    {
      port: fc.oneof(fc.constantFrom(80, 8080), fc.integer({ min: 5000, max: 5999 })),
      protocol: fc.constantFrom<RandomApp['protocol']>('TCP', 'TCP', 'UDP'),
      type: fc.constantFrom<RandomApp['type']>('ClusterIP', 'NodePort', 'LoadBalancer'),
      local: fc.boolean(),
      affinity: fc.constantFrom(...AFFINITY_TIMEOUTS),
    },
    { requiredKeys: ['port', 'protocol', 'type', 'local'] },
  );

export function randomClusterOf(size: ClusterSize): fc.Arbitrary<RandomCluster> {
  return fc
    .record({
      nodes: fc.integer(size.nodes),
      apps: fc.integer(size.apps),
    })
    .chain(({ nodes, apps }) =>
      fc
        .record({
          backend: fc.constantFrom<RandomCluster['backend']>('vxlan', 'host-gw'),
          hairpinMode: fc.constantFrom(true, true, true, false),
          apps: fc.array(app(), { minLength: apps, maxLength: apps }),
          pods: fc.array(
            fc.record({
              app: fc.integer({ min: 0, max: apps - 1 }),
              node: fc.integer({ min: 0, max: nodes - 1 }),
            }),
            { minLength: size.pods.min, maxLength: size.pods.max },
          ),
        })
        .map(
          (r): RandomCluster => ({
            nodes,
            backend: r.backend,
            hairpinMode: r.hairpinMode,
            apps: r.apps.map((a, i) => ({
              ...a,
              replicas: r.pods.filter((p) => p.app === i).map((p) => p.node),
            })),
          }),
        ),
    );
}

export const randomCluster: fc.Arbitrary<RandomCluster> = randomClusterOf(SMALL);
export const largeCluster: fc.Arbitrary<RandomCluster> = randomClusterOf(LARGE);

/**
 * A hand-made case every CI run checks: single-endpoint services probed from their own endpoint (hairpin
 * through ClusterIP and NodePort), ClientIP affinity over three endpoints, a UDP service, no endpoints.
 */
export const HAIRPIN_AFFINITY: RandomCluster = {
  nodes: 2,
  backend: 'vxlan',
  hairpinMode: true,
  apps: [
    { replicas: [0], port: 80, protocol: 'TCP', type: 'NodePort', local: false },
    { replicas: [1], port: 5353, protocol: 'UDP', type: 'ClusterIP', local: false, affinity: 600 },
    { replicas: [0, 1, 1], port: 8080, protocol: 'TCP', type: 'LoadBalancer', local: false, affinity: 0 },
    { replicas: [0, 0, 1], port: 5000, protocol: 'TCP', type: 'NodePort', local: true, affinity: 60 },
    { replicas: [], port: 5001, protocol: 'TCP', type: 'ClusterIP', local: false },
  ],
};

/** The same with the bridge's hairpin mode off: a pod reaching itself through its service is dropped. */
export const HAIRPIN_OFF: RandomCluster = {
  nodes: 2,
  backend: 'host-gw',
  hairpinMode: false,
  apps: [
    { replicas: [0], port: 80, protocol: 'TCP', type: 'NodePort', local: false },
    { replicas: [1], port: 5353, protocol: 'UDP', type: 'ClusterIP', local: false, affinity: 600 },
  ],
};

export function podCount(c: RandomCluster): number {
  return c.apps.reduce((n, a) => n + a.replicas.length, 0);
}

export function manifests(c: RandomCluster): string {
  const docs: string[] = [];
  const nodes = Array.from(
    { length: c.nodes },
    (_, i) => `    - name: node-${i + 1}\n      ip: 192.168.1.${10 + i}\n      podCIDR: 10.244.${i}.0/24`,
  );
  docs.push(`apiVersion: kpath.dev/v1alpha1
kind: Cluster
metadata:
  name: rnd
spec:
  podCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  cni:
    plugin: flannel
    backend: ${c.backend}
    hairpinMode: ${c.hairpinMode}
  kubeProxy:
    mode: iptables
  loadBalancer:
    pool: [203.0.113.50/32, 203.0.113.51/32, 203.0.113.52/32, 203.0.113.53/32, 203.0.113.54/32, 203.0.113.55/32, 203.0.113.56/32, 203.0.113.57/32]
  underlay:
    - cidr: 192.168.1.0/24
      gateway: 192.168.1.1
  nodes:
${nodes.join('\n')}
  externalHosts:
    - name: client
      ip: 198.51.100.5`);
  c.apps.forEach((a, i) => {
    const name = `app${i}`;
    const external =
      a.type !== 'ClusterIP' ? `\n  externalTrafficPolicy: ${a.local ? 'Local' : 'Cluster'}` : '';
    const affinity =
      a.affinity === undefined
        ? ''
        : `\n  sessionAffinity: ClientIP${a.affinity ? `\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: ${a.affinity}}}` : ''}`;
    docs.push(`apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  type: ${a.type}${external}${affinity}
  selector: {app: ${name}}
  ports:
    - protocol: ${a.protocol}
      port: ${a.port}
      targetPort: ${a.port + 1}`);
    a.replicas.forEach((node, r) => {
      docs.push(`apiVersion: v1
kind: Pod
metadata:
  name: ${name}-${r}
  namespace: default
  labels: {app: ${name}}
spec:
  nodeName: node-${node + 1}
  containers:
    - name: c
      image: x
      ports: [{containerPort: ${a.port + 1}, protocol: ${a.protocol}}]`);
    });
  });
  return `${docs.join('\n---\n')}\n`;
}

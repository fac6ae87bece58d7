// Random small clusters for the randomised lab differential test: 2–3 nodes, Flannel VXLAN or host-gw,
// a few apps with pods pinned to random nodes, TCP or UDP ports, behind ClusterIP, NodePort or
// LoadBalancer services with externalTrafficPolicy Cluster or Local. Manifests as YAML text.
import fc from 'fast-check';

export interface RandomApp {
  replicas: number[];
  port: number;
  protocol: 'TCP' | 'UDP';
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  local: boolean;
}

export interface RandomCluster {
  nodes: number;
  backend: 'vxlan' | 'host-gw';
  apps: RandomApp[];
}

export const randomCluster: fc.Arbitrary<RandomCluster> = fc.integer({ min: 2, max: 3 }).chain((nodes) =>
  fc.record({
    nodes: fc.constant(nodes),
    backend: fc.constantFrom<RandomCluster['backend']>('vxlan', 'host-gw'),
    apps: fc.array(
      fc.record({
        // The node index of each replica (0 = none placed there is allowed: a service without endpoints).
        replicas: fc.array(fc.integer({ min: 0, max: nodes - 1 }), { minLength: 0, maxLength: 3 }),
        port: fc.oneof(fc.constantFrom(80, 8080), fc.integer({ min: 5000, max: 5999 })),
        protocol: fc.constantFrom<RandomApp['protocol']>('TCP', 'TCP', 'UDP'),
        type: fc.constantFrom<RandomApp['type']>('ClusterIP', 'NodePort', 'LoadBalancer'),
        local: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  }),
);

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
  kubeProxy:
    mode: iptables
  loadBalancer:
    pool: [203.0.113.50/32, 203.0.113.51/32, 203.0.113.52/32]
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
    docs.push(`apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  type: ${a.type}${external}
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

// Generated clusters for the benchmarks: YAML text as a user would feed it, so loading is measured too.
export interface ScaleSpec {
  nodes: number;
  services: number;
  /** Pods per service (each service is backed by a Deployment with this many replicas). */
  replicas: number;
  /** Per-node pod CIDR size (default /24, kube-controller-manager's). */
  nodeCIDRMaskSize?: number;
}

export function generateClusterYaml(spec: ScaleSpec): string {
  const out: string[] = [];
  out.push(
    'apiVersion: kpath.dev/v1alpha1',
    'kind: Cluster',
    'metadata: {name: bench}',
    'spec:',
    '  podCIDR: 10.0.0.0/8',
    `  nodeCIDRMaskSize: ${spec.nodeCIDRMaskSize ?? 24}`,
    '  serviceCIDR: 172.16.0.0/14',
    '  dnsServiceIP: 172.16.0.10',
    '  loadBalancer: {pool: [100.64.0.0/16]}',
    '  underlay: [{cidr: 192.168.0.0/16, gateway: 192.168.0.1}]',
    '  externalHosts: [{name: client, ip: 198.51.100.5}]',
    '  nodes:',
  );
  for (let i = 0; i < spec.nodes; i++) {
    out.push(`    - {name: node-${i}, ip: 192.168.${Math.floor(i / 250)}.${(i % 250) + 2}}`);
  }
  out.push('---');
  const namespaces = Math.max(1, Math.floor(spec.services / 100));
  for (let n = 0; n < namespaces; n++)
    out.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-${n}}\n---`);
  for (let s = 0; s < spec.services; s++) {
    const ns = `ns-${s % namespaces}`;
    const name = `svc-${s}`;
    // A realistic mix: mostly ClusterIP, some NodePort and LoadBalancer (bounded by the NodePort range).
    const type = s % 20 === 0 ? 'LoadBalancer' : s % 8 === 0 ? 'NodePort' : 'ClusterIP';
    const local = type !== 'ClusterIP' && s % 3 === 0 ? '\n  externalTrafficPolicy: Local' : '';
    out.push(
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}}
spec:
  replicas: ${spec.replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: app
          image: registry.example/app:1
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  type: ${type}${local}
  selector: {app: ${name}}
  ports:
    - {name: http, port: 80, targetPort: http}
---`,
    );
  }
  return out.join('\n');
}

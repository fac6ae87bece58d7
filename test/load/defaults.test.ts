// API defaulting as the API server applies it (pkg/apis/core/v1/defaults.go SetDefaults_Service,
// SetDefaults_PodSpec, SetDefaults_Pod, SetDefaults_ContainerPort; discovery/v1 SetDefaults_EndpointPort;
// apps/v1 replicas; networking/v1 SetDefaults_NetworkPolicy).
import { describe, expect, it } from 'vitest';
import { load } from './problems.js';

describe('Service defaults', () => {
  it('fills type, protocol, targetPort, affinity and internalTrafficPolicy, and allocates nothing', () => {
    const c = load(
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: s}\n  ports: [{port: 80}]\n',
    );
    const s = c.services[0]!;
    expect(s.metadata.namespace).toBe('default');
    expect(s.spec).toEqual({
      type: 'ClusterIP',
      selector: { app: 's' },
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ipFamilyPolicy: 'SingleStack',
    });
    expect(s.spec.clusterIP).toBeUndefined();
  });

  it('keeps a named targetPort and a stated protocol', () => {
    const c = load(
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 53, protocol: UDP, targetPort: dns}]\n',
    );
    expect(c.services[0]!.spec.ports).toEqual([{ port: 53, protocol: 'UDP', targetPort: 'dns' }]);
  });

  it('sets externalTrafficPolicy Cluster for NodePort, LoadBalancer and ClusterIP with externalIPs only', () => {
    const mk = (type: string, extra = '') =>
      load(
        `apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: ${type}\n  ports: [{port: 80}]\n${extra}`,
      ).services[0]!.spec;
    expect(mk('NodePort').externalTrafficPolicy).toBe('Cluster');
    expect(mk('LoadBalancer').externalTrafficPolicy).toBe('Cluster');
    expect(mk('LoadBalancer').allocateLoadBalancerNodePorts).toBe(true);
    expect(mk('ClusterIP').externalTrafficPolicy).toBeUndefined();
    expect(mk('ClusterIP', '  externalIPs: [192.0.2.7]\n').externalTrafficPolicy).toBe('Cluster');
    expect(mk('LoadBalancer', '  externalTrafficPolicy: Local\n').externalTrafficPolicy).toBe('Local');
    const en = mk('ExternalName', '  externalName: db.example.com\n');
    expect(en.internalTrafficPolicy).toBeUndefined();
    expect(en.ipFamilyPolicy).toBeUndefined();
  });

  it('defaults the ClientIP affinity timeout to 10800 seconds and drops the config for None', () => {
    const c = load(
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  sessionAffinity: ClientIP\n  ports: [{port: 80}]\n---\n' +
        'apiVersion: v1\nkind: Service\nmetadata: {name: t}\nspec:\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n  ports: [{port: 80}]\n',
    );
    expect(c.services[0]!.spec.sessionAffinityConfig).toEqual({ clientIP: { timeoutSeconds: 10800 } });
    expect(c.services[1]!.spec.sessionAffinityConfig).toBeUndefined();
  });

  it('derives clusterIPs and ipFamilies from a stated clusterIP', () => {
    const mk = (spec: string) =>
      load(
        `apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: ${spec.replace('{', '{ports: [{port: 80}], ')}\n`,
      ).services[0]!.spec;
    expect(mk('{clusterIP: 10.96.0.15}')).toMatchObject({
      clusterIP: '10.96.0.15',
      clusterIPs: ['10.96.0.15'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
    });
    expect(mk('{clusterIPs: [10.96.0.15, "fd00:10:96::f"]}')).toMatchObject({
      clusterIP: '10.96.0.15',
      ipFamilies: ['IPv4', 'IPv6'],
      ipFamilyPolicy: 'RequireDualStack',
    });
    expect(mk('{clusterIP: "fd00:10:96::f", ipFamilyPolicy: PreferDualStack}')).toMatchObject({
      ipFamilies: ['IPv6'],
      ipFamilyPolicy: 'PreferDualStack',
    });
    const headless = mk('{clusterIP: None, selector: {app: db}}');
    expect(headless.ipFamilies).toBeUndefined();
    expect(headless.ipFamilyPolicy).toBe('SingleStack');
  });

  it('defaults a load balancer ingress IP to ipMode VIP', () => {
    const c = load(
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\nstatus: {loadBalancer: {ingress: [{ip: 203.0.113.50}, {hostname: lb.example.com}]}}\n',
    );
    expect(c.services[0]!.status!.loadBalancer!.ingress).toEqual([
      { ip: '203.0.113.50', ipMode: 'VIP' },
      { hostname: 'lb.example.com' },
    ]);
  });
});

describe('Pod and workload defaults', () => {
  it('sets dnsPolicy ClusterFirst, restartPolicy Always and container port protocol TCP', () => {
    const c = load(
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, ports: [{containerPort: 80}]}]\n',
    );
    const p = c.pods[0]!;
    expect(p.spec.dnsPolicy).toBe('ClusterFirst');
    expect(p.spec.restartPolicy).toBe('Always');
    expect(p.spec.containers[0]!.ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
    expect(p.spec.nodeName).toBeUndefined();
    expect(p.status).toBeUndefined();
  });

  it('copies containerPort into hostPort for hostNetwork pods, not for templates', () => {
    const pod = load(
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, ports: [{containerPort: 9100}]}]\n',
    ).pods[0]!;
    expect(pod.spec.containers[0]!.ports![0]!.hostPort).toBe(9100);
    const ds = load(
      'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      hostNetwork: true\n      containers: [{name: c, ports: [{containerPort: 9100}]}]\n',
    ).workloads[0]!;
    expect(ds.spec.template.spec.containers[0]!.ports).toEqual([{ containerPort: 9100, protocol: 'TCP' }]);
    expect(ds.spec.replicas).toBeUndefined();
  });

  it('defaults replicas to 1 for Deployment, ReplicaSet and StatefulSet and defaults the template', () => {
    for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet']) {
      const w = load(
        `apiVersion: apps/v1\nkind: ${kind}\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers: [{name: c}]\n`,
      ).workloads[0]!;
      expect(w.spec.replicas).toBe(1);
      expect(w.spec.template.spec.dnsPolicy).toBe('ClusterFirst');
    }
  });
});

describe('EndpointSlice and NetworkPolicy defaults', () => {
  it('sets port protocol TCP and the unnamed port name ""', () => {
    const es = load(
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\naddressType: IPv4\nendpoints: [{addresses: [10.244.0.5]}]\nports: [{port: 8080}]\n',
    ).endpointSlices[0]!;
    expect(es.ports).toEqual([{ port: 8080, protocol: 'TCP', name: '' }]);
    expect(es.endpoints[0]!.conditions).toBeUndefined();
  });

  it('sets policyTypes from the rules given and port protocol TCP', () => {
    const np = (spec: string) =>
      load(`apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\nspec: ${spec}\n`)
        .policies[0]!.spec as Record<string, unknown>;
    expect(np('{podSelector: {}}').policyTypes).toEqual(['Ingress']);
    expect(np('{podSelector: {}, egress: [{ports: [{port: 53}]}]}')).toMatchObject({
      policyTypes: ['Ingress', 'Egress'],
      egress: [{ ports: [{ port: 53, protocol: 'TCP' }] }],
    });
    expect(np('{podSelector: {}, policyTypes: [Egress]}').policyTypes).toEqual(['Egress']);
  });
});

describe('Namespace and ConfigMap defaults', () => {
  it('labels a namespace with its own name (kubernetes.io/metadata.name) and keeps its labels', () => {
    const c = load('apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n');
    expect(c.namespaces[0]!.metadata.labels).toEqual({ team: 'a', 'kubernetes.io/metadata.name': 'shop' });
  });

  it('gives a ConfigMap empty data', () => {
    expect(load('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n').configMaps[0]!.data).toEqual({});
  });
});

describe('namespaces and buckets', () => {
  it('puts every modelled kind in its place and leaves cluster-scoped kinds without namespace', () => {
    const kinds: [string, string, string][] = [
      ['v1', 'Namespace', 'namespaces'],
      ['v1', 'Node', 'nodes'],
      ['v1', 'ConfigMap', 'configMaps'],
      ['networking.k8s.io/v1', 'Ingress', 'l7'],
      ['networking.k8s.io/v1', 'IngressClass', 'l7'],
      ['gateway.networking.k8s.io/v1', 'GatewayClass', 'l7'],
      ['gateway.networking.k8s.io/v1', 'HTTPRoute', 'l7'],
      ['gateway.networking.k8s.io/v1beta1', 'ReferenceGrant', 'l7'],
      ['networking.istio.io/v1beta1', 'VirtualService', 'l7'],
      ['security.istio.io/v1', 'PeerAuthentication', 'l7'],
      ['policy.networking.k8s.io/v1alpha1', 'AdminNetworkPolicy', 'policies'],
      ['policy.networking.k8s.io/v1alpha1', 'BaselineAdminNetworkPolicy', 'policies'],
      ['projectcalico.org/v3', 'NetworkPolicy', 'ignored'],
      ['v1', 'Secret', 'ignored'],
      ['discovery.k8s.io/v1beta1', 'EndpointSlice', 'ignored'],
    ];
    const text = kinds
      .map(([v, k], i) => `apiVersion: ${v}\nkind: ${k}\nmetadata: {name: o${i}}\n`)
      .join('---\n');
    const c = load(text) as unknown as Record<
      string,
      { kind: string; metadata?: { namespace?: string }; namespace?: string }[]
    >;
    for (const [, k, bucket] of kinds)
      expect(
        c[bucket]!.some((o) => o.kind === k),
        `${k} in ${bucket}`,
      ).toBe(true);
    expect(c.namespaces![0]!.metadata!.namespace).toBeUndefined();
    expect(c.nodes![0]!.metadata!.namespace).toBeUndefined();
    expect(c.l7!.find((o) => o.kind === 'IngressClass')!.metadata!.namespace).toBeUndefined();
    expect(c.l7!.find((o) => o.kind === 'HTTPRoute')!.metadata!.namespace).toBe('default');
    expect(c.configMaps![0]!.metadata!.namespace).toBe('default');
    expect(c.ignored!.find((o) => o.kind === 'Secret')!.namespace).toBeUndefined();
  });
});

// The lab cluster of the reach verify tests: upstream's e2e netpol model (x/y/z namespaces, a/b/c pods)
// as manifests, and the policy sets of the upstream scenarios that the tests run against the kernel.
import { run, tryRun } from '../../src/lab/kernel.js';
import { type LabStep, labPlan } from '../../src/lab/plan.js';
import { buildTwin, type Twin } from '../../src/twin.js';

/**
 * Upstream's e2e netpol model (kubernetes/kubernetes test/e2e/network/netpol/model.go) as a lab cluster:
 * namespaces x, y, z labelled `ns=<name>`, pods a, b, c labelled `pod=<name>`, each serving 80 and 81 on
 * TCP, UDP and SCTP (ports named `serve-<port>-<proto>`), on two Flannel VXLAN nodes with kube-router
 * enforcing policy. x is on node-1, y on node-2, z split (z/a on node-1), so same-node and cross-node
 * cells both occur. `policies` is extra YAML (NetworkPolicies) appended to the manifests.
 */
export const XYZ_POD_IPS: Record<string, string> = {
  'x/a': '10.244.0.10',
  'x/b': '10.244.0.11',
  'x/c': '10.244.0.12',
  'y/a': '10.244.1.10',
  'y/b': '10.244.1.11',
  'y/c': '10.244.1.12',
  'z/a': '10.244.0.20',
  'z/b': '10.244.1.21',
  'z/c': '10.244.1.22',
};

export function xyzLabManifests(policies = ''): string {
  const docs: string[] = [
    `apiVersion: kpath.dev/v1alpha1
kind: Cluster
metadata: {name: xyz}
spec:
  podCIDR: 10.244.0.0/16
  serviceCIDR: 10.96.0.0/12
  clusterDomain: cluster.local
  dnsServiceIP: 10.96.0.10
  cni: {plugin: flannel, backend: vxlan, policyAgent: kube-router}
  kubeProxy: {mode: iptables}
  underlay: [{cidr: 192.168.1.0/24, gateway: 192.168.1.1}]
  nodes:
    - {name: node-1, ip: 192.168.1.10, podCIDR: 10.244.0.0/24}
    - {name: node-2, ip: 192.168.1.11, podCIDR: 10.244.1.0/24}`,
  ];
  for (const ns of ['x', 'y', 'z'])
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: '${ns}', labels: {ns: '${ns}'}}`);
  const ports = [80, 81]
    .flatMap((port) =>
      ['TCP', 'UDP', 'SCTP'].map(
        (proto) => `{name: serve-${port}-${proto.toLowerCase()}, containerPort: ${port}, protocol: ${proto}}`,
      ),
    )
    .join(', ');
  for (const [key, ip] of Object.entries(XYZ_POD_IPS)) {
    const [ns, name] = key.split('/');
    const node = ip.startsWith('10.244.0.') ? 'node-1' : 'node-2';
    docs.push(`apiVersion: v1
kind: Pod
metadata: {name: '${name}', namespace: '${ns}', labels: {pod: '${name}'}}
spec:
  nodeName: ${node}
  containers: [{name: cont, image: agnhost, ports: [${ports}]}]
status: {podIP: ${ip}}`);
  }
  return `${docs.join('\n---\n')}\n${policies ? `---\n${policies}` : ''}`;
}

export function xyzLabTwin(policies = ''): Twin {
  return buildTwin([{ file: 'xyz.yaml', text: xyzLabManifests(policies) }]);
}

const np = (namespace: string, name: string, spec: string) =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: '${namespace}'}\nspec:\n${spec
    .trim()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;
const yaml = (...docs: string[]) => docs.join('---\n');

/**
 * Policy sets from upstream's e2e netpol suite (test/e2e/network/netpol/network_policy.go), each chosen
 * for a different feature, plus the classic "default deny egress, allow DNS" and its deny-all contrast.
 */
export const REACH_SCENARIOS: Record<string, string> = {
  // "should support a 'default-deny-ingress' policy"
  'default-deny-ingress': np('x', 'deny-ingress', 'podSelector: {}\npolicyTypes: [Ingress]'),
  // "should enforce policy based on PodSelector and NamespaceSelector" (one peer: both must match)
  'PodSelector and NamespaceSelector': np(
    'x',
    'allow-ns-y-podselector-and-nsselector',
    `podSelector: {matchLabels: {pod: a}}
ingress:
  - from:
      - namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: ['x']}]}
        podSelector: {matchLabels: {pod: b}}`,
  ),
  // "should enforce except clause while egress access to server in CIDR block": node-2's pod range
  // carved out of the pod CIDR, so x/a reaches node-1's pods only (CoreDNS included).
  'egress ipBlock with except': np(
    'x',
    'allow-client-a-via-cidr-egress-rule',
    `podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]
egress:
  - to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.0/24]}}]`,
  ),
  // "should allow egress access on one named port" and "should support … endPort field": x may egress
  // only to the named port serve-80-tcp and UDP 53; y/a accepts TCP 80-81 from z only.
  'egress named port, ingress endPort': yaml(
    np(
      'x',
      'allow-egress',
      `podSelector: {}
policyTypes: [Egress]
egress:
  - ports: [{port: serve-80-tcp}, {protocol: UDP, port: 53}]`,
    ),
    np(
      'y',
      'allow-z-80-81',
      `podSelector: {matchLabels: {pod: a}}
policyTypes: [Ingress]
ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: z}}}]
    ports: [{protocol: TCP, port: 80, endPort: 81}]`,
    ),
  ),
  // "should support allow-all policy … only UDP allowed": x/a accepts UDP 81 from anyone, nothing else.
  'only UDP allowed': np(
    'x',
    'allow-only-udp',
    `podSelector: {matchLabels: {pod: a}}
policyTypes: [Ingress]
ingress:
  - ports: [{protocol: UDP, port: 81}]`,
  ),
  // The classic pair: default deny egress in x, except DNS to the cluster's CoreDNS pods (UDP and TCP 53).
  'default deny egress, allow DNS': np(
    'x',
    'default-deny-egress-allow-dns',
    `podSelector: {}
policyTypes: [Egress]
egress:
  - to:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
        podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]`,
  ),
  'default deny egress': np('x', 'default-deny-egress', 'podSelector: {}\npolicyTypes: [Egress]'),
};

const isRules = (s: LabStep) =>
  s.kind === 'iptables-restore' || (s.kind === 'run' && s.argv[3] !== undefined && s.argv[4] === 'ipset');
const rulesNetns = (s: LabStep) =>
  s.kind === 'iptables-restore' ? s.netns : s.kind === 'run' ? s.argv[3] : undefined;

/**
 * Swaps the lab built from `from` to the state `lab up` would build from `to`, when the two differ only
 * in their rules (policies change ipsets and iptables, nothing else): every namespace with rules is
 * flushed to empty tables, no ipsets and no conntrack entries, then gets `to`'s ipsets and rules in
 * `lab up`'s order. Returns false (changing nothing) when anything else differs.
 */
export function reloadRules(from: Twin, to: Twin, lab: string): boolean {
  const a = labPlan(from, lab);
  const b = labPlan(to, lab);
  const rest = (p: typeof a) =>
    JSON.stringify([p.namespaces, p.servers, p.files, p.steps.filter((s) => !isRules(s))]);
  if (rest(a) !== rest(b)) return false;
  const namespaces = new Set([...a.steps, ...b.steps].filter(isRules).map((s) => rulesNetns(s) ?? ''));
  for (const ns of namespaces) {
    const exec = (...argv: string[]) => run(['ip', 'netns', 'exec', ns, ...argv]);
    for (const table of ['filter', 'nat', 'mangle', 'raw']) {
      exec('iptables', '-t', table, '-F');
      exec('iptables', '-t', table, '-X');
    }
    for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) exec('iptables', '-P', chain, 'ACCEPT');
    exec('ipset', 'destroy');
    tryRun(['ip', 'netns', 'exec', ns, 'conntrack', '-F']);
  }
  for (const s of b.steps.filter(isRules)) {
    if (s.kind === 'iptables-restore') run(['ip', 'netns', 'exec', s.netns, 'iptables-restore'], s.rules);
    else if (s.kind === 'run') run(s.argv, s.input);
  }
  return true;
}

/**
 * kube-router's known difference from the API (docs/reach-json.md): a policy with both policyTypes is
 * jumped to without -s/-d, so its egress allow (TCP 80) also opens ingress between the pods it selects,
 * whose ingress the API denies (test/agents/policy/kernel-enforce.test.ts reproduces it on one node).
 */
export const BOTH_TYPES_LEAK = np(
  'x',
  'deny-ingress-allow-egress-80',
  `podSelector: {}
policyTypes: [Ingress, Egress]
ingress: []
egress:
  - ports: [{port: 80}]`,
);

// Hand-built ClusterState fixtures for the policy engine (the control plane is written in parallel).
import type { ClusterConfig, ClusterState, NodeInfo } from '../../src/model/cluster.js';
import type { ContainerPort, KObject, Labels, Namespace, Pod } from '../../src/model/k8s.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import { clusterStateOf, kubeadmConfig } from '../fixtures/cluster-state.js';

export const CONFIG: ClusterConfig = (() => {
  const base = kubeadmConfig({ name: 'policy-test', underlay: [{ cidr: Prefix.parse('192.168.1.0/24') }] });
  return {
    ...base,
    cni: { ...base.cni, plugin: 'bridge' },
    kubeProxy: { ...base.kubeProxy, clusterCIDRs: [] },
  };
})();

export interface PodSpecLite {
  ns: string;
  name: string;
  labels?: Labels;
  ip: string;
  node?: string;
  hostNetwork?: boolean;
  ports?: ContainerPort[];
}

export function ns(name: string, labels: Labels = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function pod(p: PodSpecLite): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.ns, labels: p.labels ?? {} },
    spec: {
      nodeName: p.node ?? 'node-1',
      ...(p.hostNetwork ? { hostNetwork: true } : {}),
      containers: [{ name: 'c', ports: p.ports ?? [] }],
    },
    status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
  };
}

export function node(name: string, ip: string, labels: Labels = {}): NodeInfo {
  return {
    name,
    internalIP: IPAddr.parse(ip),
    podCIDR: Prefix.parse('10.244.0.0/24'),
    labels: { 'kubernetes.io/hostname': name, ...labels },
    ready: true,
    underlay: { cidr: Prefix.parse('192.168.1.0/24') },
  };
}

export function state(parts: {
  namespaces: Namespace[];
  pods: Pod[];
  policies?: KObject[];
  nodes?: NodeInfo[];
}): ClusterState {
  return clusterStateOf(CONFIG, {
    namespaces: parts.namespaces,
    nodeInfo: parts.nodes ?? [node('node-1', '192.168.1.11'), node('node-2', '192.168.1.12')],
    pods: parts.pods,
    policies: parts.policies ?? [],
  });
}

export function netpol(namespace: string, name: string, spec: Record<string, unknown>): KObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

export function anp(name: string, spec: Record<string, unknown>): KObject {
  return {
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'AdminNetworkPolicy',
    metadata: { name },
    spec,
  };
}

export function banp(spec: Record<string, unknown>, name = 'default'): KObject {
  return {
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'BaselineAdminNetworkPolicy',
    metadata: { name },
    spec,
  };
}

/**
 * The upstream e2e model (test/e2e/network/netpol/model.go): namespaces x, y, z labelled `ns=<name>`,
 * pods a, b, c labelled `pod=<name>`, one container per (port, protocol) named `serve-<port>-<proto>`.
 * Pods of x are on node-1, y on node-2, z split, so node locality shows up.
 */
export const XYZ_PODS = ['x/a', 'x/b', 'x/c', 'y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c'];

export function xyzState(policies: KObject[] = [], opts: { hostNetworkPod?: boolean } = {}): ClusterState {
  const namespaces = ['x', 'y', 'z'].map((n) => ns(n, { ns: n }));
  const ports: ContainerPort[] = [];
  for (const port of [80, 81]) {
    for (const proto of ['TCP', 'UDP', 'SCTP'] as const) {
      ports.push({ name: `serve-${port}-${proto.toLowerCase()}`, containerPort: port, protocol: proto });
    }
  }
  const pods: Pod[] = [];
  ['x', 'y', 'z'].forEach((n, i) => {
    ['a', 'b', 'c'].forEach((p, j) => {
      pods.push(
        pod({
          ns: n,
          name: p,
          labels: { pod: p },
          ip: `10.244.${i}.${10 + j}`,
          node: i === 0 ? 'node-1' : i === 1 ? 'node-2' : j === 0 ? 'node-1' : 'node-2',
          ports,
        }),
      );
    });
  });
  if (opts.hostNetworkPod) {
    pods.push(
      pod({
        ns: 'x',
        name: 'h',
        labels: { pod: 'h' },
        ip: '192.168.1.11',
        node: 'node-1',
        hostNetwork: true,
        ports,
      }),
    );
  }
  return state({ namespaces, pods, policies });
}

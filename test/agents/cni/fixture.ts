// A hand-built ClusterState shaped like examples/demo (three nodes on 192.168.1.0/24, Flannel VXLAN,
// my-app pods one per node), so the CNI tests do not depend on the loader or the control plane.
import type { ClusterConfig, ClusterState, NodeInfo, UnderlaySubnet } from '../../../src/model/cluster.js';
import type { Pod } from '../../../src/model/k8s.js';
import { IPAddr, Prefix } from '../../../src/net/ip.js';
import { clusterStateOf, kubeadmConfig } from '../../fixtures/cluster-state.js';

export const UNDERLAY: UnderlaySubnet = {
  cidr: Prefix.parse('192.168.1.0/24'),
  gateway: IPAddr.parse('192.168.1.1'),
};

export function demoConfig(cni: Partial<ClusterConfig['cni']> = {}): ClusterConfig {
  const base = kubeadmConfig({ name: 'demo', underlay: [UNDERLAY] });
  return { ...base, cni: { ...base.cni, ...cni }, kubeProxy: { ...base.kubeProxy, clusterCIDRs: [] } };
}

export function nodeInfo(
  name: string,
  ip: string,
  podCIDR: string,
  underlay: UnderlaySubnet = UNDERLAY,
): NodeInfo {
  return {
    name,
    internalIP: IPAddr.parse(ip),
    podCIDR: Prefix.parse(podCIDR),
    labels: {},
    ready: true,
    underlay,
  };
}

export function pod(
  namespace: string,
  name: string,
  nodeName: string,
  podIP: string,
  hostNetwork = false,
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { nodeName, containers: [{ name: 'app' }], ...(hostNetwork ? { hostNetwork: true } : {}) },
    status: { podIP, podIPs: [{ ip: podIP }] },
  };
}

export const DEMO_NODES: NodeInfo[] = [
  nodeInfo('node-1', '192.168.1.10', '10.244.0.0/24'),
  nodeInfo('node-2', '192.168.1.11', '10.244.1.0/24'),
  nodeInfo('node-3', '192.168.1.12', '10.244.2.0/24'),
];

export const DEMO_PODS: Pod[] = [
  pod('default', 'my-app-6d8f7b9c5d-x7k2p', 'node-1', '10.244.0.5'),
  pod('default', 'my-app-6d8f7b9c5d-m4q9z', 'node-2', '10.244.1.3'),
  pod('default', 'my-app-6d8f7b9c5d-p2w8h', 'node-3', '10.244.2.2'),
];

export function clusterState(
  config: ClusterConfig = demoConfig(),
  nodes: NodeInfo[] = DEMO_NODES,
  pods: Pod[] = DEMO_PODS,
): ClusterState {
  return clusterStateOf(config, { nodeInfo: nodes, pods });
}

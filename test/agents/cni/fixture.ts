// A hand-built ClusterState shaped like examples/demo (three nodes on 192.168.1.0/24, Flannel VXLAN,
// my-app pods one per node), so the CNI tests do not depend on the loader or the control plane.
import type { ClusterConfig, ClusterState, NodeInfo, UnderlaySubnet } from '../../../src/model/cluster.js';
import type { Pod } from '../../../src/model/k8s.js';
import { IPAddr, Prefix } from '../../../src/net/ip.js';

export const UNDERLAY: UnderlaySubnet = {
  cidr: Prefix.parse('192.168.1.0/24'),
  gateway: IPAddr.parse('192.168.1.1'),
};

export function demoConfig(cni: Partial<ClusterConfig['cni']> = {}): ClusterConfig {
  return {
    name: 'demo',
    podCIDR: Prefix.parse('10.244.0.0/16'),
    serviceCIDR: Prefix.parse('10.96.0.0/12'),
    nodeCIDRMaskSize: 24,
    clusterDomain: 'cluster.local',
    dnsServiceIP: IPAddr.parse('10.96.0.10'),
    nodePortRange: { from: 30000, to: 32767 },
    cni: {
      plugin: 'flannel',
      backend: 'vxlan',
      mtu: 1500,
      vxlanVNI: 1,
      vxlanPort: 8472,
      bridgeName: 'cni0',
      hairpinMode: true,
      ...cni,
    },
    kubeProxy: {
      mode: 'iptables',
      clusterCIDRs: [],
      masqueradeAll: false,
      masqueradeBit: 14,
      detectLocalMode: 'ClusterCIDR',
      nodePortAddresses: [],
      localhostNodePorts: true,
      masqueradeRandomFully: true,
      conntrackTCPBeLiberal: false,
    },
    loadBalancer: { pool: [], sourceMode: 'preserve' },
    underlay: [UNDERLAY],
    nodes: [],
    externalHosts: [],
  };
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
  return {
    config,
    namespaces: [],
    nodes: [],
    nodeInfo: nodes,
    pods,
    services: [],
    endpointSlices: [],
    policies: [],
    l7: [],
    configMaps: [],
    ignored: [],
    sources: new Map(),
    warnings: [],
  };
}

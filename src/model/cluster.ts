// The cluster as kpath sees it: the desired state from the input (Cluster), and what the API server
// would hold once the controllers have run (ClusterState).
import type { UpstreamDnsServer } from '../dns/upstream.js';
import type { IPAddr, Prefix } from '../net/ip.js';
import type { EndpointSlice, KObject, Namespace, Node, Pod, Service, SourceRef, Workload } from './k8s.js';

export type CniPlugin = 'bridge' | 'flannel' | 'calico' | 'cilium';
export type FlannelBackend = 'vxlan' | 'host-gw';
export type ProxyMode = 'iptables' | 'ipvs' | 'nftables';
export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';

/** The parts of KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) kpath honours. */
export interface KubeProxyConfig {
  mode: ProxyMode;
  /** `clusterCIDR`; empty means no local-traffic detector (ClusterCIDR mode). */
  clusterCIDRs: Prefix[];
  masqueradeAll: boolean;
  masqueradeBit: number;
  detectLocalMode: DetectLocalMode;
  bridgeInterface?: string;
  interfaceNamePrefix?: string;
  /** CIDRs or the word `primary`; empty = all addresses. */
  nodePortAddresses: string[];
  localhostNodePorts: boolean;
  /** iptables ≥ 1.6.2 supports `--random-fully`; real kube-proxy appends it then. */
  masqueradeRandomFully: boolean;
  /** `net.netfilter.nf_conntrack_tcp_be_liberal` != 0 drops the KUBE-FORWARD INVALID rule. */
  conntrackTCPBeLiberal: boolean;
}

export interface CniConfig {
  plugin: CniPlugin;
  /** Flannel backend; ignored for other plugins. */
  backend: FlannelBackend;
  /** The underlay (uplink) MTU; overlay devices derive theirs from it. */
  mtu: number;
  vxlanVNI: number;
  vxlanPort: number;
  bridgeName: string;
  /** The bridge plugin's hairpinMode (Flannel's delegate sets it true). */
  hairpinMode: boolean;
  /**
   * The NetworkPolicy agent running beside the CNI (k3s runs kube-router's controller beside Flannel);
   * `none` (the default) enforces nothing.
   */
  policyAgent?: 'none' | 'kube-router';
}

export interface DeclaredNode {
  name: string;
  ip: IPAddr;
  podCIDR?: Prefix;
  labels: Record<string, string>;
  ready: boolean;
  source?: SourceRef;
}

export interface ExternalHost {
  name: string;
  ip: IPAddr;
  source?: SourceRef;
}

export interface UnderlaySubnet {
  cidr: Prefix;
  gateway?: IPAddr;
}

export interface LoadBalancerConfig {
  /** Addresses handed to LoadBalancer services in order. */
  pool: Prefix[];
  /** Whether the cloud LB keeps the client address (`preserve`) or SNATs to its own (`snat`). */
  sourceMode: 'preserve' | 'snat';
}

export interface ClusterConfig {
  name: string;
  podCIDR: Prefix;
  serviceCIDR: Prefix;
  nodeCIDRMaskSize: number;
  clusterDomain: string;
  dnsServiceIP: IPAddr;
  nodePortRange: { from: number; to: number };
  cni: CniConfig;
  kubeProxy: KubeProxyConfig;
  loadBalancer: LoadBalancerConfig;
  /** Underlay L2 segments the nodes' eth0 join; one segment holding every node by default. */
  underlay: UnderlaySubnet[];
  /** Nodes declared in the Cluster document (used when there are no Node objects). */
  nodes: DeclaredNode[];
  externalHosts: ExternalHost[];
  /** DNS outside the cluster: the servers the nodes' resolv.conf points to, and that file itself. */
  dns?: { upstreams: UpstreamDnsServer[]; nodeResolvConf?: string };
  source?: SourceRef;
}

/** An object the loader saw but does not model. */
export interface IgnoredObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  source?: SourceRef;
}

/** Desired state from the input, before any controller ran. */
export interface Cluster {
  config: ClusterConfig;
  namespaces: Namespace[];
  nodes: Node[];
  pods: Pod[];
  workloads: Workload[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  /** NetworkPolicy, AdminNetworkPolicy, Ingress, Gateway API, mesh objects, ConfigMaps: kept for later layers. */
  policies: KObject[];
  l7: KObject[];
  configMaps: KObject[];
  ignored: IgnoredObject[];
  /** Source positions of every object, keyed by objectKey(). */
  sources: ReadonlyMap<string, SourceRef>;
}

/** A node as the control plane sees it, resolved to typed values. */
export interface NodeInfo {
  name: string;
  internalIP: IPAddr;
  podCIDR: Prefix;
  labels: Record<string, string>;
  ready: boolean;
  /** The underlay segment of the node's eth0. */
  underlay: UnderlaySubnet;
}

/** What the API server would hold after the scheduler, IPAM and the controllers ran. */
export interface ClusterState {
  config: ClusterConfig;
  namespaces: Namespace[];
  nodes: Node[];
  nodeInfo: NodeInfo[];
  /** Every pod, scheduled (spec.nodeName) and addressed (status.podIP/podIPs, hostIP). */
  pods: Pod[];
  /** Every service, with spec.clusterIP(s), nodePorts, healthCheckNodePort and LB ingress filled. */
  services: Service[];
  endpointSlices: EndpointSlice[];
  policies: KObject[];
  l7: KObject[];
  configMaps: KObject[];
  ignored: IgnoredObject[];
  sources: ReadonlyMap<string, SourceRef>;
  /** Things a user should know (e.g. a pod that could not be scheduled). */
  warnings: string[];
}

// The proxy-mode-independent front half of kube-proxy: the input every mode takes, and the
// ServicePort/endpoint view built from it (what servicechangetracker + endpointschangetracker hold).

import type { KubeProxyConfig } from '../../model/cluster.js';
import type { EndpointSlice, Service } from '../../model/k8s.js';
import type { Family, IPAddr, Prefix } from '../../net/ip.js';
import { buildEndpointsMap, type EndpointInfo } from './endpoints.js';
import { buildServicePorts, type ServicePortInfo, servicePortKeyOf } from './service-port.js';
import type { NodeTopology } from './topology.js';

export interface KubeProxyInput {
  nodeName: string;
  nodeIPs: IPAddr[];
  nodePodCIDRs: Prefix[];
  family: Family;
  config: KubeProxyConfig;
  services: Service[];
  endpointSlices: EndpointSlice[];
  /** Interface addresses of the node, for nodePortAddresses (interface order is kept). */
  localInterfaceAddresses?: { ifname: string; ip: IPAddr }[];
  /** `upstream-test` writes the mark as `0x4000` like the upstream unit tests; `production` as `0x00004000`. */
  markFormat?: 'upstream-test' | 'production';
  /** Emit nfacct matches (upstream tests expect them; a bare network namespace cannot load them). */
  nfacct?: boolean;
  /** Topology hints (optional): this node's zone, PreferSameNode. */
  topology?: NodeTopology;
}

/** One mode of kube-proxy: the same input, a mode-specific programme for the node. */
export type Proxier<Output> = (input: KubeProxyInput) => Output;

export interface ServicePortWithEndpoints {
  readonly servicePort: ServicePortInfo;
  /** All endpoints of the port (any condition), sorted by "ip:port". */
  readonly endpoints: readonly EndpointInfo[];
}

export interface ProxyView {
  readonly family: Family;
  /** Sorted by ServicePortName string. */
  readonly servicePorts: readonly ServicePortWithEndpoints[];
  /** Sum of endpoints over all service ports (drives iptables large-cluster mode). */
  readonly totalEndpoints: number;
  /** The node's primary IP of this family, if known. */
  readonly nodeIP?: IPAddr;
}

export function buildProxyView(input: KubeProxyInput): ProxyView {
  const ports = buildServicePorts(input.services, input.family);
  const eps = buildEndpointsMap(input.endpointSlices, input.family, input.nodeName);
  let total = 0;
  const servicePorts = ports.map((sp) => {
    const endpoints = eps.get(servicePortKeyOf(sp)) ?? [];
    total += endpoints.length;
    return { servicePort: sp, endpoints };
  });
  const nodeIP = input.nodeIPs.find((ip) => ip.family === input.family);
  return { family: input.family, servicePorts, totalEndpoints: total, ...(nodeIP ? { nodeIP } : {}) };
}

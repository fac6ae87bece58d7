// The cluster's shape for the web page's topology view: nodes holding their pods, bridge, veth pairs and
// tunnel devices; the underlay; external hosts and load balancers; services over their endpoints.
// Plain JSON (addresses as strings), derived only from ClusterState and the programmed NodeStates.
import type { Pod, Service } from '../model/k8s.js';
import type { Link, NetnsState, NodeState } from '../node/state.js';
import type { Twin } from '../twin.js';

export interface TopologyDevice {
  name: string;
  kind: Link['kind'];
  mtu: number;
  mac: string;
  /** `10.244.1.0/32`, as `ip addr` would show them (CIDR form). */
  addresses: string[];
  master: string | null;
  /** VXLAN devices: VNI, local VTEP address, UDP port, underlay device. */
  vxlan: { vni: number; local: string; dstport: number; dev: string } | null;
}

export interface TopologyPod {
  namespace: string;
  name: string;
  ip: string | null;
  node: string;
  hostNetwork: boolean;
  /** The pod sandbox's network namespace (`cni-…`), null for host-network pods. */
  netns: string | null;
  /** The host end of the pod's veth pair (in the node's root namespace) and the pod end (`eth0`). */
  hostVeth: string | null;
  podIface: string | null;
  /** The controller that owns it, as `Kind/name` (`ReplicaSet/my-app-6d8f7b9c5d`), or null. */
  workload: string | null;
  labels: Record<string, string>;
}

export interface TopologyNode {
  name: string;
  ip: string;
  podCIDR: string;
  ready: boolean;
  underlay: string;
  /** The root namespace's devices other than lo and the pods' host-side veths. */
  devices: TopologyDevice[];
  pods: TopologyPod[];
}

export interface TopologyServicePort {
  name: string | null;
  protocol: string;
  port: number;
  targetPort: string | null;
  nodePort: number | null;
}

export interface TopologyService {
  namespace: string;
  name: string;
  type: string;
  clusterIP: string | null;
  ports: TopologyServicePort[];
  loadBalancerIPs: string[];
  /** The pods (`ns/name`) its EndpointSlices list. */
  endpoints: string[];
}

export interface Topology {
  cluster: { name: string; podCIDR: string; serviceCIDR: string; cni: string; proxyMode: string };
  underlay: { cidr: string; gateway: string | null }[];
  nodes: TopologyNode[];
  externals: { name: string; ip: string }[];
  loadBalancers: { ip: string; service: string }[];
  services: TopologyService[];
  warnings: string[];
}

function deviceOf(ns: NetnsState, link: Link): TopologyDevice {
  return {
    name: link.name,
    kind: link.kind,
    mtu: link.mtu,
    mac: link.mac,
    addresses: ns.addresses.filter((a) => a.ifname === link.name).map((a) => `${a.ip}/${a.len}`),
    master: link.master ?? null,
    vxlan: link.vxlan
      ? {
          vni: link.vxlan.vni,
          local: link.vxlan.local.toString(),
          dstport: link.vxlan.dstport,
          dev: link.vxlan.dev,
        }
      : null,
  };
}

function workloadOf(pod: Pod): string | null {
  const ref = pod.metadata.ownerReferences?.find((r) => r.controller) ?? pod.metadata.ownerReferences?.[0];
  return ref ? `${ref.kind}/${ref.name}` : null;
}

function podOf(node: NodeState, pod: Pod): TopologyPod {
  const namespace = pod.metadata.namespace ?? 'default';
  const name = pod.metadata.name;
  const sandbox = node.pods.find(
    (p) => p.owner.kind === 'pod' && p.owner.namespace === namespace && p.owner.name === name,
  );
  // The pod's eth0 is one end of a veth pair; its peer (the host side) lives in the root namespace.
  const podEnd = sandbox?.links.find((l) => l.kind === 'veth');
  return {
    namespace,
    name,
    ip: pod.status?.podIP ?? null,
    node: node.node,
    hostNetwork: pod.spec.hostNetwork === true,
    netns: sandbox?.name ?? null,
    hostVeth: podEnd?.peer?.ifname ?? null,
    podIface: podEnd?.name ?? null,
    workload: workloadOf(pod),
    labels: { ...(pod.metadata.labels ?? {}) },
  };
}

function serviceOf(twin: Twin, svc: Service): TopologyService {
  const namespace = svc.metadata.namespace ?? 'default';
  const endpoints = new Set<string>();
  for (const slice of twin.state.endpointSlices) {
    if (slice.metadata.namespace !== namespace) continue;
    if (slice.metadata.labels?.['kubernetes.io/service-name'] !== svc.metadata.name) continue;
    for (const e of slice.endpoints) {
      if (e.targetRef?.kind === 'Pod')
        endpoints.add(`${e.targetRef.namespace ?? namespace}/${e.targetRef.name}`);
    }
  }
  const clusterIP = svc.spec.clusterIP && svc.spec.clusterIP !== 'None' ? svc.spec.clusterIP : null;
  return {
    namespace,
    name: svc.metadata.name,
    type: svc.spec.type ?? 'ClusterIP',
    clusterIP,
    ports: (svc.spec.ports ?? []).map((p) => ({
      name: p.name ?? null,
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      targetPort: p.targetPort === undefined ? null : String(p.targetPort),
      nodePort: p.nodePort ?? null,
    })),
    loadBalancerIPs: (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
    endpoints: [...endpoints].sort(),
  };
}

export function topologyOf(twin: Twin): Topology {
  const { state } = twin;
  const c = state.config;
  const nodes = state.nodeInfo.map((info): TopologyNode => {
    const ns = twin.node(info.name);
    const podVeths = new Set(ns.pods.flatMap((p) => p.links.flatMap((l) => (l.peer ? [l.peer.ifname] : []))));
    return {
      name: info.name,
      ip: info.internalIP.toString(),
      podCIDR: info.podCIDR.toString(),
      ready: info.ready,
      underlay: info.underlay.cidr.toString(),
      devices: ns.host.links
        .filter((l) => l.kind !== 'loopback' && !podVeths.has(l.name))
        .map((l) => deviceOf(ns.host, l)),
      pods: state.pods.filter((p) => p.spec.nodeName === info.name).map((p) => podOf(ns, p)),
    };
  });
  const services = state.services.map((s) => serviceOf(twin, s));
  return {
    cluster: {
      name: c.name,
      podCIDR: c.podCIDR.toString(),
      serviceCIDR: c.serviceCIDR.toString(),
      cni: c.cni.plugin === 'flannel' ? `flannel (${c.cni.backend})` : c.cni.plugin,
      proxyMode: c.kubeProxy.mode,
    },
    underlay: c.underlay.map((u) => ({ cidr: u.cidr.toString(), gateway: u.gateway?.toString() ?? null })),
    nodes,
    externals: c.externalHosts.map((h) => ({ name: h.name, ip: h.ip.toString() })),
    loadBalancers: services.flatMap((s) =>
      s.loadBalancerIPs.map((ip) => ({ ip, service: `${s.namespace}/${s.name}` })),
    ),
    services,
    warnings: [...state.warnings],
  };
}

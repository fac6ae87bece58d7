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
  /**
   * The workload the pod belongs to: a ReplicaSet traced to its Deployment, a StatefulSet, DaemonSet, Job…;
   * from ownerReferences, or (a snapshot without them) from the labels its controller puts on pods. Null
   * for a bare pod.
   */
  controller: TopologyController | null;
  labels: Record<string, string>;
}

export interface TopologyController {
  kind: string;
  name: string;
  /** Where it was read: the pod's ownerReferences, or only its controller's labels and its name. */
  from: 'ownerReferences' | 'labels';
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

/**
 * The workload behind a pod, as `kubectl get pods` users name it: the Deployment controller puts the
 * `pod-template-hash` label on the ReplicaSet `<deployment>-<hash>` and its pods; the StatefulSet controller
 * names pods `<sts>-<ordinal>` and labels them `statefulset.kubernetes.io/pod-name`; the DaemonSet controller
 * labels its pods `pod-template-generation`; the Job controller, `batch.kubernetes.io/job-name`.
 */
export function controllerOf(pod: Pod): TopologyController | null {
  const labels = pod.metadata.labels ?? {};
  const hash = labels['pod-template-hash'];
  const name = pod.metadata.name;
  const ref = pod.metadata.ownerReferences?.find((r) => r.controller) ?? pod.metadata.ownerReferences?.[0];
  if (ref) {
    if (ref.kind === 'ReplicaSet' && hash && ref.name.endsWith(`-${hash}`)) {
      return { kind: 'Deployment', name: ref.name.slice(0, -hash.length - 1), from: 'ownerReferences' };
    }
    return { kind: ref.kind, name: ref.name, from: 'ownerReferences' };
  }
  const m = hash ? new RegExp(`^(.+)-${hash.replace(/[^a-z0-9]/g, '')}-[a-z0-9]+$`).exec(name) : null;
  if (m?.[1]) return { kind: 'Deployment', name: m[1], from: 'labels' };
  const sts = /^(.+)-\d+$/.exec(name);
  if (sts?.[1] && labels['statefulset.kubernetes.io/pod-name'] === name) {
    return { kind: 'StatefulSet', name: sts[1], from: 'labels' };
  }
  // The Job controller labels its pods with the Job's name (`batch.kubernetes.io/job-name` since 1.27).
  const job = labels['batch.kubernetes.io/job-name'] ?? labels['job-name'];
  if (job && name.startsWith(`${job}-`)) return { kind: 'Job', name: job, from: 'labels' };
  const ds = /^(.+)-[a-z0-9]{5}$/.exec(name);
  if (ds?.[1] && labels['pod-template-generation'] !== undefined) {
    return { kind: 'DaemonSet', name: ds[1], from: 'labels' };
  }
  return null;
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
    controller: controllerOf(pod),
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

// The CNI layer of one node: what flanneld (vxlan | host-gw) and the bridge + host-local plugins leave
// in the node's root namespace and in each pod sandbox. Netfilter is left empty here: the lead composes
// it from `iptables` (flanneld's commands) and the other agents'.
import { podsOnNode } from '../../control/pods-by-node.js';
import type { ClusterConfig, ClusterState, NodeInfo } from '../../model/cluster.js';
import type { Pod } from '../../model/k8s.js';
import { IPAddr, Prefix } from '../../net/ip.js';
import type { IptablesCommand } from '../../node/iptables/types.js';
import type { NetnsState, NodeState } from '../../node/state.js';
import { type BridgeNetConf, bridgeAdd } from './bridge-plugin.js';
import { flannelBridgeConf, flannelIptables, programFlannel } from './flannel.js';
import { derivedMac } from './mac.js';
import { NetnsDraft, UP_FLAGS } from './netns-draft.js';

export { type BridgeNetConf, bridgeAdd } from './bridge-plugin.js';
export {
  flannelBridgeConf,
  flannelIptables,
  flannelMtu,
  subnetEnv,
  vtepMac,
  vxlanDeviceName,
} from './flannel.js';
export { type IpCommandOptions, ipCommands, ipRouteAddArgs } from './ip-commands.js';

const DEFAULT_V4 = Prefix.parse('0.0.0.0/0');

export interface CniNodeResult {
  /** Host netns + one netns per non-hostNetwork pod on this node; iptables empty. */
  node: NodeState;
  /** What flanneld runs, in order (nothing for the plain bridge plugin: ipMasq is off). */
  iptables: IptablesCommand[];
  /** What a user should know (e.g. a host-gw route the kernel refused). */
  warnings: string[];
}

/**
 * The plain `bridge` plugin as kpath configures it: isGateway + isDefaultGateway on the node's podCIDR,
 * hairpin and MTU from the cluster config, no extra routes and no ipMasq. It provides no cross-node
 * routes: other nodes' pod subnets are reachable only if something else routes them.
 */
export function plainBridgeConf(config: ClusterConfig, node: NodeInfo): BridgeNetConf {
  return {
    name: 'kpath',
    bridge: config.cni.bridgeName,
    isGateway: true,
    isDefaultGateway: true,
    ipMasq: false,
    mtu: config.cni.mtu,
    hairpinMode: config.cni.hairpinMode,
    subnet: node.podCIDR,
    gateway: node.podCIDR.addr.add(1),
    routes: [],
  };
}

/** Pods that get a sandbox netns on this node, in the order host-local hands out their addresses. */
function sandboxPods(state: ClusterState, node: NodeInfo, warnings: string[]): { pod: Pod; ip: IPAddr }[] {
  const out: { pod: Pod; ip: IPAddr }[] = [];
  for (const pod of podsOnNode(state.pods, node.name)) {
    if (pod.spec.hostNetwork) continue;
    // kubelet tears a finished pod's sandbox down (CNI DEL), releasing its address.
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const text = pod.status?.podIPs?.[0]?.ip ?? pod.status?.podIP;
    const ip = text ? IPAddr.tryParse(text) : undefined;
    const id = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    if (!ip) {
      warnings.push(`pod ${id} on ${node.name} has no pod IP: no sandbox network was set up`);
      continue;
    }
    if (!node.podCIDR.contains(ip)) {
      warnings.push(
        `pod ${id} has IP ${ip} outside ${node.name}'s podCIDR ${node.podCIDR}: host-local cannot hand it out`,
      );
      continue;
    }
    out.push({ pod, ip });
  }
  // host-local allocates sequentially from the range start, so address order is creation order.
  return out.sort((a, b) => a.ip.compare(b.ip));
}

export function programCni(state: ClusterState, node: NodeInfo): CniNodeResult {
  const config = state.config;
  const warnings: string[] = [];
  const host = new NetnsDraft('root', { kind: 'node', node: node.name });

  // The node's uplink as the OS configured it before any Kubernetes agent ran.
  host.addLink({
    name: 'eth0',
    kind: 'ether',
    mtu: config.cni.mtu,
    mac: derivedMac(`eth0/${node.name}`),
    flags: [...UP_FLAGS],
    operState: 'UP',
    // systemd sets net.core.default_qdisc=fq_codel; a single-queue NIC shows it directly.
    qdisc: 'fq_codel',
  });
  host.addAddress('eth0', node.internalIP, node.underlay.cidr.len, { broadcast: true });
  if (node.underlay.gateway) {
    host.addRoute({
      table: 'main',
      type: 'unicast',
      dst: DEFAULT_V4,
      via: node.underlay.gateway,
      dev: 'eth0',
      protocol: 'boot',
      scope: 'global',
    });
  }
  // br_netfilter loaded with bridge-nf-call-iptables=1: a kubeadm preflight requirement (kube-proxy
  // needs bridged pod-to-service replies to pass netfilter).
  host.setSysctl('net.bridge.bridge-nf-call-iptables', '1');
  // Also a kubeadm preflight requirement (FileContent--proc-sys-net-ipv4-ip_forward), so a node forwards
  // before its first pod; the bridge plugin sets it again on every ADD with isGateway.
  host.setSysctl('net.ipv4.ip_forward', '1');

  let iptables: IptablesCommand[] = [];
  let conf: BridgeNetConf;
  if (config.cni.plugin === 'flannel') {
    programFlannel(host, state, node, warnings);
    iptables = flannelIptables(config, node);
    conf = flannelBridgeConf(config, node);
  } else if (config.cni.plugin === 'bridge') {
    conf = plainBridgeConf(config, node);
  } else {
    warnings.push(`UNSUPPORTED: the ${config.cni.plugin} CNI is not modelled by the bridge/flannel agent`);
    return { node: { node: node.name, host: host.freeze(), pods: [] }, iptables, warnings };
  }

  if (conf.ipMasq)
    warnings.push("UNSUPPORTED: the bridge plugin's ipMasq chains (CNI-<hash>) are not modelled");
  const pods: NetnsState[] = [];
  for (const { pod, ip } of sandboxPods(state, node, warnings)) {
    pods.push(
      bridgeAdd(host, node.name, conf, {
        namespace: pod.metadata.namespace ?? 'default',
        name: pod.metadata.name,
        ip,
      }),
    );
  }
  return { node: { node: node.name, host: host.freeze(), pods }, iptables, warnings };
}

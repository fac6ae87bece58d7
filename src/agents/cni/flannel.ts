// flanneld (kube subnet manager, --ip-masq) and the flannel CNI meta-plugin: the per-node lease is the
// node's podCIDR; the vxlan backend programs flannel.<VNI> with one route + one permanent neighbour +
// one FDB entry per remote lease (flannel-io/flannel pkg/backend/vxlan), host-gw one route via the
// remote node IP (pkg/backend/hostgw); the meta-plugin delegates to `bridge` with subnet.env values.
import type { ClusterConfig, ClusterState, NodeInfo } from '../../model/cluster.js';
import type { IptablesCommand } from '../../node/iptables/types.js';
import type { BridgeNetConf } from './bridge-plugin.js';
import { derivedMac } from './mac.js';
import { type NetnsDraft, UP_FLAGS } from './netns-draft.js';

/** VXLAN over IPv4: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 (newVXLANDevice: MTU - 50). */
const VXLAN_OVERHEAD = 50;

/** FLANNEL_MTU: the vxlan device's MTU, or the uplink MTU for host-gw. */
export function flannelMtu(config: ClusterConfig): number {
  return config.cni.backend === 'vxlan' ? config.cni.mtu - VXLAN_OVERHEAD : config.cni.mtu;
}

/** The VTEP MAC of a node's flannel.<VNI>; real flanneld picks a random one (mac.NewHardwareAddr). */
export function vtepMac(nodeName: string): string {
  return derivedMac(`vtep/${nodeName}`);
}

export function vxlanDeviceName(config: ClusterConfig): string {
  return `flannel.${config.cni.vxlanVNI}`;
}

/** /run/flannel/subnet.env as flanneld writes it (WriteSubnetFile); FLANNEL_SUBNET is the gateway/len. */
export function subnetEnv(config: ClusterConfig, node: NodeInfo): string {
  return [
    `FLANNEL_NETWORK=${config.podCIDR.toString()}`,
    `FLANNEL_SUBNET=${node.podCIDR.addr.add(1).toString()}/${node.podCIDR.len}`,
    `FLANNEL_MTU=${flannelMtu(config)}`,
    'FLANNEL_IPMASQ=true',
    '',
  ].join('\n');
}

/**
 * The bridge delegate the flannel CNI plugin builds (flannel-io/cni-plugin): network `cbr0`,
 * mtu=FLANNEL_MTU, isGateway, ipMasq = !FLANNEL_IPMASQ (false: flanneld masquerades), host-local over
 * FLANNEL_SUBNET with a route to FLANNEL_NETWORK; the default conflist adds hairpinMode and
 * isDefaultGateway.
 */
export function flannelBridgeConf(config: ClusterConfig, node: NodeInfo): BridgeNetConf {
  return {
    name: 'cbr0',
    bridge: config.cni.bridgeName,
    isGateway: true,
    isDefaultGateway: true,
    ipMasq: false,
    mtu: flannelMtu(config),
    hairpinMode: config.cni.hairpinMode,
    subnet: node.podCIDR,
    gateway: node.podCIDR.addr.add(1),
    routes: [config.podCIDR],
  };
}

/**
 * flanneld's iptables (pkg/trafficmngr/iptables): FLANNEL-POSTRTG masquerade rules (--ip-masq) and the
 * FLANNEL-FWD accept rules, appended in this order after creating the chains (ClearChain = -N).
 */
export function flannelIptables(config: ClusterConfig, node: NodeInfo): IptablesCommand[] {
  const cluster = config.podCIDR.toString();
  const pod = node.podCIDR.toString();
  // masqRules asks `iptables` whether it supports --random-fully; the same binary kube-proxy sees.
  const fully = config.kubeProxy.masqueradeRandomFully ? ['--random-fully'] : [];
  const masq = ['-m', 'comment', '--comment', 'flanneld masq'];
  const fwd = ['-m', 'comment', '--comment', 'flanneld forward'];
  const nat = (chain: string, args: string[]): IptablesCommand => ({
    table: 'nat',
    op: 'append',
    chain,
    args,
  });
  const filter = (chain: string, args: string[]): IptablesCommand => ({
    table: 'filter',
    op: 'append',
    chain,
    args,
  });
  return [
    { table: 'nat', op: 'new-chain', chain: 'FLANNEL-POSTRTG' },
    nat('POSTROUTING', [...masq, '-j', 'FLANNEL-POSTRTG']),
    nat('FLANNEL-POSTRTG', ['-m', 'mark', '--mark', '0x4000/0x4000', ...masq, '-j', 'RETURN']),
    nat('FLANNEL-POSTRTG', ['-s', pod, '-d', cluster, ...masq, '-j', 'RETURN']),
    nat('FLANNEL-POSTRTG', ['-s', cluster, '-d', pod, ...masq, '-j', 'RETURN']),
    nat('FLANNEL-POSTRTG', ['!', '-s', cluster, '-d', pod, ...masq, '-j', 'RETURN']),
    nat('FLANNEL-POSTRTG', ['-s', cluster, '!', '-d', '224.0.0.0/4', ...masq, '-j', 'MASQUERADE', ...fully]),
    nat('FLANNEL-POSTRTG', ['!', '-s', cluster, '-d', cluster, ...masq, '-j', 'MASQUERADE', ...fully]),
    { table: 'filter', op: 'new-chain', chain: 'FLANNEL-FWD' },
    filter('FORWARD', [...fwd, '-j', 'FLANNEL-FWD']),
    filter('FLANNEL-FWD', ['-s', cluster, ...fwd, '-j', 'ACCEPT']),
    filter('FLANNEL-FWD', ['-d', cluster, ...fwd, '-j', 'ACCEPT']),
  ];
}

/** flanneld's backend on the host: the VXLAN device (before any pod exists) and the remote leases. */
export function programFlannel(
  host: NetnsDraft,
  state: ClusterState,
  node: NodeInfo,
  warnings: string[],
): void {
  const config = state.config;
  const remotes = state.nodeInfo.filter((n) => n.name !== node.name);
  if (config.cni.backend === 'vxlan') {
    const dev = vxlanDeviceName(config);
    host.addLink({
      name: dev,
      kind: 'vxlan',
      mtu: flannelMtu(config),
      mac: vtepMac(node.name),
      flags: [...UP_FLAGS],
      // A VXLAN device has no carrier detection of its own: the kernel reports UNKNOWN.
      operState: 'UNKNOWN',
      qdisc: 'noqueue',
      vxlan: {
        vni: config.cni.vxlanVNI,
        local: node.internalIP,
        dev: 'eth0',
        dstport: config.cni.vxlanPort,
        learning: false,
        srcportMin: 0,
        srcportMax: 0,
        ageing: 300,
      },
    });
    host.setSysctl(`net.ipv6.conf.${dev.replace('.', '/')}.accept_ra`, '0');
    // The lease's network address as /32 (vxlan.go: IP4Net{IP: lease.Subnet.IP, PrefixLen: 32}).
    host.addAddress(dev, node.podCIDR.addr, 32, { broadcast: false });
    for (const r of remotes) {
      const gw = r.podCIDR.addr;
      // handleSubnetEvents: AddARP, AddFDB, then RouteReplace (onlink, scope universe, proto boot).
      host.addNeighbour(gw, dev, vtepMac(r.name), 'PERMANENT');
      host.addFdb({ mac: vtepMac(r.name), dev, dst: r.internalIP, self: true, state: 'permanent' });
      host.addRoute({
        table: 'main',
        type: 'unicast',
        dst: r.podCIDR,
        via: gw,
        dev,
        protocol: 'boot',
        scope: 'global',
        onlink: true,
      });
    }
    return;
  }
  for (const r of remotes) {
    if (!node.underlay.cidr.contains(r.internalIP)) {
      // The kernel refuses a gateway that no connected route reaches: flanneld logs and retries forever.
      warnings.push(
        `flanneld (host-gw) on ${node.name}: Error adding route to ${r.podCIDR} via ${r.internalIP} dev eth0: ` +
          `network is unreachable (${r.name} is not on ${node.name}'s L2 segment ${node.underlay.cidr})`,
      );
      continue;
    }
    host.addRoute({
      table: 'main',
      type: 'unicast',
      dst: r.podCIDR,
      via: r.internalIP,
      dev: 'eth0',
      protocol: 'boot',
      scope: 'global',
    });
  }
}

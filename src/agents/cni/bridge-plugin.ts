// The reference `bridge` CNI plugin's ADD with `host-local` IPAM (containernetworking/plugins
// plugins/main/bridge/bridge.go): ensure the bridge, create the veth pair, configure the pod side,
// put the gateway on the bridge. The pod's address itself comes from the control plane (status.podIP),
// which stands in for host-local's allocation.
import { type IPAddr, Prefix } from '../../net/ip.js';
import type { NetnsState } from '../../node/state.js';
import { derivedMac, hostVethName, sandboxNetnsName } from './mac.js';
import { NetnsDraft, UP_FLAGS } from './netns-draft.js';

/** The bridge plugin's network config, after the flannel meta-plugin (if any) filled it in. */
export interface BridgeNetConf {
  /** Network name (`cbr0` for Flannel's conflist). */
  name: string;
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  /** Per-pod CNI-<hash> masquerade chains; both kpath configurations leave it off (flanneld masquerades). */
  ipMasq: boolean;
  mtu: number;
  hairpinMode: boolean;
  /** host-local `ranges[0][0].subnet`. */
  subnet: Prefix;
  /** host-local gateway: the first address of the subnet unless configured. */
  gateway: IPAddr;
  /** host-local `routes` without `gw`: the plugin routes them via the gateway. */
  routes: Prefix[];
}

const DEFAULT_V4 = Prefix.parse('0.0.0.0/0');

export interface PodRef {
  namespace: string;
  name: string;
  ip: IPAddr;
}

/** One ADD: mutates the host draft (bridge, host veth, gateway address) and returns the pod netns. */
export function bridgeAdd(host: NetnsDraft, node: string, conf: BridgeNetConf, pod: PodRef): NetnsState {
  const podKey = `${node}/${pod.namespace}/${pod.name}`;
  if (!host.link(conf.bridge)) {
    // ensureBridge: created on the first ADD, up, accept_ra=0; its MAC is then pinned to itself.
    host.addLink({
      name: conf.bridge,
      kind: 'bridge',
      mtu: conf.mtu,
      mac: derivedMac(`bridge/${node}/${conf.bridge}`),
      flags: [...UP_FLAGS],
      operState: 'UP',
      qdisc: 'noqueue',
    });
    host.setSysctl(`net.ipv6.conf.${conf.bridge}.accept_ra`, '0');
    host.addBridgeSelfEntry(conf.bridge);
  }

  const podNs = new NetnsDraft(sandboxNetnsName(podKey), {
    kind: 'pod',
    node,
    namespace: pod.namespace,
    name: pod.name,
  });
  // ip.SetupVeth creates the pair inside the pod netns with the host end in the host netns, so each
  // end takes the next free ifindex of its own namespace.
  const vethName = hostVethName(podKey);
  const podIndex = podNs.nextIndex;
  const hostIndex = host.nextIndex;
  host.addLink({
    name: vethName,
    kind: 'veth',
    mtu: conf.mtu,
    mac: derivedMac(`veth-host/${podKey}`),
    flags: [...UP_FLAGS],
    operState: 'UP',
    qdisc: 'noqueue',
    peer: { netns: podNs.name, ifname: 'eth0', ifindex: podIndex },
  });
  podNs.addLink({
    name: 'eth0',
    kind: 'veth',
    mtu: conf.mtu,
    mac: derivedMac(`veth-pod/${podKey}`),
    flags: [...UP_FLAGS],
    operState: 'UP',
    qdisc: 'noqueue',
    peer: { netns: 'root', ifname: vethName, ifindex: hostIndex },
  });
  host.enslave(vethName, conf.bridge, conf.hairpinMode);

  // cmdAdd, inside the pod netns before ipam.ConfigureIface (enabledad defaults to false).
  podNs.setSysctl('net.ipv6.conf.eth0.accept_dad', '0');
  podNs.setSysctl('net.ipv4.conf.eth0.arp_notify', '1');
  podNs.addAddress('eth0', pod.ip, conf.subnet.len, { broadcast: true });
  // ConfigureIface adds the IPAM routes (no gw → the IPAM gateway), then the appended default route;
  // netlink's default protocol is RTPROT_BOOT, which `ip route` does not print.
  const viaGw = {
    table: 'main',
    type: 'unicast',
    via: conf.gateway,
    dev: 'eth0',
    protocol: 'boot',
    scope: 'global',
  } as const;
  for (const dst of conf.routes) podNs.addRoute({ ...viaGw, dst });
  const hasDefault = conf.routes.some((r) => r.len === 0);
  if (conf.isDefaultGateway && !hasDefault) podNs.addRoute({ ...viaGw, dst: DEFAULT_V4 });

  if (conf.isGateway || conf.isDefaultGateway) {
    // ensureAddr: the gateway with the pod subnet's prefix length, once; then ip_forward=1.
    if (!host.hasAddress(conf.bridge, conf.gateway))
      host.addAddress(conf.bridge, conf.gateway, conf.subnet.len, { broadcast: true });
    host.setSysctl('net.ipv4.ip_forward', '1');
  }
  return podNs.freeze();
}

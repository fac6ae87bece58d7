// LocalTrafficDetector (pkg/proxy/util/localdetector.go): how kube-proxy tells pod traffic from
// other traffic, as iptables match arguments.

import type { KubeProxyConfig } from '../../model/cluster.js';
import type { Family, Prefix } from '../../net/ip.js';

export interface LocalTrafficDetector {
  /** Matches traffic from local pods, e.g. `['-s', '10.0.0.0/8']`. */
  readonly ifLocal: readonly string[];
  /** Matches traffic not from local pods, e.g. `['!', '-s', '10.0.0.0/8']`. */
  readonly ifNotLocal: readonly string[];
}

/** The detector for the configured mode, or undefined ("no-op" detector: nothing is known to be local). */
export function localTrafficDetector(
  config: KubeProxyConfig,
  family: Family,
  nodePodCIDRs: readonly Prefix[],
): LocalTrafficDetector | undefined {
  const byCIDR = (cidrs: readonly Prefix[]): LocalTrafficDetector | undefined => {
    // Only the first CIDR of the family is used, as in NewDetectLocalByCIDR.
    const c = cidrs.find((p) => p.family === family);
    if (!c) return undefined;
    const s = c.toString();
    return { ifLocal: ['-s', s], ifNotLocal: ['!', '-s', s] };
  };
  switch (config.detectLocalMode) {
    case 'ClusterCIDR':
      return byCIDR(config.clusterCIDRs);
    case 'NodeCIDR':
      return byCIDR(nodePodCIDRs);
    case 'BridgeInterface': {
      const br = config.bridgeInterface;
      if (!br) return undefined;
      return { ifLocal: ['-i', br], ifNotLocal: ['!', '-i', br] };
    }
    case 'InterfaceNamePrefix': {
      const pfx = config.interfaceNamePrefix;
      if (!pfx) return undefined;
      // iptables' interface wildcard is a trailing "+".
      return { ifLocal: ['-i', `${pfx}+`], ifNotLocal: ['!', '-i', `${pfx}+`] };
    }
  }
}

// The underlay the nodes' eth0 join when the cluster document declares none: derived from the node
// addresses so that a plain `kubectl get nodes -o yaml` dump still gives every node a wire.
import type { UnderlaySubnet } from '../model/cluster.js';
import { type IPAddr, Prefix } from '../net/ip.js';

/** /24 for IPv4 and /64 for IPv6: the usual size of one L2 segment. */
function segmentOf(ip: IPAddr): Prefix {
  return Prefix.of(ip, ip.family === 4 ? 24 : 64);
}

/**
 * One segment per distinct /24 (/64) the node addresses fall in, in address order: a single segment
 * when all nodes share one, so they reach each other directly over L2. Each segment gets a router at
 * its first host address (.1), or its last one (.254) when a node holds .1, so that segments and
 * external hosts are reachable through it.
 */
export function deriveUnderlay(nodeIPs: readonly IPAddr[]): UnderlaySubnet[] {
  const byKey = new Map<string, Prefix>();
  for (const ip of nodeIPs) {
    const p = segmentOf(ip);
    byKey.set(p.toString(), p);
  }
  const segments = [...byKey.values()].sort((a, b) => a.addr.compare(b.addr));
  return segments.map((cidr) => {
    const taken = (a: IPAddr) => nodeIPs.some((n) => n.equals(a));
    const first = cidr.nth(1);
    const last = cidr.family === 4 ? cidr.nth(cidr.size - 2n) : cidr.nth(cidr.size - 1n);
    const gateway = !taken(first) ? first : !taken(last) ? last : undefined;
    return gateway ? { cidr, gateway } : { cidr };
  });
}

// The route type of an address as `-m addrtype` asks the kernel for it (inet_dev_addr_type): multicast and the
// limited broadcast by their ranges, otherwise what the netns's local routing table says, else UNICAST.
import { type IPAddr, Prefix } from '../../net/ip.js';
import type { NetnsState } from '../../node/state.js';
import type { AddrType } from './match.js';

const MULTICAST4 = Prefix.parse('224.0.0.0/4');
const MULTICAST6 = Prefix.parse('ff00::/8');
const LIMITED_BROADCAST = Prefix.parse('255.255.255.255/32');

/**
 * An addrtype callback for one netns. With `dev` (--limit-iface-in/out) only that device's local and broadcast
 * routes and addresses count, as the kernel restricts the lookup to routes through that device.
 */
export function addrTypeOf(ns: NetnsState): (ip: IPAddr, dev?: string) => AddrType {
  return (ip, dev) => {
    if ((ip.family === 4 ? MULTICAST4 : MULTICAST6).contains(ip)) return 'MULTICAST';
    if (LIMITED_BROADCAST.contains(ip)) return 'BROADCAST';
    const local = ns.routes.filter(
      (r) => r.table === 'local' && r.dst.contains(ip) && (dev === undefined || r.dev === dev),
    );
    // Longest prefix wins, as in the local table lookup.
    local.sort((a, b) => b.dst.len - a.dst.len);
    const hit = local[0];
    if (hit) {
      const t = hit.type.toUpperCase();
      return (
        t === 'LOCAL' ||
        t === 'BROADCAST' ||
        t === 'BLACKHOLE' ||
        t === 'UNREACHABLE' ||
        t === 'PROHIBIT' ||
        t === 'THROW'
          ? t
          : 'UNICAST'
      ) as AddrType;
    }
    // Without a dumped local table, the interface addresses (and 127/8 on lo) are what it would hold.
    if (ns.addresses.some((a) => a.ip.equals(ip) && (dev === undefined || a.ifname === dev))) return 'LOCAL';
    if (ip.isLoopback() && (dev === undefined || dev === 'lo') && !ns.routes.some((r) => r.table === 'local'))
      return 'LOCAL';
    if (ns.addresses.some((a) => a.broadcast?.equals(ip) && (dev === undefined || a.ifname === dev)))
      return 'BROADCAST';
    return 'UNICAST';
  };
}

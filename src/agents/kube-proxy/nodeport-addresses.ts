// NodePortAddresses (pkg/proxy/util/nodeport_addresses.go): which node addresses accept NodePorts.
import type { Family } from '../../net/ip.js';
import { IPAddr, Prefix } from '../../net/ip.js';

export interface NodePortAddresses {
  readonly cidrs: readonly Prefix[];
  /** Some CIDR is 0.0.0.0/0 or ::/0 (the default when no CIDR of the family is given). */
  readonly matchAll: boolean;
  readonly containsIPv4Loopback: boolean;
}

const LOOPBACK_START = IPAddr.v4(127, 0, 0, 1);

/** `strings`: CIDRs or the word `primary` (meaning the node's primary IP of the family). */
export function nodePortAddresses(
  strings: readonly string[],
  family: Family,
  primaryIP: IPAddr | undefined,
): NodePortAddresses {
  const cidrs: Prefix[] = [];
  for (const s of strings) {
    if (s === 'primary') {
      if (primaryIP && primaryIP.family === family) cidrs.push(Prefix.host(primaryIP));
      continue;
    }
    const p = Prefix.tryParse(s);
    if (p && s.includes('/') && p.family === family) cidrs.push(p);
  }
  if (cidrs.length === 0) cidrs.push(Prefix.parse(family === 4 ? '0.0.0.0/0' : '::/0'));
  return {
    cidrs,
    matchAll: cidrs.some((c) => c.len === 0),
    containsIPv4Loopback: cidrs.some(
      (c) => c.family === 4 && (c.addr.isLoopback() || c.contains(LOOPBACK_START)),
    ),
  };
}

/** The interface addresses inside any of the CIDRs, deduplicated, in interface order. */
export function nodePortIPs(
  npa: NodePortAddresses,
  addrs: readonly { ifname: string; ip: IPAddr }[],
): IPAddr[] {
  const out: IPAddr[] = [];
  for (const a of addrs) {
    if (!npa.cidrs.some((c) => c.contains(a.ip))) continue;
    if (out.some((o) => o.equals(a.ip))) continue;
    out.push(a.ip);
  }
  return out;
}

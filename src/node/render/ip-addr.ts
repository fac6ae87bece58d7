// `ip addr` (iproute2 6.1): the device lines, then its IPv4 addresses in the order added, then IPv6.
// IPv6 link-local addresses are printed: the kernel gives every multicast-capable device one at link-up,
// derived from the MAC (addr_gen_mode eui64, the default), so they are deterministic and appear in every
// real node's and pod's `ip addr` (checked against the kernel in test/node/render/kernel.test.ts).
import type { Address, NetnsState } from '../state.js';
import { byIndex, linkAddressLine, linkLine } from './link-header.js';

// The kernel keeps a device's IPv6 list sorted by scope, global before host before link (ipv6_link_dev_addr).
const V6_SCOPE_RANK: Record<Address['scope'], number> = { global: 0, host: 1, link: 2 };

function addressLines(a: Address): string {
  // IPv4 addresses carry a label (the device name); IPv6 ones do not, which leaves a trailing space.
  const head =
    a.ip.family === 4
      ? `    inet ${a.ip.toString()}/${a.len}${a.broadcast ? ` brd ${a.broadcast.toString()}` : ''} scope ${a.scope} ${a.ifname}`
      : `    inet6 ${a.ip.toString()}/${a.len} scope ${a.scope} `;
  return `${head}\n       valid_lft forever preferred_lft forever\n`;
}

export function ipAddr(ns: NetnsState): string {
  let out = '';
  for (const l of byIndex(ns.links)) {
    out += `${linkLine(l, false)}\n${linkAddressLine(l)}\n`;
    const mine = ns.addresses.filter((a) => a.ifname === l.name);
    for (const a of mine.filter((x) => x.ip.family === 4)) out += addressLines(a);
    const v6 = mine.filter((x) => x.ip.family === 6);
    for (const a of v6.sort((x, y) => V6_SCOPE_RANK[x.scope] - V6_SCOPE_RANK[y.scope]))
      out += addressLines(a);
  }
  return out;
}

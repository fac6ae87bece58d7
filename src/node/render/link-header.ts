// The two lines `ip link` and `ip addr` print for every device (iproute2 print_linkinfo).
import type { Link } from '../state.js';

// iproute2 prints the interface flags in this fixed order (print_link_flags), whatever order they are stored in.
const FLAG_ORDER = [
  'NO-CARRIER',
  'LOOPBACK',
  'BROADCAST',
  'POINTOPOINT',
  'MULTICAST',
  'NOARP',
  'ALLMULTI',
  'PROMISC',
  'NOTRAILERS',
  'DEBUG',
  'DYNAMIC',
  'AUTOMEDIA',
  'PORTSEL',
  'MASTER',
  'SLAVE',
  'UP',
  'LOWER_UP',
  'DORMANT',
  'ECHO',
];

function orderedFlags(flags: readonly string[]): string {
  const rank = (f: string): number => {
    const i = FLAG_ORDER.indexOf(f);
    return i < 0 ? FLAG_ORDER.length : i;
  };
  return [...flags].sort((a, b) => rank(a) - rank(b)).join(',');
}

/**
 * `5: veth1a2b3c4d@if2: <BROADCAST,…> mtu 1450 qdisc noqueue master cni0 state UP mode DEFAULT group
 * default qlen 1000` (`ip addr` leaves out `mode DEFAULT`). A veth shows its peer's ifindex after `@if`.
 */
export function linkLine(l: Link, withMode: boolean): string {
  const name = l.kind === 'veth' && l.peer ? `${l.name}@if${l.peer.ifindex}` : l.name;
  const master = l.master ? ` master ${l.master}` : '';
  const mode = withMode ? ' mode DEFAULT' : '';
  return `${l.index}: ${name}: <${orderedFlags(l.flags)}> mtu ${l.mtu} qdisc ${l.qdisc}${master} state ${l.operState}${mode} group default qlen 1000`;
}

/**
 * `    link/ether … brd ff:ff:ff:ff:ff:ff link-netns cni-…`. The peer's namespace is printed by name when
 * it has one under /var/run/netns (pod sandboxes do); the node's root namespace has none, so from inside
 * a pod the kernel's netns id shows instead (`link-netnsid 0`, the first and only peer namespace).
 */
export function linkAddressLine(l: Link): string {
  const loop = l.kind === 'loopback';
  const kind = loop ? 'loopback' : 'ether';
  const brd = loop ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff';
  let netns = '';
  if (l.peer) netns = l.peer.netns === 'root' ? ' link-netnsid 0' : ` link-netns ${l.peer.netns}`;
  return `    link/${kind} ${l.mac} brd ${brd}${netns}`;
}

export function byIndex(links: readonly Link[]): Link[] {
  return [...links].sort((a, b) => a.index - b.index);
}

// IP protocol names and numbers as iptables reads and prints them: its own table first
// (xtables_chain_protos), then the system's /etc/protocols (Debian 12 netbase), which is what
// getprotobyname/getprotobynumber consult on a real node.

/** xtables_chain_protos, in its order (the first name for a number wins when printing). */
const XTABLES_PROTOS: readonly (readonly [string, number])[] = [
  ['tcp', 6],
  ['sctp', 132],
  ['udp', 17],
  ['udplite', 136],
  ['icmp', 1],
  ['ipv6-icmp', 58],
  ['icmpv6', 58],
  ['esp', 50],
  ['ah', 51],
  ['ipv6-mh', 135],
  ['mh', 135],
  ['all', 0],
];

/** Debian 12 /etc/protocols: name, number, alias. */
const ETC_PROTOCOLS: readonly (readonly [string, number, string])[] = [
  ['ip', 0, 'IP'],
  ['icmp', 1, 'ICMP'],
  ['igmp', 2, 'IGMP'],
  ['ggp', 3, 'GGP'],
  ['ipencap', 4, 'IP-ENCAP'],
  ['st', 5, 'ST'],
  ['tcp', 6, 'TCP'],
  ['egp', 8, 'EGP'],
  ['igp', 9, 'IGP'],
  ['pup', 12, 'PUP'],
  ['udp', 17, 'UDP'],
  ['hmp', 20, 'HMP'],
  ['xns-idp', 22, 'XNS-IDP'],
  ['rdp', 27, 'RDP'],
  ['iso-tp4', 29, 'ISO-TP4'],
  ['dccp', 33, 'DCCP'],
  ['xtp', 36, 'XTP'],
  ['ddp', 37, 'DDP'],
  ['idpr-cmtp', 38, 'IDPR-CMTP'],
  ['ipv6', 41, 'IPv6'],
  ['ipv6-route', 43, 'IPv6-Route'],
  ['ipv6-frag', 44, 'IPv6-Frag'],
  ['idrp', 45, 'IDRP'],
  ['rsvp', 46, 'RSVP'],
  ['gre', 47, 'GRE'],
  ['esp', 50, 'IPSEC-ESP'],
  ['ah', 51, 'IPSEC-AH'],
  ['skip', 57, 'SKIP'],
  ['ipv6-icmp', 58, 'IPv6-ICMP'],
  ['ipv6-nonxt', 59, 'IPv6-NoNxt'],
  ['ipv6-opts', 60, 'IPv6-Opts'],
  ['rspf', 73, 'RSPF'],
  ['vmtp', 81, 'VMTP'],
  ['eigrp', 88, 'EIGRP'],
  ['ospf', 89, 'OSPFIGP'],
  ['ax.25', 93, 'AX.25'],
  ['ipip', 94, 'IPIP'],
  ['etherip', 97, 'ETHERIP'],
  ['encap', 98, 'ENCAP'],
  ['pim', 103, 'PIM'],
  ['ipcomp', 108, 'IPCOMP'],
  ['vrrp', 112, 'VRRP'],
  ['l2tp', 115, 'L2TP'],
  ['isis', 124, 'ISIS'],
  ['sctp', 132, 'SCTP'],
  ['fc', 133, 'FC'],
  ['mobility-header', 135, 'Mobility-Header'],
  ['udplite', 136, 'UDPLite'],
  ['mpls-in-ip', 137, 'MPLS-in-IP'],
  ['hip', 139, 'HIP'],
  ['shim6', 140, 'Shim6'],
  ['wesp', 141, 'WESP'],
  ['rohc', 142, 'ROHC'],
  ['ethernet', 143, 'Ethernet'],
];

const BY_NAME = new Map<string, number>();
for (const [n, v, alias] of ETC_PROTOCOLS) {
  BY_NAME.set(n, v);
  BY_NAME.set(alias, v);
}
for (const [n, v] of XTABLES_PROTOS) if (!BY_NAME.has(n)) BY_NAME.set(n, v);

/** The protocol number for `-p` / `--ctproto` text, or undefined. Mirrors xtables_parse_protocol. */
export function protocolNumber(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= 255 ? n : undefined;
  }
  if (text === 'all') return 0;
  // getprotobyname matches the exact name or alias; iptables then tries its own table lower-cased.
  return BY_NAME.get(text) ?? BY_NAME.get(text.toLowerCase());
}

/** The name iptables-save prints for a protocol number (a number when it knows no name). */
export function protocolName(n: number): string {
  for (const [name, v] of XTABLES_PROTOS) if (v === n) return name;
  for (const [name, v] of ETC_PROTOCOLS) if (v === n) return name;
  return String(n);
}

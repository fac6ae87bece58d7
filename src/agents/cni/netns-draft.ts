// A network namespace while an agent programs it, with what the kernel adds on its own: ifindexes in
// creation order, the loopback device, local/broadcast/connected routes when an IPv4 address is added,
// the IPv6 link-local address (EUI-64) and the multicast MACs each device joins (shown by `bridge fdb`).
import { IPAddr, Prefix } from '../../net/ip.js';
import type {
  Address,
  FdbEntry,
  Link,
  NeighbourState,
  NetnsOwnerNode,
  NetnsOwnerPod,
  NetnsState,
  Route,
} from '../../node/state.js';
import { macBytes } from './mac.js';

export const UP_FLAGS: readonly string[] = ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'];

export type NewLink = Omit<Link, 'index'>;

/** fe80::/64 from the MAC (modified EUI-64), the kernel's default addr_gen_mode. */
export function linkLocalFromMac(mac: string): IPAddr {
  const b = macBytes(mac);
  const iid = [(b[0] ?? 0) ^ 0x02, b[1] ?? 0, b[2] ?? 0, 0xff, 0xfe, b[3] ?? 0, b[4] ?? 0, b[5] ?? 0];
  let v = 0xfe80n << 112n;
  for (let i = 0; i < 8; i++) v |= BigInt(iid[i] ?? 0) << BigInt((7 - i) * 8);
  return IPAddr.fromBigInt(6, v);
}

export class NetnsDraft {
  private readonly links: Link[] = [];
  private readonly addresses: Address[] = [];
  private readonly routes: Route[] = [];
  private readonly neighbours: NetnsState['neighbours'] = [];
  private readonly fdb: FdbEntry[] = [];
  private readonly sysctls: Record<string, string> = {};

  constructor(
    readonly name: string,
    private readonly owner: NetnsOwnerNode | NetnsOwnerPod,
  ) {
    // Every namespace starts with lo (ifindex 1); bringing it up (the node's OS; containerd's `loopback`
    // CNI plugin in a pod sandbox) makes the kernel add 127.0.0.1/8 and ::1.
    this.links.push({
      index: 1,
      name: 'lo',
      kind: 'loopback',
      mtu: 65536,
      mac: '00:00:00:00:00:00',
      flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
      operState: 'UNKNOWN',
      qdisc: 'noqueue',
    });
    this.addAddress('lo', IPAddr.v4(127, 0, 0, 1), 8, { broadcast: false, scope: 'host' });
    this.addresses.push({ ifname: 'lo', ip: IPAddr.fromBigInt(6, 1n), len: 128, scope: 'host' });
  }

  get nextIndex(): number {
    return this.links.length === 0 ? 1 : Math.max(...this.links.map((l) => l.index)) + 1;
  }

  link(name: string): Link | undefined {
    return this.links.find((l) => l.name === name);
  }

  /** Creates a device (next ifindex) and brings it up, as the agents do right after creating it. */
  addLink(spec: NewLink): Link {
    const link: Link = { ...spec, index: this.nextIndex };
    this.links.push(link);
    if (link.kind !== 'loopback' && link.flags.includes('MULTICAST')) this.joinMulticast(link);
    return link;
  }

  private joinMulticast(link: Link): void {
    // The order mirrors the device's multicast list: ff02::1 at register, the bridge's multicast-router
    // discovery groups (224.0.0.106, ff02::6a) at open, 224.0.0.1 at IPv4 up, then the solicited-node
    // group of the link-local address. A VXLAN device dumps its own FDB instead, so none show there.
    const ll = linkLocalFromMac(link.mac);
    this.addresses.push({ ifname: link.name, ip: ll, len: 64, scope: 'link' });
    if (link.kind === 'vxlan') return;
    const b = macBytes(link.mac).map((x) => x.toString(16).padStart(2, '0'));
    const groups = ['33:33:00:00:00:01'];
    if (link.kind === 'bridge') groups.push('01:00:5e:00:00:6a', '33:33:00:00:00:6a');
    groups.push('01:00:5e:00:00:01', `33:33:ff:${b[3]}:${b[4]}:${b[5]}`);
    for (const mac of groups) this.fdb.push({ mac, dev: link.name, self: true, state: 'permanent' });
  }

  /**
   * Adds an IPv4 address the way netlink.AddrAdd / `ip addr add … brd +` do (brd only when asked), and
   * the routes the kernel derives from it (fib_add_ifaddr): local in table local, a broadcast route for
   * the explicit brd and for the subnet's last address (any prefix shorter than /31, brd or not), the
   * connected prefix in main; for lo the prefix route is a `local` route in table local.
   */
  addAddress(
    ifname: string,
    ip: IPAddr,
    len: number,
    opts: { broadcast: boolean; scope?: Address['scope'] } = { broadcast: true },
  ): void {
    const prefix = Prefix.of(ip, len);
    // vishvananda/netlink computes brd only for prefixes shorter than /31; so does `brd +`.
    const broadcast = opts.broadcast && len < 31 ? prefix.last : undefined;
    const isLo = this.link(ifname)?.kind === 'loopback';
    const address: Address = { ifname, ip, len, scope: opts.scope ?? 'global' };
    if (broadcast) address.broadcast = broadcast;
    this.addresses.push(address);
    const kernel = { dev: ifname, protocol: 'kernel', src: ip } as const;
    const bcast = (b: IPAddr): Route => ({
      ...kernel,
      table: 'local',
      type: 'broadcast',
      dst: Prefix.host(b),
      scope: 'link',
    });
    this.routes.push({ ...kernel, table: 'local', type: 'local', dst: Prefix.host(ip), scope: 'host' });
    if (broadcast && !broadcast.equals(prefix.last)) this.routes.push(bcast(broadcast));
    if (len < 32) {
      if (isLo) this.routes.push({ ...kernel, table: 'local', type: 'local', dst: prefix, scope: 'host' });
      else this.routes.push({ ...kernel, table: 'main', type: 'unicast', dst: prefix, scope: 'link' });
      if (len < 31) this.routes.push(bcast(prefix.last));
    }
  }

  hasAddress(ifname: string, ip: IPAddr): boolean {
    return this.addresses.some((a) => a.ifname === ifname && a.ip.equals(ip));
  }

  addRoute(route: Route): void {
    this.routes.push(route);
  }

  addNeighbour(ip: IPAddr, dev: string, lladdr: string, state: NeighbourState): void {
    this.neighbours.push({ ip, dev, lladdr, state });
  }

  addFdb(entry: FdbEntry): void {
    this.fdb.push(entry);
  }

  setSysctl(key: string, value: string): void {
    this.sysctls[key] = value;
  }

  /** Enslaves a device to a bridge; the kernel adds the port's own MAC as a permanent local FDB entry. */
  enslave(port: string, bridge: string, hairpin: boolean): void {
    const link = this.link(port);
    if (!link) throw new Error(`no link ${port} in ${this.name}`);
    link.master = bridge;
    link.bridgePort = { hairpin };
    this.fdb.push({ mac: link.mac, dev: port, master: bridge, self: false, state: 'permanent' });
  }

  /** The bridge's own MAC in its FDB (br_fdb_change_mac_address), `dev cni0 master cni0 permanent`. */
  addBridgeSelfEntry(bridge: string): void {
    const link = this.link(bridge);
    if (!link) throw new Error(`no link ${bridge} in ${this.name}`);
    this.fdb.push({ mac: link.mac, dev: bridge, master: bridge, self: false, state: 'permanent' });
  }

  freeze(): NetnsState {
    return {
      name: this.name,
      owner: this.owner,
      links: this.links.map((l) => ({ ...l, flags: [...l.flags] })),
      addresses: [...this.addresses],
      routes: [...this.routes],
      neighbours: [...this.neighbours],
      fdb: [...this.fdb],
      iptables: { tables: [] },
      sysctls: { ...this.sysctls },
    };
  }
}

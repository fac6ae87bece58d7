// A NodeState as the `ip`/`bridge`/`sysctl` commands that build it in real network namespaces (for the
// kernel differential tests and lab mode). Devices are created in ifindex order so the kernel hands out
// the same indexes; what the kernel derives by itself (lo's addresses, IPv6 link-local addresses,
// local/broadcast/connected routes, multicast and port-MAC FDB entries) is left to the kernel.
import type { FdbEntry, Link, NetnsState, NodeState, Route } from '../../node/state.js';

export interface IpCommandOptions {
  /** The real netns name for a NetnsState name (`root`, `cni-…`); e.g. throwaway `kpath-t-…` names. */
  netnsName: (name: string) => string;
  /**
   * A physical uplink (`ether`) cannot be created; it is emulated by a veth whose other end
   * (`peerName`) lives in the existing namespace `netns` (an underlay a lab can bridge nodes on).
   */
  underlay?: { netns: string; peerName: string };
}

type Argv = string[];

/** True for state the kernel creates on its own when the rest is applied. */
export function isKernelAddress(ns: NetnsState, a: NetnsState['addresses'][number]): boolean {
  const link = ns.links.find((l) => l.name === a.ifname);
  if (link?.kind === 'loopback') return true;
  return a.ip.family === 6 && a.scope === 'link' && a.ip.value >> 118n === 0x3fan; // fe80::/10
}

export function isKernelFdb(ns: NetnsState, e: FdbEntry): boolean {
  const first = Number.parseInt(e.mac.slice(0, 2), 16);
  if (e.self && (first & 1) === 1) return true; // multicast groups the device joined
  const link = ns.links.find((l) => l.name === e.dev);
  return !e.self && e.state === 'permanent' && link?.mac === e.mac; // the port's / bridge's own MAC
}

function linkAttrs(l: Link): Argv {
  return ['address', l.mac, 'mtu', String(l.mtu)];
}

function createLink(node: NodeState, l: Link, opts: IpCommandOptions): Argv[] {
  const host = opts.netnsName(node.host.name);
  const ip = (ns: string, ...rest: string[]): Argv => ['ip', '-n', ns, ...rest];
  switch (l.kind) {
    case 'ether': {
      if (!opts.underlay) throw new Error(`${l.name}: a physical uplink needs IpCommandOptions.underlay`);
      const u = opts.underlay;
      return [
        ip(u.netns, 'link', 'add', u.peerName, 'type', 'veth', 'peer', 'name', l.name, 'netns', host),
        ip(host, 'link', 'set', 'dev', l.name, ...linkAttrs(l)),
      ];
    }
    case 'bridge':
      return [ip(host, 'link', 'add', l.name, ...linkAttrs(l), 'type', 'bridge')];
    case 'vxlan': {
      const v = l.vxlan;
      if (!v) throw new Error(`${l.name}: vxlan link without vxlan info`);
      const args = [
        'id',
        String(v.vni),
        'local',
        v.local.toString(),
        'dev',
        v.dev,
        'dstport',
        String(v.dstport),
      ];
      if (v.srcportMin !== 0 || v.srcportMax !== 0)
        args.push('srcport', String(v.srcportMin), String(v.srcportMax));
      args.push(v.learning ? 'learning' : 'nolearning');
      if (v.ttl !== undefined) args.push('ttl', String(v.ttl));
      if (v.ageing !== 300) args.push('ageing', String(v.ageing));
      return [ip(host, 'link', 'add', l.name, ...linkAttrs(l), 'type', 'vxlan', ...args)];
    }
    case 'veth': {
      const peer = l.peer;
      const podNs = peer ? node.pods.find((p) => p.name === peer.netns) : undefined;
      const podLink = podNs?.links.find((x) => x.name === peer?.ifname);
      if (!peer || !podNs || !podLink)
        throw new Error(`${l.name}: veth peer is not in one of the node's pods`);
      // Created from the pod side with the host end placed in the host netns, as ip.SetupVeth does.
      return [
        ip(
          opts.netnsName(podNs.name),
          'link',
          'add',
          podLink.name,
          ...linkAttrs(podLink),
          'type',
          'veth',
          'peer',
          'name',
          l.name,
          ...linkAttrs(l),
          'netns',
          host,
        ),
      ];
    }
    default:
      throw new Error(`${l.name}: cannot create a ${l.kind} device here`);
  }
}

/** The words after `ip route add` that recreate `r`. */
export function ipRouteAddArgs(r: Route): Argv {
  const out: Argv = [];
  if (r.type !== 'unicast') out.push(r.type);
  out.push(r.dst.len === 0 && r.dst.family === 4 ? 'default' : r.dst.toString());
  if (r.via) out.push('via', r.via.toString());
  if (r.dev) out.push('dev', r.dev);
  if (r.protocol !== 'boot') out.push('proto', r.protocol);
  out.push('scope', r.scope);
  if (r.src) out.push('src', r.src.toString());
  if (r.metric) out.push('metric', String(r.metric));
  if (r.onlink) out.push('onlink');
  if (r.mtu) out.push('mtu', String(r.mtu));
  if (r.table !== 'main') out.push('table', String(r.table));
  return out;
}

/** Commands that configure one namespace once its devices exist. */
function configure(ns: NetnsState, real: string): Argv[] {
  const out: Argv[] = [];
  for (const [k, v] of Object.entries(ns.sysctls))
    out.push(['ip', 'netns', 'exec', real, 'sysctl', '-qw', `${k}=${v}`]);
  for (const l of [...ns.links].sort((a, b) => a.index - b.index)) {
    if (l.flags.includes('UP')) out.push(['ip', '-n', real, 'link', 'set', 'dev', l.name, 'up']);
  }
  for (const a of ns.addresses) {
    if (isKernelAddress(ns, a)) continue;
    const args = ['ip', '-n', real, 'addr', 'add', `${a.ip.toString()}/${a.len}`];
    if (a.broadcast) args.push('brd', a.broadcast.toString());
    if (a.scope !== 'global') args.push('scope', a.scope);
    out.push([...args, 'dev', a.ifname]);
  }
  for (const r of ns.routes) {
    if (r.protocol === 'kernel') continue;
    out.push(['ip', '-n', real, 'route', 'add', ...ipRouteAddArgs(r)]);
  }
  for (const n of ns.neighbours) {
    const args = ['ip', '-n', real, 'neigh', 'add', n.ip.toString()];
    if (n.lladdr) args.push('lladdr', n.lladdr);
    if (n.router) args.push('router');
    out.push([...args, 'dev', n.dev, 'nud', n.state.toLowerCase()]);
  }
  for (const e of ns.fdb) {
    if (isKernelFdb(ns, e)) continue;
    const args = ['bridge', '-n', real, 'fdb', 'append', e.mac, 'dev', e.dev];
    if (e.dst) args.push('dst', e.dst.toString());
    if (e.vlan !== undefined) args.push('vlan', String(e.vlan));
    args.push(e.self ? 'self' : 'master');
    if (e.state !== 'dynamic') args.push(e.state);
    out.push(args);
  }
  return out;
}

/**
 * argv lists, to run in order, that build `node` in fresh namespaces: netns creation, devices in
 * ifindex order (pod ends of veths included), bridge ports, sysctls, links up, addresses, routes,
 * neighbours, FDB. The underlay netns, if used, must already exist.
 */
export function ipCommands(node: NodeState, opts: IpCommandOptions): Argv[] {
  const out: Argv[] = [];
  const host = opts.netnsName(node.host.name);
  out.push(['ip', 'netns', 'add', host]);
  for (const p of node.pods) out.push(['ip', 'netns', 'add', opts.netnsName(p.name)]);
  for (const l of [...node.host.links].sort((a, b) => a.index - b.index)) {
    if (l.kind === 'loopback') continue;
    out.push(...createLink(node, l, opts));
    if (l.master) out.push(['ip', '-n', host, 'link', 'set', 'dev', l.name, 'master', l.master]);
    if (l.bridgePort) {
      out.push([
        'ip',
        '-n',
        host,
        'link',
        'set',
        'dev',
        l.name,
        'type',
        'bridge_slave',
        'hairpin',
        l.bridgePort.hairpin ? 'on' : 'off',
      ]);
    }
  }
  // Pod-side sysctls name eth0, so they follow device creation; the pods' namespaces before the host's
  // so their links are up when the host's bridge ports come up.
  for (const p of node.pods) out.push(...configure(p, opts.netnsName(p.name)));
  out.push(...configure(node.host, host));
  return out;
}

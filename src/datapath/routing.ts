// The kernel's IPv4/IPv6 route lookup for one network namespace: the local table, then main
// (the default policy rules 0/32766), longest prefix first, lowest metric among equals, and
// source-address selection as inet_select_addr does. `ip route get` is printed from the result.
import type { IPAddr } from '../net/ip.js';
import { interfaceAddressPrefix } from '../net/ip.js';
import type { Address, NetnsState, Route } from '../node/state.js';

export type RouteDecision =
  | {
      kind: 'local';
      route: Route;
      /** Delivered to this namespace; dev is the device owning the address (lo for lookups, `ip route get` shows lo). */
      dev: string;
      src: IPAddr | undefined;
    }
  | {
      kind: 'unicast';
      route: Route;
      dev: string;
      /** The next hop whose MAC we need: the gateway, or the destination itself on a link route. */
      nextHop: IPAddr;
      gateway: IPAddr | undefined;
      src: IPAddr | undefined;
      /** The route's `mtu` if set, else the device MTU. */
      mtu: number | undefined;
    }
  | { kind: 'broadcast'; route: Route; dev: string; src: IPAddr | undefined }
  | { kind: 'blackhole' | 'prohibit'; route: Route }
  /** An `unreachable` route, or a forwarded packet in a namespace with forwarding off (EHOSTUNREACH). */
  | { kind: 'unreachable'; route?: Route; reason: string }
  | { kind: 'no-route' };

export interface LookupOptions {
  /** The packet's source when already chosen (forwarded packets, or `ip route get … from`). */
  src?: IPAddr;
  /** The interface the packet arrived on; absent for locally generated packets. */
  iif?: string;
}

const TABLE_ORDER: ReadonlyArray<Route['table']> = ['local', 'main'];

/** Longest-prefix match over one table; ties broken by the lowest metric, then first installed. */
export function lookupTable(routes: readonly Route[], table: Route['table'], dst: IPAddr): Route | undefined {
  let best: Route | undefined;
  for (const r of routes) {
    if (r.table !== table || !r.dst.contains(dst)) continue;
    if (r.type === 'broadcast' && table === 'local' && !r.dst.addr.equals(dst)) continue;
    if (
      !best ||
      r.dst.len > best.dst.len ||
      (r.dst.len === best.dst.len && (r.metric ?? 0) < (best.metric ?? 0))
    ) {
      best = r;
    }
  }
  return best;
}

export function routeLookup(ns: NetnsState, dst: IPAddr, opts: LookupOptions = {}): RouteDecision {
  for (const table of TABLE_ORDER) {
    const route = lookupTable(ns.routes, table, dst);
    if (!route) continue;
    if (route.type === 'throw') continue;
    switch (route.type) {
      case 'local':
        return { kind: 'local', route, dev: 'lo', src: route.src ?? dst };
      case 'broadcast':
        return { kind: 'broadcast', route, dev: route.dev ?? 'lo', src: route.src };
      case 'blackhole':
      case 'prohibit':
        return { kind: route.type, route };
      case 'unreachable':
        return { kind: 'unreachable', route, reason: `unreachable route ${route.dst.toString()}` };
      case 'unicast': {
        const dev = route.dev;
        if (!dev) return { kind: 'no-route' };
        // ip_route_input_slow(): a forwarded packet needs forwarding enabled, else EHOSTUNREACH.
        if (
          opts.iif !== undefined &&
          ns.sysctls[`net.ipv${dst.family}.${dst.family === 4 ? 'ip_forward' : 'conf.all.forwarding'}`] !==
            '1'
        ) {
          return {
            kind: 'unreachable',
            reason: `forwarding is disabled (net.ipv${dst.family} forwarding = 0)`,
          };
        }
        const gateway = route.via;
        const src = opts.src ?? route.src ?? selectSourceAddress(ns, dev, gateway ?? dst, route.scope);
        const link = ns.links.find((l) => l.name === dev);
        return {
          kind: 'unicast',
          route,
          dev,
          nextHop: gateway ?? dst,
          gateway,
          src,
          mtu: route.mtu ?? link?.mtu,
        };
      }
    }
  }
  return { kind: 'no-route' };
}

const SCOPE_RANK: Record<Address['scope'], number> = { global: 0, link: 253, host: 254 };
const ROUTE_SCOPE_RANK: Record<Route['scope'], number> = { global: 0, link: 253, host: 254 };

/**
 * inet_select_addr(): among the device's primary addresses with a scope no narrower than the route's,
 * prefer one whose subnet holds the target; else the first such address; else an address of another
 * device (never host-scoped ones such as 127.0.0.1).
 */
export function selectSourceAddress(
  ns: NetnsState,
  dev: string,
  target: IPAddr,
  routeScope: Route['scope'],
): IPAddr | undefined {
  const maxRank =
    ROUTE_SCOPE_RANK[routeScope === 'host' ? 'host' : routeScope === 'link' ? 'link' : 'global'];
  const usable = (a: Address) => a.ip.family === target.family && SCOPE_RANK[a.scope] <= Math.max(maxRank, 0);
  const onDev = ns.addresses.filter((a) => a.ifname === dev && usable(a));
  const inSubnet = onDev.find((a) => interfaceAddressPrefix(a).contains(target));
  if (inSubnet) return inSubnet.ip;
  if (onDev[0]) return onDev[0].ip;
  const other = ns.addresses.find(
    (a) => a.ifname !== dev && a.scope !== 'host' && a.ip.family === target.family,
  );
  return other?.ip;
}

/**
 * `ip route get DST [from SRC iif DEV]` exactly as iproute2 prints the kernel's answer (checked against
 * iproute2 6.1 on Linux here), or the RTNETLINK error it prints instead.
 */
export function formatRouteGet(dst: IPAddr, decision: RouteDecision, opts: LookupOptions = {}): string {
  const forwarded = opts.iif !== undefined;
  const from = forwarded && opts.src ? ` from ${opts.src.toString()}` : '';
  const user = forwarded ? '' : ' uid 0';
  const cache = (flags: string, mtu?: number) =>
    `    cache${flags ? ` <${flags}>` : ''}${mtu ? ` mtu ${mtu}` : ''}${forwarded ? ` iif ${opts.iif}` : ''} \n`;
  const src = (ip: IPAddr | undefined) => (!forwarded && ip ? ` src ${ip.toString()}` : '');
  switch (decision.kind) {
    case 'local':
      return `local ${dst.toString()}${from} dev lo${src(decision.src ?? dst)}${user} \n${cache('local')}`;
    case 'broadcast':
      // A forwarded lookup of a broadcast address is delivered locally (dev lo); a local one goes out the device.
      return `broadcast ${dst.toString()}${from} dev ${forwarded ? 'lo' : decision.dev}${src(decision.src)}${user} \n${cache('local,brd')}`;
    case 'unicast': {
      const via = decision.gateway ? ` via ${decision.gateway.toString()}` : '';
      return `${dst.toString()}${from}${via} dev ${decision.dev}${src(decision.src)}${user} \n${cache('', decision.route.mtu)}`;
    }
    case 'blackhole':
      return 'RTNETLINK answers: Invalid argument\n';
    case 'unreachable':
      return 'RTNETLINK answers: No route to host\n';
    case 'no-route':
      return 'RTNETLINK answers: Network is unreachable\n';
    case 'prohibit':
      return 'RTNETLINK answers: Permission denied\n';
  }
}

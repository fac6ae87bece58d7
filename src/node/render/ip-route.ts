// `ip route show [table local|all]` (iproute2 6.1), IPv4. The kernel dumps each table's FIB trie in key
// order: ascending network address, and for the same address the longer prefix first, then by metric
// (checked against the kernel on random route sets in test/node/render/kernel.test.ts). IPv6 routes are
// not modelled, so `all` is `ip -4 route show table all` (plain `table all` would add the fe80::/64,
// ff00::/8 and local IPv6 routes).
import type { NetnsState, Route } from '../state.js';

export interface IpRouteOptions {
  /**
   * `main` (the default, `ip route`), `local` (`ip route show table local`), a table number
   * (`ip route show table 100`), or `all` (`ip -4 route show table all`).
   */
  table?: 'main' | 'local' | 'all' | number;
}

const TABLE_ID: Record<string, number> = { main: 254, local: 255 };

function tableId(t: Route['table']): number {
  return typeof t === 'number' ? t : (TABLE_ID[t] ?? 0);
}

function compareRoutes(a: Route, b: Route): number {
  const t = tableId(a.table) - tableId(b.table);
  if (t !== 0) return t;
  const d = a.dst.addr.compare(b.dst.addr);
  if (d !== 0) return d;
  if (a.dst.len !== b.dst.len) return b.dst.len - a.dst.len;
  return (a.metric ?? 0) - (b.metric ?? 0);
}

/** One route as iproute2 prints it: every field followed by a space. */
export function routeLine(r: Route, showTable: boolean): string {
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  const host = r.dst.len === r.dst.addr.bits;
  parts.push(r.dst.len === 0 ? 'default' : host ? r.dst.addr.toString() : r.dst.toString());
  if (r.via) parts.push(`via ${r.via.toString()}`);
  if (r.dev) parts.push(`dev ${r.dev}`);
  if (showTable && r.table !== 'main') parts.push(`table ${r.table}`);
  // RTPROT_BOOT (what netlink and `ip route add` use by default) is not printed.
  if (r.protocol !== 'boot') parts.push(`proto ${r.protocol}`);
  if (r.scope !== 'global') parts.push(`scope ${r.scope}`);
  if (r.src) parts.push(`src ${r.src.toString()}`);
  if (r.metric) parts.push(`metric ${r.metric}`);
  if (r.onlink) parts.push('onlink');
  if (r.mtu) parts.push(`mtu ${r.mtu}`);
  return `${parts.join(' ')} `;
}

export function ipRoute(ns: NetnsState, opts: IpRouteOptions = {}): string {
  const table = opts.table ?? 'main';
  const routes = ns.routes
    .filter((r) => r.dst.family === 4)
    .filter((r) => table === 'all' || r.table === table)
    // Array.prototype.sort is stable: equal routes keep the order they were added.
    .sort(compareRoutes);
  return routes.map((r) => `${routeLine(r, table === 'all')}\n`).join('');
}

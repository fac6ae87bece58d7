// `bridge fdb show` (iproute2 6.1). The kernel dumps device by device in ifindex order
// (rtnl_fdb_dump): a bridge port first gets its bridge's entries for that port, newest first (the
// bridge's fdb_list is head-inserted), then its own unicast/multicast address lists (`self`); the bridge
// itself prints its address lists before its own entries; a VXLAN device dumps its own table, newest first.
import type { FdbEntry, NetnsState } from '../state.js';
import { byIndex } from './link-header.js';

function line(e: FdbEntry): string {
  let s = `${e.mac} dev ${e.dev} `;
  if (e.vlan !== undefined) s += `vlan ${e.vlan} `;
  if (e.dst) s += `dst ${e.dst.toString()} `;
  if (e.self) s += 'self ';
  if (e.master) s += `master ${e.master} `;
  // A dynamic (learned) entry prints no state word, leaving the trailing space.
  if (e.state !== 'dynamic') s += e.state;
  return `${s}\n`;
}

export function bridgeFdb(ns: NetnsState): string {
  let out = '';
  for (const l of byIndex(ns.links)) {
    const own = ns.fdb.filter((e) => e.dev === l.name);
    const self = own.filter((e) => e.self);
    const bridged = own.filter((e) => !e.self).reverse();
    let entries: FdbEntry[];
    if (l.kind === 'vxlan') entries = [...self].reverse();
    else if (l.kind === 'bridge') entries = [...self, ...bridged];
    else entries = [...bridged, ...self];
    out += entries.map(line).join('');
  }
  return out;
}

// `ip link` (iproute2 6.1): two lines per device, in ifindex order.
import type { NetnsState } from '../state.js';
import { byIndex, linkAddressLine, linkLine } from './link-header.js';

export function ipLink(ns: NetnsState): string {
  return byIndex(ns.links)
    .map((l) => `${linkLine(l, true)}\n${linkAddressLine(l)}\n`)
    .join('');
}

// Real-format views of a network namespace, printed as iproute2 6.1 (Debian 12) prints them.
export { bridgeFdb } from './bridge-fdb.js';
export { ipAddr } from './ip-addr.js';
export { ipLink } from './ip-link.js';
export { ipNeigh } from './ip-neigh.js';
export { type IpRouteOptions, ipRoute, routeLine } from './ip-route.js';

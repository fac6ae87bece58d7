// `ip neigh` (iproute2 6.1): `10.244.1.0 dev flannel.1 lladdr 0e:… PERMANENT ` (with the trailing space).
// The kernel dumps its neighbour hash table in an order seeded at boot; kpath prints the order added.
import type { NetnsState } from '../state.js';

export function ipNeigh(ns: NetnsState): string {
  return ns.neighbours
    .map((n) => {
      const lladdr = n.lladdr ? ` lladdr ${n.lladdr}` : '';
      const router = n.router ? ' router' : '';
      return `${n.ip.toString()} dev ${n.dev}${lladdr}${router} ${n.state} \n`;
    })
    .join('');
}

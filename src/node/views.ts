// The views of one network namespace a user can ask for (`kpath node NAME VIEW`, the web page's node
// panel): each printed exactly as the real tool prints it on the node.
import { NotFoundError } from '../model/errors.js';
import { printIptablesSave } from './iptables/index.js';
import { bridgeFdb, ipAddr, ipLink, ipNeigh, ipRoute } from './render/index.js';
import type { NetnsState, NodeState } from './state.js';

export const NODE_VIEWS = [
  'iptables-save',
  'ip-route',
  'ip-addr',
  'ip-link',
  'ip-neigh',
  'bridge-fdb',
] as const;
export type NodeView = (typeof NODE_VIEWS)[number];

export function isNodeView(v: string): v is NodeView {
  return (NODE_VIEWS as readonly string[]).includes(v);
}

export interface NodeViewOptions {
  /** ip-route: which routing table (`ip route show table …`). */
  table?: 'main' | 'local' | 'all';
  /** iptables-save: packet and byte counters (`iptables-save -c`). */
  counters?: boolean;
}

export function renderNodeView(ns: NetnsState, view: NodeView, opts: NodeViewOptions = {}): string {
  switch (view) {
    case 'iptables-save':
      return printIptablesSave(ns.iptables, { counters: !!opts.counters });
    case 'ip-route':
      return ipRoute(ns, { table: opts.table ?? 'main' });
    case 'ip-addr':
      return ipAddr(ns);
    case 'ip-link':
      return ipLink(ns);
    case 'ip-neigh':
      return ipNeigh(ns);
    case 'bridge-fdb':
      return bridgeFdb(ns);
  }
}

/** The namespace a view is about: the node's root namespace, or the sandbox of `ns/name` on that node. */
export function pickNetns(node: NodeState, pod: string | undefined): NetnsState {
  if (!pod) return node.host;
  const [ns, name] = pod.includes('/') ? (pod.split('/', 2) as [string, string]) : ['default', pod];
  const found = node.pods.find(
    (p) => p.owner.kind === 'pod' && p.owner.namespace === ns && p.owner.name === name,
  );
  if (!found) throw new NotFoundError(`pod ${ns}/${name} has no network namespace on node ${node.node}`);
  return found;
}

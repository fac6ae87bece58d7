// Entry points of the packet walk: a connection between two named things, or one raw packet injected
// at a node's interface (like an iptables TRACE). Both return the same Trace structure.
import type { Ruleset } from '../node/iptables/types.js';
import type { Twin } from '../twin.js';
import type { Protocol, Trace } from './types.js';

export interface TraceQuery {
  /** `ns/name`, `pod/ns/name`, `svc/ns/name[:port]`, `node/name`, `IP`, `IP:port`, `external[:IP]`. */
  from: string;
  to: string;
  port?: number;
  protocol: Protocol;
  /** Picks the branch at each random choice; the same seed gives the same trace. */
  seed: number;
  /** `ns/pod`: force this backend wherever kube-proxy chooses at random. */
  endpoint?: string;
  /** Skip the reply's journey. */
  noReturn?: boolean;
}

export interface InjectQuery {
  node: string;
  /** The interface the packet arrives on (default: the node's eth0); `local` for a locally generated packet. */
  iface?: string;
  src: string; // IP[:port]
  dst: string; // IP:port
  protocol: Protocol;
  seed: number;
  /** Replace a node's generated netfilter state with rules imported from a real node (`iptables-save` text parsed). */
  iptablesOverride?: Ruleset;
}

export declare function traceConnection(twin: Twin, query: TraceQuery): Trace;
export declare function traceInjected(twin: Twin, query: InjectQuery): Trace;

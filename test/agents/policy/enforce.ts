// Test helper: what the kube-router rules of the nodes do with the first packet of a pod-to-pod
// connection, evaluated by the netfilter engine (filter FORWARD, as br_netfilter runs it for bridged
// same-node traffic and as routing runs it on each node for cross-node traffic).

import { ipsetMembership } from '../../../src/agents/policy/ipset.js';
import { kubeRouterSync } from '../../../src/agents/policy/kube-router.js';
import type { MatchContext } from '../../../src/datapath/netfilter/match.js';
import { traverseChain } from '../../../src/datapath/netfilter/traverse.js';
import type { ClusterState } from '../../../src/model/cluster.js';
import type { Protocol } from '../../../src/model/k8s.js';
import { IPAddr } from '../../../src/net/ip.js';
import { makePacket, tcp, udp } from '../../../src/net/packet.js';
import { applyIptablesCommand, applyRestore, emptyRuleset } from '../../../src/node/iptables/index.js';
import type { Ruleset } from '../../../src/node/iptables/types.js';
import type { IpSet } from '../../../src/node/state.js';

export interface EnforcedNode {
  rules: Ruleset;
  ipsets: IpSet[];
}

export function kubeRouterNodes(state: ClusterState): Map<string, EnforcedNode> {
  const out = new Map<string, EnforcedNode>();
  for (const info of state.nodeInfo) {
    const sync = kubeRouterSync(state, info);
    let rules = emptyRuleset();
    for (const c of sync.commands) rules = applyIptablesCommand(rules, c);
    rules = applyRestore(rules, sync.restorePayload, { noflush: true, file: info.name });
    out.set(info.name, { rules, ipsets: sync.ipsets });
  }
  return out;
}

export interface PodEnd {
  ip: string;
  node: string;
  /** The host side of the pod's veth (physdev). */
  veth: string;
}

export type Enforced = { allowed: true } | { allowed: false; by: string };

function forward(
  n: EnforcedNode,
  src: PodEnd,
  dst: PodEnd,
  port: number,
  protocol: Protocol,
  bridged: boolean,
): Enforced {
  const l4 =
    protocol === 'TCP'
      ? tcp(40000, port)
      : protocol === 'UDP'
        ? udp(40000, port)
        : ({ kind: 'sctp', sport: 40000, dport: port } as const);
  const packet = makePacket({ src: IPAddr.parse(src.ip), dst: IPAddr.parse(dst.ip), l4 });
  const ctx: MatchContext = {
    hook: 'FORWARD',
    inIface: bridged ? 'cni0' : 'flannel.1',
    outIface: 'cni0',
    ct: { state: 'NEW', dir: 'ORIGINAL' },
    ipset: ipsetMembership(n.ipsets),
    addrType: () => 'UNICAST',
    ...(bridged ? { physdev: { in: src.veth, out: dst.veth } } : {}),
  };
  const filter = n.rules.tables.find((t) => t.name === 'filter')!;
  const r = traverseChain(filter, 'FORWARD', packet, ctx, () => 0);
  const v = r.verdict;
  if (v.kind === 'ACCEPT' || (v.kind === 'POLICY' && v.policy === 'ACCEPT')) return { allowed: true };
  if (v.kind === 'UNSUPPORTED') throw new Error(`netfilter engine: ${v.reason} ${v.rule?.text ?? ''}`);
  return { allowed: false, by: r.matched.at(-1)?.text ?? v.kind };
}

/**
 * The first packet of src → dst: FORWARD on the source node, then on the destination node. Pods of one
 * node are bridged unless `routed` (a node that routes to each pod's veth, as Calico does).
 */
export function enforced(
  nodes: Map<string, EnforcedNode>,
  src: PodEnd,
  dst: PodEnd,
  port: number,
  protocol: Protocol,
  opts: { routed?: boolean } = {},
): Enforced {
  if (src.node === dst.node) return forward(nodes.get(src.node)!, src, dst, port, protocol, !opts.routed);
  const out = forward(nodes.get(src.node)!, src, dst, port, protocol, false);
  if (!out.allowed) return out;
  return forward(nodes.get(dst.node)!, src, dst, port, protocol, false);
}

// The policy agent of a node: which one runs (if any), and what it programs. kpath models kube-router's
// NetworkPolicy controller (iptables + ipsets); a CNI without a policy agent (Flannel alone, the plain
// bridge plugin) enforces nothing, and kpath says so.
import type { ClusterState, NodeInfo } from '../../model/cluster.js';
import type { IptablesCommand } from '../../node/iptables/types.js';
import type { IpSet } from '../../node/state.js';
import { type KubeRouterOptions, kubeRouterSync } from './kube-router.js';

export type PolicyAgent = 'none' | 'kube-router';

export interface PolicyAgentOptions extends KubeRouterOptions {
  /** Overrides the choice made from the CNI plugin. */
  policyAgent?: PolicyAgent;
}

export interface PolicyAgentResult {
  agent: PolicyAgent;
  commands: IptablesCommand[];
  restorePayload?: string;
  ipsets: IpSet[];
}

/**
 * The agent enforcing policy on a node. Calico and Cilium enforce NetworkPolicy themselves; until their
 * own datapaths are modelled kpath stands kube-router's controller in for them (same verdicts for
 * NetworkPolicy, different rule text). Flannel and the bridge plugin have no policy agent.
 */
export function policyAgentFor(state: ClusterState, opts: PolicyAgentOptions = {}): PolicyAgent {
  return opts.policyAgent ?? state.config.cni.policyAgent ?? 'none';
}

export function programPolicyAgent(
  state: ClusterState,
  node: NodeInfo,
  opts: PolicyAgentOptions = {},
): PolicyAgentResult {
  const agent = policyAgentFor(state, opts);
  if (agent === 'none') return { agent, commands: [], ipsets: [] };
  const sync = kubeRouterSync(state, node, opts);
  return { agent, commands: sync.commands, restorePayload: sync.restorePayload, ipsets: sync.ipsets };
}

function countKinds(state: ClusterState): { np: number; admin: number } {
  let np = 0;
  let admin = 0;
  for (const o of state.policies) {
    if (o.kind === 'NetworkPolicy') np++;
    else if (o.kind === 'AdminNetworkPolicy' || o.kind === 'BaselineAdminNetworkPolicy') admin++;
  }
  return { np, admin };
}

const policies = (n: number) => (n === 1 ? '1 policy has' : `${n} policies have`);

/** What a user must know about enforcement: policies present that nothing on the nodes enforces. */
export function policyEnforcementWarnings(state: ClusterState, opts: PolicyAgentOptions = {}): string[] {
  const { np, admin } = countKinds(state);
  const agent = policyAgentFor(state, opts);
  const plugin = state.config.cni.plugin;
  const out: string[] = [];
  if (agent === 'none') {
    const cni = plugin === 'bridge' ? 'the bridge CNI plugin' : plugin;
    const total = np + admin;
    if (total > 0) out.push(`${cni} does not enforce NetworkPolicy: ${policies(total)} no effect`);
    return out;
  }
  // kube-router implements networking.k8s.io/v1 NetworkPolicy only.
  if (admin > 0) {
    out.push(
      `kube-router does not implement AdminNetworkPolicy/BaselineAdminNetworkPolicy: ${policies(admin)} no effect on the nodes`,
    );
  }
  return out;
}

/** A short label for output produced while policies are not enforced (`not enforced by flannel`). */
export function enforcementLabel(state: ClusterState, opts: PolicyAgentOptions = {}): string | undefined {
  if (policyAgentFor(state, opts) !== 'none') return undefined;
  const plugin = state.config.cni.plugin;
  return `as the policies specify; not enforced by ${plugin === 'bridge' ? 'the bridge plugin' : plugin}`;
}

export { ipsetMembership, ipsetRestore, ipsetSave } from './ipset.js';
export { type KubeRouterSync, kubeRouterSync } from './kube-router.js';

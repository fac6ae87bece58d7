// Programs one node the way its agents would, in the order they start on a real node: kubelet (its
// KUBE-FIREWALL and canary chains), the CNI plugin and flanneld, then kube-proxy (EnsureChain/EnsureRule
// jumps, then one `iptables-restore --noflush` of its rules), then the policy agent (its top-level chains,
// ipsets and one filter-table restore).
import type { ClusterState, NodeInfo } from '../model/cluster.js';
import { NotFoundError, UnsupportedError } from '../model/errors.js';
import { applyIptablesCommand, applyRestore, emptyRuleset } from '../node/iptables/index.js';
import type { IptablesCommand, Ruleset } from '../node/iptables/types.js';
import type { NodeState } from '../node/state.js';
import { programCni } from './cni/index.js';
import { syncIptablesRules } from './kube-proxy/iptables/proxier.js';
import { kubeletIptablesCommands } from './kube-proxy/kubelet.js';
import type { KubeProxyInput } from './kube-proxy/proxier.js';
import { type PolicyAgentOptions, programPolicyAgent } from './policy/index.js';

export type ProgramNodeOptions = PolicyAgentOptions;

export function programNode(
  state: ClusterState,
  nodeName: string,
  options: ProgramNodeOptions = {},
): NodeState {
  const info = state.nodeInfo.find((n) => n.name === nodeName);
  if (!info) throw new NotFoundError(`node "${nodeName}" not found`);
  const mode = state.config.kubeProxy.mode;
  if (mode !== 'iptables') {
    throw new UnsupportedError(
      `kube-proxy mode "${mode}" is not modelled yet; kpath programs iptables mode only`,
    );
  }
  const plugin = state.config.cni.plugin;
  if (plugin !== 'flannel' && plugin !== 'bridge') {
    throw new UnsupportedError(
      `the ${plugin} CNI is not modelled yet; kpath programs the bridge and flannel plugins`,
    );
  }
  const cni = programCni(state, info);
  const host = cni.node.host;

  let rules: Ruleset = emptyRuleset();
  const run = (cmds: readonly IptablesCommand[]) => {
    for (const cmd of cmds) rules = ensure(rules, cmd);
  };
  run(kubeletIptablesCommands({ family: 4 }));
  run(cni.iptables);
  const proxy = syncIptablesRules(
    kubeProxyInputOf(
      state,
      info,
      host.addresses.map((a) => ({ ifname: a.ifname, ip: a.ip })),
    ),
  );
  run(proxy.jumpRules);
  rules = applyRestore(rules, proxy.restoreLines, { noflush: true, file: `kube-proxy on ${info.name}` });

  const policy = programPolicyAgent(state, info, options);
  run(policy.commands);
  if (policy.restorePayload) {
    rules = applyRestore(rules, policy.restorePayload, {
      noflush: true,
      file: `kube-router on ${info.name}`,
    });
  }

  return {
    ...cni.node,
    host: {
      ...host,
      iptables: rules,
      ...(policy.agent !== 'none' ? { ipsets: policy.ipsets } : {}),
      sysctls: { ...host.sysctls, ...proxy.sysctls },
    },
  };
}

/**
 * What kube-proxy on a node is given (IPv4, the production mark format): the node itself and the
 * cluster's Services and EndpointSlices.
 */
export function kubeProxyInputOf(
  state: ClusterState,
  info: NodeInfo,
  localInterfaceAddresses?: KubeProxyInput['localInterfaceAddresses'],
): KubeProxyInput {
  return {
    nodeName: info.name,
    nodeIPs: [info.internalIP],
    nodePodCIDRs: [info.podCIDR],
    family: 4,
    config: state.config.kubeProxy,
    services: state.services,
    endpointSlices: state.endpointSlices,
    ...(localInterfaceAddresses ? { localInterfaceAddresses } : {}),
    markFormat: 'production',
  };
}

/**
 * Agents call utiliptables' EnsureChain/EnsureRule, which check first (`iptables -C`) and do nothing when
 * the chain or the identical rule already exists — so kubelet's and kube-proxy's shared KUBE-FIREWALL
 * jumps appear once.
 */
function ensure(rules: Ruleset, cmd: IptablesCommand): Ruleset {
  const chainOf = (rs: Ruleset) =>
    rs.tables.find((t) => t.name === cmd.table)?.chains.find((c) => c.name === cmd.chain);
  const before = chainOf(rules);
  if (cmd.op === 'new-chain' && before) return rules;
  const after = applyIptablesCommand(rules, cmd);
  if ((cmd.op === 'insert' || cmd.op === 'append') && before) {
    const added = chainOf(after)?.rules[cmd.op === 'insert' ? (cmd.position ?? 1) - 1 : before.rules.length];
    const same = JSON.stringify(added?.options);
    if (before.rules.some((r) => JSON.stringify(r.options) === same)) return rules;
  }
  return after;
}

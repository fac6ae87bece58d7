// kube-proxy's iptables payload for the first node of a cluster from bench/generate.ts: the input of the
// tests that hold the fast parse paths to the general one and to the kernel.
import { generateClusterYaml, type ScaleSpec } from '../../../bench/generate.js';
import { kubeProxyInputOf } from '../../../src/agents/index.js';
import {
  type IptablesProxierOutput,
  syncIptablesRules,
} from '../../../src/agents/kube-proxy/iptables/proxier.js';
import { runControlPlane } from '../../../src/control/index.js';
import { loadCluster } from '../../../src/load/index.js';
import type { ClusterState, NodeInfo } from '../../../src/model/cluster.js';

export function generatedState(spec: ScaleSpec): ClusterState {
  return runControlPlane(loadCluster([{ file: 'g.yaml', text: generateClusterYaml(spec) }]));
}

/** What kube-proxy (production mark format, no interface addresses) writes for `info`, by default the first node. */
export function kubeProxyPayloadOf(
  state: ClusterState,
  info: NodeInfo = state.nodeInfo[0]!,
): IptablesProxierOutput {
  return syncIptablesRules(kubeProxyInputOf(state, info));
}

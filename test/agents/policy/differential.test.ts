// Differential test: kube-router's rules for each node, run by the netfilter engine, against the semantic
// policy engine, cell for cell, over the upstream e2e x/y/z scenarios and every probe port.
import { describe, expect, it } from 'vitest';
import type { Protocol } from '../../../src/model/k8s.js';
import { evaluateConnection } from '../../../src/policy/evaluate.js';
import { buildPolicyIndex } from '../../../src/policy/policy-index.js';
import { XYZ_PODS, xyzState } from '../../policy/fixtures.js';
import { enforced, kubeRouterNodes, type PodEnd } from './enforce.js';
import { XYZ_SCENARIOS } from './xyz-scenarios.js';

const PROBES: [number, Protocol][] = [
  [80, 'TCP'],
  [81, 'TCP'],
  [80, 'UDP'],
  [81, 'UDP'],
  [80, 'SCTP'],
  [81, 'SCTP'],
  [53, 'UDP'],
];

/** Every cell where the two disagree, as `from -> to port/proto: kube-router X, policy Y`. */
function disagreements(name: string): string[] {
  const state = xyzState(XYZ_SCENARIOS[name]);
  const index = buildPolicyIndex(state);
  const nodes = kubeRouterNodes(state);
  const ends = new Map<string, PodEnd>();
  state.pods.forEach((p, i) => {
    ends.set(`${p.metadata.namespace}/${p.metadata.name}`, {
      ip: p.status!.podIP!,
      node: p.spec.nodeName!,
      veth: `veth${i}`,
    });
  });
  const out: string[] = [];
  for (const from of XYZ_PODS) {
    for (const to of XYZ_PODS) {
      if (from === to) continue; // loopback never reaches a netfilter hook of the node
      for (const [port, proto] of PROBES) {
        const semantic = evaluateConnection(index, from, to, port, proto).verdict === 'allow';
        const kr = enforced(nodes, ends.get(from)!, ends.get(to)!, port, proto).allowed;
        if (semantic !== kr)
          out.push(
            `${from} -> ${to} ${port}/${proto}: kube-router ${kr ? 'allow' : 'deny'}, policy ${semantic ? 'allow' : 'deny'}`,
          );
      }
    }
  }
  return out;
}

describe('kube-router rules agree with the policy semantics (x/y/z scenarios)', () => {
  for (const name of Object.keys(XYZ_SCENARIOS)) {
    if (name === 'deny-all-tcp-allow-dns') continue;
    it(name, () => {
      expect(disagreements(name)).toEqual([]);
    });
  }

  it('deny-all-tcp-allow-dns: kube-router lets a both-directions policy egress rule open ingress (known difference)', () => {
    // The policy has both policyTypes, so each pod chain jumps to it without -s/-d. On x-pod to x-pod UDP
    // 53, the egress rule (source in the policy's pods, UDP 53) marks the packet inside the destination's
    // chain too, and its ingress deny never bites. The semantic engine (and the API) deny these.
    const d = disagreements('deny-all-tcp-allow-dns');
    const xPods = XYZ_PODS.filter((p) => p.startsWith('x/'));
    const expected = xPods.flatMap((f) =>
      xPods.filter((t) => t !== f).map((t) => `${f} -> ${t} 53/UDP: kube-router allow, policy deny`),
    );
    expect(d).toEqual(expected);
  });
});

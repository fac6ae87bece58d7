// The policy agent inside node composition: programNode runs it after kube-proxy when the CNI has one
// (or when asked), its chains and ipsets land in the node's state, and the whole node ruleset (kubelet,
// flannel, kube-proxy and kube-router together) enforces the policy when the netfilter engine runs it.
import { describe, expect, it } from 'vitest';
import { programNode } from '../../../src/agents/index.js';
import { policyEnforcementWarnings } from '../../../src/agents/policy/index.js';
import { DB_POLICY, twinWith, WEB_POLICY } from '../../cli/reach-fixtures.js';
import { type EnforcedNode, enforced, type PodEnd } from './enforce.js';

const twin = twinWith(`${DB_POLICY}\n---\n${WEB_POLICY}`);
const state = twin.state;

describe('programNode with the policy agent', () => {
  it('flannel alone programs no policy chains and warns that the policies have no effect', () => {
    const node = programNode(state, 'node-1');
    const chains = node.host.iptables.tables.find((t) => t.name === 'filter')!.chains.map((c) => c.name);
    expect(chains.some((c) => c.startsWith('KUBE-ROUTER-') || c.startsWith('KUBE-POD-FW-'))).toBe(false);
    expect(node.host.ipsets).toBeUndefined();
    expect(policyEnforcementWarnings(state)).toEqual([
      'flannel does not enforce NetworkPolicy: 2 policies have no effect',
    ]);
    expect(policyEnforcementWarnings(state, { policyAgent: 'kube-router' })).toEqual([]);
  });

  it('kube-router runs after kube-proxy: its jump is first in FORWARD, kube-proxy and flannel follow', () => {
    const node = programNode(state, 'node-1', { policyAgent: 'kube-router' });
    const filter = node.host.iptables.tables.find((t) => t.name === 'filter')!;
    const forward = filter.chains.find((c) => c.name === 'FORWARD')!;
    const jumps = forward.rules.map((r) => r.options.find((o) => o.flag === '-j')?.args[0]);
    expect(jumps[0]).toBe('KUBE-ROUTER-FORWARD');
    expect(jumps).toContain('KUBE-FORWARD');
    expect(node.host.ipsets!.length).toBeGreaterThan(0);
    // One pod firewall chain per pod on this node.
    const local = state.pods.filter(
      (p) => p.spec.nodeName === 'node-1' && !p.spec.hostNetwork && p.status?.podIP,
    );
    expect(filter.chains.filter((c) => c.name.startsWith('KUBE-POD-FW-'))).toHaveLength(local.length);
  });

  it('the full node rulesets enforce the policies pod to pod', () => {
    const nodes = new Map<string, EnforcedNode>();
    for (const info of state.nodeInfo) {
      const n = programNode(state, info.name, { policyAgent: 'kube-router' });
      nodes.set(info.name, { rules: n.host.iptables, ipsets: n.host.ipsets ?? [] });
    }
    const end = (prefix: string): PodEnd => {
      const p = state.pods.find((x) => `${x.metadata.namespace}/${x.metadata.name}`.startsWith(prefix))!;
      return { ip: p.status!.podIP!, node: p.spec.nodeName!, veth: `veth-${p.metadata.name}` };
    };
    const web = end('shop/web-');
    const db = end('shop/db-0');
    const dns = end('kube-system/coredns-');
    expect(enforced(nodes, web, db, 5432, 'TCP')).toEqual({ allowed: true });
    const denied = enforced(nodes, dns, db, 5432, 'TCP');
    expect(denied.allowed).toBe(false);
    expect(denied.allowed === false && denied.by).toMatch(
      /^-A KUBE-POD-FW-\w+ -m comment --comment "rule to REJECT traffic destined for POD name:db-0 namespace: shop"/,
    );
    // web takes port 80 only from role=client pods: nobody in the demo has that label.
    expect(enforced(nodes, db, web, 80, 'TCP').allowed).toBe(false);
    // Unselected pods stay open.
    expect(enforced(nodes, web, dns, 53, 'UDP')).toEqual({ allowed: true });
  });
});

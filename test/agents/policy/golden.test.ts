// kube-router's rule text against a real node: the lines k3s's embedded kube-router wrote for one pod
// without policies (samples/k3s-pod-fw.txt). kpath's chain name differs (the real one hashes the sync
// time), so it is substituted; everything else must be byte for byte the same.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kubeRouterSync } from '../../../src/agents/policy/kube-router.js';
import {
  podFirewallChainName,
  policyIndexedEgressNamedPortIPSetName,
  policyIndexedIngressNamedPortIPSetName,
} from '../../../src/agents/policy/names.js';
import type { ClusterState } from '../../../src/model/cluster.js';
import { Prefix } from '../../../src/net/ip.js';
import {
  applyIptablesCommand,
  applyRestore,
  emptyRuleset,
  printIptablesSave,
} from '../../../src/node/iptables/index.js';
import { CONFIG, netpol, node, ns, pod, state } from '../../policy/fixtures.js';

const sample = readFileSync(new URL('./samples/k3s-pod-fw.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('-A'));

function k3sNode(): ClusterState {
  const s = state({
    namespaces: [ns('default')],
    pods: [pod({ ns: 'default', name: 'redis-84f85f9cdc-nfbl2', ip: '10.42.0.11', node: 'pi' })],
    nodes: [node('pi', '192.168.1.105')],
  });
  // k3s defaults: service CIDR 10.43.0.0/16, NodePort range 30000-32767.
  return { ...s, config: { ...CONFIG, serviceCIDR: Prefix.parse('10.43.0.0/16') } };
}

describe('kube-router rules match a real node', () => {
  it('prints the pod firewall, jump, whitelist and default-policy rules the real controller wrote', () => {
    const st = k3sNode();
    const sync = kubeRouterSync(st, st.nodeInfo[0]!);
    let rs = emptyRuleset();
    for (const c of sync.commands) rs = applyIptablesCommand(rs, c);
    rs = applyRestore(rs, sync.restorePayload, { noflush: true });
    const ours = printIptablesSave(rs, {})
      .split('\n')
      .filter((l) => l.startsWith('-A'))
      .map((l) =>
        l.replaceAll(
          podFirewallChainName('default', 'redis-84f85f9cdc-nfbl2', '0'),
          'KUBE-POD-FW-4BDGZEWEU32YM75H',
        ),
      );
    // Every rule of the real dump is there, in the same order within its chain.
    for (const chain of [
      'KUBE-NWPLCY-DEFAULT',
      'KUBE-POD-FW-4BDGZEWEU32YM75H',
      'KUBE-ROUTER-INPUT',
      'KUBE-ROUTER-OUTPUT',
      'INPUT',
      'FORWARD',
      'OUTPUT',
    ]) {
      const real = sample.filter((l) => l.startsWith(`-A ${chain} `));
      const mine = ours.filter((l) => l.startsWith(`-A ${chain} `));
      expect(mine.slice(0, real.length), chain).toEqual(real);
    }
    // KUBE-ROUTER-FORWARD: the real node has more pods; ours has this pod's four jumps, then the
    // explicit ACCEPT of ensureExplicitAccept (k3s puts its own variant in the built-in chains instead).
    expect(ours.filter((l) => l.startsWith('-A KUBE-ROUTER-FORWARD ')).slice(0, 4)).toEqual(
      sample.filter((l) => l.startsWith('-A KUBE-ROUTER-FORWARD ')),
    );
  });
});

describe('kube-router named-port ipsets', () => {
  // processIngressRules / processEgressRules refresh each named port's set with the IPs of the pods
  // exposing it: hash:ip beside pod peers and with no peers, hash:net beside ipBlock peers.
  const st = (ingressFrom: unknown[], egressTo: unknown[]) =>
    state({
      namespaces: [ns('default')],
      pods: [
        pod({ ns: 'default', name: 'web', ip: '10.244.0.5', labels: { app: 'web' } }),
        pod({
          ns: 'default',
          name: 'api',
          ip: '10.244.0.6',
          labels: { app: 'api' },
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        }),
      ],
      policies: [
        netpol('default', 'p', {
          podSelector: {},
          policyTypes: ['Ingress', 'Egress'],
          ingress: [{ from: ingressFrom, ports: [{ port: 'http' }] }],
          egress: [{ to: egressTo, ports: [{ port: 'http' }] }],
        }),
      ],
    });
  const setsOf = (s: ClusterState) => {
    const sync = kubeRouterSync(s, s.nodeInfo[0]!);
    const one = (name: string) => sync.ipsets.find((x) => x.name === name);
    return {
      ingress: one(policyIndexedIngressNamedPortIPSetName('default', 'p', 0, 0)),
      egress: one(policyIndexedEgressNamedPortIPSetName('default', 'p', 0, 0)),
      rules: sync.restorePayload,
    };
  };

  it('beside pod peers: hash:ip of the pods exposing the port, in the destination slot', () => {
    const sets = setsOf(st([{ podSelector: {} }], [{ podSelector: {} }]));
    for (const set of [sets.ingress, sets.egress]) {
      expect(set?.type).toBe('hash:ip');
      expect(set?.members.map((m) => m.member)).toEqual(['10.244.0.6']);
      expect(sets.rules).toContain(`--match-set ${set?.name} dst -p TCP --dport 8080`);
    }
  });

  it('beside an ipBlock peer: the ingress set is hash:net (RefreshSet with TypeHashNet upstream)', () => {
    const sets = setsOf(
      st([{ ipBlock: { cidr: '192.168.0.0/16' } }], [{ ipBlock: { cidr: '192.168.0.0/16' } }]),
    );
    expect(sets.ingress?.type).toBe('hash:net');
    expect(sets.ingress?.members.map((m) => m.member)).toEqual(['10.244.0.6']);
    expect(sets.rules).toContain(`--match-set ${sets.ingress?.name} dst -p TCP --dport 8080`);
    // Egress towards ipBlocks takes the numeric ports only: a named port there adds no set.
    expect(sets.egress).toBeUndefined();
  });
});

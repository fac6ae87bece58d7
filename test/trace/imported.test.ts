// traceInjected over rules imported from a real node: test/node/iptables/fixtures/kube-proxy.save was written
// by `iptables-save` (iptables v1.8.9, nf_tables) after `iptables-restore` of kube-proxy's payload on this
// machine (see capture.sh there). It replaces node-1's generated ruleset (iptablesOverride).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../../src/node/iptables/index.js';
import { traceInjected } from '../../src/trace/index.js';
import { demoTwin } from './fixture.js';

const saved = parseIptablesSave(
  readFileSync(new URL('../node/iptables/fixtures/kube-proxy.save', import.meta.url), 'utf8'),
  'kube-proxy.save',
);
const demo = demoTwin();
const inject = (src: string, dst: string, seed = 1) =>
  traceInjected(demo, { node: 'node-1', src, dst, protocol: 'tcp', seed, iptablesOverride: saved });

describe("a real node's iptables-save in place of the generated rules", () => {
  it('ClusterIP with two endpoints: both listed at 1/2, DNAT to the chosen one, no masquerade for a pod source', () => {
    const t = inject('10.0.0.2:40000', '172.30.0.44:80');
    expect(t.branches.map((b) => [b.dnat, b.probability])).toEqual([
      ['10.180.0.4:80', 0.5],
      ['10.180.0.5:80', 0.5],
    ]);
    const chosen = t.branches.find((b) => b.chosen)?.dnat;
    expect(
      t.hops.find((h) => h.component === 'conntrack' && h.action === 'DNAT')?.after.ip.dst.joinPort(80),
    ).toBe(chosen);
    expect(t.masquerade).toBe(false);
  });

  it('a service without endpoints: REJECTED by the saved filter KUBE-SERVICES rule', () => {
    const t = inject('10.0.0.2:40000', '172.30.0.46:80');
    expect(t.disposition).toBe('REJECTED');
    expect(t.reason).toBe(
      'rejected by filter KUBE-SERVICES rule 1: -A KUBE-SERVICES -d 172.30.0.46/32 -p tcp -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable (answer: ICMP icmp-port-unreachable)',
    );
  });

  it('loadBalancerSourceRanges: an allowed client is DNATed (and pinned by recent), a blocked one dropped by KUBE-PROXY-FIREWALL', () => {
    const ok = inject('203.0.113.5:40000', '5.6.7.8:80');
    const chains = ok.hops.filter((h) => h.component === 'netfilter').map((h) => h.decidedBy?.chain);
    expect(chains).toContain('KUBE-FW-NUKIZ6OKUXPJNT4C');
    expect(
      ok.hops.find((h) => h.action === 'DNAT' && h.component === 'netfilter')?.decidedBy?.text,
    ).toContain('-m recent --set --name KUBE-SEP-I77PXRDZVX7PMWMN');
    expect(ok.masquerade).toBe(true);
    const blocked = inject('203.0.113.200:40000', '5.6.7.8:80');
    expect(blocked.disposition).toBe('DROPPED');
    expect(blocked.reason).toBe(
      'dropped by filter KUBE-PROXY-FIREWALL rule 1: -A KUBE-PROXY-FIREWALL -d 5.6.7.8/32 -p tcp -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp --dport 80 -j DROP',
    );
  });
});

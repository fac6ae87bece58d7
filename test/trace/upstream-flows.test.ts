// Upstream kube-proxy's own packet-flow expectations (kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go,
// commit 531be81208e2274ef42e72525a26610a9622bcdf: TestNoEndpointsReject, TestClusterIPGeneral, TestLoadBalancer,
// TestExternalTrafficPolicyLocal/Cluster, as ported in test/agents/kube-proxy), replayed through the kernel-faithful
// walk: the rules kube-proxy generates for the upstream fixtures are imported into a demo node (iptablesOverride)
// whose eth0 holds the upstream test node IPs, and each flow is injected there. The set of possible DNAT
// destinations, REJECT/DROP and the masquerade flag must match upstream's expectations — and upstream's tracer.
import { describe, expect, it } from 'vitest';
import { syncIptablesRules } from '../../src/agents/kube-proxy/iptables/proxier.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import { applyIptablesCommand, applyRestore, emptyRuleset } from '../../src/node/iptables/index.js';
import type { Ruleset } from '../../src/node/iptables/types.js';
import type { NodeState, Route } from '../../src/node/state.js';
import { traceInjected } from '../../src/trace/index.js';
import type { Trace } from '../../src/trace/types.js';
import type { Twin } from '../../src/twin.js';
import {
  fakeProxierInput,
  nodeDump,
  type PacketFlowTest,
  TEST_NODE_IPS,
  tracePacket,
} from '../agents/kube-proxy/helpers.js';
import {
  EXT,
  NODE,
  TEST_CLUSTER_IP_GENERAL,
  TEST_ETP_CLUSTER,
  TEST_ETP_LOCAL,
  TEST_LOAD_BALANCER,
  TEST_NO_ENDPOINTS_REJECT,
} from '../agents/kube-proxy/upstream-cases.js';
import { demoTwin } from './fixture.js';

/** node-1 of the demo with the upstream fake node's IPv4 addresses added to eth0 (as `ip addr add` would). */
function upstreamNodeTwin(): Twin {
  const demo = demoTwin();
  const base = demo.node('node-1');
  const extra = TEST_NODE_IPS.filter((s) => !s.includes(':')).map((s) => IPAddr.parse(s));
  const local = (ip: IPAddr): Route => ({
    table: 'local',
    type: 'local',
    dst: Prefix.host(ip),
    dev: 'eth0',
    protocol: 'kernel',
    scope: 'host',
    src: ip,
  });
  const node1: NodeState = {
    ...base,
    host: {
      ...base.host,
      addresses: [
        ...base.host.addresses,
        ...extra.map((ip) => ({ ifname: 'eth0', ip, len: 32, scope: 'global' as const })),
      ],
      routes: [...base.host.routes, ...extra.map(local)],
    },
  };
  return {
    ...demo,
    node: (n) => (n === 'node-1' ? node1 : demo.node(n)),
    nodes: () => demo.state.nodeInfo.map((n) => (n.name === 'node-1' ? node1 : demo.node(n.name))),
  };
}

function nodeRuleset(out: ReturnType<typeof syncIptablesRules>): Ruleset {
  let rs = emptyRuleset();
  for (const c of out.jumpRules) rs = applyIptablesCommand(rs, c);
  return applyRestore(rs, out.restorePayload, { noflush: true });
}

/** What upstream's tracer reports, read off the walk: every DNAT destination possible, or the verdict. */
function outputOf(t: Trace): string {
  if (t.disposition === 'REJECTED') return 'REJECT';
  if (t.disposition === 'DROPPED' && t.reason.includes('-j DROP')) return 'DROP';
  const random = t.branches.filter((b) => b.dnat !== undefined);
  if (random.length > 0) return random.map((b) => b.dnat).join(', ');
  const dnat = t.hops.find((h) => h.component === 'netfilter' && h.action === 'DNAT');
  return dnat ? (/--to-destination (\S+)/.exec(dnat.decidedBy?.text ?? '')?.[1] ?? '?') : '';
}

const twin = upstreamNodeTwin();

function run(rs: Ruleset, flows: readonly PacketFlowTest[]) {
  return flows.map((f) => {
    // Sources the node owns (its IPs, or an LB IP it SNATed to) are locally generated, not received.
    const localSource = f.sourceIP === NODE || f.sourceIP === f.destIP;
    const t = traceInjected(twin, {
      node: 'node-1',
      iface: localSource ? 'local' : 'eth0',
      src: `${f.sourceIP}:40000`,
      dst: `${f.destIP}:${f.destPort}`,
      protocol: (f.protocol ?? 'TCP').toLowerCase() as 'tcp',
      seed: 1,
      iptablesOverride: rs,
    });
    const masq = t.hops.some((h) => h.component === 'netfilter' && h.action === 'KUBE-MARK-MASQ');
    return { name: f.name, output: outputOf(t), masq };
  });
}

function expected(flows: readonly PacketFlowTest[]) {
  return flows.map((f) => ({ name: f.name, output: f.output, masq: f.masq ?? false }));
}

function check(out: ReturnType<typeof syncIptablesRules>, flows: readonly PacketFlowTest[]): void {
  const rs = nodeRuleset(out);
  expect(run(rs, flows)).toEqual(expected(flows));
  // Differential: upstream's tracer (run on the same payload) agrees on every flow.
  const dump = nodeDump(out);
  const tracer = flows.map((f) => {
    const r = tracePacket(dump, f.sourceIP, f.protocol ?? 'TCP', f.destIP, f.destPort);
    return { name: f.name, output: r.output, masq: r.masq };
  });
  expect(run(rs, flows)).toEqual(tracer);
}

describe('TestNoEndpointsReject', () => {
  const { svc, flows } = TEST_NO_ENDPOINTS_REJECT;
  it('rejects everything, in the hook routing picks', () => {
    check(syncIptablesRules(fakeProxierInput([svc], [])), flows);
  });
  it('a NodePort is rejected in filter INPUT, a ClusterIP in filter FORWARD', () => {
    const rs = nodeRuleset(syncIptablesRules(fakeProxierInput([svc], [])));
    const np = traceInjected(twin, {
      node: 'node-1',
      src: `${EXT}:40000`,
      dst: `${NODE}:3001`,
      protocol: 'tcp',
      seed: 1,
      iptablesOverride: rs,
    });
    expect(
      np.hops
        .filter((h) => h.decidedBy?.kind === 'iptables-rule')
        .map((h) => `${h.decidedBy?.table} ${h.decidedBy?.chain}`),
    ).toContain('filter INPUT');
    expect(np.reason).toContain('filter KUBE-EXTERNAL-SERVICES');
    const cip = traceInjected(twin, {
      node: 'node-1',
      src: '10.0.0.2:40000',
      dst: '172.30.0.41:80',
      protocol: 'tcp',
      seed: 1,
      iptablesOverride: rs,
    });
    expect(cip.reason).toMatch(
      /^rejected by filter KUBE-SERVICES rule \d+: .*"ns1\/svc1:p80 has no endpoints"/,
    );
    expect(cip.hops.some((h) => h.decidedBy?.table === 'filter' && h.decidedBy.chain === 'FORWARD')).toBe(
      true,
    );
  });
});

describe('TestClusterIPGeneral', () => {
  const { services, slices, src, flows } = TEST_CLUSTER_IP_GENERAL;
  it('routes each port and protocol to its endpoints', () => {
    check(syncIptablesRules(fakeProxierInput(services, slices)), flows);
  });
  it('lists both endpoints of svc2 with probability 1/2 each, whichever the seed follows', () => {
    const rs = nodeRuleset(syncIptablesRules(fakeProxierInput(services, slices)));
    const chosen = new Set<string>();
    for (let seed = 0; seed < 16; seed++) {
      const t = traceInjected(twin, {
        node: 'node-1',
        src: `${src}:40000`,
        dst: '172.30.0.42:80',
        protocol: 'tcp',
        seed,
        iptablesOverride: rs,
      });
      expect(t.branches.map((b) => [b.dnat, b.probability])).toEqual([
        ['10.180.0.1:80', 0.5],
        ['10.180.2.1:80', 0.5],
      ]);
      chosen.add(t.branches.find((b) => b.chosen)?.dnat ?? '');
    }
    expect([...chosen].sort()).toEqual(['10.180.0.1:80', '10.180.2.1:80']);
  });
});

describe('TestLoadBalancer', () => {
  const { svc, slice, flows } = TEST_LOAD_BALANCER;
  it('honours loadBalancerSourceRanges through KUBE-FW and KUBE-PROXY-FIREWALL', () => {
    check(syncIptablesRules(fakeProxierInput([svc], [slice])), flows);
  });
});

describe('TestExternalTrafficPolicyLocal / Cluster', () => {
  it('Local: keeps the client source and short-circuits pods', () => {
    const { svc, slice, flows } = TEST_ETP_LOCAL;
    check(syncIptablesRules(fakeProxierInput([svc], [slice])), flows);
  });
  it('Cluster: masquerades all external traffic', () => {
    const { svc, slice, flows } = TEST_ETP_CLUSTER;
    check(syncIptablesRules(fakeProxierInput([svc], [slice])), flows);
  });
});

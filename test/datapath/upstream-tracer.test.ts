// Upstream kube-proxy's own packet-flow expectations (pkg/proxy/iptables/proxier_test.go, TestTracePacket),
// replayed through the kernel-faithful hooks: routing picks INPUT/FORWARD/OUTPUT instead of the upstream tracer's
// shortcut of running every filter chain, and loopback traffic re-enters through PREROUTING/INPUT as in the kernel.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EMPTY_CONNTRACK } from '../../src/datapath/conntrack.js';
import { type HookEnv, type HookResult, netfilterHooks } from '../../src/datapath/netfilter/hooks.js';
import { allOutcomes, natText } from '../../src/datapath/netfilter/traverse.js';
import type { Packet } from '../../src/net/packet.js';
import { addrTypes, ip, rulesetOf, tableOf, tcpPkt } from './helpers.js';

const RULES = rulesetOf(
  readFileSync(new URL('./fixtures/upstream-TestTracePacket.rules', import.meta.url), 'utf8'),
);
// testNodeIPs (IPv4 ones) from the upstream test; 127/8 is LOCAL as well.
const NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11'];
const isLocal = (p: Packet) => p.ip.dst.isLoopback() || NODE_IPS.some((a) => ip(a).equals(p.ip.dst));

function env(choice: HookEnv['choice'], conntrack = EMPTY_CONNTRACK): HookEnv {
  return {
    ruleset: RULES,
    conntrack,
    now: 0,
    addrType: addrTypes(NODE_IPS),
    route: (p) => (isLocal(p) ? { kind: 'local' } : { kind: 'forward', outIface: 'eth0' }),
    masqueradeAddress: () => ip('192.168.0.2'),
    choice,
  };
}

/** The upstream tracer's output string and masq flag, computed the kernel's way. */
function trace(src: string, dst: string, dport: number): { output: string; masq: boolean } {
  const p = tcpPkt(src, 12345, dst, dport);
  const local = NODE_IPS.includes(src);
  const nat = tableOf(RULES, 'nat');
  const outcomes = allOutcomes(nat, local ? 'OUTPUT' : 'PREROUTING', p, {
    hook: local ? 'OUTPUT' : 'PREROUTING',
    ct: { state: 'NEW', dir: 'ORIGINAL' },
    addrType: addrTypes(NODE_IPS),
    now: 0,
  });
  const dnats = outcomes.flatMap((o) =>
    o.result.verdict.kind === 'NAT' ? [natText(o.result.verdict.action)] : [],
  );
  const masq = outcomes.some((o) => (o.result.packet.mark & 0x4000) !== 0);
  const first = dnats[0];
  const choice: HookEnv['choice'] = first ? { dnatTo: first } : () => 0;
  let r: HookResult = netfilterHooks(
    env(choice),
    p,
    local ? { kind: 'local-out' } : { kind: 'ingress', inIface: 'eth0' },
  );
  const steps = [...r.steps];
  if (r.disposition === 'SENT' && r.outIface === 'lo') {
    r = netfilterHooks(env(choice, r.conntrack), r.packet, { kind: 'ingress', inIface: 'lo' });
    steps.push(...r.steps);
  }
  const filterVerdicts = steps.flatMap((s) =>
    s.kind === 'chain' && s.table === 'filter' && ['ACCEPT', 'DROP', 'REJECT'].includes(s.result.verdict.kind)
      ? [s.result.verdict.kind]
      : [],
  );
  return { output: [...dnats, ...filterVerdicts].join(', '), masq };
}

describe('upstream TestTracePacket flows', () => {
  const flows: [string, string, string, number, string, boolean][] = [
    ['no match', '10.0.0.2', '10.0.0.3', 80, '', false],
    ['single endpoint', '10.0.0.2', '172.30.0.41', 80, '10.180.0.1:80', false],
    ['multiple endpoints', '10.0.0.2', '172.30.0.44', 80, '10.180.0.4:80, 10.180.0.5:80', false],
    ['LOCAL, KUBE-MARK-MASQ', '192.168.0.2', '192.168.99.22', 80, '10.180.0.2:80', true],
    ['DROP', '203.0.113.2', '192.168.99.22', 80, 'DROP', false],
    ['ACCEPT (NodePortHealthCheck)', '192.168.0.2', '192.168.0.2', 30000, 'ACCEPT', false],
    ['REJECT', '10.0.0.2', '172.30.0.46', 80, 'REJECT', false],
  ];
  for (const [name, src, dst, port, output, masq] of flows) {
    it(name, () => {
      expect(trace(src, dst, port)).toEqual({ output, masq });
    });
  }
});

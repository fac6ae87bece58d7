// Differential test against the real kernel: one node namespace holding kube-router's rules and ipsets,
// nine pod namespaces (the e2e x/y/z pods, all on that node) routed through it, a TCP server on 80 and
// 81 in each pod. Every pod connects to every other pod on both ports; the kernel's answer (connected
// or refused by the REJECT) must be what the netfilter engine predicts for the same rules.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipsetRestore } from '../../../src/agents/policy/ipset.js';
import { kubeRouterSync } from '../../../src/agents/policy/kube-router.js';
import type { ClusterState } from '../../../src/model/cluster.js';
import { inNetns, iptablesArgv, kernelToolsMissing, run } from '../../fixtures/kernel.js';
import { netpol, xyzState } from '../../policy/fixtures.js';
import { enforced, kubeRouterNodes, type PodEnd } from './enforce.js';
import { XYZ_SCENARIOS } from './xyz-scenarios.js';

const TAG = `kpath-t-ke${process.pid}`;
const NODE = `${TAG}n`;

const missing = kernelToolsMissing(
  [
    ['iptables-restore', '--version'],
    ['ipset', '--version'],
    ['ip', '-V'],
  ],
  'needs iptables-restore, ipset (apt-get install -y ipset) and ip',
);
const inNs = inNetns;

const SERVER = `
const net = require('node:net');
let up = 0;
for (const port of [80, 81]) net.createServer((s) => s.end('ok')).listen(port, '0.0.0.0', () => { if (++up === 2) process.stdout.write('ready'); });
`;
// Connects to every target in parallel; prints one "ip:port ok|ECONNREFUSED|TIMEOUT" line each.
const CLIENT = `
const net = require('node:net');
const targets = JSON.parse(process.argv[1]);
let left = targets.length;
const out = [];
for (const [host, port] of targets) {
  const s = net.connect({ host, port, timeout: 3000 });
  const done = (r) => { out.push(host + ':' + port + ' ' + r); s.destroy(); if (--left === 0) { process.stdout.write(out.sort().join('\\n')); } };
  s.on('data', () => done('ok'));
  s.on('timeout', () => done('TIMEOUT'));
  s.on('error', (e) => done(e.code));
}
`;

/** Every pod on node-1, so the node namespace holds every pod's firewall chain. */
function onOneNode(policies: (typeof XYZ_SCENARIOS)[string]): ClusterState {
  const s = xyzState(policies);
  return { ...s, pods: s.pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: 'node-1' } })) };
}

// kube-router's known difference, in the kernel: a both-types policy denying all ingress but allowing
// egress TCP 80 still lets x pods reach each other on 80 (docs/reach-json.md).
const BOTH_TYPES_LEAK = [
  netpol('x', 'deny-ingress-allow-egress-80', {
    podSelector: {},
    ingress: [],
    egress: [{ ports: [{ port: 80 }] }],
    policyTypes: ['Ingress', 'Egress'],
  }),
];

const SCENARIOS: Record<string, (typeof XYZ_SCENARIOS)[string]> = {
  'Ingress and Egress together (policyTypes defaulted)':
    XYZ_SCENARIOS['Ingress and Egress together (policyTypes defaulted)']!,
  'except clause in CIDR block': XYZ_SCENARIOS['except clause in CIDR block']!,
  'Ports (only port 81 from ns y)': XYZ_SCENARIOS['Ports (only port 81 from ns y)']!,
  'PodSelector and NamespaceSelector': XYZ_SCENARIOS['PodSelector and NamespaceSelector']!,
  'both policyTypes: an egress allow opens ingress between selected pods': BOTH_TYPES_LEAK,
};

describe.skipIf(missing !== undefined)(
  `kube-router rules decide real connections as the engine predicts${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    const servers: ChildProcess[] = [];
    const pods = xyzState().pods.map((p, i) => ({
      key: `${p.metadata.namespace}/${p.metadata.name}`,
      ip: p.status!.podIP!,
      ns: `${TAG}p${i}`,
      veth: `kpv${i}`,
    }));

    beforeAll(async () => {
      run(['ip', 'netns', 'add', NODE]);
      run(['ip', '-n', NODE, 'link', 'set', 'lo', 'up']);
      inNs(NODE, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      // REJECT sends ICMP errors, which the kernel rate-limits per peer; a burst of denied probes must not time out.
      inNs(NODE, ['sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0']);
      for (const p of pods) {
        run(['ip', 'netns', 'add', p.ns]);
        run(['ip', '-n', NODE, 'link', 'add', p.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns]);
        run(['ip', '-n', p.ns, 'link', 'set', 'lo', 'up']);
        run(['ip', '-n', p.ns, 'addr', 'add', `${p.ip}/32`, 'dev', 'eth0']);
        run(['ip', '-n', p.ns, 'link', 'set', 'eth0', 'up']);
        run(['ip', '-n', p.ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
        run(['ip', '-n', p.ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
        run(['ip', '-n', NODE, 'link', 'set', p.veth, 'up']);
        // The pods' gateway: the node answers for 169.254.1.1 on every pod's veth (Calico's layout).
        run(['ip', '-n', NODE, 'addr', 'add', '169.254.1.1/32', 'dev', p.veth]);
        run(['ip', '-n', NODE, 'route', 'add', `${p.ip}/32`, 'dev', p.veth]);
        const server = spawn('ip', ['netns', 'exec', p.ns, process.execPath, '-e', SERVER], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.stdout!.once('data', () => resolve());
          server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
        });
      }
    }, 60_000);

    afterAll(() => {
      for (const s of servers) s.kill();
      for (const ns of [NODE, ...pods.map((p) => p.ns)]) {
        try {
          run(['ip', 'netns', 'del', ns]);
        } catch {
          // already gone
        }
      }
    });

    /** Loads one scenario's rules into the node namespace, replacing the previous scenario's. */
    function load(state: ClusterState): void {
      inNs(NODE, ['iptables', '-F']);
      inNs(NODE, ['iptables', '-X']);
      inNs(NODE, ['ipset', 'destroy']);
      const sync = kubeRouterSync(state, state.nodeInfo[0]!);
      inNs(NODE, ['ipset', 'restore'], ipsetRestore(sync.ipsets));
      for (const c of sync.commands) inNs(NODE, iptablesArgv(c));
      inNs(NODE, ['iptables-restore', '--noflush'], sync.restorePayload);
    }

    for (const [name, policies] of Object.entries(SCENARIOS)) {
      it(name, () => {
        const state = onOneNode(policies);
        load(state);
        const nodes = kubeRouterNodes(state);
        const end = (p: (typeof pods)[number]): PodEnd => ({ ip: p.ip, node: 'node-1', veth: p.veth });
        let denials = 0;
        for (const src of pods) {
          const targets = pods
            .filter((d) => d !== src)
            .flatMap((d) => [[d.ip, 80] as const, [d.ip, 81] as const]);
          const kernel = inNs(src.ns, [process.execPath, '-e', CLIENT, JSON.stringify(targets)]).split('\n');
          const predicted = targets
            .map(([ip, port]) => {
              const dst = pods.find((d) => d.ip === ip)!;
              // Routed through the node (not bridged): the engine runs FORWARD without physdev.
              const v = enforced(nodes, end(src), end(dst), port, 'TCP', { routed: true });
              if (!v.allowed) denials++;
              return `${ip}:${port} ${v.allowed ? 'ok' : 'ECONNREFUSED'}`;
            })
            .sort();
          expect(kernel, `from ${src.key}`).toEqual(predicted);
          if (policies === BOTH_TYPES_LEAK && src.key === 'x/a') {
            expect(kernel).toContain('10.244.0.11:80 ok'); // x/b, whose ingress the API denies
            expect(kernel).toContain('10.244.0.11:81 ECONNREFUSED');
          }
        }
        // The scenario really denies something, so agreement is not trivial.
        expect(denials).toBeGreaterThan(0);
      }, 60_000);
    }
  },
);

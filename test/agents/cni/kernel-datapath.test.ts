// The generated node state works in the real kernel: two demo nodes are applied to throwaway
// namespaces joined by an underlay bridge, and a pod on node-1 opens a TCP connection to a pod on
// node-2 — through flannel.1 (VXLAN, UDP 8472) or through host-gw routes — arriving with its own
// source address (no NAT: netfilter is empty here). Needs root, iproute2, netns, veth, bridge, vxlan.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, test } from 'vitest';
import { programCni } from '../../../src/agents/cni/index.js';
import type { FlannelBackend } from '../../../src/model/cluster.js';
import { addNetns, applyNode, kernelPrerequisite, run, settle } from '../../node/render/netns-lab.js';
import { clusterState, DEMO_NODES, demoConfig } from './fixture.js';

const missing = kernelPrerequisite();

const SERVER = `
const net = require('node:net');
const srv = net.createServer((s) => { s.end(s.remoteAddress); srv.close(); });
srv.listen(8080, '10.244.1.3', () => console.log('ready'));
setTimeout(() => process.exit(2), 15000).unref();
`;

const CLIENT = `
const s = require('node:net').connect(8080, '10.244.1.3');
let got = '';
s.on('data', (d) => { got += d; });
s.on('end', () => { process.stdout.write(got); });
s.on('error', (e) => { console.error(e.message); process.exit(1); });
setTimeout(() => { console.error('timeout'); process.exit(3); }, 5000).unref();
`;

describe.skipIf(missing !== undefined)(
  `cross-node pod traffic in the kernel (${missing ?? 'kernel available'})`,
  () => {
    test.each<[FlannelBackend, string]>([
      ['vxlan', 'dv'],
      ['host-gw', 'dh'],
    ])(
      'flannel %s: pod 10.244.0.5 on node-1 reaches pod 10.244.1.3 on node-2 with its own address',
      async (backend, tag) => {
        const state = clusterState(demoConfig({ backend }));
        const underlay = `kpath-t-${tag}-u`;
        addNetns(underlay);
        run(['ip', '-n', underlay, 'link', 'add', 'ulbr', 'type', 'bridge']);
        const n1 = applyNode(`${tag}1`, programCni(state, DEMO_NODES[0]!).node, underlay, 'n1');
        const n2 = applyNode(`${tag}2`, programCni(state, DEMO_NODES[1]!).node, underlay, 'n2');
        for (const dev of ['n1', 'n2'])
          run(['ip', '-n', underlay, 'link', 'set', 'dev', dev, 'master', 'ulbr', 'up']);
        run(['ip', '-n', underlay, 'link', 'set', 'dev', 'ulbr', 'up']);
        settle([...n1.real.values(), ...n2.real.values()]);

        const pod1 = n1.real.get(n1.node.pods[0]!.name)!;
        const pod2 = n2.real.get(n2.node.pods[0]!.name)!;
        const server = spawn('ip', ['netns', 'exec', pod2, process.execPath, '-e', SERVER], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        try {
          await once(server.stdout, 'data');
          const seen = run(['ip', 'netns', 'exec', pod1, process.execPath, '-e', CLIENT]);
          expect(seen).toBe('10.244.0.5');
        } finally {
          server.kill();
        }
      },
    );
  },
);

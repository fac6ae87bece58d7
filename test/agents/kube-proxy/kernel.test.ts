// Differential test against the real kernel: the generated production-style rules (no nfacct,
// --random-fully, mark 0x00004000) and jump rules are loaded into a throwaway network namespace with
// iptables-restore; iptables-save must give back the golden captured on Debian 12 (iptables v1.8.9
// nf_tables), and real TCP connections must land where upstream's tracer says they go.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncIptablesRules } from '../../../src/agents/kube-proxy/iptables/proxier.js';
import type { KubeProxyConfig } from '../../../src/model/cluster.js';
import { inNetns, iptablesArgv, kernelToolsMissing, run } from '../../fixtures/kernel.js';
import { overallServices, overallSlices } from './fixtures.js';
import { fakeProxierInput, nodeDump, tracePacket } from './helpers.js';

const NODE_NS = `kpath-t-kp${process.pid}n`;
const EP_NS = `kpath-t-kp${process.pid}e`;

const missing = kernelToolsMissing(
  [
    ['iptables-restore', '--version'],
    ['ip', '-V'],
  ],
  'needs iptables-restore and ip',
);
const inNs = inNetns;

const input = {
  ...fakeProxierInput(overallServices, overallSlices, { config: { masqueradeRandomFully: true } }),
  markFormat: 'production' as const,
  nfacct: false,
};
const out = syncIptablesRules(input);

// A tiny TCP client run inside a namespace: prints "<server's local addr> <peer addr as the server saw it>".
const CLIENT = `
const net = require('node:net');
const [host, port, local] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port), ...(local ? { localAddress: local } : {}), timeout: 3000 });
let data = '';
s.on('data', (d) => (data += d));
s.on('end', () => { process.stdout.write(data); process.exit(0); });
s.on('timeout', () => { process.stdout.write('TIMEOUT'); process.exit(0); });
s.on('error', (e) => { process.stdout.write(e.code); process.exit(0); });
`;
const SERVER = `
const net = require('node:net');
net.createServer((s) => s.end(s.localAddress + ' ' + s.remoteAddress)).listen(80, '0.0.0.0', () => process.stdout.write('ready'));
`;

describe.skipIf(missing !== undefined)(
  `kube-proxy iptables rules in a real kernel${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let server: ChildProcess | undefined;

    beforeAll(async () => {
      run(['ip', 'netns', 'add', NODE_NS]);
      run(['ip', 'netns', 'add', EP_NS]);
      run([
        'ip',
        '-n',
        NODE_NS,
        'link',
        'add',
        'kpv0',
        'type',
        'veth',
        'peer',
        'name',
        'kpv1',
        'netns',
        EP_NS,
      ]);
      run(['ip', '-n', NODE_NS, 'addr', 'add', '10.180.0.254/24', 'dev', 'kpv0']);
      run(['ip', '-n', NODE_NS, 'addr', 'add', '192.168.0.2/32', 'dev', 'lo']);
      for (const ns of [NODE_NS, EP_NS]) run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      run(['ip', '-n', NODE_NS, 'link', 'set', 'kpv0', 'up']);
      for (const i of [1, 2, 3, 4, 5])
        run(['ip', '-n', EP_NS, 'addr', 'add', `10.180.0.${i}/24`, 'dev', 'kpv1']);
      run(['ip', '-n', EP_NS, 'link', 'set', 'kpv1', 'up']);
      run(['ip', '-n', EP_NS, 'route', 'add', 'default', 'dev', 'kpv1']);
      // The service range must be routable before DNAT, as on a real node (default route).
      run(['ip', '-n', NODE_NS, 'route', 'add', '172.30.0.0/16', 'dev', 'kpv0']);
      for (const c of out.jumpRules) inNs(NODE_NS, iptablesArgv(c));
      inNs(NODE_NS, ['iptables-restore', '--noflush', '--counters'], out.restorePayload);
      server = spawn('ip', ['netns', 'exec', EP_NS, process.execPath, '-e', SERVER], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        server!.stdout!.once('data', () => resolve());
        server!.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
    });

    afterAll(() => {
      server?.kill();
      for (const ns of [NODE_NS, EP_NS]) {
        try {
          run(['ip', 'netns', 'del', ns]);
        } catch {
          // already gone
        }
      }
    });

    const save = (): string =>
      inNs(NODE_NS, ['iptables-save'])
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n');

    it('iptables-save gives back the golden captured from iptables v1.8.9 (nf_tables)', () => {
      const golden = readFileSync(new URL('./golden/overall.iptables-save.txt', import.meta.url), 'utf8');
      expect(save()).toBe(golden);
    });

    it('the jump rules land in the order of reference §1.4', () => {
      const lines = save().split('\n');
      const hooks = lines.filter((l) => /^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) /.test(l));
      expect(hooks).toEqual([
        '-A INPUT -j KUBE-FIREWALL',
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
        '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
        '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
        '-A OUTPUT -j KUBE-FIREWALL',
        '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
        '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
      ]);
    });

    const connect = (host: string, port: number, local?: string): string =>
      inNs(NODE_NS, [process.execPath, '-e', CLIENT, host, String(port), ...(local ? [local] : [])]);

    it('a node connection to a ClusterIP is DNATed to the endpoint the tracer names, unmasqueraded from a pod-range source', () => {
      const traced = tracePacket(nodeDump(out), '10.180.0.254', 'TCP', '172.30.0.41', 80);
      expect(traced).toMatchObject({ output: '10.180.0.1:80', masq: false });
      expect(connect('172.30.0.41', 80)).toBe('10.180.0.1 10.180.0.254');
    });

    it('a source outside the cluster CIDR is masqueraded (KUBE-MARK-MASQ then KUBE-POSTROUTING)', () => {
      const traced = tracePacket(nodeDump(out), '192.168.0.2', 'TCP', '172.30.0.41', 80);
      expect(traced.masq).toBe(true);
      // Without masquerade the server would see 192.168.0.2.
      expect(connect('172.30.0.41', 80, '192.168.0.2')).toBe('10.180.0.1 10.180.0.254');
    });

    it('a two-endpoint service lands on one of the endpoints of the statistic fan-out', () => {
      const traced = tracePacket(nodeDump(out), '10.180.0.254', 'TCP', '172.30.0.44', 80);
      expect(traced.output).toBe('10.180.0.4:80, 10.180.0.5:80');
      const got = connect('172.30.0.44', 80).split(' ')[0];
      expect(['10.180.0.4', '10.180.0.5']).toContain(got);
    });

    it('a service without endpoints is REJECTed with port-unreachable (ECONNREFUSED, no RST needed)', () => {
      expect(tracePacket(nodeDump(out), '10.180.0.254', 'TCP', '172.30.0.46', 80).output).toBe('REJECT');
      expect(connect('172.30.0.46', 80)).toBe('ECONNREFUSED');
    });
  },
);

const VARIANT_NS = `kpath-t-kp${process.pid}v`;

describe.skipIf(missing !== undefined)(
  `the kernel accepts every generated variant${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    beforeAll(() => run(['ip', 'netns', 'add', VARIANT_NS]));
    afterAll(() => {
      try {
        run(['ip', 'netns', 'del', VARIANT_NS]);
      } catch {
        // already gone
      }
    });

    const production = (family: 4 | 6, config: Partial<KubeProxyConfig> = {}) => ({
      ...fakeProxierInput(overallServices, overallSlices, {
        family,
        config: { masqueradeRandomFully: true, ...config },
      }),
      markFormat: 'production' as const,
      nfacct: false,
    });
    const variants: [string, ReturnType<typeof production>][] = [
      [
        'BridgeInterface detector',
        production(4, { detectLocalMode: 'BridgeInterface', bridgeInterface: 'cni0' }),
      ],
      [
        'InterfaceNamePrefix detector',
        production(4, { detectLocalMode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' }),
      ],
      ['no detector, masqueradeAll', production(4, { clusterCIDRs: [], masqueradeAll: true })],
      [
        'nodePortAddresses, no localhost NodePorts',
        production(4, { nodePortAddresses: ['192.168.0.0/24'], localhostNodePorts: false }),
      ],
      ['tcp_be_liberal', production(4, { conntrackTCPBeLiberal: true })],
    ];
    for (const [name, input] of variants) {
      it(name, () => {
        const payload = syncIptablesRules(input).restorePayload;
        // Without --noflush: each variant replaces the previous tables.
        inNs(VARIANT_NS, ['iptables-restore'], payload);
        const saved = inNs(VARIANT_NS, ['iptables-save']);
        const count = (text: string) => text.split('\n').filter((l) => l.startsWith('-A ')).length;
        expect(count(saved)).toBe(count(payload));
      });
    }

    it('IPv6 via ip6tables-restore', () => {
      const svc = overallServices[2]!; // ns3/svc3 NodePort, re-addressed to IPv6 below
      const v6svc = { ...svc, spec: { ...svc.spec, clusterIP: 'fd00:172:30::43' } };
      const slice = {
        ...overallSlices[2]!,
        addressType: 'IPv6' as const,
        endpoints: [{ addresses: ['fd00:10:180::3'] }],
      };
      const input = {
        ...fakeProxierInput([v6svc], [slice], { family: 6 }),
        markFormat: 'production' as const,
        nfacct: false,
      };
      const payload = syncIptablesRules(input).restorePayload;
      inNs(VARIANT_NS, ['ip6tables-restore'], payload);
      const saved = inNs(VARIANT_NS, ['ip6tables-save']);
      expect(saved).toContain('-j DNAT --to-destination [fd00:10:180::3]:80');
      expect(saved).toContain(
        '! -d ::1/128 -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
      );
    });
  },
);

// Differential test against the real kernel: the same rules are loaded into throwaway network namespaces, real
// flows are sent, and `conntrack -L` is compared with what the simulator's conntrack holds after the same packets.
// The simulator reads the rules back from the kernel's own `iptables-save`, so the canonical form is exercised.
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConntrackTable, EMPTY_CONNTRACK, formatConntrackList } from '../../src/datapath/conntrack.js';
import { type NetfilterRoute, netfilterHooks } from '../../src/datapath/netfilter/hooks.js';
import type { RecentState } from '../../src/datapath/netfilter/match.js';
import { allOutcomes, natText } from '../../src/datapath/netfilter/traverse.js';
import { Prefix } from '../../src/net/ip.js';
import type { Packet, TcpFlag } from '../../src/net/packet.js';
import type { Ruleset } from '../../src/node/iptables/types.js';
import { addrTypes, ip, rulesetOf, tcpPkt, udpPkt } from './helpers.js';

const TAG = `${process.pid % 100000}`;
const C = `kpath-t-h6c${TAG}`;
const N = `kpath-t-h6n${TAG}`;
const P = `kpath-t-h6p${TAG}`;

function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  for (const cmd of ['ip', 'iptables-restore', 'iptables-save', 'conntrack']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      return `${cmd} is not installed (apt-get install -y iproute2 iptables conntrack)`;
    }
  }
  return undefined;
}

const missing = missingPrerequisite();
const inCI = process.env.CI === 'true';

const RULES = `*mangle
-A PREROUTING -p udp -j MARK --set-mark 0x100
-A PREROUTING -p udp -j CONNMARK --save-mark
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-T - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
:KUBE-SEP-D - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-SERVICES -m comment --comment "t/svc cluster IP" -m tcp -p tcp -d 10.96.0.15 --dport 80 -j KUBE-SVC-T
-A KUBE-SERVICES -m comment --comment "t/dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SEP-D
-A KUBE-SVC-T -m comment --comment "t/svc cluster IP" -m tcp -p tcp -d 10.96.0.15 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-T -m comment --comment "t/svc -> 10.244.1.3:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-A
-A KUBE-SVC-T -m comment --comment "t/svc -> 10.244.1.4:8080" -j KUBE-SEP-B
-A KUBE-SEP-A -m comment --comment t/svc -m tcp -p tcp -j DNAT --to-destination 10.244.1.3:8080
-A KUBE-SEP-B -m comment --comment t/svc -m tcp -p tcp -j DNAT --to-destination 10.244.1.4:8080
-A KUBE-SEP-D -m comment --comment t/dns -m udp -p udp -j DNAT --to-destination 10.244.1.3:53
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
COMMIT
*filter
-A FORWARD -p tcp -m tcp --dport 9999 -j DROP
COMMIT
`;

const sh = (args: string[], input?: string) =>
  execFileSync(args[0] as string, args.slice(1), { encoding: 'utf8', ...(input ? { input } : {}) });

// The traffic generators are small Node.js programs run inside the namespaces (the project is Node-only).
const SERVER = `
const net = require('node:net'), dgram = require('node:dgram');
const held = [];
net.createServer((c) => c.once('data', () => { c.write('hi'); held.push(c); })).listen(8080, '0.0.0.0');
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send('ok', r.port, r.address));
u.bind(53, '0.0.0.0');
setTimeout(() => process.exit(0), 20000);
`;

const CLIENT = `
const net = require('node:net'), dgram = require('node:dgram'), { execFileSync } = require('node:child_process');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const connect = (opts) => new Promise((res, rej) => { const s = net.connect(opts, () => res(s)); s.once('error', rej); });
const bound = (port) => new Promise((res) => { const s = dgram.createSocket('udp4'); s.bind(port, '198.51.100.5', () => res(s)); });
(async () => {
  let c;
  for (let i = 0; i < 50 && !c; i++) {
    try { c = await connect({ host: '10.96.0.15', port: 80, localAddress: '198.51.100.5', localPort: 54321 }); }
    catch { await sleep(100); }
  }
  c.write('x');
  await new Promise((r) => c.once('data', r));
  const u = await bound(40000);
  u.send('q', 53, '10.96.0.10');
  await new Promise((r) => u.once('message', r));
  const v = await bound(40001);
  v.send('q', 30054, '198.51.100.1');
  const d = net.connect({ host: '10.244.1.3', port: 9999, localAddress: '198.51.100.5', localPort: 54400 });
  d.on('error', () => {});
  await sleep(300);
  process.stdout.write(execFileSync('ip', ['netns', 'exec', '${N}', 'conntrack', '-L'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  c.destroy();
  process.exit(0);
})();
`;

let server: ReturnType<typeof spawn> | undefined;
let kernelLines: string[] = [];
let saved = '';

function setup(): void {
  for (const n of [C, N, P]) {
    sh(['ip', 'netns', 'add', n]);
    sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  }
  sh(['ip', 'link', 'add', `h6c${TAG}`, 'netns', C, 'type', 'veth', 'peer', 'name', 'h6n0', 'netns', N]);
  sh(['ip', 'link', 'add', 'h6n1', 'netns', N, 'type', 'veth', 'peer', 'name', 'h6p0', 'netns', P]);
  sh(['ip', '-n', C, 'addr', 'add', '198.51.100.5/24', 'dev', `h6c${TAG}`]);
  sh(['ip', '-n', C, 'link', 'set', `h6c${TAG}`, 'up']);
  sh(['ip', '-n', C, 'route', 'add', 'default', 'via', '198.51.100.1']);
  sh(['ip', '-n', N, 'addr', 'add', '198.51.100.1/24', 'dev', 'h6n0']);
  sh(['ip', '-n', N, 'addr', 'add', '10.244.1.1/24', 'dev', 'h6n1']);
  sh(['ip', '-n', N, 'link', 'set', 'h6n0', 'up']);
  sh(['ip', '-n', N, 'link', 'set', 'h6n1', 'up']);
  sh(['ip', '-n', P, 'addr', 'add', '10.244.1.3/24', 'dev', 'h6p0']);
  sh(['ip', '-n', P, 'addr', 'add', '10.244.1.4/24', 'dev', 'h6p0']);
  sh(['ip', '-n', P, 'link', 'set', 'h6p0', 'up']);
  sh(['ip', '-n', P, 'route', 'add', 'default', 'via', '10.244.1.1']);
  sh(['ip', 'netns', 'exec', N, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  sh(['ip', 'netns', 'exec', N, 'iptables-restore'], RULES);
  saved = sh(['ip', 'netns', 'exec', N, 'iptables-save']);
  server = spawn('ip', ['netns', 'exec', P, process.execPath, '-e', SERVER], { stdio: 'ignore' });
  kernelLines = sh(['ip', 'netns', 'exec', C, process.execPath, '-e', CLIENT]).trimEnd().split('\n');
}

function teardown(): void {
  if (server?.pid) {
    try {
      process.kill(server.pid);
    } catch {
      // already gone
    }
  }
  for (const n of [C, N, P]) {
    try {
      execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    } catch {
      // not created
    }
  }
}

/** conntrack -L without the timeout column, which depends on wall-clock time. */
const noTimeout = (l: string) => l.replace(/^(\S+\s+\d+) \d+ /, '$1 ');

const route = (p: Packet): NetfilterRoute => {
  if (['198.51.100.1', '10.244.1.1'].some((a) => ip(a).equals(p.ip.dst))) return { kind: 'local' };
  if (Prefix.parse('10.244.1.0/24').contains(p.ip.dst)) return { kind: 'forward', outIface: 'h6n1' };
  return { kind: 'forward', outIface: 'h6n0' };
};

function simulate(ruleset: Ruleset, endpoint: string): ConntrackTable {
  let t = EMPTY_CONNTRACK;
  const send = (p: Packet, dev: string) => {
    const r = netfilterHooks(
      {
        ruleset,
        conntrack: t,
        now: 0,
        addrType: addrTypes(['198.51.100.1', '10.244.1.1']),
        route,
        masqueradeAddress: (d) => (d === 'h6n1' ? ip('10.244.1.1') : ip('198.51.100.1')),
        choice: { dnatTo: `${endpoint}:8080` },
      },
      p,
      { kind: 'ingress', inIface: dev },
    );
    t = r.conntrack;
  };
  const cl = (f: TcpFlag[]) => tcpPkt('198.51.100.5', 54321, '10.96.0.15', 80, f);
  const pod = (f: TcpFlag[]) => tcpPkt(endpoint, 8080, '10.244.1.1', 54321, f);
  send(cl(['SYN']), 'h6n0');
  send(pod(['SYN', 'ACK']), 'h6n1');
  send(cl(['ACK']), 'h6n0');
  send(cl(['PSH', 'ACK']), 'h6n0');
  send(pod(['PSH', 'ACK']), 'h6n1');
  send(cl(['ACK']), 'h6n0');
  send(udpPkt('198.51.100.5', 40000, '10.96.0.10', 53), 'h6n0');
  // not masqueraded: the pod answers the client directly (from its primary address, which is the endpoint)
  send(udpPkt('10.244.1.3', 53, '198.51.100.5', 40000), 'h6n1');
  send(udpPkt('198.51.100.5', 40001, '198.51.100.1', 30054), 'h6n0');
  send(tcpPkt('198.51.100.5', 54400, '10.244.1.3', 9999), 'h6n0');
  return t;
}

const run = !missing;
if (missing && inCI) {
  it('kernel differential prerequisites', () => {
    throw new Error(`CI=true but ${missing}`);
  });
}

describe.skipIf(!run)(
  `kernel differential (conntrack, NAT, marks)${missing ? ` — skipped: ${missing}` : ''}`,
  () => {
    beforeAll(setup, 30_000);
    afterAll(teardown);

    it('the simulator reads the kernel iptables-save output and ends with the same conntrack table', () => {
      // Which endpoint the kernel's random cascade picked:
      const tcpLine = kernelLines.find((l) => l.startsWith('tcp') && l.includes('dport=80 '));
      const endpoint = /dport=80 src=(\S+) /.exec(tcpLine ?? '')?.[1];
      expect(endpoint === '10.244.1.3' || endpoint === '10.244.1.4').toBe(true);
      const sim = simulate(rulesetOf(saved), endpoint as string);
      const simLines = formatConntrackList(sim, 0).trimEnd().split('\n');
      expect(simLines.map(noTimeout).sort()).toEqual(kernelLines.map(noTimeout).sort());
    });
  },
);

// kube-proxy's restore input with ClientIP affinity, as the agent writes it (reference/kube-proxy.md §1.6).
const AGENT_FORM = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-X - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
:KUBE-SEP-C - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-X
-A KUBE-SVC-X -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-X -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --name KUBE-SEP-A --rcheck --seconds 10800 --reap -j KUBE-SEP-A
-A KUBE-SVC-X -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -m recent --name KUBE-SEP-B --rcheck --seconds 10800 --reap -j KUBE-SEP-B
-A KUBE-SVC-X -m comment --comment "ns1/svc1:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-C --rcheck --seconds 10800 --reap -j KUBE-SEP-C
-A KUBE-SVC-X -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-A
-A KUBE-SVC-X -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-B
-A KUBE-SVC-X -m comment --comment "ns1/svc1:p80 -> 10.180.0.3:80" -j KUBE-SEP-C
-A KUBE-SEP-A -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-A -m comment --comment ns1/svc1:p80 -m recent --name KUBE-SEP-A --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SEP-B -m comment --comment ns1/svc1:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-B -m comment --comment ns1/svc1:p80 -m recent --name KUBE-SEP-B --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-SEP-C -m comment --comment ns1/svc1:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-C -m comment --comment ns1/svc1:p80 -m recent --name KUBE-SEP-C --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
COMMIT
`;

describe.skipIf(!run)('agent-written vs kernel-canonical rules give the same outcomes', () => {
  const K = `kpath-t-h6k${TAG}`;
  let canonical = '';
  beforeAll(() => {
    sh(['ip', 'netns', 'add', K]);
    sh(['ip', 'netns', 'exec', K, 'iptables-restore'], AGENT_FORM);
    canonical = sh(['ip', 'netns', 'exec', K, 'iptables-save', '-t', 'nat']);
  });
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', K], { stdio: 'ignore' });
    } catch {
      // not created
    }
  });

  it('the kernel rewrote the rules (so both forms are really exercised)', () => {
    expect(canonical).toContain(
      '-A KUBE-SVC-X -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A',
    );
    expect(canonical).toContain(
      '--rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource',
    );
  });

  it('every branch, probability, mark and affinity pin is identical', () => {
    const outcomes = (text: string, src: string, recent?: RecentState) => {
      const nat = rulesetOf(text).tables.find((t) => t.name === 'nat');
      if (!nat) throw new Error('no nat table');
      return allOutcomes(nat, 'PREROUTING', tcpPkt(src, 40000, '172.30.0.41', 80), {
        hook: 'PREROUTING',
        ct: { state: 'NEW', dir: 'ORIGINAL' },
        addrType: addrTypes([]),
        now: 100,
        ...(recent ? { recent } : {}),
      });
    };
    const summary = (os: ReturnType<typeof outcomes>) =>
      os.map((o) => ({
        p: Math.round(o.probability * 1e12),
        to: o.result.verdict.kind === 'NAT' ? natText(o.result.verdict.action) : o.result.verdict.kind,
        mark: o.result.packet.mark,
        rules: o.result.matched.map((r) => `${r.chain}#${r.number}`),
      }));
    for (const src of ['10.0.0.5', '192.168.0.9', '10.180.0.2']) {
      const a = outcomes(AGENT_FORM, src);
      const b = outcomes(canonical, src);
      expect(summary(a)).toEqual(summary(b));
      expect(a.map((o) => (o.result.verdict.kind === 'NAT' ? natText(o.result.verdict.action) : ''))).toEqual(
        ['10.180.0.1:80', '10.180.0.2:80', '10.180.0.3:80'],
      );
      // ClientIP affinity: once KUBE-SEP-B recorded the client, the next connection is pinned there.
      const pinned = a[1]?.result.recent;
      const again = summary(outcomes(canonical, src, pinned));
      expect(again).toHaveLength(1);
      expect(again[0]?.to).toBe('10.180.0.2:80');
      expect(summary(outcomes(AGENT_FORM, src, pinned))).toEqual(again);
    }
  });
});

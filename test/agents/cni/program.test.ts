// programCni against the behaviour of flanneld (vxlan, host-gw), the flannel CNI meta-plugin and the
// bridge + host-local plugins, as read in flannel-io/flannel and containernetworking/plugins and
// summarised with sources in /work/shared/reference/cni-bgp.md §2–§3 and §10.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ipCommands, programCni, subnetEnv, vtepMac } from '../../../src/agents/cni/index.js';
import { derivedMac, hostVethName, sandboxNetnsName } from '../../../src/agents/cni/mac.js';
import { linkLocalFromMac } from '../../../src/agents/cni/netns-draft.js';
import { IPAddr, Prefix } from '../../../src/net/ip.js';
import type { IptablesCommand } from '../../../src/node/iptables/types.js';
import { bridgeFdb, ipAddr, ipNeigh, ipRoute } from '../../../src/node/render/index.js';
import { clusterState, DEMO_NODES, DEMO_PODS, demoConfig, nodeInfo, pod } from './fixture.js';

const node1 = DEMO_NODES[0]!;

function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}

/** An IptablesCommand as `iptables -t … -A …` words, comments quoted as iptables-save prints them. */
function asRule(c: IptablesCommand): string {
  if (c.op === 'new-chain') return `-t ${c.table} -N ${c.chain}`;
  const words = (c.args ?? []).map((a) => (a.includes(' ') ? `"${a}"` : a));
  return `-t ${c.table} -A ${c.chain} ${words.join(' ')}`;
}

describe('Flannel VXLAN on the demo cluster (node-1)', () => {
  const result = programCni(clusterState(), node1);
  const host = result.node.host;
  const pod1 = result.node.pods[0]!;

  test("ip route: the seed's flannel.1 line exactly, plus the kernel's connected routes", () => {
    expect(ipRoute(host)).toBe(
      [
        'default via 192.168.1.1 dev eth0 ',
        '10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 ',
        '10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink ',
        '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink ',
        '192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.10 ',
        '',
      ].join('\n'),
    );
    expect(lines(ipRoute(host)).filter((l) => l.startsWith('10.244.1.0/24'))).toEqual([
      '10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink ',
    ]);
  });

  test('flannel.1: vxlan id 1 local <node ip> dev eth0 dstport 8472 nolearning, mtu 1500-50, lease /32', () => {
    const dev = host.links.find((l) => l.name === 'flannel.1')!;
    expect(dev.kind).toBe('vxlan');
    expect(dev.mtu).toBe(1450);
    expect(dev.operState).toBe('UNKNOWN');
    expect(dev.vxlan?.vni).toBe(1);
    expect(dev.vxlan?.local.toString()).toBe('192.168.1.10');
    expect(dev.vxlan?.dev).toBe('eth0');
    expect(dev.vxlan?.dstport).toBe(8472);
    expect(dev.vxlan?.learning).toBe(false);
    expect(ipAddr(host)).toContain('    inet 10.244.0.0/32 scope global flannel.1\n');
  });

  test('one PERMANENT neighbour and one self FDB entry per remote node, with the remote VTEP MAC', () => {
    expect(ipNeigh(host)).toBe(
      `10.244.1.0 dev flannel.1 lladdr ${vtepMac('node-2')} PERMANENT \n` +
        `10.244.2.0 dev flannel.1 lladdr ${vtepMac('node-3')} PERMANENT \n`,
    );
    const fdb = lines(bridgeFdb(host)).filter((l) => l.includes('flannel.1'));
    expect(fdb.sort()).toEqual(
      [
        `${vtepMac('node-2')} dev flannel.1 dst 192.168.1.11 self permanent`,
        `${vtepMac('node-3')} dev flannel.1 dst 192.168.1.12 self permanent`,
      ].sort(),
    );
  });

  test("the VTEP MAC node-1 programs for node-2 is node-2's own flannel.1 MAC", () => {
    const n2 = programCni(clusterState(), DEMO_NODES[1]!).node.host;
    expect(n2.links.find((l) => l.name === 'flannel.1')?.mac).toBe(vtepMac('node-2'));
    expect(ipRoute(n2)).toContain('10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink \n');
  });

  test('devices get ifindexes in creation order; the veth ends point at each other', () => {
    expect(host.links.map((l) => [l.index, l.name.replace(/^veth[0-9a-f]{8}$/, 'veth*')])).toEqual([
      [1, 'lo'],
      [2, 'eth0'],
      [3, 'flannel.1'],
      [4, 'cni0'],
      [5, 'veth*'],
    ]);
    const veth = host.links[4]!;
    const eth0 = pod1.links.find((l) => l.name === 'eth0')!;
    expect(veth.master).toBe('cni0');
    expect(veth.bridgePort).toEqual({ hairpin: true });
    expect(veth.peer).toEqual({ netns: pod1.name, ifname: 'eth0', ifindex: 2 });
    expect(eth0.index).toBe(2);
    expect(eth0.peer).toEqual({ netns: 'root', ifname: veth.name, ifindex: 5 });
    expect(pod1.name).toMatch(/^cni-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('cni0 holds the gateway .1/24 with broadcast; MTUs follow FLANNEL_MTU', () => {
    expect(ipAddr(host)).toContain('    inet 10.244.0.1/24 brd 10.244.0.255 scope global cni0\n');
    expect(host.links.find((l) => l.name === 'cni0')?.mtu).toBe(1450);
    expect(host.links[4]?.mtu).toBe(1450);
    expect(pod1.links.find((l) => l.name === 'eth0')?.mtu).toBe(1450);
    expect(host.links.find((l) => l.name === 'eth0')?.mtu).toBe(1500);
  });

  test('pod routes as the bridge delegate creates them (reference §3.1)', () => {
    expect(ipRoute(pod1)).toBe(
      [
        'default via 10.244.0.1 dev eth0 ',
        '10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.5 ',
        '10.244.0.0/16 via 10.244.0.1 dev eth0 ',
        '',
      ].join('\n'),
    );
    expect(ipRoute(pod1, { table: 'local' })).toBe(
      [
        'local 10.244.0.5 dev eth0 proto kernel scope host src 10.244.0.5 ',
        'broadcast 10.244.0.255 dev eth0 proto kernel scope link src 10.244.0.5 ',
        'local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 ',
        'local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 ',
        'broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 ',
        '',
      ].join('\n'),
    );
  });

  test('flanneld iptables rules, in order (pkg/trafficmngr/iptables masqRules + forwardRules)', () => {
    const masq = '-m comment --comment "flanneld masq"';
    const fwd = '-m comment --comment "flanneld forward"';
    expect(result.iptables.map(asRule)).toEqual([
      '-t nat -N FLANNEL-POSTRTG',
      `-t nat -A POSTROUTING ${masq} -j FLANNEL-POSTRTG`,
      `-t nat -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${masq} -j RETURN`,
      `-t nat -A FLANNEL-POSTRTG -s 10.244.0.0/24 -d 10.244.0.0/16 ${masq} -j RETURN`,
      `-t nat -A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.0.0/24 ${masq} -j RETURN`,
      `-t nat -A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/24 ${masq} -j RETURN`,
      `-t nat -A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 ${masq} -j MASQUERADE --random-fully`,
      `-t nat -A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 ${masq} -j MASQUERADE --random-fully`,
      '-t filter -N FLANNEL-FWD',
      `-t filter -A FORWARD ${fwd} -j FLANNEL-FWD`,
      `-t filter -A FLANNEL-FWD -s 10.244.0.0/16 ${fwd} -j ACCEPT`,
      `-t filter -A FLANNEL-FWD -d 10.244.0.0/16 ${fwd} -j ACCEPT`,
    ]);
    const old = demoConfig();
    old.kubeProxy.masqueradeRandomFully = false;
    const noFully = programCni(clusterState(old), node1).iptables.map(asRule);
    expect(noFully.filter((r) => r.includes('random-fully'))).toEqual([]);
    expect(noFully.filter((r) => r.endsWith('-j MASQUERADE'))).toHaveLength(2);
  });

  test('/run/flannel/subnet.env (reference §3.1)', () => {
    expect(subnetEnv(demoConfig(), node1)).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.0.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
    expect(subnetEnv(demoConfig({ backend: 'host-gw' }), node1)).toContain('FLANNEL_MTU=1500\n');
  });

  test('sysctls, each set by the agent that really sets it', () => {
    expect(host.sysctls).toEqual({
      'net.bridge.bridge-nf-call-iptables': '1',
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.flannel/1.accept_ra': '0',
      'net.ipv6.conf.cni0.accept_ra': '0',
    });
    expect(pod1.sysctls).toEqual({
      'net.ipv6.conf.eth0.accept_dad': '0',
      'net.ipv4.conf.eth0.arp_notify': '1',
    });
  });

  test('netfilter is left empty for the lead to compose', () => {
    expect(host.iptables).toEqual({ tables: [] });
    expect(pod1.iptables).toEqual({ tables: [] });
  });

  test('deterministic, and the input is not modified', () => {
    const state = clusterState();
    const before = JSON.stringify(state, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    const a = programCni(state, node1);
    const b = programCni(state, node1);
    expect(ipAddr(a.node.host) + bridgeFdb(a.node.host)).toBe(ipAddr(b.node.host) + bridgeFdb(b.node.host));
    expect(a.node.pods.map((p) => p.name)).toEqual(b.node.pods.map((p) => p.name));
    expect(JSON.stringify(state, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).toBe(before);
  });
});

describe('pods on a node', () => {
  test('sandboxes are created in host-local allocation order (ascending IP), whatever the input order', () => {
    const pods = [pod('shop', 'b', 'node-1', '10.244.0.9'), pod('shop', 'a', 'node-1', '10.244.0.3')];
    const r = programCni(clusterState(demoConfig(), DEMO_NODES, pods), node1);
    expect(r.node.pods.map((p) => (p.owner.kind === 'pod' ? p.owner.name : ''))).toEqual(['a', 'b']);
    expect(r.node.host.links.filter((l) => l.kind === 'veth').map((l) => l.index)).toEqual([5, 6]);
    expect(r.node.pods.map((p) => p.links[1]?.peer?.ifindex)).toEqual([5, 6]);
  });

  test('finished pods (Succeeded, Failed) have had their sandbox torn down', () => {
    const done = pod('shop', 'job-x', 'node-1', '10.244.0.8');
    done.status = { ...done.status, phase: 'Succeeded' };
    const r = programCni(clusterState(demoConfig(), DEMO_NODES, [...DEMO_PODS, done]), node1);
    expect(r.node.pods).toHaveLength(1);
  });

  test('hostNetwork pods get no netns and no veth', () => {
    const pods = [...DEMO_PODS, pod('kube-system', 'kube-flannel-ds-x', 'node-1', '192.168.1.10', true)];
    const r = programCni(clusterState(demoConfig(), DEMO_NODES, pods), node1);
    expect(r.node.pods).toHaveLength(1);
    expect(r.node.host.links.filter((l) => l.kind === 'veth')).toHaveLength(1);
  });

  test('a node with no pods has no cni0 yet: the bridge and its address come with the first ADD', () => {
    const r = programCni(clusterState(demoConfig(), DEMO_NODES, []), node1);
    expect(r.node.pods).toEqual([]);
    expect(r.node.host.links.map((l) => l.name)).toEqual(['lo', 'eth0', 'flannel.1']);
    expect(ipRoute(r.node.host)).not.toContain('cni0');
    expect(ipRoute(r.node.host)).toContain('10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink \n');
    expect(r.node.host.sysctls['net.ipv6.conf.cni0.accept_ra']).toBeUndefined();
  });

  test("pods without an IP, or with one outside the node's podCIDR, are reported and skipped", () => {
    const noIP = pod('shop', 'pending', 'node-1', '10.244.0.7');
    noIP.status = {};
    const pods = [noIP, pod('shop', 'stray', 'node-1', '10.244.5.7')];
    const r = programCni(clusterState(demoConfig(), DEMO_NODES, pods), node1);
    expect(r.node.pods).toEqual([]);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toContain('shop/pending');
    expect(r.warnings[1]).toContain('outside');
  });
});

describe('Flannel host-gw (reference §0 topology, fact 5)', () => {
  const segA = { cidr: Prefix.parse('172.16.1.0/24'), gateway: IPAddr.parse('172.16.1.1') };
  const segC = { cidr: Prefix.parse('172.16.2.0/24'), gateway: IPAddr.parse('172.16.2.1') };
  const nodes = [
    nodeInfo('node-a', '172.16.1.11', '10.244.0.0/24', segA),
    nodeInfo('node-b', '172.16.1.12', '10.244.1.0/24', segA),
    nodeInfo('node-c', '172.16.2.13', '10.244.2.0/24', segC),
  ];
  const pods = [pod('default', 'pod-a1', 'node-a', '10.244.0.2')];
  const config = demoConfig({ backend: 'host-gw' });
  config.underlay = [segA, segC];
  const r = programCni(clusterState(config, nodes, pods), nodes[0]!);

  test('a route via the peer node IP on eth0; none for the node off the segment, with the error', () => {
    expect(ipRoute(r.node.host)).toBe(
      [
        'default via 172.16.1.1 dev eth0 ',
        '10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 ',
        '10.244.1.0/24 via 172.16.1.12 dev eth0 ',
        '172.16.1.0/24 dev eth0 proto kernel scope link src 172.16.1.11 ',
        '',
      ].join('\n'),
    );
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('10.244.2.0/24 via 172.16.2.13');
    expect(r.warnings[0]).toContain('network is unreachable');
  });

  test('no tunnel device, no neighbours or FDB entries of its own; MTU stays 1500', () => {
    expect(r.node.host.links.map((l) => l.kind)).toEqual(['loopback', 'ether', 'bridge', 'veth']);
    expect(r.node.host.neighbours).toEqual([]);
    expect(r.node.pods[0]?.links[1]?.mtu).toBe(1500);
    expect(r.node.host.links.find((l) => l.name === 'cni0')?.mtu).toBe(1500);
  });
});

describe('plain bridge plugin', () => {
  const config = demoConfig({ plugin: 'bridge', hairpinMode: false });
  const r = programCni(clusterState(config), node1);

  test('no cross-node routes and no flanneld rules: the plugin provides none', () => {
    expect(ipRoute(r.node.host)).toBe(
      [
        'default via 192.168.1.1 dev eth0 ',
        '10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 ',
        '192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.10 ',
        '',
      ].join('\n'),
    );
    expect(r.iptables).toEqual([]);
    expect(r.node.host.links.some((l) => l.kind === 'vxlan')).toBe(false);
  });

  test('pod gets the default route via the gateway (isDefaultGateway) and its connected /24 only', () => {
    expect(ipRoute(r.node.pods[0]!)).toBe(
      [
        'default via 10.244.0.1 dev eth0 ',
        '10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.5 ',
        '',
      ].join('\n'),
    );
    expect(r.node.host.links.find((l) => l.kind === 'veth')?.bridgePort).toEqual({ hairpin: false });
  });
});

describe('ipCommands', () => {
  const r = programCni(clusterState(), node1);
  const names = (n: string) => (n === 'root' ? 'H' : 'P');

  test('creates devices in ifindex order with the attributes flanneld and the bridge plugin use', () => {
    const cmds = ipCommands(r.node, { netnsName: names, underlay: { netns: 'U', peerName: 'ul0' } }).map(
      (c) => c.join(' '),
    );
    const adds = cmds.filter((c) => c.includes(' link add '));
    const veth = r.node.host.links[4]!;
    expect(adds).toEqual([
      'ip -n U link add ul0 type veth peer name eth0 netns H',
      `ip -n H link add flannel.1 address ${vtepMac('node-1')} mtu 1450 type vxlan id 1 local 192.168.1.10 dev eth0 dstport 8472 nolearning`,
      `ip -n H link add cni0 address ${r.node.host.links[3]!.mac} mtu 1450 type bridge`,
      `ip -n P link add eth0 address ${r.node.pods[0]!.links[1]!.mac} mtu 1450 type veth peer name ${veth.name} address ${veth.mac} mtu 1450 netns H`,
    ]);
    // Nothing the kernel derives itself is added by hand.
    expect(cmds.some((c) => c.includes('fe80') || c.includes('127.0.0.1') || c.includes('33:33:'))).toBe(
      false,
    );
    expect(cmds.some((c) => c.includes('proto kernel'))).toBe(false);
    expect(cmds).toContain(
      `bridge -n H fdb append ${vtepMac('node-2')} dev flannel.1 dst 192.168.1.11 self permanent`,
    );
  });

  test('a physical uplink cannot be created without an underlay namespace to emulate it', () => {
    expect(() => ipCommands(r.node, { netnsName: names })).toThrow(/underlay/);
  });
});

describe('derived identities (the real ones are random)', () => {
  test('MACs are locally administered unicast: first byte bit 1 set, bit 0 clear', () => {
    fc.assert(
      fc.property(fc.string(), (seed) => {
        const mac = derivedMac(seed);
        expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
        const first = Number.parseInt(mac.slice(0, 2), 16);
        expect(first & 0b11).toBe(0b10);
      }),
    );
  });

  test("veth names are veth + 8 hex chars, netns names have containerd's cni-<uuid v4> shape", () => {
    fc.assert(
      fc.property(fc.string(), (seed) => {
        expect(hostVethName(seed)).toMatch(/^veth[0-9a-f]{8}$/);
        expect(sandboxNetnsName(seed)).toMatch(
          /^cni-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
      }),
    );
  });

  test('link-local addresses are modified EUI-64 (RFC 4291 App. A), checked against a textual model', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (bytes) => {
        const mac = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
        const b = [...bytes];
        const groups = [
          ((b[0]! ^ 2) << 8) | b[1]!,
          (b[2]! << 8) | 0xff,
          (0xfe << 8) | b[3]!,
          (b[4]! << 8) | b[5]!,
        ].map((g) => g.toString(16));
        const model = IPAddr.parse(`fe80:0:0:0:${groups.join(':')}`);
        expect(linkLocalFromMac(mac).equals(model)).toBe(true);
      }),
    );
    // The kernel's own answer for 02:42:c0:a8:01:0a (samples/node-ip-addr.txt).
    expect(linkLocalFromMac('02:42:c0:a8:01:0a').toString()).toBe('fe80::42:c0ff:fea8:10a');
  });
});

// Golden tests: the renderers against iproute2 6.1 output captured on this machine (samples/*.txt,
// produced by samples/capture.sh), for the very topology the script builds.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { NetnsDraft, UP_FLAGS } from '../../../src/agents/cni/netns-draft.js';
import { IPAddr, Prefix } from '../../../src/net/ip.js';
import { bridgeFdb, ipAddr, ipLink, ipNeigh, ipRoute } from '../../../src/node/render/index.js';
import type { NetnsState, Route } from '../../../src/node/state.js';

const sample = (name: string): string => readFileSync(new URL(`./samples/${name}`, import.meta.url), 'utf8');
const ip = IPAddr.parse;
const net = Prefix.parse;
const boot = { table: 'main', type: 'unicast', protocol: 'boot', scope: 'global' } as const;

function capturedNode(): NetnsState {
  const n = new NetnsDraft('kpath-t-node', { kind: 'node', node: 'node-1' });
  // eth0 here is a veth into the underlay namespace, exactly as capture.sh built it.
  n.addLink({
    name: 'eth0',
    kind: 'veth',
    mtu: 1500,
    mac: '02:42:c0:a8:01:0a',
    flags: [...UP_FLAGS],
    operState: 'UP',
    qdisc: 'noqueue',
    peer: { netns: 'kpath-t-ul', ifname: 'ul0', ifindex: 2 },
  });
  n.addAddress('eth0', ip('192.168.1.10'), 24, { broadcast: true });
  n.addRoute({ ...boot, dst: net('0.0.0.0/0'), via: ip('192.168.1.1'), dev: 'eth0' });
  n.addLink({
    name: 'flannel.1',
    kind: 'vxlan',
    mtu: 1450,
    mac: '0e:00:c0:a8:01:0a',
    flags: [...UP_FLAGS],
    operState: 'UNKNOWN',
    qdisc: 'noqueue',
  });
  n.addAddress('flannel.1', ip('10.244.0.0'), 32, { broadcast: false });
  n.addRoute({ ...boot, dst: net('10.244.1.0/24'), via: ip('10.244.1.0'), dev: 'flannel.1', onlink: true });
  n.addNeighbour(ip('10.244.1.0'), 'flannel.1', '0e:00:c0:a8:01:0b', 'PERMANENT');
  n.addFdb({
    mac: '0e:00:c0:a8:01:0b',
    dev: 'flannel.1',
    dst: ip('192.168.1.11'),
    self: true,
    state: 'permanent',
  });
  n.addLink({
    name: 'cni0',
    kind: 'bridge',
    mtu: 1450,
    mac: '0a:58:0a:f4:00:01',
    flags: [...UP_FLAGS],
    operState: 'UP',
    qdisc: 'noqueue',
  });
  n.addBridgeSelfEntry('cni0');
  n.addLink({
    name: 'veth1a2b3c4d',
    kind: 'veth',
    mtu: 1450,
    mac: '0a:11:22:33:44:55',
    flags: [...UP_FLAGS],
    operState: 'UP',
    qdisc: 'noqueue',
    peer: { netns: 'kpath-t-pod1', ifname: 'eth0', ifindex: 2 },
  });
  n.enslave('veth1a2b3c4d', 'cni0', true);
  // Learned from the pod's first frames after the port's own permanent entry.
  n.addFdb({ mac: '0a:58:0a:f4:00:05', dev: 'veth1a2b3c4d', master: 'cni0', self: false, state: 'dynamic' });
  n.addAddress('cni0', ip('10.244.0.1'), 24, { broadcast: true });
  return n.freeze();
}

function capturedPod(): NetnsState {
  const p = new NetnsDraft('kpath-t-pod1', { kind: 'pod', node: 'node-1', namespace: 'default', name: 'a' });
  p.addLink({
    name: 'eth0',
    kind: 'veth',
    mtu: 1450,
    mac: '0a:58:0a:f4:00:05',
    flags: [...UP_FLAGS],
    operState: 'UP',
    qdisc: 'noqueue',
    peer: { netns: 'kpath-t-node', ifname: 'veth1a2b3c4d', ifindex: 5 },
  });
  p.addAddress('eth0', ip('10.244.0.5'), 24, { broadcast: true });
  p.addRoute({ ...boot, dst: net('0.0.0.0/0'), via: ip('10.244.0.1'), dev: 'eth0' });
  p.addRoute({ ...boot, dst: net('10.244.0.0/16'), via: ip('10.244.0.1'), dev: 'eth0' });
  return p.freeze();
}

describe('renderers match iproute2 output captured on Debian 12 (samples/capture.sh)', () => {
  const node = capturedNode();
  const pod = capturedPod();

  test('ip link', () => {
    expect(ipLink(node)).toBe(sample('node-ip-link.txt'));
    expect(ipLink(pod)).toBe(sample('pod-ip-link.txt'));
  });

  test('ip addr, with the kernel-made IPv6 link-local (EUI-64) addresses', () => {
    expect(ipAddr(node)).toBe(sample('node-ip-addr.txt'));
    expect(ipAddr(pod)).toBe(sample('pod-ip-addr.txt'));
  });

  test('ip route and ip route show table local', () => {
    expect(ipRoute(node)).toBe(sample('node-ip-route.txt'));
    expect(ipRoute(node, { table: 'local' })).toBe(sample('node-ip-route-local.txt'));
    expect(ipRoute(pod)).toBe(sample('pod-ip-route.txt'));
    expect(ipRoute(pod, { table: 'local' })).toBe(sample('pod-ip-route-local.txt'));
  });

  test('ip neigh', () => {
    expect(ipNeigh(node)).toBe(sample('node-ip-neigh.txt'));
    expect(ipNeigh(pod)).toBe('');
  });

  test('bridge fdb show: multicast self entries, port and bridge MACs, a learned entry, VXLAN dst', () => {
    expect(bridgeFdb(node)).toBe(sample('node-bridge-fdb.txt'));
    expect(bridgeFdb(pod)).toBe(sample('pod-bridge-fdb.txt'));
  });

  test('ip -4 route show table all: proto, metric, onlink, mtu, blackhole, other tables', () => {
    const extra: Route[] = [
      {
        ...boot,
        dst: net('10.6.0.0/16'),
        via: ip('10.244.3.0'),
        dev: 'flannel.1',
        onlink: true,
        metric: 7,
        mtu: 1300,
        protocol: '80',
      },
      {
        ...boot,
        dst: net('10.7.0.0/16'),
        dev: 'eth0',
        scope: 'link',
        src: ip('192.168.1.10'),
        protocol: 'static',
      },
      { ...boot, type: 'blackhole', dst: net('10.8.0.0/16') },
      { ...boot, dst: net('10.9.0.0/16'), via: ip('192.168.1.12'), dev: 'eth0', metric: 100, mtu: 1400 },
      { ...boot, dst: net('10.244.0.0/16'), via: ip('192.168.1.12'), dev: 'eth0', metric: 5 },
      { ...boot, dst: net('10.244.0.0/16'), via: ip('192.168.1.13'), dev: 'eth0', metric: 1 },
      { ...boot, table: 100, dst: net('10.99.0.0/16'), dev: 'eth0', scope: 'link' },
    ];
    const withExtra: NetnsState = { ...node, routes: [...node.routes, ...extra] };
    expect(ipRoute(withExtra, { table: 'all' })).toBe(sample('node-ip-route-all.txt'));
    // `ip route show table 100` on this machine printed the same route without the `table` word.
    expect(ipRoute(withExtra, { table: 100 })).toBe('10.99.0.0/16 dev eth0 scope link \n');
  });
});

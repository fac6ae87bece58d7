// Golden answers captured from `ip route get` (iproute2 6.1, Linux) in a namespace holding the same
// addresses and routes as the state below.
import { describe, expect, it } from 'vitest';
import { formatRouteGet, routeLookup } from '../../src/datapath/routing.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import type { NetnsState, Route } from '../../src/node/state.js';

const ip = IPAddr.parse;
const route = (r: Partial<Route> & Pick<Route, 'dst'>): Route => ({
  table: 'main',
  type: 'unicast',
  protocol: 'boot',
  scope: 'global',
  ...r,
});

function node(forwarding: boolean): NetnsState {
  return {
    name: 'root',
    owner: { kind: 'node', node: 'n1' },
    links: [
      {
        index: 1,
        name: 'lo',
        kind: 'loopback',
        mtu: 65536,
        mac: '00:00:00:00:00:00',
        flags: [],
        operState: 'UNKNOWN',
        qdisc: 'noqueue',
      },
      {
        index: 2,
        name: 'eth0',
        kind: 'veth',
        mtu: 1500,
        mac: '02:00:00:00:00:01',
        flags: [],
        operState: 'UP',
        qdisc: 'noqueue',
      },
      {
        index: 3,
        name: 'cni0',
        kind: 'bridge',
        mtu: 1500,
        mac: '02:00:00:00:00:02',
        flags: [],
        operState: 'UP',
        qdisc: 'noqueue',
      },
    ],
    addresses: [
      { ifname: 'lo', ip: ip('127.0.0.1'), len: 8, scope: 'host' },
      { ifname: 'eth0', ip: ip('192.168.1.10'), len: 24, scope: 'global' },
      { ifname: 'cni0', ip: ip('10.244.0.1'), len: 24, scope: 'global' },
    ],
    routes: [
      route({ dst: Prefix.parse('0.0.0.0/0'), via: ip('192.168.1.1'), dev: 'eth0' }),
      route({ dst: Prefix.parse('10.244.1.0/24'), via: ip('10.244.1.0'), dev: 'eth0', onlink: true }),
      route({ dst: Prefix.parse('10.7.0.0/16'), via: ip('192.168.1.7'), dev: 'eth0', mtu: 1400 }),
      route({ dst: Prefix.parse('10.9.0.0/16'), type: 'unreachable' }),
      route({ dst: Prefix.parse('10.8.0.0/16'), type: 'blackhole' }),
      route({
        dst: Prefix.parse('192.168.1.0/24'),
        dev: 'eth0',
        protocol: 'kernel',
        scope: 'link',
        src: ip('192.168.1.10'),
      }),
      route({
        dst: Prefix.parse('10.244.0.0/24'),
        dev: 'cni0',
        protocol: 'kernel',
        scope: 'link',
        src: ip('10.244.0.1'),
      }),
      route({
        table: 'local',
        type: 'local',
        dst: Prefix.parse('127.0.0.0/8'),
        dev: 'lo',
        protocol: 'kernel',
        scope: 'host',
        src: ip('127.0.0.1'),
      }),
      route({
        table: 'local',
        type: 'local',
        dst: Prefix.parse('192.168.1.10/32'),
        dev: 'eth0',
        protocol: 'kernel',
        scope: 'host',
        src: ip('192.168.1.10'),
      }),
      route({
        table: 'local',
        type: 'local',
        dst: Prefix.parse('10.244.0.1/32'),
        dev: 'cni0',
        protocol: 'kernel',
        scope: 'host',
        src: ip('10.244.0.1'),
      }),
      route({
        table: 'local',
        type: 'broadcast',
        dst: Prefix.parse('10.244.0.255/32'),
        dev: 'cni0',
        protocol: 'kernel',
        scope: 'link',
        src: ip('10.244.0.1'),
      }),
    ],
    neighbours: [],
    fdb: [],
    iptables: { tables: [] },
    sysctls: forwarding ? { 'net.ipv4.ip_forward': '1' } : {},
  };
}

const get = (ns: NetnsState, dst: string, from?: string, iif?: string) => {
  const opts = iif ? { src: ip(from!), iif } : {};
  return formatRouteGet(ip(dst), routeLookup(ns, ip(dst), opts), opts);
};

describe('route lookup, as `ip route get` answers', () => {
  const n = node(true);
  it('locally generated packets', () => {
    expect(get(n, '10.244.1.2')).toBe(
      '10.244.1.2 via 10.244.1.0 dev eth0 src 192.168.1.10 uid 0 \n    cache \n',
    );
    expect(get(n, '10.244.0.7')).toBe('10.244.0.7 dev cni0 src 10.244.0.1 uid 0 \n    cache \n');
    expect(get(n, '192.168.1.10')).toBe(
      'local 192.168.1.10 dev lo src 192.168.1.10 uid 0 \n    cache <local> \n',
    );
    expect(get(n, '127.0.0.1')).toBe('local 127.0.0.1 dev lo src 127.0.0.1 uid 0 \n    cache <local> \n');
    expect(get(n, '8.8.8.8')).toBe('8.8.8.8 via 192.168.1.1 dev eth0 src 192.168.1.10 uid 0 \n    cache \n');
    expect(get(n, '10.244.0.255')).toBe(
      'broadcast 10.244.0.255 dev cni0 src 10.244.0.1 uid 0 \n    cache <local,brd> \n',
    );
    expect(get(n, '10.7.0.1')).toBe(
      '10.7.0.1 via 192.168.1.7 dev eth0 src 192.168.1.10 uid 0 \n    cache mtu 1400 \n',
    );
  });

  it('forwarded packets (iif)', () => {
    expect(get(n, '10.244.1.2', '10.244.0.5', 'cni0')).toBe(
      '10.244.1.2 from 10.244.0.5 via 10.244.1.0 dev eth0 \n    cache iif cni0 \n',
    );
    expect(get(n, '192.168.1.10', '10.244.0.5', 'cni0')).toBe(
      'local 192.168.1.10 from 10.244.0.5 dev lo \n    cache <local> iif cni0 \n',
    );
    expect(get(n, '192.168.1.20', '10.244.0.5', 'cni0')).toBe(
      '192.168.1.20 from 10.244.0.5 dev eth0 \n    cache iif cni0 \n',
    );
    expect(get(n, '10.7.0.1', '10.244.0.5', 'cni0')).toBe(
      '10.7.0.1 from 10.244.0.5 via 192.168.1.7 dev eth0 \n    cache mtu 1400 iif cni0 \n',
    );
    expect(get(n, '10.244.0.255', '10.244.0.5', 'cni0')).toBe(
      'broadcast 10.244.0.255 from 10.244.0.5 dev lo \n    cache <local,brd> iif cni0 \n',
    );
  });

  it('errors as RTNETLINK reports them', () => {
    expect(get(n, '10.9.0.1')).toBe('RTNETLINK answers: No route to host\n');
    expect(get(n, '10.8.0.1')).toBe('RTNETLINK answers: Invalid argument\n');
    const noDefault = { ...n, routes: n.routes.filter((r) => r.dst.len !== 0) };
    expect(get(noDefault, '8.8.8.8')).toBe('RTNETLINK answers: Network is unreachable\n');
    expect(get(node(false), '10.244.1.2', '10.244.0.5', 'cni0')).toBe(
      'RTNETLINK answers: No route to host\n',
    );
  });

  it('prefers the longest prefix, then the lowest metric', () => {
    const ns = node(true);
    ns.routes.push(
      route({ dst: Prefix.parse('10.244.1.0/24'), via: ip('192.168.1.99'), dev: 'eth0', metric: 100 }),
    );
    ns.routes.push(route({ dst: Prefix.parse('10.244.1.128/25'), via: ip('192.168.1.98'), dev: 'eth0' }));
    const d1 = routeLookup(ns, ip('10.244.1.2'));
    expect(d1.kind === 'unicast' && d1.gateway?.toString()).toBe('10.244.1.0');
    const d2 = routeLookup(ns, ip('10.244.1.200'));
    expect(d2.kind === 'unicast' && d2.gateway?.toString()).toBe('192.168.1.98');
  });
});

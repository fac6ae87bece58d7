import { describe, expect, it } from 'vitest';
import { addrTypeOf } from '../../src/datapath/netfilter/addrtype.js';
import { Prefix } from '../../src/net/ip.js';
import type { NetnsState, Route } from '../../src/node/state.js';
import { ip } from './helpers.js';

const localRoute = (dst: string, dev: string, type: Route['type'] = 'local'): Route => ({
  table: 'local',
  type,
  dst: Prefix.parse(dst),
  dev,
  protocol: 'kernel',
  scope: type === 'local' ? 'host' : 'link',
});

const ns = (routes: Route[]): NetnsState => ({
  name: 'root',
  owner: { kind: 'node', node: 'node-1' },
  links: [],
  addresses: [
    { ifname: 'eth0', ip: ip('192.168.1.10'), len: 24, scope: 'global', broadcast: ip('192.168.1.255') },
    { ifname: 'cni0', ip: ip('10.244.0.1'), len: 24, scope: 'global' },
  ],
  routes,
  neighbours: [],
  fdb: [],
  iptables: { tables: [] },
  sysctls: {},
});

describe('addrtype from a netns (the local table, as `ip route show table local` lists it)', () => {
  const t = addrTypeOf(
    ns([
      localRoute('127.0.0.0/8', 'lo'),
      localRoute('127.0.0.1/32', 'lo'),
      localRoute('192.168.1.10/32', 'eth0'),
      localRoute('192.168.1.255/32', 'eth0', 'broadcast'),
      localRoute('10.244.0.1/32', 'cni0'),
    ]),
  );
  it('node addresses and all of 127/8 are LOCAL; others UNICAST', () => {
    expect(t(ip('192.168.1.10'))).toBe('LOCAL');
    expect(t(ip('127.0.0.53'))).toBe('LOCAL');
    expect(t(ip('10.96.0.15'))).toBe('UNICAST');
    expect(t(ip('192.168.1.255'))).toBe('BROADCAST');
    expect(t(ip('255.255.255.255'))).toBe('BROADCAST');
    expect(t(ip('224.0.0.1'))).toBe('MULTICAST');
  });
  it('--limit-iface restricts to the device', () => {
    expect(t(ip('10.244.0.1'), 'cni0')).toBe('LOCAL');
    expect(t(ip('10.244.0.1'), 'eth0')).toBe('UNICAST');
  });
  it('falls back to interface addresses when no local table was dumped', () => {
    const f = addrTypeOf(ns([]));
    expect(f(ip('192.168.1.10'))).toBe('LOCAL');
    expect(f(ip('127.0.0.1'))).toBe('LOCAL');
    expect(f(ip('192.168.1.255'))).toBe('BROADCAST');
    expect(f(ip('10.96.0.15'))).toBe('UNICAST');
  });
});

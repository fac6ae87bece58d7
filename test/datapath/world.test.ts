// The lazy world against a brute-force model: the eager indexes kpath used to build by programming every node
// and scanning every NodeState (owners of every address, every namespace, every L2 segment member). The lazy
// world must give the same answers while asking the twin only for the nodes it needs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateClusterYaml } from '../../bench/generate.js';
import { type AddressOwner, buildWorld, gatewayMac, ownerNetns } from '../../src/datapath/world.js';
import { IPAddr } from '../../src/net/ip.js';
import type { NodeState } from '../../src/node/state.js';
import { buildTwin, type Twin } from '../../src/twin.js';

interface Model {
  owners: Map<string, { kind: AddressOwner['kind']; nsKey?: string; label: string }>;
  /** `nsKey/ifname` of every L2 member by IP, per segment id. */
  uplinks: Map<string, { mac: string; node: string }>;
  netns: Map<string, { owner: string; pod?: string }>;
}

/** What the eager world computed: every node programmed, every address of every namespace indexed. */
function eagerModel(twin: Twin): Model {
  const state = twin.state;
  const owners: Model['owners'] = new Map();
  const netns: Model['netns'] = new Map();
  const uplinks: Model['uplinks'] = new Map();
  const nodes: NodeState[] = twin.nodes();
  for (const n of nodes) {
    const hostKey = `${n.node}/root`;
    netns.set(hostKey, { owner: `node/${n.node}` });
    for (const a of n.host.addresses) {
      if (a.scope === 'host' || a.scope === 'link') continue;
      owners.set(a.ip.toString(), { kind: 'node', nsKey: hostKey, label: `node/${n.node} (${a.ifname})` });
    }
    for (const ns of n.pods) {
      const key = `${n.node}/${ns.name}`;
      const o = ns.owner;
      const label = o.kind === 'pod' ? `pod/${o.namespace}/${o.name}` : `node/${n.node}`;
      netns.set(key, { owner: label, ...(o.kind === 'pod' ? { pod: `${o.namespace}/${o.name}` } : {}) });
      for (const a of ns.addresses) {
        if (a.scope === 'host' || a.scope === 'link') continue;
        owners.set(a.ip.toString(), { kind: 'pod', nsKey: key, label });
      }
    }
    const info = state.nodeInfo.find((i) => i.name === n.node);
    const eth0 = n.host.links.find((l) => l.name === 'eth0');
    if (info && eth0) uplinks.set(info.internalIP.toString(), { mac: eth0.mac, node: n.node });
  }
  for (const s of state.config.underlay) {
    if (s.gateway) owners.set(s.gateway.toString(), { kind: 'gateway', label: `gateway ${s.gateway}` });
  }
  for (const svc of state.services) {
    const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
      if (ing.ip && !owners.has(ing.ip))
        owners.set(ing.ip, { kind: 'lb', label: `load balancer of svc/${key}` });
    }
    const ip = svc.spec.clusterIP;
    if (ip && ip !== 'None' && !owners.has(ip)) owners.set(ip, { kind: 'service', label: `svc/${key}` });
  }
  for (const e of state.config.externalHosts)
    owners.set(e.ip.toString(), { kind: 'external', label: `external/${e.name}` });
  return { owners, uplinks, netns };
}

function counted(twin: Twin): { nodeOf: (n: string) => NodeState; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    nodeOf: (n) => {
      calls.push(n);
      return twin.node(n);
    },
  };
}

const variants: [string, (y: string) => string][] = [
  ['flannel vxlan', (y) => y],
  ['flannel host-gw', (y) => y.replace('spec:\n', 'spec:\n  cni: {plugin: flannel, backend: host-gw}\n')],
  ['plain bridge', (y) => y.replace('spec:\n', 'spec:\n  cni: {plugin: bridge}\n')],
];

describe.each(variants)('the lazy world on a generated cluster (%s)', (_name, edit) => {
  const twin = buildTwin([
    { file: 'g.yaml', text: edit(generateClusterYaml({ nodes: 6, services: 30, replicas: 2 })) },
  ]);
  const model = eagerModel(twin);

  it('owns every address the eager model owns, the same way, asking only for the owner node', () => {
    for (const [ip, want] of model.owners) {
      const { nodeOf, calls } = counted(twin);
      const world = buildWorld(twin.state, nodeOf);
      const got = world.owner(IPAddr.parse(ip));
      expect({ ip, kind: got?.kind, label: got?.label }).toEqual({ ip, kind: want.kind, label: want.label });
      // A pod's, a service's, an LB's, an external host's address is known from ClusterState alone.
      if (want.kind !== 'node') expect(calls).toEqual([]);
      else expect(calls.length).toBeLessThanOrEqual(1);
      if (got && want.nsKey) expect(ownerNetns(world, got)).toBe(want.nsKey);
    }
  });

  it('property: an address nobody holds has no owner in either, and costs at most one node', () => {
    const world = buildWorld(twin.state, (n) => twin.node(n));
    fc.assert(
      fc.property(
        fc.constantFrom('10.0.0.0', '10.0.3.0', '172.16.0.0', '192.168.0.0', '100.64.0.0'),
        fc.integer({ min: 0, max: 1023 }),
        (base, i) => {
          const ip = IPAddr.parse(base).add(i);
          expect(world.owner(ip)?.label).toBe(model.owners.get(ip.toString())?.label);
        },
      ),
      { numRuns: 300, seed: 3 },
    );
  });

  it('every namespace by key, with its owner and pod, programming only its node', () => {
    for (const [key, want] of model.netns) {
      const { nodeOf, calls } = counted(twin);
      const world = buildWorld(twin.state, nodeOf);
      const h = world.netns(key);
      expect({
        key,
        owner: h?.owner,
        pod: h?.pod ? `${h.pod.metadata.namespace}/${h.pod.metadata.name}` : undefined,
      }).toEqual({
        key,
        ...want,
      });
      expect(calls).toEqual([key.split('/')[0]]);
      if (want.pod) expect(world.podNetns(want.pod)).toBe(key);
    }
  });

  it('the underlay answers ARP for a node address with that node’s eth0 MAC, and only programs that node', () => {
    const seg = twin.state.config.underlay[0];
    if (!seg) throw new Error('no underlay');
    for (const [ip, want] of model.uplinks) {
      const { nodeOf, calls } = counted(twin);
      const world = buildWorld(twin.state, nodeOf);
      const u = world.underlaySegment(`underlay/${seg.cidr}`);
      const m = u?.memberByIp(IPAddr.parse(ip));
      expect(m?.mac).toBe(want.mac);
      expect(m?.at).toEqual({ nsKey: `${want.node}/root`, ifname: 'eth0' });
      expect(u?.memberByMac(want.mac, IPAddr.parse(ip))).toBe(m);
      expect(calls).toEqual([want.node]);
    }
    const world = buildWorld(twin.state, (n) => twin.node(n));
    const u = world.underlaySegment(`underlay/${seg.cidr}`);
    const gw = seg.gateway ?? IPAddr.parse('0.0.0.0');
    expect(u?.memberByIp(gw)?.mac).toBe(gatewayMac(seg));
    expect(u?.memberByIp(IPAddr.parse('192.168.200.200'))).toBeUndefined();
  });
});

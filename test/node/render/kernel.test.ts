// Differential test against the real kernel: the NodeState programCni generates is applied to throwaway
// network namespaces with ipCommands(), then every renderer's text is compared line for line with what
// iproute2 prints for that namespace. Needs root, iproute2, netns, veth, bridge and vxlan.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ipCommands, ipRouteAddArgs, programCni } from '../../../src/agents/cni/index.js';
import { NetnsDraft, UP_FLAGS } from '../../../src/agents/cni/netns-draft.js';
import type { ClusterState, NodeInfo } from '../../../src/model/cluster.js';
import { IPAddr, Prefix } from '../../../src/net/ip.js';
import { bridgeFdb, ipAddr, ipLink, ipNeigh, ipRoute } from '../../../src/node/render/index.js';
import type { NetnsState, NodeState, Route } from '../../../src/node/state.js';
import { clusterState, DEMO_NODES, DEMO_PODS, demoConfig, nodeInfo, pod } from '../../agents/cni/fixture.js';
import { type Applied, addNetns, applyNode, kernelPrerequisite, run, settle } from './netns-lab.js';

const missing = kernelPrerequisite();

/** Applies a node with its eth0 peer alone in kpath-t-<tag>-u. */
function apply(tag: string, node: NodeState): Applied {
  const underlay = `kpath-t-${tag}-u`;
  addNetns(underlay);
  const applied = applyNode(tag, node, underlay, 'ul0');
  run(['ip', '-n', underlay, 'link', 'set', 'dev', 'ul0', 'up']);
  settle([...applied.real.values()]);
  return applied;
}

/**
 * What the kernel prints, with the differences that come from the lab itself removed:
 * - the node's eth0 is a veth into an underlay namespace (no physical NIC or dummy here), so its
 *   `@ifN`, `link-netns` and noqueue qdisc become those of the modelled NIC (no peer, fq_codel);
 * - the test namespaces are named kpath-t-…: pod namespaces map back to their cni-… names, and the
 *   node namespace, which on a real node is the unnamed root, shows as `link-netnsid 0`;
 * - learned (dynamic) FDB entries come from the pods' own IPv6 MLD/ND at link-up, traffic and timing,
 *   not programmed state: they are dropped;
 * - the neighbour table is dumped in hash order (seeded at boot): lines are compared sorted.
 */
function normalise(applied: Applied, ns: NetnsState, text: string): string {
  let out = text;
  const isHost = ns.name === applied.node.host.name;
  for (const [model, real] of applied.real) {
    const replacement = model === applied.node.host.name ? 'link-netnsid 0' : `link-netns ${model}`;
    out = out.split(`link-netns ${real}`).join(replacement);
  }
  if (isHost) {
    out = out.replace(/^(\d+): eth0@if\d+: (.*) qdisc noqueue /m, '$1: eth0: $2 qdisc fq_codel ');
    out = out.replace(/ link-netns kpath-t-[^ \n]+-u$/m, '');
  }
  return out;
}

function sortLines(text: string): string {
  return text.split('\n').filter(Boolean).sort().join('\n');
}

function compareNamespace(applied: Applied, ns: NetnsState): void {
  const real = applied.real.get(ns.name)!;
  const get = (...args: string[]) => normalise(applied, ns, run(['ip', '-n', real, ...args]));
  expect(get('link'), `ip link in ${ns.name}`).toBe(ipLink(ns));
  expect(get('addr'), `ip addr in ${ns.name}`).toBe(ipAddr(ns));
  expect(get('route'), `ip route in ${ns.name}`).toBe(ipRoute(ns));
  expect(get('route', 'show', 'table', 'local'), `ip route show table local in ${ns.name}`).toBe(
    ipRoute(ns, { table: 'local' }),
  );
  expect(get('-4', 'route', 'show', 'table', 'all'), `ip -4 route show table all in ${ns.name}`).toBe(
    ipRoute(ns, { table: 'all' }),
  );
  expect(sortLines(get('neigh')), `ip neigh in ${ns.name}`).toBe(sortLines(ipNeigh(ns)));
  const fdb = normalise(applied, ns, run(['bridge', '-n', real, 'fdb', 'show']))
    .split('\n')
    .filter((l) => l === '' || / (permanent|static)$/.test(l))
    .join('\n');
  expect(fdb, `bridge fdb show in ${ns.name}`).toBe(bridgeFdb(ns));
  // State the renderers do not print, read back from the kernel: sysctls and bridge-port hairpin.
  for (const [key, value] of Object.entries(ns.sysctls)) {
    expect(run(['ip', 'netns', 'exec', real, 'sysctl', '-n', key]).trim(), `${key} in ${ns.name}`).toBe(
      value,
    );
  }
  for (const l of ns.links.filter((x) => x.bridgePort)) {
    const sysfs = `/sys/class/net/${l.name}/brport/hairpin_mode`;
    const hairpin = run(['ip', 'netns', 'exec', real, 'cat', sysfs]).trim();
    expect(hairpin, `hairpin of ${l.name}`).toBe(l.bridgePort?.hairpin ? '1' : '0');
  }
}

function compareNode(tag: string, state: ClusterState, node: NodeInfo): NodeState {
  const result = programCni(state, node);
  const applied = apply(tag, result.node);
  compareNamespace(applied, result.node.host);
  for (const p of result.node.pods) compareNamespace(applied, p);
  return result.node;
}

describe.skipIf(missing !== undefined)(`kernel differential (${missing ?? 'kernel available'})`, () => {
  test('flannel vxlan node with two pods matches the kernel', () => {
    const pods = [...DEMO_PODS, pod('shop', 'web-7c9d8-abcde', 'node-1', '10.244.0.6')];
    const node = compareNode('vx', clusterState(demoConfig(), DEMO_NODES, pods), DEMO_NODES[0]!);
    expect(node.pods).toHaveLength(2);
  });

  test('flannel host-gw with a node on another segment matches the kernel', () => {
    const other = { cidr: Prefix.parse('192.168.2.0/24'), gateway: IPAddr.parse('192.168.2.1') };
    const nodes = [...DEMO_NODES, nodeInfo('node-4', '192.168.2.13', '10.244.3.0/24', other)];
    compareNode('hg', clusterState(demoConfig({ backend: 'host-gw' }), nodes), DEMO_NODES[0]!);
  });

  test('plain bridge plugin matches the kernel', () => {
    compareNode('br', clusterState(demoConfig({ plugin: 'bridge', hairpinMode: false })), DEMO_NODES[1]!);
  });

  test('node with only a hostNetwork pod (no cni0 yet) matches the kernel', () => {
    const pods = [pod('kube-system', 'kube-flannel-ds-abcde', 'node-3', '192.168.1.12', true)];
    const node = compareNode('np', clusterState(demoConfig(), DEMO_NODES, pods), DEMO_NODES[2]!);
    expect(node.host.links.map((l) => l.name)).toEqual(['lo', 'eth0', 'flannel.1']);
  });
});

/** A random route of the kinds agents install: via a gateway, device-only, onlink, blackhole; other tables. */
const routeArb: fc.Arbitrary<Route> = fc
  .record({
    // A few fixed values make routes share a trie key (same network, other length or metric).
    value: fc.oneof(fc.integer({ min: 0, max: 0xffffff }), fc.constantFrom(0, 0x010000, 0x010100, 0x010180)),
    len: fc.integer({ min: 8, max: 32 }),
    kind: fc.constantFrom('via', 'dev', 'onlink', 'blackhole'),
    gw: fc.integer({ min: 2, max: 254 }),
    metric: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
    mtu: fc.option(fc.integer({ min: 1280, max: 1500 }), { nil: undefined }),
    protocol: fc.constantFrom('boot', 'static', '80'),
    table: fc.constantFrom<Route['table']>('main', 'main', 100),
  })
  .map((g) => {
    const dst = Prefix.of(IPAddr.fromBigInt(4, (10n << 24n) | BigInt(g.value)), g.len);
    const base = { table: g.table, dst, protocol: g.protocol, metric: g.metric } as const;
    if (g.kind === 'blackhole') return { ...base, type: 'blackhole', scope: 'global' } satisfies Route;
    const common = { ...base, type: 'unicast', dev: 'eth0', mtu: g.mtu } as const;
    if (g.kind === 'dev') return { ...common, scope: 'link' } satisfies Route;
    if (g.kind === 'onlink')
      return { ...common, scope: 'global', via: IPAddr.parse('172.31.0.1'), onlink: true } satisfies Route;
    return { ...common, scope: 'global', via: IPAddr.v4(192, 168, 1, g.gw) } satisfies Route;
  });

function uniqueRoutes(routes: Route[]): Route[] {
  // The kernel refuses a second route with the same table, prefix and metric (EEXIST).
  const seen = new Set<string>();
  return routes.filter((r) => {
    const key = `${r.table}/${r.dst}/${r.metric ?? 0}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

describe.skipIf(missing !== undefined)('ip route printing against the kernel FIB (property)', () => {
  test("random route sets print in the kernel's order with the kernel's fields", () => {
    const ns = 'kpath-t-rt-n';
    const under = 'kpath-t-rt-u';
    addNetns(under);
    addNetns(ns);
    const draft = new NetnsDraft('root', { kind: 'node', node: 'rt' });
    draft.addLink({
      name: 'eth0',
      kind: 'ether',
      mtu: 1500,
      mac: '02:00:00:00:00:0a',
      flags: [...UP_FLAGS],
      operState: 'UP',
      qdisc: 'fq_codel',
    });
    draft.addAddress('eth0', IPAddr.parse('192.168.1.10'), 24, { broadcast: true });
    const base = draft.freeze();
    const setup = ipCommands(
      { node: 'rt', host: base, pods: [] },
      { netnsName: () => ns, underlay: { netns: under, peerName: 'ul0' } },
    );
    for (const c of setup.filter((c) => !(c[1] === 'netns' && c[2] === 'add'))) run(c);
    run(['ip', '-n', under, 'link', 'set', 'dev', 'ul0', 'up']);
    settle([ns]);
    // `route flush table 100` fails until the table exists; a route creates it (and the flush keeps it).
    run(['ip', '-n', ns, 'route', 'add', 'blackhole', '10.255.255.255/32', 'table', '100']);
    fc.assert(
      fc.property(fc.array(routeArb, { maxLength: 16 }), (generated) => {
        const routes = uniqueRoutes(generated);
        run(['ip', '-n', ns, 'route', 'flush', 'table', '100']);
        for (const p of ['boot', 'static', '80'])
          run(['ip', '-n', ns, 'route', 'flush', 'table', 'main', 'proto', p]);
        for (const r of routes) run(['ip', '-n', ns, 'route', 'add', ...ipRouteAddArgs(r)]);
        const model: NetnsState = { ...base, routes: [...base.routes, ...routes] };
        expect(run(['ip', '-n', ns, '-4', 'route', 'show', 'table', 'all'])).toBe(
          ipRoute(model, { table: 'all' }),
        );
        expect(run(['ip', '-n', ns, 'route'])).toBe(ipRoute(model));
      }),
      { numRuns: 40 },
    );
  });
});

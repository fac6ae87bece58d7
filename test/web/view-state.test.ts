// The page's pure parts: the URL holds every view's state (a link reproduces it), a pasted `kpath trace` line
// reads the way the shell and commander would read it, and the topology layout never overlaps its boxes.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Topology } from '../../src/server/topology.js';
import { parseTraceCommand, shellWords, traceCommand } from '../../web/src/command-line.js';
import { hopAnchor, type Layout, layoutTopology } from '../../web/src/topology-layout.js';
import { DEFAULT_STATE, formatState, parseState, type ViewState } from '../../web/src/url-state.js';

const word = fc.stringMatching(/^[a-z0-9][a-z0-9./:-]{0,20}$/);
const anyText = fc.string({ minLength: 1, maxLength: 20 });

const stateArb: fc.Arbitrary<ViewState> = fc.record({
  view: fc.constantFrom('topology', 'trace', 'node', 'dns', 'reach'),
  m: fc.option(fc.stringMatching(/^[0-9a-f]{16}$/), { nil: undefined }),
  q: fc.option(anyText, { nil: undefined }),
  group: fc.constantFrom('namespace', 'workload'),
  fold: fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { maxLength: 4 }),
  gfold: fc.uniqueArray(
    fc.stringMatching(/^[a-z0-9-]{1,12}:[a-z0-9-]{1,8}(\/[A-Z][a-z]+\/[a-z0-9-]{1,8})?$/),
    {
      maxLength: 4,
    },
  ),
  gall: fc.option(fc.constantFrom('open' as const, 'closed' as const), { nil: undefined }),
  dname: fc.option(word, { nil: undefined }),
  dfrom: fc.option(word, { nil: undefined }),
  dtype: fc.option(fc.constantFrom('A', 'AAAA', 'SRV', 'PTR'), { nil: undefined }),
  dask: fc.constantFrom('pod', 'server'),
  dserver: fc.option(fc.ipV4(), { nil: undefined }),
  dresolver: fc.option(fc.constantFrom('glibc', 'musl'), { nil: undefined }),
  // Selectors as the CLI takes them, label selectors with commas and spaces included.
  rfrom: fc.array(fc.oneof(word, fc.constant('app in (a, b),tier!=db'), fc.constant('ns:app=web')), {
    maxLength: 3,
  }),
  rto: fc.array(fc.oneof(word, fc.constant('x/*')), { maxLength: 3 }),
  rport: fc.option(fc.constantFrom('80', '80,53/UDP', '9000/SCTP'), { nil: undefined }),
  rcell: fc.option(fc.constant('default/a|10.0.0.1|80/TCP'), { nil: undefined }),
  rgroup: fc.option(fc.constant('workload' as const), { nil: undefined }),
  rgcell: fc.option(fc.constant('shop/db|shop/web|5432/TCP'), { nil: undefined }),
  svc: fc.option(word, { nil: undefined }),
  from: fc.option(anyText, { nil: undefined }),
  to: fc.option(anyText, { nil: undefined }),
  port: fc.option(fc.integer({ min: 1, max: 65535 }).map(String), { nil: undefined }),
  protocol: fc.constantFrom('tcp', 'udp', 'sctp', 'icmp'),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(String),
  endpoint: fc.option(word, { nil: undefined }),
  noReturn: fc.boolean(),
  hop: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
  node: fc.option(word, { nil: undefined }),
  pod: fc.option(word, { nil: undefined }),
  panel: fc.constantFrom(
    'netfilter',
    'ip-route',
    'ip-addr',
    'ip-link',
    'ip-neigh',
    'bridge-fdb',
    'conntrack',
  ),
  table: fc.constantFrom('nat', 'filter', 'mangle', 'raw'),
  chain: fc.option(word, { nil: undefined }),
  raw: fc.boolean(),
}) as fc.Arbitrary<ViewState>;

function defined(s: ViewState): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined));
}

describe('view state in the URL', () => {
  test('every state survives the round trip through the query string', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        expect(defined(parseState(formatState(s)))).toEqual(defined(s));
      }),
    );
  });

  test('the default state is the bare URL, and junk falls back to defaults', () => {
    expect(formatState(DEFAULT_STATE)).toBe('');
    expect(parseState('?view=nope&panel=x&hop=-3&group=zzz&rgroup=pod')).toEqual(DEFAULT_STATE);
    expect(
      formatState({ ...DEFAULT_STATE, view: 'trace', from: 'external', to: '203.0.113.50', port: '80' }),
    ).toBe('?view=trace&from=external&to=203.0.113.50&port=80');
    // The reach view's roll-up: `kpath reach --group workload`, and the grouped cell picked in it.
    expect(
      formatState({
        ...DEFAULT_STATE,
        view: 'reach',
        rgroup: 'workload',
        rgcell: 'shop/db|shop/db|5432/TCP',
      }),
    ).toBe('?view=reach&rgroup=workload&rgcell=shop%2Fdb%7Cshop%2Fdb%7C5432%2FTCP');
    expect(parseState('?view=reach&rgroup=workload')).toEqual({
      ...DEFAULT_STATE,
      view: 'reach',
      rgroup: 'workload',
    });
  });
});

describe('a pasted kpath trace command', () => {
  test("the seed's command line", () => {
    expect(
      parseTraceCommand(
        '$ kpath trace external 203.0.113.50 --port 80 --endpoint default/my-app-6d8f7b9c5d-m4q9z',
      ),
    ).toEqual({
      from: 'external',
      to: '203.0.113.50',
      port: '80',
      endpoint: 'default/my-app-6d8f7b9c5d-m4q9z',
    });
    expect(
      parseTraceCommand(
        'npx kpath trace svc/default/my-app:80 node/node-1 --protocol=udp --seed 7 --no-return',
      ),
    ).toEqual({
      from: 'svc/default/my-app:80',
      to: 'node/node-1',
      protocol: 'udp',
      seed: '7',
      noReturn: true,
    });
  });

  test('options the page cannot honour are refused, not ignored', () => {
    expect(() => parseTraceCommand('kpath trace a/b c/d -f /etc/passwd')).toThrow(/-f is not available/);
    expect(() => parseTraceCommand('kpath trace a/b c/d --pcap x.pcap')).toThrow(/--pcap is not available/);
    expect(() => parseTraceCommand('kpath get pods')).toThrow(/kpath trace/);
    expect(() => parseTraceCommand('kpath trace a/b')).toThrow(/FROM and TO/);
    expect(() => parseTraceCommand('kpath trace a/b c/d --port')).toThrow(/--port needs a value/);
  });

  test('shell quoting as POSIX sh reads it', () => {
    expect(shellWords(`a 'b c' "d \\"e\\"" f\\ g ''`)).toEqual(['a', 'b c', 'd "e"', 'f g', '']);
    expect(() => shellWords(`a 'b`)).toThrow(/unterminated/);
  });

  test('the command the page shows reads back as the same request', () => {
    fc.assert(
      fc.property(
        fc.record({
          from: anyText,
          to: anyText,
          port: fc.option(fc.integer({ min: 1, max: 65535 }).map(String), { nil: undefined }),
          protocol: fc.constantFrom('tcp', 'udp', 'sctp', 'icmp'),
          seed: fc.integer({ min: 0, max: 99999 }).map(String),
          endpoint: fc.option(anyText, { nil: undefined }),
          noReturn: fc.boolean(),
        }),
        (f) => {
          fc.pre(!f.from.startsWith('-') && !f.to.startsWith('-'));
          const back = parseTraceCommand(traceCommand(f));
          expect(back.from).toBe(f.from);
          expect(back.to).toBe(f.to);
          expect(back.port).toBe(f.port);
          expect(back.protocol ?? 'tcp').toBe(f.protocol);
          expect(back.seed ?? '1').toBe(f.seed);
          expect(back.endpoint).toBe(f.endpoint);
          expect(!!back.noReturn).toBe(f.noReturn);
        },
      ),
    );
  });
});

function topology(podsPerNode: number[]): Topology {
  return {
    cluster: {
      name: 't',
      podCIDR: '10.244.0.0/16',
      serviceCIDR: '10.96.0.0/12',
      cni: 'flannel (vxlan)',
      proxyMode: 'iptables',
    },
    underlay: [{ cidr: '192.168.1.0/24', gateway: '192.168.1.1' }],
    externals: [{ name: 'client', ip: '198.51.100.5' }],
    loadBalancers: [{ ip: '203.0.113.50', service: 'default/my-app' }],
    services: [],
    warnings: [],
    nodes: podsPerNode.map((count, i) => ({
      name: `node-${i + 1}`,
      ip: `192.168.1.${10 + i}`,
      podCIDR: `10.244.${i}.0/24`,
      ready: true,
      underlay: '192.168.1.0/24',
      devices: ['eth0', 'flannel.1', 'cni0'].map((name) => ({
        name,
        kind: name === 'eth0' ? 'ether' : name === 'cni0' ? 'bridge' : 'vxlan',
        mtu: 1500,
        mac: '00:00:00:00:00:00',
        addresses: [],
        master: null,
        vxlan:
          name === 'flannel.1' ? { vni: 1, local: `192.168.1.${10 + i}`, dstport: 8472, dev: 'eth0' } : null,
      })),
      pods: Array.from({ length: count }, (_, j) => ({
        namespace: `ns-${j % 3}`,
        name: `pod-${i}-${j}`,
        ip: `10.244.${i}.${j + 2}`,
        node: `node-${i + 1}`,
        hostNetwork: false,
        netns: `cni-${i}-${j}`,
        hostVeth: `veth${i}x${j}`,
        podIface: 'eth0',
        workload: `ReplicaSet/w-${j % 4}-5d8f7b9c5d`,
        controller:
          j % 5 === 4 ? null : { kind: 'Deployment', name: `w-${j % 4}`, from: 'ownerReferences' as const },
        labels: {},
      })),
    })),
  };
}

type Rect = { x: number; y: number; w: number; h: number };
const overlap = (a: Rect, b: Rect) =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const inside = (a: Rect, b: Rect) =>
  a.x >= b.x && a.y >= b.y && a.x + a.w <= b.x + b.w && a.y + a.h <= b.y + b.h;

function checkLayout(l: Layout) {
  for (const [i, a] of l.nodes.entries()) {
    expect(inside(a, { x: 0, y: 0, w: l.width, h: l.height })).toBe(true);
    expect(overlap(a, l.underlay)).toBe(false);
    for (const b of l.nodes.slice(i + 1)) expect(overlap(a, b)).toBe(false);
    for (const [j, g] of a.groups.entries()) {
      expect(inside(g, a)).toBe(true);
      for (const h of a.groups.slice(j + 1)) expect(overlap(g, h)).toBe(false);
      for (const d of a.devices) expect(overlap(g, d)).toBe(false);
    }
    for (const [j, p] of a.pods.entries()) {
      expect(inside(p, a)).toBe(true);
      // Every drawn pod sits inside exactly one group box: its own, which is open.
      const holders = a.groups.filter((g) => inside(p, g));
      expect(holders).toHaveLength(1);
      expect(holders[0]?.collapsed).toBe(false);
      for (const q of a.pods.slice(j + 1)) expect(overlap(p, q)).toBe(false);
      for (const d of a.devices) expect(overlap(p, d)).toBe(false);
    }
  }
}

describe('topology layout', () => {
  test('boxes never overlap and pods stay inside their node, by namespace or by workload, open or collapsed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 14 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom('namespace' as const, 'workload' as const),
        fc.func(fc.boolean()),
        fc.func(fc.boolean()),
        (pods, group, collapsed, groupFolded) => {
          const t = topology(pods);
          const l = layoutTopology(t, {
            group,
            collapsed: (n) => collapsed(n),
            groupCollapsed: (fold) => groupFolded(fold),
          });
          checkLayout(l);
          for (const n of l.nodes) {
            const open = n.groups.filter((g) => !g.collapsed).reduce((s, g) => s + g.count, 0);
            expect(n.pods.length).toBe(n.collapsed ? 0 : open);
            expect(n.groups.reduce((s, g) => s + g.count, 0)).toBe(n.collapsed ? 0 : n.node.pods.length);
            for (const g of n.groups) {
              expect(g.fold).toBe(`${n.node.name}:${g.key}`);
              expect(g.collapsed).toBe(groupFolded(g.fold));
              // Brute force: the group's members are the node's pods whose key is the group's.
              const members = n.node.pods.filter((p) =>
                group === 'namespace'
                  ? p.namespace === g.key
                  : g.key ===
                    (p.controller
                      ? `${p.namespace}/${p.controller.kind}/${p.controller.name}`
                      : `${p.namespace}/(bare pods)`),
              );
              expect(g.count).toBe(members.length);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('50 nodes and 500 pods, collapsed: every node on screen in a grid a few screens tall', () => {
    const t = topology(Array.from({ length: 50 }, () => 10));
    const l = layoutTopology(t, { group: 'namespace', collapsed: () => true });
    checkLayout(l);
    expect(l.nodes).toHaveLength(50);
    expect(l.width).toBeLessThan(3200);
    expect(l.height).toBeLessThan(2000);
  });

  test('hops land on the drawn thing they happened at', () => {
    const l = layoutTopology(topology([2, 2]), { group: 'namespace', collapsed: (n) => n === 'node-2' });
    const at = (node: string | null, netns: string, owner: string, iface: string | null) =>
      hopAnchor(l, { node, netns, owner, iface });
    expect(at(null, 'external/client', 'external/client', null)).toBe('ext:client');
    expect(at(null, 'lb', 'load-balancer 203.0.113.50', null)).toBe('lb:203.0.113.50');
    expect(at(null, 'underlay', 'gateway 192.168.1.1', null)).toBe('underlay');
    expect(at('node-1', 'root', 'node/node-1', 'flannel.1')).toBe('dev:node-1/flannel.1');
    expect(at('node-1', 'root', 'node/node-1', 'veth0x1')).toBe('pod:ns-1/pod-0-1');
    expect(at('node-1', 'cni-0-1', 'pod/ns-1/pod-0-1', 'eth0')).toBe('pod:ns-1/pod-0-1');
    // A collapsed node's pods are not drawn: the hop lands on the node.
    expect(at('node-2', 'cni-1-0', 'pod/ns-0/pod-1-0', 'eth0')).toBe('node:node-2');
  });

  test("a collapsed group's pods are not drawn: a hop at one lands on its group", () => {
    const l = layoutTopology(topology([3]), {
      group: 'workload',
      collapsed: () => false,
      groupCollapsed: (fold) => fold === 'node-1:ns-1/Deployment/w-1',
    });
    const g = l.nodes[0]?.groups.find((b) => b.key === 'ns-1/Deployment/w-1');
    expect(g).toMatchObject({ collapsed: true, count: 1, label: 'ns-1/Deployment/w-1' });
    expect(l.anchors.has('pod:ns-1/pod-0-1')).toBe(false);
    expect(hopAnchor(l, { node: 'node-1', netns: 'cni-0-1', owner: 'pod/ns-1/pod-0-1', iface: 'eth0' })).toBe(
      'group:node-1:ns-1/Deployment/w-1',
    );
    expect(hopAnchor(l, { node: 'node-1', netns: 'root', owner: 'node/node-1', iface: 'veth0x1' })).toBe(
      'group:node-1:ns-1/Deployment/w-1',
    );
    expect(hopAnchor(l, { node: 'node-1', netns: 'cni-0-0', owner: 'pod/ns-0/pod-0-0', iface: 'eth0' })).toBe(
      'pod:ns-0/pod-0-0',
    );
  });

  test('search: a group holding a matching pod, or whose label matches, is a hit', () => {
    const t = topology([8]);
    const l = layoutTopology(t, { group: 'namespace', collapsed: () => false, search: '10.244.0.5' });
    expect(l.nodes[0]?.groups.filter((g) => g.hit).map((g) => g.key)).toEqual(['ns-0']);
    const byLabel = layoutTopology(t, {
      group: 'workload',
      collapsed: () => false,
      search: 'ns-2/deployment/w-2',
    });
    expect(byLabel.nodes[0]?.groups.filter((g) => g.hit).map((g) => g.key)).toEqual(['ns-2/Deployment/w-2']);
  });
});

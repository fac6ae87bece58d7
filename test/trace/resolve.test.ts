// Request resolution (FROM/TO specs, ports, protocols, the seeded source port), the errors for unknown names,
// and the walk's edges: MTU, no route, the underlay gateway.
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/model/errors.js';
import { IPAddr, Prefix } from '../../src/net/ip.js';
import { formatPacket } from '../../src/net/packet.js';
import type { NodeState } from '../../src/node/state.js';
import { traceConnection, traceInjected } from '../../src/trace/index.js';
import type { Trace } from '../../src/trace/types.js';
import { demoTwin, lastHop, POD1, POD2, withNode } from './fixture.js';

const demo = demoTwin();
const base = { protocol: 'tcp' as const, seed: 11, noReturn: true };

describe('FROM and TO', () => {
  it('reads pods, services (by port name or number), nodes, addresses and external hosts', () => {
    const cases: [string, string, Partial<Trace['request']['to']>][] = [
      [POD1, POD2, { kind: 'pod', ip: '10.244.1.3', port: 8080 }],
      [`pod/${POD1}`, `pod/${POD2}`, { kind: 'pod', ip: '10.244.1.3', port: 8080 }],
      [POD1, 'svc/default/my-app', { kind: 'service', ip: '10.96.0.15', port: 80 }],
      [POD1, 'svc/default/my-app:80', { kind: 'service', ip: '10.96.0.15', port: 80 }],
      [POD1, 'svc/kube-system/kube-dns:dns-tcp', { kind: 'service', ip: '10.96.0.10', port: 53 }],
      [POD1, '10.96.0.15:80', { kind: 'service', ip: '10.96.0.15', port: 80 }],
      [POD1, '10.244.1.3', { kind: 'pod', ip: '10.244.1.3', port: 8080 }],
      ['node/node-1', POD2, { kind: 'pod', ip: '10.244.1.3', port: 8080 }],
      ['external', '203.0.113.50:80', { kind: 'ip', ip: '203.0.113.50', port: 80 }],
      ['external:198.51.100.5', 'node/node-2', { kind: 'node', ip: '192.168.1.11', port: 30080 }],
      [POD1, 'external', { kind: 'external', ip: '198.51.100.5', port: 443 }],
    ];
    for (const [from, to, want] of cases) {
      const port = want.kind === 'node' ? 30080 : want.kind === 'external' ? 443 : undefined;
      const t = traceConnection(demo, { ...base, from, to, ...(port ? { port } : {}) });
      expect(t.request.to, `${from} → ${to}`).toMatchObject(want);
    }
  });

  it('a node sends from the address its route picks: flannel.1 10.244.0.0 toward a remote pod', () => {
    const t = traceConnection(demo, { ...base, from: 'node/node-1', to: POD2 });
    expect(t.request.from.ip).toBe('10.244.0.0');
    expect(t.disposition).toBe('DELIVERED');
    expect(t.delivered?.observedSource).toMatch(/^10\.244\.0\.0:\d+$/);
  });

  it('the source port comes from the seed, in the ephemeral range 32768-60999', () => {
    const ports = new Set<number>();
    for (let seed = 0; seed < 50; seed++) {
      const t = traceConnection(demo, { ...base, seed, from: POD1, to: POD2 });
      const p = t.request.from.port ?? 0;
      expect(p).toBeGreaterThanOrEqual(32768);
      expect(p).toBeLessThanOrEqual(60999);
      expect(traceConnection(demo, { ...base, seed, from: POD1, to: POD2 }).request.from.port).toBe(p);
      ports.add(p);
    }
    expect(ports.size).toBeGreaterThan(40);
  });

  it('unknown names are NotFoundError with one sentence listing what exists', () => {
    const err = (from: string, to: string) => {
      try {
        traceConnection(demo, { ...base, from, to });
      } catch (e) {
        expect(e).toBeInstanceOf(NotFoundError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(err('default/nope', POD2)).toMatch(
      /^pod "default\/nope" not found; the cluster's pods are default\/my-app-6d8f7b9c5d-m4q9z, /,
    );
    expect(err(POD1, 'svc/default/nope')).toMatch(
      /^service "default\/nope" not found; the cluster's services are default\/kubernetes, default\/my-app, /,
    );
    expect(err(POD1, 'svc/default/my-app:http')).toBe(
      'service "default/my-app" has no port "http"; its ports are 80',
    );
    expect(err('node/node-9', POD2)).toBe(
      'node "node-9" not found; the cluster\'s nodes are node-1, node-2, node-3',
    );
    expect(err(POD1, '10.1.2.3:80')).toMatch(/^nothing in the cluster owns 10\.1\.2\.3/);
    expect(err('external:1.1.1.1', POD2)).toBe(
      "external host 1.1.1.1 not found; the cluster's external hosts are client (198.51.100.5)",
    );
    expect(err('svc/default/my-app', POD2)).toMatch(/cannot send packets/);
    expect(err(POD1, 'svc/shop/db')).toMatch(/headless/);
    expect(() =>
      traceConnection(demo, { ...base, from: POD1, to: 'svc/default/my-app', endpoint: 'default/nope' }),
    ).toThrow(NotFoundError);
    expect(() =>
      traceInjected(demo, {
        node: 'node-1',
        iface: 'eth9',
        src: '1.2.3.4',
        dst: '10.244.0.5:8080',
        protocol: 'tcp',
        seed: 1,
      }),
    ).toThrow(/has no interface "eth9"; its interfaces are lo, eth0, flannel\.1, cni0, veth/);
  });
});

describe('edges of the walk', () => {
  it('a DF packet too big for flannel.1 is MTU_EXCEEDED and ICMP fragmentation-needed goes back', () => {
    // 1500-byte IP packet arriving on eth0 for a pod on node-2: flannel.1's MTU is 1450 (1500 - 50 VXLAN).
    const t = traceInjected(demo, {
      node: 'node-1',
      src: '198.51.100.5:40000',
      dst: '10.244.1.3:8080',
      protocol: 'tcp',
      seed: 1,
      payloadBytes: 1460,
    });
    expect(t.disposition).toBe('MTU_EXCEEDED');
    expect(t.reason).toBe(
      "1500-byte packet with DF set does not fit flannel.1's MTU 1450 in node/node-1: ICMP fragmentation needed (mtu = 1450) goes back to 198.51.100.5",
    );
    const back = t.return as NonNullable<Trace['return']>;
    expect(back.disposition).toBe('DELIVERED');
    expect(back.delivered?.to).toBe('external/client');
    expect(formatPacket(lastHop(back).after)).toMatch(
      /^IP 192\.168\.1\.10 > 198\.51\.100\.5: ICMP 10\.244\.1\.3 unreachable - need to frag, length \d+$/,
    );
    // One byte less fits.
    const ok = traceInjected(demo, {
      node: 'node-1',
      src: '198.51.100.5:40000',
      dst: '10.244.1.3:8080',
      protocol: 'tcp',
      seed: 1,
      payloadBytes: 1410,
    });
    expect(ok.disposition).toBe('DELIVERED');
  });

  it('a pod sending more than its MTU gets EMSGSIZE locally', () => {
    const t = traceConnection(demo, { ...base, from: POD1, to: POD2, payloadBytes: 1500 });
    expect(t.disposition).toBe('MTU_EXCEEDED');
    expect(t.reason).toMatch(
      /does not fit eth0's MTU 1450 in pod\/default\/my-app-6d8f7b9c5d-x7k2p \(the sender's socket gets EMSGSIZE\)$/,
    );
  });

  it('pod IPs are not routed outside the nodes: the underlay gateway has no route', () => {
    const t = traceInjected(demo, {
      node: 'node-1',
      iface: 'local',
      src: '192.168.1.10',
      dst: '172.16.9.9:80',
      protocol: 'tcp',
      seed: 1,
    });
    expect(t.disposition).toBe('NO_ROUTE');
    expect(t.reason).toMatch(/^the underlay gateway has no route to 172\.16\.9\.9/);
  });

  it('a node reaches the external host through the gateway and flanneld does not touch it', () => {
    const t = traceConnection(demo, {
      protocol: 'tcp',
      seed: 1,
      from: 'node/node-3',
      to: 'external',
      port: 443,
    });
    expect(t.disposition).toBe('DELIVERED');
    expect(t.delivered?.observedSource).toMatch(/^192\.168\.1\.12:\d+$/);
    expect(t.return?.observedSource).toBe('198.51.100.5:443');
  });

  it('a pod reaching the external host is masqueraded to eth0 by FLANNEL-POSTRTG', () => {
    const t = traceConnection(demo, { protocol: 'udp', seed: 1, from: POD2, to: 'external', port: 53 });
    expect(t.disposition).toBe('DELIVERED');
    expect(t.delivered?.observedSource).toMatch(/^192\.168\.1\.11:\d+$/);
    expect(t.hops.find((h) => h.action === 'MASQUERADE')?.decidedBy?.chain).toBe('FLANNEL-POSTRTG');
    expect(t.masquerade).toBe(true);
    expect(t.return?.observedSource).toBe('198.51.100.5:53');
    expect(t.return?.delivered?.to).toBe(POD2);
  });

  it("a hostNetwork pod listens in its node's namespace", () => {
    const exporter = demoTwin(undefined, [
      {
        file: 'exporter.yaml',
        text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: exporter, namespace: default}\nspec:\n  nodeName: node-2\n  hostNetwork: true\n  containers: [{name: e, image: x, ports: [{containerPort: 9100}]}]\n',
      },
    ]);
    const t = traceConnection(exporter, { protocol: 'tcp', seed: 1, from: POD1, to: '192.168.1.11:9100' });
    expect(t.disposition).toBe('DELIVERED');
    expect(t.delivered?.to).toBe('node-2');
    expect(lastHop(t).decidedBy?.text).toBe(
      'TCP *:9100 LISTEN (pod/default/exporter (hostNetwork):9100 (container e))',
    );
    // Leaving the pod network for a node address: FLANNEL-POSTRTG masquerades to node-1's eth0.
    expect(t.delivered?.observedSource).toMatch(/^192\.168\.1\.10:\d+$/);
    const none = traceConnection(demo, { protocol: 'tcp', seed: 1, from: POD1, to: '192.168.1.11:9100' });
    expect(none.disposition).toBe('NOT_LISTENING');
  });

  it('a routing loop between two nodes ends when the TTL runs out', () => {
    const loop =
      (via: string) =>
      (n: NodeState): NodeState => ({
        ...n,
        host: {
          ...n.host,
          routes: [
            ...n.host.routes,
            {
              table: 'main',
              type: 'unicast',
              dst: Prefix.parse('172.20.0.0/16'),
              via: IPAddr.parse(via),
              dev: 'eth0',
              protocol: 'static',
              scope: 'global',
            },
          ],
        },
      });
    const twin = withNode(withNode(demo, 'node-1', loop('192.168.1.11')), 'node-2', loop('192.168.1.10'));
    const t = traceInjected(twin, {
      node: 'node-1',
      src: '198.51.100.5:40000',
      dst: '172.20.1.1:80',
      protocol: 'tcp',
      seed: 1,
    });
    expect(t.disposition).toBe('TTL_EXCEEDED');
    // The router that gave up sends ICMP time exceeded back to the sender.
    expect(formatPacket(lastHop(t.return as Trace).after)).toMatch(
      /^IP 192\.168\.1\.1[01] > 198\.51\.100\.5: ICMP time exceeded in-transit, length \d+$/,
    );
    expect(t.reason).toMatch(/^node\/node-[12]: the TTL ran out while forwarding to 172\.20\.1\.1$/);
    // TTL 64 at injection: 63 forwards, the 64th router finds TTL 1 and answers.
    expect(t.hops.filter((h) => h.component === 'underlay' && h.action === 'transmit')).toHaveLength(63);
  });

  it('no route at all names the lookup', () => {
    const bare = withNode(demo, 'node-1', (n) => ({
      ...n,
      host: { ...n.host, routes: n.host.routes.filter((r) => r.dst.len !== 0) },
    }));
    const t = traceConnection(bare, {
      protocol: 'tcp',
      seed: 1,
      from: 'node/node-1',
      to: 'external',
      port: 443,
    });
    expect(t.disposition).toBe('NO_ROUTE');
    expect(t.reason).toBe(
      'node/node-1: ip route get 198.51.100.5: RTNETLINK answers: Network is unreachable',
    );
  });
});

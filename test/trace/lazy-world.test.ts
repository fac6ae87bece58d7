// The lazy world (issue #3): a trace asks the twin for the NodeState of the nodes its packet enters and of no
// other, so one trace on a 1,000-node cluster does not program 999 nodes. Checked on clusters made by the
// bench's own generator (bench/generate.ts), by counting twin.node calls.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateClusterYaml } from '../../bench/generate.js';
import { renderTraceJson } from '../../src/render/trace-json.js';
import { type TraceQuery, traceConnection, traceInjected } from '../../src/trace/index.js';
import type { Trace } from '../../src/trace/types.js';
import { buildTwin, type Twin } from '../../src/twin.js';

const NODES = 24;

function generated(edit: (yaml: string) => string = (y) => y): Twin {
  const yaml = edit(generateClusterYaml({ nodes: NODES, services: 48, replicas: 2 }));
  return buildTwin([{ file: 'generated.yaml', text: yaml }]);
}

/** The twin, with every node() call recorded; nodes() (program everything) is forbidden. */
function counted(twin: Twin): { twin: Twin; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    twin: {
      ...twin,
      node: (name) => {
        calls.push(name);
        return twin.node(name);
      },
      nodes: () => {
        throw new Error('a trace must not program every node');
      },
    },
  };
}

/** Every node a hop of the trace (request and reply) happened on. */
function nodesOnPath(t: Trace): Set<string> {
  const out = new Set<string>();
  for (const h of [...t.hops, ...(t.return?.hops ?? [])]) if (h.at.node) out.add(h.at.node);
  return out;
}

const base = generated();
const podsOn = (node: string) =>
  base.state.pods.filter((p) => p.spec.nodeName === node && !p.spec.hostNetwork && p.status?.podIP);
const nodeNames = base.state.nodeInfo.map((n) => n.name);
const podName = (node: string, i = 0) => {
  const p = podsOn(node)[i];
  if (!p) throw new Error(`no pod on ${node}`);
  return `${p.metadata.namespace}/${p.metadata.name}`;
};

describe('a trace programs only the nodes on its path', () => {
  it('pod → pod across nodes (Flannel VXLAN): exactly the two nodes, each programmed once', () => {
    const { twin, calls } = counted(generated());
    const t = traceConnection(twin, {
      from: podName('node-3'),
      to: podName('node-17'),
      protocol: 'tcp',
      seed: 1,
    });
    expect(t.disposition).toBe('DELIVERED');
    expect(t.return?.disposition).toBe('DELIVERED');
    expect([...calls].sort()).toEqual(['node-17', 'node-3']);
    expect([...nodesOnPath(t)].sort()).toEqual(['node-17', 'node-3']);
    // The walk really crossed the underlay: VXLAN from node-3's VTEP to node-17's.
    expect(t.hops.some((h) => h.component === 'vxlan' && h.action === 'encapsulate')).toBe(true);
  });

  it('pod → pod across nodes (Flannel host-gw): exactly the two nodes', () => {
    const { twin, calls } = counted(
      generated((y) => y.replace('spec:\n', 'spec:\n  cni: {plugin: flannel, backend: host-gw}\n')),
    );
    const t = traceConnection(twin, {
      from: podName('node-5'),
      to: podName('node-20'),
      protocol: 'tcp',
      seed: 2,
    });
    expect(t.disposition).toBe('DELIVERED');
    expect(t.hops.some((h) => h.component === 'vxlan')).toBe(false);
    expect([...new Set(calls)].sort()).toEqual(['node-20', 'node-5']);
  });

  it('pod → ClusterIP: the client node and the chosen endpoint node, no other', () => {
    const { twin, calls } = counted(generated());
    const t = traceConnection(twin, {
      from: podName('node-0'),
      to: 'svc/ns-0/svc-1',
      protocol: 'tcp',
      seed: 3,
    });
    expect(t.disposition).toBe('DELIVERED');
    expect(new Set(calls)).toEqual(nodesOnPath(t));
    expect(calls.length).toBeLessThanOrEqual(2);
  });

  it('external → LoadBalancer → NodePort: the node the LB chose and the endpoint node, no other', () => {
    const { twin, calls } = counted(generated());
    const t = traceConnection(twin, { from: 'external', to: 'svc/ns-0/svc-20', protocol: 'tcp', seed: 4 });
    expect(t.disposition).toBe('DELIVERED');
    // The LB still lists every node as a branch (from ClusterState), without programming them.
    expect(t.branches.filter((b) => b.decidedBy?.kind === 'load-balancer')).toHaveLength(NODES);
    expect(new Set(calls)).toEqual(nodesOnPath(t));
    expect(calls.length).toBeLessThanOrEqual(2);
  });

  it('--at NODE injection: that node (and the one the packet goes on to)', () => {
    const { twin, calls } = counted(generated());
    const dst = base.state.pods.find((p) => p.spec.nodeName === 'node-9' && p.status?.podIP)?.status?.podIP;
    const t = traceInjected(twin, {
      node: 'node-2',
      src: '198.51.100.5:40000',
      dst: `${dst}:8080`,
      protocol: 'tcp',
      seed: 1,
    });
    expect(t.disposition).toBe('DELIVERED');
    expect(new Set(calls)).toEqual(new Set(['node-2', 'node-9']));
  });

  it('property: any pod → any pod programs exactly the nodes its hops name', () => {
    const { twin, calls } = counted(generated());
    const all = base.state.pods.filter((p) => p.status?.podIP && !p.spec.hostNetwork);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: all.length - 1 }),
        fc.integer({ min: 0, max: all.length - 1 }),
        fc.integer({ min: 1, max: 1000 }),
        (i, j, seed) => {
          const a = all[i];
          const b = all[j];
          if (!a || !b) return;
          const before = new Set(calls);
          const t = traceConnection(twin, {
            from: `${a.metadata.namespace}/${a.metadata.name}`,
            to: `${b.metadata.namespace}/${b.metadata.name}`,
            protocol: 'tcp',
            seed,
          });
          expect(t.disposition).toBe('DELIVERED');
          // Nodes asked for by this trace (the world remembers earlier ones) are on this trace's path.
          const added = [...new Set(calls)].filter((n) => !before.has(n));
          for (const n of added) expect(nodesOnPath(t)).toContain(n);
          expect(nodesOnPath(t)).toEqual(new Set([a.spec.nodeName, b.spec.nodeName]));
        },
      ),
      { numRuns: 40, seed: 11 },
    );
    expect(new Set(calls).size).toBeLessThan(nodeNames.length + 1);
  });
});

describe('laziness does not change the answer', () => {
  const queries: TraceQuery[] = [
    { from: podName('node-1'), to: podName('node-12'), protocol: 'tcp', seed: 5 },
    { from: podName('node-1'), to: 'svc/ns-0/svc-2', protocol: 'tcp', seed: 6 },
    { from: 'external', to: 'svc/ns-0/svc-40', protocol: 'tcp', seed: 7 },
    { from: 'node/node-4', to: podName('node-8', 1), protocol: 'udp', port: 8080, seed: 8 },
    { from: podName('node-2'), to: '192.168.0.9', protocol: 'icmp', seed: 9 },
  ];
  it('the same trace, byte for byte, whether every node was programmed first or none was', () => {
    const eager = generated();
    eager.nodes();
    for (const q of queries) {
      const lazy = generated();
      expect(renderTraceJson(traceConnection(lazy, q))).toBe(renderTraceJson(traceConnection(eager, q)));
    }
  });

  it('the same trace whatever other traces ran before on the same twin', () => {
    const warm = generated();
    for (const q of [...queries].reverse()) traceConnection(warm, q);
    for (const q of queries) {
      expect(renderTraceJson(traceConnection(generated(), q))).toBe(
        renderTraceJson(traceConnection(warm, q)),
      );
    }
  });
});

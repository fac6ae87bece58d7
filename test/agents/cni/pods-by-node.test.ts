// The per-node pod index the CNI reads (control/pods-by-node.ts, the API server's spec.nodeName
// index): the same pods, in the same order, as scanning every pod; and never stale when a state is
// built from another with a different pod list.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { programCni } from '../../../src/agents/cni/index.js';
import { podsOnNode } from '../../../src/control/pods-by-node.js';
import type { Pod } from '../../../src/model/k8s.js';
import { clusterState, DEMO_NODES, DEMO_PODS, pod } from './fixture.js';

describe('pods by node', () => {
  test('the pods a scan of every pod finds, in list order', () => {
    const nodes = ['node-1', 'node-2', 'node-3', ''];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...nodes, undefined), fc.nat(50)), { maxLength: 60 }),
        (specs) => {
          const pods: Pod[] = specs.map(([n, k], i) => {
            const p = pod('default', `p${i}-${k}`, n ?? '', `10.244.0.${(i % 250) + 2}`);
            if (n === undefined) delete (p.spec as { nodeName?: string }).nodeName;
            return p;
          });
          for (const n of ['node-1', 'node-2', 'node-3', 'node-9']) {
            expect(podsOnNode(pods, n)).toEqual(pods.filter((p) => p.spec.nodeName === n));
          }
        },
      ),
    );
  });

  test('a state with a new pod list is read afresh (no stale index)', () => {
    const node1 = DEMO_NODES[0]!;
    const before = programCni(clusterState(), node1);
    const extra = pod('default', 'late', node1.name, '10.244.0.200');
    const after = programCni(clusterState(undefined, undefined, [...DEMO_PODS, extra]), node1);
    expect(after.node.pods.length).toBe(before.node.pods.length + 1);
    const ips = after.node.pods.flatMap((ns) => ns.addresses.map((a) => a.ip.toString()));
    expect(ips).toContain('10.244.0.200');
    // And the first state still reads its own list.
    expect(programCni(clusterState(), node1).node.pods.length).toBe(before.node.pods.length);
  });
});

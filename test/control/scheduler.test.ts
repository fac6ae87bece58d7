import { describe, expect, it } from 'vitest';
import { runControlPlane } from '../../src/control/index.js';
import { tolerates } from '../../src/control/scheduler.js';
import { InputError } from '../../src/model/errors.js';
import { cluster, declaredNodes, kubeadmConfig, node, pod } from './fixture.js';

const userPods = (s: ReturnType<typeof runControlPlane>) =>
  s.pods.filter((p) => p.metadata.namespace === 'default');

describe('scheduler', () => {
  it('spreads pods evenly, fewest pods first, then node order (CoreDNS counted)', () => {
    const pods = Array.from({ length: 7 }, (_, i) => pod(`p-${i}`));
    const s = runControlPlane(cluster({ pods }));
    // CoreDNS (2 replicas) lands on node-1 and node-2 first, so the user pods start on node-3.
    const counts: Record<string, number> = {};
    for (const p of s.pods) counts[p.spec.nodeName!] = (counts[p.spec.nodeName!] ?? 0) + 1;
    expect(counts).toEqual({ 'node-1': 3, 'node-2': 3, 'node-3': 3 });
    expect(userPods(s).find((p) => p.metadata.name === 'p-0')!.spec.nodeName).toBe('node-3');
  });

  it('keeps spec.nodeName and honours nodeSelector', () => {
    const config = kubeadmConfig({
      nodes: declaredNodes(3).map((n, i) => ({
        ...n,
        labels: i === 2 ? { disk: 'ssd' } : ({} as Record<string, string>),
      })),
    });
    const s = runControlPlane(
      cluster({
        config,
        pods: [
          pod('a-1', { nodeName: 'node-1' }),
          pod('b-1', { nodeSelector: { disk: 'ssd' } }),
          pod('b-2', { nodeSelector: { disk: 'ssd' } }),
        ],
      }),
    );
    expect(userPods(s).map((p) => [p.metadata.name, p.spec.nodeName])).toEqual([
      ['a-1', 'node-1'],
      ['b-1', 'node-3'],
      ['b-2', 'node-3'],
    ]);
  });

  it('avoids cordoned and NotReady nodes', () => {
    const down = node('down', '192.168.1.21', '10.244.1.0/24');
    down.status.conditions = [{ type: 'Ready', status: 'False' }];
    const s = runControlPlane(
      cluster({
        nodes: [
          node('ok', '192.168.1.20'),
          down,
          node('cordoned', '192.168.1.22', undefined, { unschedulable: true }),
        ],
        pods: [pod('a-1'), pod('a-2'), pod('a-3')],
      }),
    );
    expect(new Set(s.pods.map((p) => p.spec.nodeName))).toEqual(new Set(['ok']));
  });

  it('honours taints and tolerations', () => {
    const tainted = node('gpu', '192.168.1.21', undefined, {
      taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }],
    });
    const s = runControlPlane(
      cluster({
        nodes: [tainted],
        pods: [
          pod('a-1'),
          pod('t-1', {
            tolerations: [{ key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoSchedule' }],
          }),
        ],
      }),
    );
    expect(userPods(s).map((p) => [p.metadata.name, p.spec.nodeName ?? null, p.status?.phase])).toEqual([
      ['a-1', null, 'Pending'],
      ['t-1', 'gpu', 'Running'],
    ]);
    expect(s.warnings.some((w) => w.includes('default/a-1') && w.includes('Pending'))).toBe(true);
    expect(tolerates({ operator: 'Exists' }, { key: 'x', effect: 'NoExecute' })).toBe(true);
    expect(
      tolerates({ key: 'x', operator: 'Equal', value: 'a' }, { key: 'x', value: 'b', effect: 'NoSchedule' }),
    ).toBe(false);
  });

  it('leaves pods Pending with a warning when nothing fits', () => {
    const s = runControlPlane(cluster({ pods: [pod('a-1', { nodeSelector: { zone: 'mars' } })] }));
    const p = userPods(s)[0]!;
    expect(p.spec.nodeName).toBeUndefined();
    expect(p.status).toEqual({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] });
    expect(s.warnings).toContain(
      'Pod default/a-1 stays Pending: 0/3 nodes are available (nodeSelector, taints or readiness)',
    );
  });

  it('rejects a nodeName that names no node, at the field', () => {
    try {
      runControlPlane(cluster({ pods: [pod('a-1', { nodeName: 'node-9' })] }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).problems).toEqual([
        {
          file: 'input.yaml',
          line: 8,
          col: 3,
          field: 'spec.nodeName',
          object: 'Pod default/a-1',
          message: 'node "node-9" does not exist',
        },
      ]);
    }
  });

  it('places a pod with a stated IP but no node on the node owning that IP', () => {
    const s = runControlPlane(cluster({ pods: [pod('a-1', {}, { status: { podIP: '10.244.2.9' } })] }));
    expect(userPods(s)[0]!.spec.nodeName).toBe('node-3');
  });
});

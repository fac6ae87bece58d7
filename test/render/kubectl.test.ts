import { describe, expect, it } from 'vitest';
import { formatTable } from '../../src/render/table.js';

describe('kubectl table layout', () => {
  it('matches kubectl get pods output as printed in the Kubernetes documentation', () => {
    // kubernetes.io/docs/concepts/workloads/controllers/deployment/ ("kubectl get pods --show-labels" without labels).
    const expected = [
      'NAME                                READY   STATUS    RESTARTS   AGE',
      'nginx-deployment-75675f5897-7ci7o   1/1     Running   0          18s',
      'nginx-deployment-75675f5897-kzszj   1/1     Running   0          18s',
      '',
    ].join('\n');
    const rows = [
      ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
      ['nginx-deployment-75675f5897-7ci7o', '1/1', 'Running', '0', '18s'],
      ['nginx-deployment-75675f5897-kzszj', '1/1', 'Running', '0', '18s'],
    ];
    expect(formatTable(rows)).toBe(expected);
  });

  it('keeps short columns at tabwriter minwidth 6', () => {
    // A one-letter column is padded to tabwriter's minimum cell width, 6.
    expect(
      formatTable([
        ['A', 'B'],
        ['x', 'y'],
      ]),
    ).toBe('A     B\nx     y\n');
  });
});

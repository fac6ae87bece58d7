// A hand-written but realistic `kubectl get pods,svc,endpointslices -A -o yaml` (one List with
// managedFields, resourceVersion, status) loads as is and keeps every stated field. Stored as .txt so
// the formatter keeps go-yaml's layout (sequence dashes at their parent key's column).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCluster } from '../../src/load/index.js';

const file = 'test/load/fixtures/kubectl-get-pods-svc-eps.txt';
const c = loadCluster([{ file, text: readFileSync(file, 'utf8') }]);

describe('kubectl dump', () => {
  it('loads every item of the List', () => {
    expect(c.pods.map((p) => p.metadata.name)).toEqual(['my-app-6d8f7b9c5d-m4q9z']);
    expect(c.services.map((s) => s.metadata.name)).toEqual(['kubernetes', 'my-app']);
    expect(c.endpointSlices.map((e) => e.metadata.name)).toEqual(['my-app-8xq7w', 'kubernetes']);
    expect(c.ignored).toEqual([]);
  });

  it('keeps the scheduler, kubelet and controller fields of the pod', () => {
    const p = c.pods[0]!;
    expect(p.spec.nodeName).toBe('node-2');
    expect(p.status).toMatchObject({
      podIP: '10.244.1.3',
      podIPs: [{ ip: '10.244.1.3' }],
      hostIP: '192.168.1.11',
      hostIPs: [{ ip: '192.168.1.11' }],
      phase: 'Running',
    });
    expect(p.status!.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ status: 'True' });
    expect(p.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        blockOwnerDeletion: true,
        controller: true,
        kind: 'ReplicaSet',
        name: 'my-app-6d8f7b9c5d',
        uid: '0b0e7c52-5b8f-4a43-a2d4-6c1f6ad0f1a7',
      },
    ]);
    expect(p.metadata.resourceVersion).toBe('48213');
    expect(Array.isArray(p.metadata.managedFields)).toBe(true);
  });

  it('keeps the allocated service fields as given', () => {
    const s = c.services.find((x) => x.metadata.name === 'my-app')!;
    expect(s.spec).toMatchObject({
      type: 'LoadBalancer',
      clusterIP: '10.96.0.15',
      clusterIPs: ['10.96.0.15'],
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 31842,
      ports: [{ nodePort: 30080, port: 80, protocol: 'TCP', targetPort: 8080 }],
    });
    expect(s.status!.loadBalancer!.ingress).toEqual([{ ip: '203.0.113.50', ipMode: 'VIP' }]);
    expect(s.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration']).toMatch(
      /^\{"apiVersion":"v1"/,
    );
  });

  it('keeps EndpointSlices as given, conditions and all', () => {
    const e = c.endpointSlices[0]!;
    expect(e.addressType).toBe('IPv4');
    expect(e.endpoints).toEqual([
      {
        addresses: ['10.244.1.3'],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: 'node-2',
        targetRef: {
          kind: 'Pod',
          name: 'my-app-6d8f7b9c5d-m4q9z',
          namespace: 'default',
          uid: '7d3c1a9e-3e4b-4f0a-9b7e-2f7a1c5d8e90',
        },
      },
      {
        addresses: ['10.244.2.2'],
        conditions: { ready: false, serving: true, terminating: true },
        nodeName: 'node-3',
        targetRef: {
          kind: 'Pod',
          name: 'my-app-6d8f7b9c5d-p2w8h',
          namespace: 'default',
          uid: '9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4',
        },
      },
    ]);
    expect(e.ports).toEqual([{ name: '', port: 8080, protocol: 'TCP' }]);
    expect(e.metadata.labels).toMatchObject({ 'kubernetes.io/service-name': 'my-app' });
  });

  it('locates objects and fields inside the List', () => {
    const s = c.sources.get('Service/default/my-app')!;
    expect([s.line, s.col]).toEqual([179, 3]);
    expect(s.fields!.get('spec.ports[0].nodePort')).toEqual({ line: 202, col: 17 });
    expect(c.sources.get('EndpointSlice/default/kubernetes')).toMatchObject({ line: 267, col: 3 });
  });
});

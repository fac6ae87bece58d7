import { describe, expect, it } from 'vitest';
import { findPort } from '../../src/control/endpointslices.js';
import { runControlPlane } from '../../src/control/index.js';
import type { EndpointSlice, Pod } from '../../src/model/k8s.js';
import { cluster, declaredNodes, kubeadmConfig, pod, service } from './fixture.js';

const slicesOf = (s: ReturnType<typeof runControlPlane>, svc: string) =>
  s.endpointSlices.filter((e) => e.metadata.labels?.['kubernetes.io/service-name'] === svc);

function webPod(name: string, port: number, extra: Partial<Pod> = {}): Pod {
  return pod(name, { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: port }] }] }, extra);
}

describe('EndpointSlice controller', () => {
  it('writes slices as the controller does: labels, owner, ports, endpoint fields', () => {
    const config = kubeadmConfig({
      nodes: declaredNodes(1).map((n) => ({ ...n, labels: { 'topology.kubernetes.io/zone': 'zone-a' } })),
    });
    const svc = service('web', {
      ports: [{ name: 'http', port: 80, targetPort: 'http', appProtocol: 'http' }],
    });
    svc.metadata.labels = { team: 'shop', 'kubernetes.io/service-name': 'spoof' };
    const s = runControlPlane(cluster({ config, services: [svc], pods: [webPod('web-1', 8080)] }));
    const [slice] = slicesOf(s, 'web');
    const svcOut = s.services.find((x) => x.metadata.name === 'web')!;
    const podOut = s.pods.find((x) => x.metadata.name === 'web-1')!;
    expect(slice).toEqual({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: slice!.metadata.name,
        generateName: 'web-',
        namespace: 'default',
        uid: slice!.metadata.uid,
        labels: {
          team: 'shop',
          'kubernetes.io/service-name': 'web',
          'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        },
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Service', name: 'web', uid: svcOut.metadata.uid, controller: true },
        ],
      },
      addressType: 'IPv4',
      endpoints: [
        {
          addresses: [podOut.status!.podIP!],
          conditions: { ready: true, serving: true, terminating: false },
          targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: podOut.metadata.uid },
          nodeName: 'node-1',
          zone: 'zone-a',
        },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }],
    } satisfies EndpointSlice);
    expect(slice!.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('groups pods whose named port resolves to different numbers into separate slices', () => {
    const svc = service('web', { ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
    const s = runControlPlane(
      cluster({
        services: [svc],
        pods: [webPod('web-1', 8080), webPod('web-2', 9090), webPod('web-3', 8080)],
      }),
    );
    const slices = slicesOf(s, 'web');
    expect(slices.map((x) => [x.ports?.[0]?.port, x.endpoints.map((e) => e.targetRef?.name)])).toEqual([
      [8080, ['web-1', 'web-3']],
      [9090, ['web-2']],
    ]);
  });

  it('keeps a pod whose named port does not resolve, in a slice without that port (getEndpointPorts)', () => {
    const svc = service('web', {
      ports: [
        { name: 'http', port: 80, targetPort: 'http' },
        { name: 'metrics', port: 9100, targetPort: 'metrics' },
      ],
    });
    const s = runControlPlane(cluster({ services: [svc], pods: [webPod('web-1', 8080)] }));
    const slices = slicesOf(s, 'web');
    expect(slices).toHaveLength(1);
    expect(slices[0]!.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });

  it('matches named ports by protocol too (FindPort)', () => {
    const p = pod('x', {
      containers: [{ name: 'c', ports: [{ name: 'dns', containerPort: 5353, protocol: 'UDP' }] }],
    });
    expect(findPort(p, { port: 53, targetPort: 'dns', protocol: 'UDP' })).toBe(5353);
    expect(findPort(p, { port: 53, targetPort: 'dns', protocol: 'TCP' })).toBeUndefined();
    expect(findPort(p, { port: 53, targetPort: 9999 })).toBe(9999);
    expect(findPort(p, { port: 53 })).toBe(53);
  });

  it('sets ready/serving/terminating from readiness and deletion, and publishNotReadyAddresses', () => {
    const notReady = {
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' as const }] },
    };
    const deleting = {
      metadata: {
        name: 'web-3',
        namespace: 'default',
        labels: { app: 'web' },
        deletionTimestamp: '2026-01-01T00:00:00Z',
      },
    };
    const pods = [webPod('web-1', 8080), webPod('web-2', 8080, notReady), webPod('web-3', 8080, deleting)];
    const s = runControlPlane(cluster({ services: [service('web')], pods }));
    expect(slicesOf(s, 'web')[0]!.endpoints.map((e) => [e.targetRef?.name, e.conditions])).toEqual([
      ['web-1', { ready: true, serving: true, terminating: false }],
      ['web-2', { ready: false, serving: false, terminating: false }],
      ['web-3', { ready: false, serving: true, terminating: true }],
    ]);
    const s2 = runControlPlane(
      cluster({ services: [service('web', { publishNotReadyAddresses: true })], pods }),
    );
    expect(slicesOf(s2, 'web')[0]!.endpoints.map((e) => e.conditions?.ready)).toEqual([true, true, true]);
  });

  it('leaves out terminal pods, pods without an IP and pods of other namespaces', () => {
    const done = { status: { phase: 'Succeeded' } };
    const other = { metadata: { name: 'web-9', namespace: 'other', labels: { app: 'web' } } };
    const pending = pod('web-4', { nodeSelector: { nowhere: 'x' } });
    const s = runControlPlane(
      cluster({
        services: [service('web')],
        pods: [webPod('web-1', 8080), webPod('web-2', 8080, done), webPod('web-9', 8080, other), pending],
      }),
    );
    expect(slicesOf(s, 'web').flatMap((x) => x.endpoints.map((e) => e.targetRef?.name))).toEqual(['web-1']);
  });

  it('splits at 100 endpoints per slice', () => {
    const config = kubeadmConfig({ nodes: declaredNodes(2) });
    const pods = Array.from({ length: 230 }, (_, i) => webPod(`web-${i}`, 8080));
    const s = runControlPlane(cluster({ config, services: [service('web')], pods }));
    const slices = slicesOf(s, 'web');
    expect(slices.map((x) => x.endpoints.length).sort()).toEqual([100, 100, 30]);
    expect(new Set(slices.map((x) => x.metadata.name)).size).toBe(3);
  });

  it('keeps EndpointSlices stated for a service and generates none for selectorless services', () => {
    const stated: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abcde', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.0.99'] }],
    };
    const s = runControlPlane(
      cluster({
        services: [service('web'), service('ext', { selector: undefined })],
        endpointSlices: [stated],
        pods: [webPod('web-1', 8080), webPod('ext-1', 8080)],
      }),
    );
    expect(slicesOf(s, 'web')).toEqual([stated]);
    expect(slicesOf(s, 'ext')).toEqual([]);
  });

  it('writes an empty placeholder slice for a selector that matches nothing', () => {
    const s = runControlPlane(cluster({ services: [service('lonely')] }));
    const slices = slicesOf(s, 'lonely');
    expect(slices).toHaveLength(1);
    expect(slices[0]!.endpoints).toEqual([]);
    expect(slices[0]!.ports).toBeUndefined();
  });

  it('publishes hostnames only for pods whose subdomain names the service (StatefulSet)', () => {
    const a = webPod('db-0', 8080);
    a.spec = { ...a.spec, hostname: 'db-0', subdomain: 'db' };
    a.metadata.labels = { app: 'db' };
    const b = webPod('db-1', 8080);
    b.spec = { ...b.spec, hostname: 'db-1', subdomain: 'other' };
    b.metadata.labels = { app: 'db' };
    const s = runControlPlane(cluster({ services: [service('db', { clusterIP: 'None' })], pods: [a, b] }));
    const [slice] = slicesOf(s, 'db');
    expect(slice!.metadata.labels?.['service.kubernetes.io/headless']).toBe('');
    expect(slice!.endpoints.map((e) => e.hostname)).toEqual(['db-0', undefined]);
  });
});

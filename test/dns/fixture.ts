// A hand-built ClusterState for the DNS tests, without the loader or the control plane.

import type { UpstreamDnsServer } from '../../src/dns/upstream.js';
import type { ClusterConfig, ClusterState } from '../../src/model/cluster.js';
import type {
  Endpoint,
  EndpointSlice,
  KObject,
  Namespace,
  Pod,
  Service,
  ServiceSpec,
} from '../../src/model/k8s.js';
import { clusterStateOf, kubeadmConfig } from '../fixtures/cluster-state.js';

export function ns(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function svc(namespace: string, name: string, spec: ServiceSpec): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
}

export function slice(
  namespace: string,
  service: string,
  endpoints: Endpoint[],
  ports: EndpointSlice['ports'],
  addressType: 'IPv4' | 'IPv6' = 'IPv4',
  suffix = 'abcde',
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-${suffix}`, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType,
    endpoints,
    ...(ports ? { ports } : {}),
  };
}

export function ep(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { addresses: [ip], conditions: { ready: true }, ...extra };
}

export function pod(
  namespace: string,
  name: string,
  ip: string,
  extra: Partial<Pod['spec']> = {},
  meta: Partial<Pod['metadata']> = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, ...meta },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx:1.27' }], ...extra },
    status: { phase: 'Running', podIP: ip, hostIP: '192.168.1.10' },
  };
}

export function config(): ClusterConfig {
  return kubeadmConfig({ underlay: [] });
}

export function state(parts: Partial<ClusterState> = {}): ClusterState {
  const { config: c, ...rest } = parts;
  return clusterStateOf(c ?? config(), rest);
}

export function corefileConfigMap(corefile: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'coredns', namespace: 'kube-system' },
    data: { Corefile: corefile },
  };
}

export const client = pod('default', 'client', '10.244.0.9');
export const alpineClient = pod('default', 'alpine', '10.244.0.12', {
  containers: [{ name: 'c', image: 'alpine:3.19' }],
});
export const shopClient = pod('shop', 'shop-client', '10.244.1.20');

/** The demo-like cluster: shop/web (ClusterIP), shop/db (StatefulSet behind a headless service), and friends. */
export function demoState(extra: Partial<ClusterState> = {}): ClusterState {
  return state({
    namespaces: [ns('default'), ns('kube-system'), ns('shop'), ns('team-a')],
    services: [
      svc('default', 'kubernetes', {
        clusterIP: '10.96.0.1',
        clusterIPs: ['10.96.0.1'],
        ports: [{ name: 'https', port: 443, protocol: 'TCP' }],
      }),
      svc('kube-system', 'kube-dns', {
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
      }),
      svc('shop', 'web', {
        clusterIP: '10.96.0.20',
        clusterIPs: ['10.96.0.20'],
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      }),
      svc('shop', 'db', {
        clusterIP: 'None',
        clusterIPs: ['None'],
        ports: [{ name: 'pg', port: 5432, targetPort: 'pg' }],
      }),
      svc('shop', 'dual', {
        clusterIP: '10.96.0.30',
        clusterIPs: ['10.96.0.30', 'fd00:10:96::30'],
        ipFamilies: ['IPv4', 'IPv6'],
        ports: [{ name: 'http', port: 80 }],
      }),
      svc('shop', 'multi', {
        clusterIP: '10.96.0.50',
        ports: [
          { name: 'http', port: 80 },
          { name: 'https', port: 443 },
        ],
      }),
      svc('shop', 'empty', { clusterIP: '10.96.0.40', ports: [{ name: 'http', port: 80 }] }),
      svc('shop', 'unready', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }),
      svc('shop', 'hl3', { clusterIP: 'None', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      svc('shop', 'noports', { clusterIP: 'None' }),
      svc('shop', 'ext', { type: 'ExternalName', externalName: 'example.com' }),
      svc('shop', 'ext-in', { type: 'ExternalName', externalName: 'web.shop.svc.cluster.local' }),
      svc('shop', 'ext-ip', { type: 'ExternalName', externalName: '192.0.2.10' }),
      svc('shop', 'ext-nx', { type: 'ExternalName', externalName: 'nowhere.example.com' }),
    ],
    endpointSlices: [
      slice('default', 'kubernetes', [ep('192.168.1.10')], [{ name: 'https', port: 6443, protocol: 'TCP' }]),
      slice(
        'kube-system',
        'kube-dns',
        [ep('10.244.0.2', { targetRef: { kind: 'Pod', name: 'coredns-5d78c9869d-abcde' } })],
        [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
      ),
      slice(
        'shop',
        'web',
        [
          ep('10.244.0.5', { targetRef: { kind: 'Pod', name: 'web-7d4b9c-abcde' } }),
          ep('10.244.1.6', { targetRef: { kind: 'Pod', name: 'web-7d4b9c-fghij' } }),
          ep('10.244.2.7', {
            conditions: { ready: false },
            targetRef: { kind: 'Pod', name: 'web-7d4b9c-klmno' },
          }),
        ],
        [{ name: 'http', port: 80, protocol: 'TCP' }],
      ),
      slice(
        'shop',
        'db',
        [
          ep('10.244.1.10', { hostname: 'db-0', targetRef: { kind: 'Pod', name: 'db-0' } }),
          ep('10.244.2.11', { hostname: 'db-1', targetRef: { kind: 'Pod', name: 'db-1' } }),
        ],
        [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      ),
      slice('shop', 'dual', [ep('10.244.0.30')], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
      slice(
        'shop',
        'dual',
        [ep('fd00:10:244::1e')],
        [{ name: 'http', port: 8080, protocol: 'TCP' }],
        'IPv6',
        'v6',
      ),
      slice(
        'shop',
        'multi',
        [ep('10.244.0.50')],
        [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'https', port: 8443, protocol: 'TCP' },
        ],
      ),
      slice(
        'shop',
        'unready',
        [ep('10.244.0.60', { conditions: { ready: false } })],
        [{ name: 'http', port: 80, protocol: 'TCP' }],
      ),
      slice(
        'shop',
        'hl3',
        [ep('10.244.0.70'), ep('10.244.1.71'), ep('10.244.2.72')],
        [{ name: 'http', port: 8080, protocol: 'TCP' }],
      ),
      slice('shop', 'noports', [ep('10.244.0.80')], undefined),
    ],
    pods: [
      client,
      alpineClient,
      shopClient,
      pod('shop', 'web-7d4b9c-abcde', '10.244.0.5'),
      pod('shop', 'db-0', '10.244.1.10', { hostname: 'db-0', subdomain: 'db' }),
      pod('kube-system', 'coredns-5d78c9869d-abcde', '10.244.0.2'),
    ],
    ...extra,
  });
}

export const upstreams: UpstreamDnsServer[] = [
  {
    name: 'corp-dns',
    ip: '10.0.0.2',
    behaviour: 'answer',
    records: [
      { name: 'google.com', type: 'A', data: '142.250.80.46', ttl: 300 },
      { name: 'google.com', type: 'AAAA', data: '2607:f8b0:4004:c1b::71', ttl: 300 },
      { name: 'example.com', type: 'A', data: '93.184.215.14', ttl: 3600 },
      { name: 'www.example.com', type: 'CNAME', data: 'example.com', ttl: 3600 },
      { name: 'v4only.example.com', type: 'A', data: '192.0.2.44', ttl: 60 },
      {
        name: 'example.com',
        type: 'SOA',
        data: 'ns.icann.org. noc.dns.icann.org. 2024081485 7200 3600 1209600 3600',
        ttl: 3600,
      },
      { name: 'api.corp.internal', type: 'A', data: '10.20.0.5', ttl: 60 },
    ],
  },
  { name: 'dead-dns', ip: '10.0.0.3', behaviour: 'timeout', records: [] },
  { name: 'broken-dns', ip: '10.0.0.4', behaviour: 'servfail', records: [] },
];

// One test per kind of problem, with the exact file:line:col a user would jump to.
import { describe, expect, it } from 'vitest';
import { problems } from './problems.js';

const lines = (...l: string[]) => `${l.join('\n')}\n`;

describe('document shape', () => {
  it('names a missing apiVersion, kind or metadata.name at the object', () => {
    expect(problems(lines('kind: Service', 'metadata: {name: a}'))).toEqual([
      'in.yaml:1:1: apiVersion is missing',
    ]);
    expect(problems(lines('apiVersion: v1', 'metadata: {name: a}'))).toEqual([
      'in.yaml:1:1: kind is missing',
    ]);
    expect(problems(lines('apiVersion: v1', 'kind: Service'))).toEqual(['in.yaml:1:1: metadata is missing']);
    expect(problems(lines('apiVersion: v1', 'kind: Service', 'metadata:', '  labels: {a: b}'))).toEqual([
      'in.yaml:3:1: metadata: metadata.name is missing',
    ]);
    expect(problems(lines('apiVersion: v1', 'kind: Service', 'metadata: {name: 7}'))).toEqual([
      'in.yaml:3:18: metadata.name: metadata.name must be a non-empty string, found a number (7)',
    ]);
  });

  it('explains names that YAML 1.1 turned into booleans', () => {
    expect(problems(lines('apiVersion: v1', 'kind: Namespace', 'metadata: {name: no}'))).toEqual([
      'in.yaml:3:18: metadata.name: metadata.name must be a non-empty string, found a boolean (false); unquoted yes/no/on/off/y/n are booleans in YAML 1.1 (as kubectl reads it), quote it',
    ]);
  });

  it('reports every problem of every document, in order', () => {
    const text = lines(
      'apiVersion: v1', // 1
      'kind: Service', // 2
      'metadata: {name: a}', // 3
      'spec:', // 4
      '  type: Cluster', // 5
      '  ports: [{port: 0}]', // 6
      '---', // 7
      'kind: Pod', // 8
    );
    expect(problems(text)).toEqual([
      'in.yaml:5:9: Service default/a spec.type: unsupported value "Cluster": must be one of ClusterIP, NodePort, LoadBalancer, ExternalName',
      'in.yaml:6:18: Service default/a spec.ports[0].port: must be between 1 and 65535, found 0',
      'in.yaml:8:1: apiVersion is missing',
      'in.yaml:8:1: metadata is missing',
    ]);
  });
});

describe('addresses', () => {
  it('checks pod addresses', () => {
    const text = lines(
      'apiVersion: v1', // 1
      'kind: Pod', // 2
      'metadata: {name: p, namespace: web}', // 3
      'spec:', // 4
      '  containers: [{name: c}]', // 5
      'status:', // 6
      '  podIP: 10.244.0.256', // 7
      '  podIPs: [{ip: "10.244.0.5/24"}]', // 8
      '  hostIP: node-1', // 9
    );
    expect(problems(text)).toEqual([
      'in.yaml:7:10: Pod web/p status.podIP: invalid IP address "10.244.0.256"',
      'in.yaml:8:17: Pod web/p status.podIPs[0].ip: invalid IP address "10.244.0.5/24"',
      'in.yaml:9:11: Pod web/p status.hostIP: invalid IP address "node-1"',
    ]);
  });

  it('checks service addresses and CIDRs', () => {
    const text = lines(
      'apiVersion: v1', // 1
      'kind: Service', // 2
      'metadata: {name: lb}', // 3
      'spec:', // 4
      '  type: LoadBalancer', // 5
      '  clusterIP: 10.96.0.1.5', // 6
      '  clusterIPs: [10.96.0.15, "fd00::zz"]', // 7
      '  externalIPs: [1.2.3]', // 8
      '  loadBalancerIP: 203.0.113.300', // 9
      '  loadBalancerSourceRanges: [10.0.0.0/33, 192.168.0.1]', // 10
      '  ports: [{port: 80}]', // 11
      'status:', // 12
      '  loadBalancer:', // 13
      '    ingress:', // 14
      '    - ip: 203.0.113.5O', // 15
    );
    expect(problems(text)).toEqual([
      'in.yaml:6:14: Service default/lb spec.clusterIP: invalid IP address "10.96.0.1.5"',
      'in.yaml:7:28: Service default/lb spec.clusterIPs[1]: invalid IP address "fd00::zz"',
      'in.yaml:8:17: Service default/lb spec.externalIPs[0]: invalid IP address "1.2.3"',
      'in.yaml:9:19: Service default/lb spec.loadBalancerIP: invalid IP address "203.0.113.300"',
      'in.yaml:10:30: Service default/lb spec.loadBalancerSourceRanges[0]: invalid CIDR "10.0.0.0/33" (expected address/length, e.g. 10.244.0.0/16)',
      'in.yaml:10:43: Service default/lb spec.loadBalancerSourceRanges[1]: invalid CIDR "192.168.0.1" (expected address/length, e.g. 10.244.0.0/16)',
      'in.yaml:15:11: Service default/lb status.loadBalancer.ingress[0].ip: invalid IP address "203.0.113.5O"',
    ]);
  });

  it('requires ports except for headless and ExternalName services', () => {
    expect(
      problems(lines('apiVersion: v1', 'kind: Service', 'metadata: {name: s}', 'spec: {selector: {app: s}}')),
    ).toEqual([
      'in.yaml:4:7: Service default/s spec.ports: at least one port is required (unless clusterIP is None or type is ExternalName)',
    ]);
    expect(problems(lines('apiVersion: v1', 'kind: Service', 'metadata: {name: s}'))).toEqual([
      'in.yaml:1:1: Service default/s spec: is required',
    ]);
  });

  it('accepts clusterIP None (headless) and IPv6 service addresses', () => {
    const text = lines(
      'apiVersion: v1',
      'kind: Service',
      'metadata: {name: h}',
      'spec:',
      '  clusterIP: None',
      '  clusterIPs: [None]',
    );
    expect(problems(text)).toEqual([]);
    expect(
      problems(
        lines(
          'apiVersion: v1',
          'kind: Service',
          'metadata: {name: h}',
          'spec: {clusterIP: "fd00:10:96::a", ports: [{port: 80}]}',
        ),
      ),
    ).toEqual([]);
  });

  it('checks Node addresses and pod CIDRs', () => {
    const text = lines(
      'apiVersion: v1', // 1
      'kind: Node', // 2
      'metadata: {name: node-1}', // 3
      'spec:', // 4
      '  podCIDR: 10.244.0.0', // 5
      '  podCIDRs: [10.244.0.0/24, 10.244.0.0/240]', // 6
      'status:', // 7
      '  addresses:', // 8
      '  - {type: InternalIP, address: 192.168.1.x}', // 9
      '  - {type: Hostname, address: node-1}', // 10
      '  - {type: PublicIP, address: 1.2.3.4}', // 11
    );
    expect(problems(text)).toEqual([
      'in.yaml:5:12: Node node-1 spec.podCIDR: invalid CIDR "10.244.0.0" (expected address/length, e.g. 10.244.0.0/16)',
      'in.yaml:6:29: Node node-1 spec.podCIDRs[1]: invalid CIDR "10.244.0.0/240" (expected address/length, e.g. 10.244.0.0/16)',
      'in.yaml:9:33: Node node-1 status.addresses[0].address: invalid IP address "192.168.1.x"',
      'in.yaml:11:12: Node node-1 status.addresses[2].type: unsupported value "PublicIP": must be one of InternalIP, ExternalIP, Hostname, InternalDNS, ExternalDNS',
    ]);
  });

  it('checks EndpointSlice addresses by addressType', () => {
    const text = lines(
      'apiVersion: discovery.k8s.io/v1', // 1
      'kind: EndpointSlice', // 2
      'metadata: {name: web-abc12}', // 3
      'addressType: IPv4', // 4
      'endpoints:', // 5
      '- addresses: [10.244.1.3, "fd00::3"]', // 6
      '- addresses: []', // 7
      'ports: [{port: 65536}]', // 8
      '---', // 9
      'apiVersion: discovery.k8s.io/v1', // 10
      'kind: EndpointSlice', // 11
      'metadata: {name: ext}', // 12
      'addressType: FQDN', // 13
      'endpoints: [{addresses: [Example_Host.com]}]', // 14
      '---', // 15
      'apiVersion: discovery.k8s.io/v1', // 16
      'kind: EndpointSlice', // 17
      'metadata: {name: v6}', // 18
      'addressType: IP', // 19
    );
    expect(problems(text)).toEqual([
      'in.yaml:6:27: EndpointSlice default/web-abc12 endpoints[0].addresses[1]: "fd00::3" is not an IPv4 address',
      'in.yaml:7:14: EndpointSlice default/web-abc12 endpoints[1].addresses: must hold at least one address',
      'in.yaml:8:16: EndpointSlice default/web-abc12 ports[0].port: must be between 1 and 65535, found 65536',
      'in.yaml:14:26: EndpointSlice default/ext endpoints[0].addresses[0]: "Example_Host.com" is not a DNS name (addressType FQDN)',
      'in.yaml:19:14: EndpointSlice default/v6 addressType: unsupported value "IP": must be one of IPv4, IPv6, FQDN',
    ]);
  });
});

describe('enums and ranges', () => {
  it('checks Service protocol, traffic policies, session affinity and its timeout', () => {
    const text = lines(
      'apiVersion: v1', // 1
      'kind: Service', // 2
      'metadata: {name: s, namespace: ns1}', // 3
      'spec:', // 4
      '  type: NodePort', // 5
      '  externalTrafficPolicy: Global', // 6
      '  internalTrafficPolicy: local', // 7
      '  sessionAffinity: Sticky', // 8
      '  ports:', // 9
      '  - name: dns', // 10
      '    port: 53', // 11
      '    protocol: udp', // 12
      '  - name: web', // 13
      '    port: 80', // 14
      '    targetPort: 99999', // 15
      '    nodePort: 0', // 16
      '  - port: 81', // 17
      '    targetPort: Http_Port', // 18
      '  - {name: q, port: 82, targetPort: "8080"}', // 19
      '---', // 20
      'apiVersion: v1', // 21
      'kind: Service', // 22
      'metadata: {name: t, namespace: ns1}', // 23
      'spec:', // 24
      '  sessionAffinity: ClientIP', // 25
      '  sessionAffinityConfig: {clientIP: {timeoutSeconds: 86401}}', // 26
      '  ports: [{port: 80}]', // 27
    );
    expect(problems(text)).toEqual([
      'in.yaml:6:26: Service ns1/s spec.externalTrafficPolicy: unsupported value "Global": must be one of Cluster, Local',
      'in.yaml:7:26: Service ns1/s spec.internalTrafficPolicy: unsupported value "local": must be one of Cluster, Local',
      'in.yaml:8:20: Service ns1/s spec.sessionAffinity: unsupported value "Sticky": must be one of None, ClientIP',
      'in.yaml:12:15: Service ns1/s spec.ports[0].protocol: unsupported value "udp": must be one of TCP, UDP, SCTP',
      'in.yaml:15:17: Service ns1/s spec.ports[1].targetPort: must be between 1 and 65535, found 99999',
      'in.yaml:16:15: Service ns1/s spec.ports[1].nodePort: must be between 1 and 65535, found 0',
      'in.yaml:17:5: Service ns1/s spec.ports[2]: name is required when a Service has more than one port',
      'in.yaml:18:17: Service ns1/s spec.ports[2].targetPort: invalid named port "Http_Port": at most 15 lowercase letters, digits and \'-\'',
      'in.yaml:19:37: Service ns1/s spec.ports[3].targetPort: "8080" is a string, so a port name, and names need a letter; write 8080 unquoted',
      'in.yaml:26:54: Service ns1/t spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be between 1 and 86400, found 86401',
    ]);
  });

  it('requires at least one container', () => {
    expect(
      problems(lines('apiVersion: v1', 'kind: Pod', 'metadata: {name: p}', 'spec: {containers: []}')),
    ).toEqual(['in.yaml:4:20: Pod default/p spec.containers: must hold at least one container']);
    expect(problems(lines('apiVersion: v1', 'kind: Pod', 'metadata: {name: p}', 'spec: {}'))).toEqual([
      'in.yaml:4:7: Pod default/p spec.containers: is required',
    ]);
  });

  it('checks container ports and protocols in pods and workload templates', () => {
    const text = lines(
      'apiVersion: apps/v1', // 1
      'kind: Deployment', // 2
      'metadata: {name: web}', // 3
      'spec:', // 4
      '  replicas: -1', // 5
      '  template:', // 6
      '    spec:', // 7
      '      containers:', // 8
      '      - name: web', // 9
      '        ports:', // 10
      '        - {containerPort: 0, protocol: HTTP}', // 11
      '        - {containerPort: "8080"}', // 12
    );
    expect(problems(text)).toEqual([
      'in.yaml:5:13: Deployment default/web spec.replicas: must be between 0 and 2147483647, found -1',
      'in.yaml:11:27: Deployment default/web spec.template.spec.containers[0].ports[0].containerPort: must be between 1 and 65535, found 0',
      'in.yaml:11:40: Deployment default/web spec.template.spec.containers[0].ports[0].protocol: unsupported value "HTTP": must be one of TCP, UDP, SCTP',
      'in.yaml:12:27: Deployment default/web spec.template.spec.containers[0].ports[1].containerPort: must be a whole number, found a string ("8080")',
    ]);
  });
});

describe('labels and selectors', () => {
  it('rejects label values that are not strings, pointing at the value', () => {
    const text = lines(
      'apiVersion: v1', // 1
      'kind: Pod', // 2
      'metadata:', // 3
      '  name: p', // 4
      '  labels:', // 5
      '    app: web', // 6
      '    version: 1', // 7
      '    canary: true', // 8
      'spec: {containers: [{name: c}]}', // 9
    );
    expect(problems(text)).toEqual([
      'in.yaml:7:14: Pod default/p metadata.labels.version: label value must be a string, found a number (1); quote it',
      'in.yaml:8:13: Pod default/p metadata.labels.canary: label value must be a string, found a boolean (true); quote it',
    ]);
  });

  it('rejects a Service selector that is not a map of strings', () => {
    const text = lines(
      'apiVersion: v1', // 1
      'kind: Service', // 2
      'metadata: {name: s}', // 3
      'spec:', // 4
      '  selector:', // 5
      '    matchLabels: {app: web}', // 6
      '  ports: [{port: 80}]', // 7
      '---', // 8
      'apiVersion: v1', // 9
      'kind: Service', // 10
      'metadata: {name: t}', // 11
      'spec:', // 12
      '  selector: [app, web]', // 13
      '  ports: [{port: 80}]', // 14
    );
    expect(problems(text)).toEqual([
      'in.yaml:6:18: Service default/s spec.selector.matchLabels: selector value must be a string, found a mapping; quote it',
      'in.yaml:13:13: Service default/t spec.selector: must be a map of strings, found a list',
    ]);
  });

  it('checks workload label selectors', () => {
    const text = lines(
      'apiVersion: apps/v1', // 1
      'kind: StatefulSet', // 2
      'metadata: {name: db}', // 3
      'spec:', // 4
      '  selector:', // 5
      '    matchLabels: {app: 5}', // 6
      '    matchExpressions:', // 7
      '    - {key: tier, operator: Equals, values: [a]}', // 8
      '    - {key: env, operator: In}', // 9
      '  template:', // 10
      '    spec: {containers: [{name: c}]}', // 11
    );
    expect(problems(text)).toEqual([
      'in.yaml:6:24: StatefulSet default/db spec.selector.matchLabels.app: label value must be a string, found a number (5); quote it',
      'in.yaml:8:29: StatefulSet default/db spec.selector.matchExpressions[0].operator: unsupported value "Equals": must be one of In, NotIn, Exists, DoesNotExist',
      'in.yaml:9:7: StatefulSet default/db spec.selector.matchExpressions[1].values: must not be empty when operator is In',
    ]);
  });
});

describe('duplicates', () => {
  it('points at both definitions of the same kind, namespace and name', () => {
    const svc = 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n';
    const text = `${svc}---\n${svc.replace('{name: web}', '{name: web, namespace: default}')}`;
    expect(problems(text)).toEqual([
      'in.yaml:1:1: Service default/web: defined twice; also at in.yaml:6:1',
      'in.yaml:6:1: Service default/web: defined twice; first at in.yaml:1:1',
    ]);
  });

  it('treats the same name in another namespace, kind or API group as distinct', () => {
    const text = lines(
      'apiVersion: gateway.networking.k8s.io/v1',
      'kind: Gateway',
      'metadata: {name: gw}',
      '---',
      'apiVersion: networking.istio.io/v1',
      'kind: Gateway',
      'metadata: {name: gw}',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata: {name: gw, namespace: other}',
      'spec: {ports: [{port: 80}]}',
    );
    expect(problems(text)).toEqual([]);
  });

  it('finds duplicates across files', () => {
    const { loadCluster } = require_();
    try {
      loadCluster([
        { file: 'a.yaml', text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n' },
        { file: 'b.yaml', text: '\n\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n' },
      ]);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe(
        'a.yaml:1:1: Namespace shop: defined twice; also at b.yaml:3:1\nb.yaml:3:1: Namespace shop: defined twice; first at a.yaml:1:1',
      );
    }
  });
});

describe('other kinds', () => {
  it('checks NetworkPolicy ports and ipBlocks', () => {
    const text = lines(
      'apiVersion: networking.k8s.io/v1', // 1
      'kind: NetworkPolicy', // 2
      'metadata: {name: np}', // 3
      'spec:', // 4
      '  podSelector: {}', // 5
      '  ingress:', // 6
      '  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0]}}]', // 7
      '    ports: [{protocol: ICMP, port: 80}]', // 8
    );
    expect(problems(text)).toEqual([
      'in.yaml:7:50: NetworkPolicy default/np spec.ingress[0].from[0].ipBlock.except[0]: invalid CIDR "10.1.0.0" (expected address/length, e.g. 10.244.0.0/16)',
      'in.yaml:8:24: NetworkPolicy default/np spec.ingress[0].ports[0].protocol: unsupported value "ICMP": must be one of TCP, UDP, SCTP',
    ]);
  });

  it('keeps unknown kinds as ignored, not errors', () => {
    const text = lines(
      'apiVersion: cert-manager.io/v1',
      'kind: Certificate',
      'metadata: {name: c, namespace: x}',
      'spec: {whatever: 1}',
    );
    expect(problems(text)).toEqual([]);
  });
});

import * as loader from '../../src/load/index.js';

function require_() {
  return loader;
}

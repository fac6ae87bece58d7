// Validation of the Kubernetes objects kpath models, the subset of the API server's checks that
// matters for networking: addresses, ports, enums, selectors, labels.
import type { Family } from '../net/ip.js';
import {
  bool,
  cidr,
  each,
  type Findings,
  int,
  ip,
  isDNSName,
  isPortName,
  kindOf,
  labelSelector,
  list,
  oneOf,
  port,
  protocol,
  record,
  show,
  str,
  stringMap,
} from './field-checks.js';
import { childPath as at, subPath } from './parse.js';

type Obj = Record<string, unknown>;

export function validateMetadata(f: Findings, o: Obj): void {
  const md = o.metadata as Obj;
  stringMap(f, md.labels, 'metadata.labels', 'label value');
  stringMap(f, md.annotations, 'metadata.annotations', 'annotation value');
  str(f, md.namespace, 'metadata.namespace');
}

function containerPorts(f: Findings, ports: unknown, path: string): void {
  list(f, ports, path).forEach((p, i) => {
    const pp = at(path, i);
    const r = record(f, p, pp);
    if (!r) return;
    if (r.containerPort === undefined) f.add(pp, 'containerPort is required');
    port(f, r.containerPort, at(pp, 'containerPort'));
    port(f, r.hostPort, at(pp, 'hostPort'));
    protocol(f, r.protocol, at(pp, 'protocol'));
    ip(f, r.hostIP, at(pp, 'hostIP'));
    const name = str(f, r.name, at(pp, 'name'));
    if (name !== undefined && !isPortName(name)) {
      f.add(at(pp, 'name'), `invalid port name ${show(name)}: at most 15 lowercase letters, digits and '-'`);
    }
  });
}

const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const;

export function validatePodSpec(f: Findings, spec: unknown, path: string): void {
  const s = record(f, spec, path);
  if (!s) {
    if (spec === undefined) f.add(path, 'is required');
    return;
  }
  str(f, s.nodeName, at(path, 'nodeName'));
  stringMap(f, s.nodeSelector, at(path, 'nodeSelector'));
  bool(f, s.hostNetwork, at(path, 'hostNetwork'));
  oneOf(f, s.dnsPolicy, at(path, 'dnsPolicy'), DNS_POLICIES);
  const dns = record(f, s.dnsConfig, at(path, 'dnsConfig'));
  if (dns) {
    each(f, dns.nameservers, subPath(path, 'dnsConfig.nameservers'), (n, p) => {
      ip(f, n, p);
    });
  }
  if (s.dnsPolicy === 'None' && !dns?.nameservers) {
    f.add(at(path, 'dnsConfig'), 'dnsPolicy None needs dnsConfig.nameservers');
  }
  if (s.containers === undefined) f.add(at(path, 'containers'), 'is required');
  else if (Array.isArray(s.containers) && s.containers.length === 0) {
    f.add(at(path, 'containers'), 'must hold at least one container');
  }
  for (const key of ['containers', 'initContainers']) {
    list(f, s[key], at(path, key)).forEach((c, i) => {
      const cp = at(at(path, key), i);
      const r = record(f, c, cp);
      if (r) containerPorts(f, r.ports, at(cp, 'ports'));
    });
  }
}

function ipList(f: Findings, v: unknown, path: string, key = 'ip'): void {
  list(f, v, path).forEach((e, i) => {
    const r = record(f, e, at(path, i));
    if (r) ip(f, r[key], at(at(path, i), key));
  });
}

function validatePod(f: Findings, o: Obj): void {
  validatePodSpec(f, o.spec, 'spec');
  const st = record(f, o.status, 'status');
  if (!st) return;
  ip(f, st.podIP, 'status.podIP');
  ip(f, st.hostIP, 'status.hostIP');
  ipList(f, st.podIPs, 'status.podIPs');
  ipList(f, st.hostIPs, 'status.hostIPs');
}

function validateWorkload(f: Findings, o: Obj): void {
  const s = record(f, o.spec, 'spec');
  if (!s) {
    f.add('spec', 'is required');
    return;
  }
  if (o.kind !== 'DaemonSet') int(f, s.replicas, 'spec.replicas', 0, 2 ** 31 - 1);
  labelSelector(f, s.selector, 'spec.selector');
  str(f, s.serviceName, 'spec.serviceName');
  const t = record(f, s.template, 'spec.template');
  if (!t) {
    f.add('spec.template', 'is required');
    return;
  }
  const tm = record(f, t.metadata, 'spec.template.metadata');
  if (tm) stringMap(f, tm.labels, 'spec.template.metadata.labels', 'label value');
  validatePodSpec(f, t.spec, 'spec.template.spec');
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
const TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;

function validateService(f: Findings, o: Obj): void {
  const s = record(f, o.spec, 'spec');
  if (!s) {
    if (o.spec === undefined) f.add('spec', 'is required');
    return;
  }
  oneOf(f, s.type, 'spec.type', SERVICE_TYPES);
  if (s.selector !== undefined && s.selector !== null) {
    // A Service selector is a plain map, not a LabelSelector (`matchLabels` here is a common slip).
    stringMap(f, s.selector, 'spec.selector', 'selector value');
  }
  const ports = list(f, s.ports, 'spec.ports');
  // ValidateService: only headless and ExternalName services may go without ports.
  if (ports.length === 0 && s.clusterIP !== 'None' && s.type !== 'ExternalName') {
    if (s.ports === undefined || Array.isArray(s.ports))
      f.add('spec.ports', 'at least one port is required (unless clusterIP is None or type is ExternalName)');
  }
  ports.forEach((p, i) => {
    const pp = at('spec.ports', i);
    const r = record(f, p, pp);
    if (!r) return;
    if (r.port === undefined) f.add(pp, 'port is required');
    port(f, r.port, at(pp, 'port'));
    protocol(f, r.protocol, at(pp, 'protocol'));
    port(f, r.nodePort, at(pp, 'nodePort'));
    const tp = r.targetPort;
    if (typeof tp === 'number') port(f, tp, at(pp, 'targetPort'));
    else if (typeof tp === 'string') {
      // IntOrString: a quoted "8080" is a port *name*, and names need a letter (the API rejects it).
      if (/^\d+$/.test(tp)) {
        f.add(
          at(pp, 'targetPort'),
          `${show(tp)} is a string, so a port name, and names need a letter; write ${tp} unquoted`,
        );
      } else if (!isPortName(tp)) {
        f.add(
          at(pp, 'targetPort'),
          `invalid named port ${show(tp)}: at most 15 lowercase letters, digits and '-'`,
        );
      }
    } else if (tp !== undefined && tp !== null)
      f.add(at(pp, 'targetPort'), `must be a number or a port name, found ${kindOf(tp)}`);
    if (ports.length > 1 && r.name === undefined)
      f.add(pp, 'name is required when a Service has more than one port');
  });
  const clusterIP = (v: unknown, path: string) => {
    if (v === 'None' || v === '') return;
    ip(f, v, path);
  };
  clusterIP(s.clusterIP, 'spec.clusterIP');
  each(f, s.clusterIPs, 'spec.clusterIPs', (v, p) => clusterIP(v, p));
  each(f, s.externalIPs, 'spec.externalIPs', (v, p) => ip(f, v, p));
  if (s.loadBalancerIP !== '') ip(f, s.loadBalancerIP, 'spec.loadBalancerIP');
  each(f, s.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges', (v, p) => cidr(f, v, p));
  oneOf(f, s.externalTrafficPolicy, 'spec.externalTrafficPolicy', TRAFFIC_POLICIES);
  oneOf(f, s.internalTrafficPolicy, 'spec.internalTrafficPolicy', TRAFFIC_POLICIES);
  oneOf(f, s.sessionAffinity, 'spec.sessionAffinity', ['None', 'ClientIP'] as const);
  const sac = record(f, s.sessionAffinityConfig, 'spec.sessionAffinityConfig');
  const cip = sac && record(f, sac.clientIP, 'spec.sessionAffinityConfig.clientIP');
  if (cip) int(f, cip.timeoutSeconds, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 1, 86400);
  each(f, s.ipFamilies, 'spec.ipFamilies', (v, p) => oneOf(f, v, p, ['IPv4', 'IPv6'] as const));
  oneOf(f, s.ipFamilyPolicy, 'spec.ipFamilyPolicy', [
    'SingleStack',
    'PreferDualStack',
    'RequireDualStack',
  ] as const);
  port(f, s.healthCheckNodePort, 'spec.healthCheckNodePort');
  if (s.type === 'ExternalName') {
    const name = str(f, s.externalName, 'spec.externalName');
    if (name === undefined) f.add('spec.externalName', 'is required for type ExternalName');
    else if (!isDNSName(name.replace(/\.$/, '')))
      f.add('spec.externalName', `${show(name)} is not a DNS name`);
  }
  const st = record(f, o.status, 'status');
  const lb = st && record(f, st.loadBalancer, 'status.loadBalancer');
  if (lb) ipList(f, lb.ingress, 'status.loadBalancer.ingress');
}

function validateEndpointSlice(f: Findings, o: Obj): void {
  const type = oneOf(f, o.addressType, 'addressType', ['IPv4', 'IPv6', 'FQDN'] as const);
  if (o.addressType === undefined) f.add('addressType', 'is required (IPv4, IPv6 or FQDN)');
  list(f, o.endpoints, 'endpoints').forEach((e, i) => {
    const ep = at('endpoints', i);
    const r = record(f, e, ep);
    if (!r) return;
    const addrs = list(f, r.addresses, at(ep, 'addresses'));
    if (addrs.length === 0) f.add(at(ep, 'addresses'), 'must hold at least one address');
    addrs.forEach((a, j) => {
      const ap = at(at(ep, 'addresses'), j);
      if (type === 'FQDN') {
        const s = str(f, a, ap);
        if (s !== undefined && !isDNSName(s)) f.add(ap, `${show(s)} is not a DNS name (addressType FQDN)`);
      } else if (type) ip(f, a, ap, (type === 'IPv4' ? 4 : 6) as Family);
    });
    const c = record(f, r.conditions, at(ep, 'conditions'));
    if (c) for (const k of ['ready', 'serving', 'terminating']) bool(f, c[k], at(at(ep, 'conditions'), k));
    str(f, r.nodeName, at(ep, 'nodeName'));
  });
  list(f, o.ports, 'ports').forEach((p, i) => {
    const pp = at('ports', i);
    const r = record(f, p, pp);
    if (!r) return;
    port(f, r.port, at(pp, 'port'));
    protocol(f, r.protocol, at(pp, 'protocol'));
  });
}

const ADDRESS_TYPES = ['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS'] as const;

function validateNode(f: Findings, o: Obj): void {
  const s = record(f, o.spec, 'spec');
  if (s) {
    cidr(f, s.podCIDR, 'spec.podCIDR');
    each(f, s.podCIDRs, 'spec.podCIDRs', (v, p) => cidr(f, v, p));
    bool(f, s.unschedulable, 'spec.unschedulable');
  }
  const st = record(f, o.status, 'status');
  if (!st) return;
  list(f, st.addresses, 'status.addresses').forEach((a, i) => {
    const ap = at('status.addresses', i);
    const r = record(f, a, ap);
    if (!r) return;
    const t = oneOf(f, r.type, at(ap, 'type'), ADDRESS_TYPES);
    if (t === 'InternalIP' || t === 'ExternalIP') ip(f, r.address, at(ap, 'address'));
    else str(f, r.address, at(ap, 'address'));
  });
  each(f, st.conditions, 'status.conditions', (c, p) => {
    const r = record(f, c, p);
    if (r) oneOf(f, r.status, at(p, 'status'), ['True', 'False', 'Unknown'] as const);
  });
}

function validateNetworkPolicy(f: Findings, o: Obj): void {
  const s = record(f, o.spec, 'spec');
  if (!s) return;
  labelSelector(f, s.podSelector, 'spec.podSelector');
  each(f, s.policyTypes, 'spec.policyTypes', (t, p) => oneOf(f, t, p, ['Ingress', 'Egress'] as const));
  for (const [dir, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    list(f, s[dir], at('spec', dir)).forEach((rule, i) => {
      const rp = at(at('spec', dir), i);
      const r = record(f, rule, rp);
      if (!r) return;
      list(f, r.ports, at(rp, 'ports')).forEach((p, j) => {
        const pp = at(at(rp, 'ports'), j);
        const pr = record(f, p, pp);
        if (!pr) return;
        protocol(f, pr.protocol, at(pp, 'protocol'));
        if (typeof pr.port === 'number') port(f, pr.port, at(pp, 'port'));
        else if (typeof pr.port === 'string' && !isPortName(pr.port))
          f.add(at(pp, 'port'), `invalid named port ${show(pr.port)}`);
        port(f, pr.endPort, at(pp, 'endPort'));
      });
      list(f, r[peers], at(rp, peers)).forEach((peer, j) => {
        const pp = at(at(rp, peers), j);
        const pr = record(f, peer, pp);
        if (!pr) return;
        labelSelector(f, pr.podSelector, at(pp, 'podSelector'));
        labelSelector(f, pr.namespaceSelector, at(pp, 'namespaceSelector'));
        const b = record(f, pr.ipBlock, at(pp, 'ipBlock'));
        if (!b) return;
        cidr(f, b.cidr, subPath(pp, 'ipBlock.cidr'));
        each(f, b.except, subPath(pp, 'ipBlock.except'), (e, p) => cidr(f, e, p));
      });
    });
  }
}

function validateConfigMap(f: Findings, o: Obj): void {
  // The API stores ConfigMap data as strings; `replicas: 3` in data is rejected.
  stringMap(f, o.data, 'data', 'data value');
}

/** Checks one object of a kind kpath models; `kind` is the canonical kind (group-qualified kinds resolved). */
export function validateObject(f: Findings, kind: string, o: Obj): void {
  validateMetadata(f, o);
  switch (kind) {
    case 'Pod':
      validatePod(f, o);
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
      validateWorkload(f, o);
      break;
    case 'Service':
      validateService(f, o);
      break;
    case 'EndpointSlice':
      validateEndpointSlice(f, o);
      break;
    case 'Node':
      validateNode(f, o);
      break;
    case 'NetworkPolicy':
      validateNetworkPolicy(f, o);
      break;
    case 'ConfigMap':
      validateConfigMap(f, o);
      break;
  }
}

// `kubectl get` tables for the objects the control plane produced, with kubectl's columns and cell formats.
import type { ClusterState } from '../model/cluster.js';
import type { EndpointSlice, KObject, Node, Pod, Service } from '../model/k8s.js';
import { formatTable } from './table.js';

export type GetKind = 'nodes' | 'pods' | 'services' | 'endpointslices';

export interface GetOptions {
  wide: boolean;
  /** Namespace to list; undefined with allNamespaces lists every namespace. */
  namespace: string;
  allNamespaces: boolean;
}

export const GET_KIND_ALIASES: Record<string, GetKind> = {
  node: 'nodes',
  nodes: 'nodes',
  no: 'nodes',
  pod: 'pods',
  pods: 'pods',
  po: 'pods',
  service: 'services',
  services: 'services',
  svc: 'services',
  endpointslice: 'endpointslices',
  endpointslices: 'endpointslices',
};

/** The objects `kubectl get KIND` would list, in kubectl's order (namespace, then name). */
export function selectObjects(state: ClusterState, kind: GetKind, opts: GetOptions): KObject[] {
  const all: KObject[] =
    kind === 'nodes'
      ? state.nodes
      : kind === 'pods'
        ? state.pods
        : kind === 'services'
          ? state.services
          : state.endpointSlices;
  const picked =
    kind === 'nodes' || opts.allNamespaces ? all : all.filter((o) => o.metadata.namespace === opts.namespace);
  return [...picked].sort(
    (a, b) =>
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

export function renderGet(state: ClusterState, kind: GetKind, opts: GetOptions): string {
  const objects = selectObjects(state, kind, opts);
  if (objects.length === 0) {
    return kind === 'nodes' || opts.allNamespaces
      ? 'No resources found\n'
      : `No resources found in ${opts.namespace} namespace.\n`;
  }
  const withNs = opts.allNamespaces && kind !== 'nodes';
  const table = TABLES[kind](objects, opts.wide);
  const rows = table.map((r, i) =>
    withNs ? [i === 0 ? 'NAMESPACE' : (objects[i - 1]!.metadata.namespace ?? ''), ...r] : r,
  );
  return formatTable(rows);
}

const TABLES: Record<GetKind, (objs: KObject[], wide: boolean) => string[][]> = {
  nodes: (objs, wide) => {
    const head = ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'];
    if (wide) head.push('INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME');
    const rows = (objs as Node[]).map((n) => {
      const ready = n.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      const roles = Object.keys(n.metadata.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length))
        .sort();
      const info = (n.status.nodeInfo ?? {}) as Record<string, string | undefined>;
      const row = [
        n.metadata.name,
        (ready ? 'Ready' : 'NotReady') + (n.spec.unschedulable ? ',SchedulingDisabled' : ''),
        roles.length ? roles.join(',') : '<none>',
        age(n),
        info.kubeletVersion ?? '<unknown>',
      ];
      if (wide) {
        const addr = (t: string) => n.status.addresses?.find((a) => a.type === t)?.address ?? '<none>';
        row.push(
          addr('InternalIP'),
          addr('ExternalIP'),
          info.osImage ?? '<unknown>',
          info.kernelVersion ?? '<unknown>',
          info.containerRuntimeVersion ?? '<unknown>',
        );
      }
      return row;
    });
    return [head, ...rows];
  },
  pods: (objs, wide) => {
    const head = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'];
    if (wide) head.push('IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES');
    const rows = (objs as Pod[]).map((p) => {
      const containers = p.spec.containers.length;
      const ready = p.status?.conditions?.find((c) => c.type === 'ContainersReady')?.status === 'True';
      const row = [
        p.metadata.name,
        `${ready ? containers : 0}/${containers}`,
        p.metadata.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? 'Pending'),
        '0',
        age(p),
      ];
      if (wide) row.push(p.status?.podIP ?? '<none>', p.spec.nodeName ?? '<none>', '<none>', '<none>');
      return row;
    });
    return [head, ...rows];
  },
  services: (objs, wide) => {
    const head = ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'];
    if (wide) head.push('SELECTOR');
    const rows = (objs as Service[]).map((s) => {
      const row = [
        s.metadata.name,
        s.spec.type ?? 'ClusterIP',
        s.spec.type === 'ExternalName' ? '<none>' : (s.spec.clusterIP ?? '<none>'),
        externalIP(s),
        servicePorts(s),
        age(s),
      ];
      if (wide) {
        const sel = Object.entries(s.spec.selector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        row.push(sel || '<none>');
      }
      return row;
    });
    return [head, ...rows];
  },
  endpointslices: (objs) => {
    const head = ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'];
    const rows = (objs as EndpointSlice[]).map((e) => {
      const ports = (e.ports ?? []).map((p) => String(p.port ?? '')).filter(Boolean);
      return [
        e.metadata.name,
        e.addressType,
        ports.length ? ports.join(',') : '<unset>',
        sliceEndpoints(e),
        age(e),
      ];
    });
    return [head, ...rows];
  },
};

function age(o: KObject): string {
  // kubectl prints the time since creationTimestamp; kpath has no clock (output must be deterministic),
  // so it prints what kubectl prints when the timestamp is missing.
  void o;
  return '<unknown>';
}

/** kubectl's EXTERNAL-IP column (printers.go getServiceExternalIP). */
function externalIP(s: Service): string {
  const ext = s.spec.externalIPs ?? [];
  switch (s.spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return ext.length ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean);
      const all = [...lb, ...ext];
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return s.spec.externalName ?? '<none>';
  }
}

/** kubectl's PORT(S) column: `80:30080/TCP`, comma-separated. */
function servicePorts(s: Service): string {
  const ports = s.spec.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

/** kubectl shows at most three endpoint addresses, then `+ N more...`. */
function sliceEndpoints(e: EndpointSlice): string {
  const addrs = e.endpoints.flatMap((ep) => ep.addresses);
  if (addrs.length === 0) return '<unset>';
  const shown = addrs.slice(0, 3).join(',');
  return addrs.length > 3 ? `${shown} + ${addrs.length - 3} more...` : shown;
}

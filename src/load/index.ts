// Input → Cluster: parse every document, validate it as the API server would, apply the API's
// defaults and sort the objects into the Cluster. Pure: text in, data (or one InputError) out.
import type { Cluster, IgnoredObject } from '../model/cluster.js';
import { InputError, type InputProblem } from '../model/errors.js';
import {
  type EndpointSlice,
  type KObject,
  type Namespace,
  type Node,
  objectKey,
  type Pod,
  type Service,
  type SourceRef,
  type Workload,
} from '../model/k8s.js';
import type { IPAddr } from '../net/ip.js';
import { buildClusterConfig, CLUSTER_API_VERSION, KUBE_PROXY_API_VERSION } from './cluster-config.js';
import { applyDefaults } from './defaults.js';
import { Findings, ip, kindOf, YES_NO } from './field-checks.js';
import { type Bucket, bucketOf, groupOf, isClusterScoped } from './kinds.js';
import { KUBE_PROXY_CONFIGMAP, kubeProxyFromConfigMap } from './kube-proxy-configmap.js';
import { isRecord, type ParsedObject, parseSource } from './parse.js';
import type { SourceText } from './sources.js';
import { validateObject } from './validate.js';

// readSources (src/load/sources.ts) is the filesystem edge; this module stays importable in a browser.
export type { SourceText } from './sources.js';

interface Ordered {
  problem: InputProblem;
  order: number;
}

function where(s: SourceRef): string {
  return `${s.file}:${s.line}:${s.col}`;
}

/** `Service default/my-app`, `Node node-1`. */
export function describeObject(kind: string, name: string, namespace?: string): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

/** The structural minimum of a Kubernetes object; reports what is missing. */
function identity(
  f: Findings,
  v: Record<string, unknown>,
): { apiVersion: string; kind: string; name: string } | undefined {
  let ok = true;
  for (const key of ['apiVersion', 'kind'] as const) {
    if (typeof v[key] !== 'string' || v[key] === '') {
      f.add(
        v[key] === undefined ? undefined : key,
        v[key] === undefined
          ? `${key} is missing`
          : `${key} must be a non-empty string, found ${kindOf(v[key])}`,
      );
      ok = false;
    }
  }
  const md = v.metadata;
  if (!isRecord(md)) {
    f.add(
      md === undefined ? undefined : 'metadata',
      md === undefined ? 'metadata is missing' : `metadata must be a mapping, found ${kindOf(md)}`,
    );
    return undefined;
  }
  if (typeof md.name !== 'string' || md.name === '') {
    f.add(
      md.name === undefined ? 'metadata' : 'metadata.name',
      md.name === undefined
        ? 'metadata.name is missing'
        : `metadata.name must be a non-empty string, found ${kindOf(md.name)}${typeof md.name === 'boolean' ? YES_NO : ''}`,
    );
    return undefined;
  }
  return ok ? { apiVersion: v.apiVersion as string, kind: v.kind as string, name: md.name } : undefined;
}

export function loadCluster(sources: SourceText[]): Cluster {
  const problems: Ordered[] = [];
  const report = (fs: Findings[], order: number) => {
    for (const f of fs) for (const p of f.problems) problems.push({ problem: p, order });
  };
  const parsed: ParsedObject[] = [];
  sources.forEach((src, order) => {
    const r = parseSource(src, order);
    parsed.push(...r.objects);
    for (const p of r.problems) problems.push({ problem: p, order });
  });

  const buckets: Record<Bucket, KObject[]> = {
    namespaces: [],
    nodes: [],
    pods: [],
    workloads: [],
    services: [],
    endpointSlices: [],
    policies: [],
    l7: [],
    configMaps: [],
  };
  const ignored: IgnoredObject[] = [];
  const sourceMap = new Map<string, SourceRef>();
  const seen = new Map<string, { source: SourceRef; order: number; label: string }>();
  let clusterDoc: ParsedObject | undefined;
  let kubeProxyDoc: ParsedObject | undefined;

  const once = (prev: ParsedObject | undefined, next: ParsedObject, label: string): boolean => {
    if (!prev) return true;
    problems.push({
      problem: {
        ...loc(next.source),
        object: label,
        message: `a second ${label}; the first is at ${where(prev.source)}`,
      },
      order: next.order,
    });
    return false;
  };

  for (const obj of parsed) {
    const v = obj.value;
    if (v.apiVersion === KUBE_PROXY_API_VERSION && v.kind === 'KubeProxyConfiguration') {
      // kube-proxy's config file has no metadata.
      if (once(kubeProxyDoc, obj, 'KubeProxyConfiguration')) kubeProxyDoc = obj;
      continue;
    }
    if (v.apiVersion === CLUSTER_API_VERSION && v.kind === 'Cluster') {
      // Our own document: metadata is optional (the name defaults), its schema is checked on its own.
      if (once(clusterDoc, obj, 'Cluster document')) clusterDoc = obj;
      continue;
    }
    const f = new Findings(obj.source, undefined);
    const id = identity(f, v);
    if (!id) {
      report([f], obj.order);
      continue;
    }
    const group = groupOf(id.apiVersion);
    if (group === 'kpath.dev') {
      f.add(
        'kind',
        `unknown kpath kind ${id.apiVersion} ${id.kind} (expected ${CLUSTER_API_VERSION} Cluster)`,
      );
      report([f], obj.order);
      continue;
    }
    const md = v.metadata as Record<string, unknown>;
    const bucket = bucketOf(id.apiVersion, id.kind);
    const scoped = isClusterScoped(id.apiVersion, id.kind);
    let namespace = typeof md.namespace === 'string' && md.namespace !== '' ? md.namespace : undefined;
    if (bucket && scoped) namespace = undefined;
    // The API server puts namespaced objects without a namespace into the request's one: `default`.
    if (bucket && !scoped) namespace ??= 'default';
    const label = describeObject(id.kind, id.name, namespace);
    const dupKey = `${group}/${id.kind}/${namespace ?? ''}/${id.name}`;
    const prev = seen.get(dupKey);
    if (prev) {
      problems.push({
        problem: {
          ...loc(prev.source),
          object: label,
          message: `defined twice; also at ${where(obj.source)}`,
        },
        order: prev.order,
      });
      problems.push({
        problem: {
          ...loc(obj.source),
          object: label,
          message: `defined twice; first at ${where(prev.source)}`,
        },
        order: obj.order,
      });
      continue;
    }
    seen.set(dupKey, { source: obj.source, order: obj.order, label });
    if (!bucket) {
      ignored.push({
        apiVersion: id.apiVersion,
        kind: id.kind,
        name: id.name,
        ...(namespace ? { namespace } : {}),
        source: obj.source,
      });
      continue;
    }
    const checked = new Findings(obj.source, label);
    validateObject(checked, id.kind, v);
    report([checked], obj.order);
    const withNs: Record<string, unknown> = { ...v, metadata: { ...md } };
    if (namespace) (withNs.metadata as Record<string, unknown>).namespace = namespace;
    else delete (withNs.metadata as Record<string, unknown>).namespace;
    const out = applyDefaults(id.kind, withNs);
    if (id.kind === 'Node' && bucket === 'nodes') {
      out.spec = isRecord(out.spec) ? out.spec : {};
      out.status = isRecord(out.status) ? out.status : {};
    }
    const ko = out as unknown as KObject;
    buckets[bucket].push(ko);
    sourceMap.set(objectKey(ko), obj.source);
  }

  if (!kubeProxyDoc) {
    // Without a KubeProxyConfiguration document, kubeadm's kube-proxy ConfigMap (from a dump) speaks.
    const cm = buckets.configMaps.find(
      (o) =>
        o.metadata.namespace === KUBE_PROXY_CONFIGMAP.namespace &&
        o.metadata.name === KUBE_PROXY_CONFIGMAP.name,
    );
    const cmSource = cm && sourceMap.get(objectKey(cm));
    const order = cmSource ? parsed.find((p) => p.source === cmSource)?.order : undefined;
    if (cm && cmSource && order !== undefined) {
      const r = kubeProxyFromConfigMap(cm, cmSource, sources[order]!, order);
      for (const p of r.problems) problems.push({ problem: p, order });
      kubeProxyDoc = r.object;
    }
  }

  const nodeObjectIPs: IPAddr[] = [];
  for (const n of buckets.nodes as Node[]) {
    const addr = n.status.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const parsedIP = typeof addr === 'string' ? ip(new Findings(undefined, undefined), addr, '') : undefined;
    if (parsedIP) nodeObjectIPs.push(parsedIP);
  }
  const { config, findings } = buildClusterConfig({
    cluster: clusterDoc,
    kubeProxy: kubeProxyDoc,
    nodeObjectIPs,
  });
  report(findings.slice(0, 1), clusterDoc?.order ?? 0);
  report(findings.slice(1), kubeProxyDoc?.order ?? 0);

  if (problems.length > 0) {
    // Input order, then position: the order a reader fixes them in.
    problems.sort(
      (a, b) =>
        a.order - b.order ||
        (a.problem.line ?? 0) - (b.problem.line ?? 0) ||
        (a.problem.col ?? 0) - (b.problem.col ?? 0),
    );
    throw new InputError(problems.map((p) => p.problem));
  }
  return {
    config,
    namespaces: buckets.namespaces as Namespace[],
    nodes: buckets.nodes as Node[],
    pods: buckets.pods as Pod[],
    workloads: buckets.workloads as Workload[],
    services: buckets.services as Service[],
    endpointSlices: buckets.endpointSlices as EndpointSlice[],
    policies: buckets.policies,
    l7: buckets.l7,
    configMaps: buckets.configMaps,
    ignored,
    sources: sourceMap,
  };
}

function loc(s: SourceRef): InputProblem {
  return { file: s.file, line: s.line, col: s.col, message: '' };
}

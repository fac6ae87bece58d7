// The workload controllers' pod creation: Deployment → ReplicaSet `<deploy>-<pod-template-hash>` →
// pods `<rs>-<5 chars>`; StatefulSet → `<sts>-<ordinal>`; DaemonSet → one pod per admitting node.
// Pods already in the input that a controller would adopt count towards its replicas.
import type { NodeInfo } from '../model/cluster.js';
import type { LabelSelector, Node, OwnerReference, Pod, PodTemplateSpec, Workload } from '../model/k8s.js';
import { LabelIndex } from './label-selector.js';
import { generateName, stableUID, templateHash } from './names.js';
import { nodeAdmits, type Toleration } from './scheduler.js';

/** The tolerations the DaemonSet controller adds to its pods (AddOrUpdateDaemonPodTolerations). */
export const DAEMONSET_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

const NETWORK_UNAVAILABLE: Toleration = {
  key: 'node.kubernetes.io/network-unavailable',
  operator: 'Exists',
  effect: 'NoSchedule',
};

interface Context {
  existing: LabelIndex<Pod>;
  /** `<namespace>/<name>` of every pod, existing or created. */
  taken: Set<string>;
  nodes: Node[];
  infos: NodeInfo[];
  out: Pod[];
}

/** The pods the controllers would create for `workloads`, given the pods that already exist. */
export function expandWorkloads(
  workloads: Workload[],
  existingPods: Pod[],
  nodes: Node[],
  infos: NodeInfo[],
): Pod[] {
  const existing = new LabelIndex<Pod>();
  const taken = new Set<string>();
  for (const p of existingPods) {
    existing.add(p);
    taken.add(`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`);
  }
  const ctx: Context = { existing, taken, nodes, infos, out: [] };
  // A snapshot may hold a Deployment together with its ReplicaSets: those expand themselves.
  const ownedRS = new Set(
    workloads
      .filter((w) => w.kind === 'ReplicaSet')
      .flatMap((w) =>
        (w.metadata.ownerReferences ?? [])
          .filter((o) => o.kind === 'Deployment')
          .map((o) => `${w.metadata.namespace ?? 'default'}/${o.name}`),
      ),
  );
  for (const w of workloads) {
    const ns = w.metadata.namespace ?? 'default';
    switch (w.kind) {
      case 'Deployment':
        if (!ownedRS.has(`${ns}/${w.metadata.name}`)) expandDeployment(w, ctx);
        break;
      case 'ReplicaSet':
        expandReplicaSet(w, ownedBy(w), ctx);
        break;
      case 'StatefulSet':
        expandStatefulSet(w, ctx);
        break;
      case 'DaemonSet':
        expandDaemonSet(w, ctx);
        break;
    }
  }
  return ctx.out;
}

function ownedBy(w: Workload): (o: OwnerReference | undefined) => boolean {
  return (o) => !o || (o.kind === w.kind && o.name === w.metadata.name);
}

function controllerOf(p: Pod): OwnerReference | undefined {
  return (p.metadata.ownerReferences ?? []).find((o) => o.controller);
}

function ownerRef(w: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; uid?: string };
}): OwnerReference {
  return {
    apiVersion: w.apiVersion,
    kind: w.kind,
    name: w.metadata.name,
    uid: w.metadata.uid,
    controller: true,
  };
}

function uidOf(w: Workload): string {
  return w.metadata.uid ?? stableUID(w.kind, w.metadata.namespace ?? 'default', w.metadata.name);
}

function expandDeployment(d: Workload, ctx: Context): void {
  const ns = d.metadata.namespace ?? 'default';
  const hash = templateHash(d.spec.template);
  const rsName = `${d.metadata.name}-${hash}`;
  const selector: LabelSelector = {
    ...(d.spec.selector ?? {}),
    matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash },
  };
  const template: PodTemplateSpec = withLabels(d.spec.template, { 'pod-template-hash': hash });
  const rs: Workload = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: rsName,
      namespace: ns,
      uid: stableUID('ReplicaSet', ns, rsName),
      labels: { ...(template.metadata?.labels ?? {}) },
      ownerReferences: [{ ...ownerRef(d), uid: uidOf(d) }],
    },
    spec: { replicas: d.spec.replicas ?? 1, selector, template },
  };
  // Pods of this Deployment's earlier ReplicaSets (or orphans it matches) count as existing replicas.
  const isOurs = (o: OwnerReference | undefined) =>
    !o || (o.kind === 'ReplicaSet' && o.name.startsWith(`${d.metadata.name}-`));
  expandReplicaSet(rs, isOurs, ctx, d.spec.selector ?? {});
}

function expandReplicaSet(
  rs: Workload,
  adopts: (o: OwnerReference | undefined) => boolean,
  ctx: Context,
  countSelector: LabelSelector = rs.spec.selector ?? {},
): void {
  const ns = rs.metadata.namespace ?? 'default';
  const have = ctx.existing.select(ns, countSelector).filter((p) => adopts(controllerOf(p))).length;
  const want = (rs.spec.replicas ?? 1) - have;
  const hash = rs.spec.template.metadata?.labels?.['pod-template-hash'];
  const template = hash ? rs.spec.template : withLabels(rs.spec.template, {});
  const owner = { ...ownerRef(rs), uid: uidOf(rs) };
  for (let i = 0; i < want; i++) {
    const name = generateName(`${rs.metadata.name}-`, `${ns}/${rs.metadata.name}/${i}`, ctx.taken);
    ctx.out.push(podFromTemplate(template, ns, name, `${rs.metadata.name}-`, owner));
  }
}

function expandStatefulSet(sts: Workload, ctx: Context): void {
  const ns = sts.metadata.namespace ?? 'default';
  const revision = `${sts.metadata.name}-${templateHash(sts.spec.template)}`;
  const start = (sts.spec.ordinals as { start?: number } | undefined)?.start ?? 0;
  const owner = { ...ownerRef(sts), uid: uidOf(sts) };
  for (let i = start; i < start + (sts.spec.replicas ?? 1); i++) {
    const name = `${sts.metadata.name}-${i}`;
    if (ctx.taken.has(`${ns}/${name}`)) continue;
    ctx.taken.add(`${ns}/${name}`);
    const template = withLabels(sts.spec.template, {
      'apps.kubernetes.io/pod-index': String(i),
      'controller-revision-hash': revision,
      'statefulset.kubernetes.io/pod-name': name,
    });
    const pod = podFromTemplate(template, ns, name, undefined, owner);
    // The StatefulSet controller sets hostname and subdomain so the pod gets its stable DNS name.
    pod.spec = {
      ...pod.spec,
      hostname: name,
      ...(sts.spec.serviceName ? { subdomain: sts.spec.serviceName } : {}),
    };
    ctx.out.push(pod);
  }
}

function expandDaemonSet(ds: Workload, ctx: Context): void {
  const ns = ds.metadata.namespace ?? 'default';
  const hash = templateHash(ds.spec.template);
  const owner = { ...ownerRef(ds), uid: uidOf(ds) };
  const adopts = ownedBy(ds);
  const onNodes = new Set(
    ctx.existing
      .select(ns, ds.spec.selector ?? {})
      .filter((p) => adopts(controllerOf(p)))
      .map((p) => p.spec.nodeName),
  );
  const template = withLabels(ds.spec.template, {
    'controller-revision-hash': hash,
    'pod-template-generation': '1',
  });
  const extra = ds.spec.template.spec.hostNetwork
    ? [...DAEMONSET_TOLERATIONS, NETWORK_UNAVAILABLE]
    : DAEMONSET_TOLERATIONS;
  ctx.nodes.forEach((node, i) => {
    const nodeName = node.metadata.name;
    if (onNodes.has(nodeName)) return;
    if (!nodeAdmits(ds.spec.template.spec, node, ctx.infos[i]?.ready ?? true, extra)) return;
    const name = generateName(`${ds.metadata.name}-`, `${ns}/${ds.metadata.name}/${nodeName}`, ctx.taken);
    const pod = podFromTemplate(template, ns, name, `${ds.metadata.name}-`, owner);
    // The controller pins the pod with node affinity on metadata.name; the outcome is this nodeName.
    pod.spec = {
      ...pod.spec,
      nodeName,
      tolerations: [...((pod.spec.tolerations as Toleration[] | undefined) ?? []), ...extra],
    };
    ctx.out.push(pod);
  });
}

function withLabels(t: PodTemplateSpec, labels: Record<string, string>): PodTemplateSpec {
  return { ...t, metadata: { ...(t.metadata ?? {}), labels: { ...(t.metadata?.labels ?? {}), ...labels } } };
}

function podFromTemplate(
  t: PodTemplateSpec,
  namespace: string,
  name: string,
  generate: string | undefined,
  owner: OwnerReference,
): Pod {
  const meta = t.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      ...(generate ? { generateName: generate } : {}),
      namespace,
      uid: stableUID('Pod', namespace, name),
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ownerReferences: [owner],
    },
    spec: { ...t.spec, containers: t.spec.containers ?? [] },
  };
}

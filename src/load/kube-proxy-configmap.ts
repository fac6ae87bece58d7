// kubeadm keeps kube-proxy's KubeProxyConfiguration in ConfigMap kube-system/kube-proxy, key
// `config.conf`; a `kubectl get cm -A -o yaml` dump therefore carries the real proxy settings.
import type { InputProblem } from '../model/errors.js';
import type { Position, SourceRef } from '../model/k8s.js';
import { isRecord, type ParsedObject, parseSource } from './parse.js';
import type { SourceText } from './sources.js';

export const KUBE_PROXY_CONFIGMAP = {
  namespace: 'kube-system',
  name: 'kube-proxy',
  key: 'config.conf',
} as const;

/**
 * Maps positions inside the embedded document back to the file: exact for a literal block scalar
 * (`config.conf: |` followed by indented lines, as kubectl prints it); otherwise everything points
 * at the ConfigMap key.
 */
function positionMapper(outer: SourceText, at: Position | undefined): (p: Position) => Position {
  const fallback = (): Position => at ?? { line: 1, col: 1 };
  if (!at) return fallback;
  const lines = outer.text.split('\n');
  const header = lines[at.line - 1]?.slice(at.col - 1) ?? '';
  if (!/^\|[-+]?\d*\s*(#.*)?$/.test(header)) return fallback;
  const first = lines.slice(at.line).find((l) => l.trim() !== '');
  const indent = first ? first.length - first.trimStart().length : 0;
  return (p) => ({ line: at.line + p.line, col: p.col + indent });
}

function shiftSource(s: SourceRef, map: (p: Position) => Position): SourceRef {
  const fields = new Map<string, Position>();
  for (const [k, v] of s.fields ?? []) fields.set(k, map(v));
  return { ...s, ...map(s), fields };
}

/** The KubeProxyConfiguration inside kubeadm's kube-proxy ConfigMap, if the input has one. */
export function kubeProxyFromConfigMap(
  cm: Record<string, unknown>,
  cmSource: SourceRef,
  outer: SourceText,
  order: number,
): { object?: ParsedObject; problems: InputProblem[] } {
  const text = isRecord(cm.data) ? cm.data[KUBE_PROXY_CONFIGMAP.key] : undefined;
  if (typeof text !== 'string') return { problems: [] };
  const map = positionMapper(outer, cmSource.fields?.get(`data[${KUBE_PROXY_CONFIGMAP.key}]`));
  const inner = parseSource({ file: outer.file, text }, order);
  const problems = inner.problems.map((p) => ({
    ...p,
    ...(p.line !== undefined ? map({ line: p.line, col: p.col ?? 1 }) : {}),
  }));
  const found = inner.objects.find((o) => o.value.kind === 'KubeProxyConfiguration');
  if (!found) return { problems };
  const keys = new Map<string, Position>();
  for (const [k, v] of found.keys) keys.set(k, map(v));
  return { object: { ...found, source: shiftSource(found.source, map), keys }, problems };
}

// The names lab mode gives the real objects it creates. Every namespace starts with `kpath-<lab>-`, so
// `lab down` can sweep what a crash left behind by prefix, and nothing of the host's is ever matched.
import { createHash } from 'node:crypto';

/** The prefix of every namespace of one lab: `kpath-<lab>-`. */
export function labPrefix(lab: string): string {
  return `kpath-${lab}-`;
}

export function underlayNetns(lab: string): string {
  return `${labPrefix(lab)}underlay`;
}

export function nodeNetns(lab: string, node: string): string {
  return `${labPrefix(lab)}${node}`;
}

/** A pod's namespace, named by a hash of `ns/name` (pod names are too long for readable netns names). */
export function podNetns(lab: string, namespace: string, name: string): string {
  const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 10);
  return `${labPrefix(lab)}pod-${hash}`;
}

export function externalNetns(lab: string, host: string): string {
  return `${labPrefix(lab)}ext-${host}`;
}

/** Devices in the underlay namespace; IFNAMSIZ allows 15 characters. */
export function underlayBridge(segment: number): string {
  return `kpath-br${segment}`;
}

export function underlayPort(node: number): string {
  return `kpath-u${node}`;
}

export function externalPort(host: number): string {
  return `kpath-x${host}`;
}

/** A lab name must keep netns names valid file names and must not reach into another lab's prefix. */
export function checkLabName(lab: string): string | undefined {
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(lab)) return `lab name "${lab}" must be a DNS label`;
  if (lab === 't') return 'lab name "t" is reserved for throwaway test namespaces (kpath-t-…)';
  return undefined;
}

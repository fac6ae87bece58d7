// kube-router's names for its chains and ipsets (pkg/controllers/netpol): the first 16 characters of
// base32(sha256(parts)), after a fixed prefix, exactly as the controller computes them.
import { createHash } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding) without padding; kube-router only keeps a prefix. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buf = 0;
  let bits = 0;
  for (const b of bytes) {
    buf = (buf << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buf >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buf &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buf << (5 - bits)) & 31];
  return out;
}

export function hash16(text: string): string {
  return base32(createHash('sha256').update(text, 'utf8').digest()).slice(0, 16);
}

/** kube-router passes the API's IPFamily string (`IPv4`) into every per-family name. */
export const IPV4 = 'IPv4';

export const KUBE_ROUTER_INPUT = 'KUBE-ROUTER-INPUT';
export const KUBE_ROUTER_FORWARD = 'KUBE-ROUTER-FORWARD';
export const KUBE_ROUTER_OUTPUT = 'KUBE-ROUTER-OUTPUT';
export const KUBE_NWPLCY_DEFAULT = 'KUBE-NWPLCY-DEFAULT';

/** The built-in chain each top-level chain hangs off (defaultChains in the controller). */
export const TOP_LEVEL_CHAINS: readonly (readonly [string, string])[] = [
  ['INPUT', KUBE_ROUTER_INPUT],
  ['FORWARD', KUBE_ROUTER_FORWARD],
  ['OUTPUT', KUBE_ROUTER_OUTPUT],
];

/** The `--comment "... - HASH"` suffix addUUIDForRuleSpec gives a rule: hash of chain + the joined words. */
export function ruleUUID(chain: string, words: readonly string[]): string {
  return hash16(chain + words.join(''));
}

/** `KUBE-POD-FW-…`: sha256(namespace + pod + sync version); the version changes on every full sync. */
export function podFirewallChainName(namespace: string, pod: string, version: string): string {
  return `KUBE-POD-FW-${hash16(namespace + pod + version)}`;
}

/** `KUBE-NWPLCY-…`: sha256(namespace + policy + sync version + family). */
export function networkPolicyChainName(namespace: string, policy: string, version: string): string {
  return `KUBE-NWPLCY-${hash16(namespace + policy + version + IPV4)}`;
}

/** The pods a policy selects, used as sources of its egress rules. */
export function policySourcePodIPSetName(namespace: string, policy: string): string {
  return `KUBE-SRC-${hash16(namespace + policy + IPV4)}`;
}

/** The pods a policy selects, used as destinations of its ingress rules. */
export function policyDestinationPodIPSetName(namespace: string, policy: string): string {
  return `KUBE-DST-${hash16(namespace + policy + IPV4)}`;
}

export function policyIndexedSourcePodIPSetName(namespace: string, policy: string, rule: number): string {
  return `KUBE-SRC-${hash16(`${namespace}${policy}ingressrule${rule}${IPV4}pod`)}`;
}

export function policyIndexedDestinationPodIPSetName(
  namespace: string,
  policy: string,
  rule: number,
): string {
  return `KUBE-DST-${hash16(`${namespace}${policy}egressrule${rule}${IPV4}pod`)}`;
}

export function policyIndexedSourceIPBlockIPSetName(namespace: string, policy: string, rule: number): string {
  return `KUBE-SRC-${hash16(`${namespace}${policy}ingressrule${rule}${IPV4}ipblock`)}`;
}

export function policyIndexedDestinationIPBlockIPSetName(
  namespace: string,
  policy: string,
  rule: number,
): string {
  return `KUBE-DST-${hash16(`${namespace}${policy}egressrule${rule}${IPV4}ipblock`)}`;
}

export function policyIndexedIngressNamedPortIPSetName(
  namespace: string,
  policy: string,
  rule: number,
  port: number,
): string {
  return `KUBE-DST-${hash16(`${namespace}${policy}ingressrule${rule}${port}${IPV4}namedport`)}`;
}

export function policyIndexedEgressNamedPortIPSetName(
  namespace: string,
  policy: string,
  rule: number,
  port: number,
): string {
  return `KUBE-DST-${hash16(`${namespace}${policy}egressrule${rule}${port}${IPV4}namedport`)}`;
}

// Inputs for the reach/diff CLI tests: the demo cluster plus policies written inline.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceText } from '../../src/load/sources.js';
import { buildTwin, type Twin } from '../../src/twin.js';

const DEMO = fileURLToPath(new URL('../../examples/demo', import.meta.url));

export function demoSources(): SourceText[] {
  return readdirSync(DEMO)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ file: join(DEMO, f), text: readFileSync(join(DEMO, f), 'utf8') }));
}

/** The demo cluster with extra manifests; `cni` swaps the CNI plugin of the Cluster document. */
export function twinWith(extra: string, opts: { policyAgent?: string } = {}): Twin {
  const sources = demoSources().map((s) =>
    opts.policyAgent && s.file.endsWith('cluster.yaml')
      ? {
          ...s,
          text: s.text.replace('plugin: flannel', `plugin: flannel\n    policyAgent: ${opts.policyAgent}`),
        }
      : s,
  );
  return buildTwin(extra ? [...sources, { file: 'policies.yaml', text: extra }] : sources);
}

/** shop/web may only be reached on port 80 from pods labelled role=client (any namespace). */
export const WEB_POLICY = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-clients, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: client}}}]
      ports: [{port: 80}]
`;

/** shop/db only from shop/web on 5432. */
export const DB_POLICY = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 5432}]
`;

/**
 * The upstream e2e netpol model (test/e2e/network/netpol/model.go) as manifests: namespaces x, y, z
 * labelled ns=<name>, pods a, b, c labelled pod=<name>, serving 80 and 81 on TCP, UDP and SCTP through
 * containers named serve-<port>-<proto>.
 */
export function xyzManifests(): string {
  const docs: string[] = [];
  for (const ns of ['x', 'y', 'z']) {
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: '${ns}', labels: {ns: '${ns}'}}`);
    for (const pod of ['a', 'b', 'c']) {
      const containers = [80, 81].flatMap((port) =>
        ['TCP', 'UDP', 'SCTP'].map(
          (proto) =>
            `    - name: c${port}-${proto.toLowerCase()}\n      image: agnhost\n      ports: [{name: serve-${port}-${proto.toLowerCase()}, containerPort: ${port}, protocol: ${proto}}]`,
        ),
      );
      docs.push(
        `apiVersion: v1\nkind: Pod\nmetadata: {name: '${pod}', namespace: '${ns}', labels: {pod: '${pod}'}}\nspec:\n  containers:\n${containers.join('\n')}`,
      );
    }
  }
  return docs.join('\n---\n');
}

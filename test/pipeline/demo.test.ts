// The whole pipeline on the built-in demo cluster: manifests → control plane → every node's agents →
// real formats; and the demo's generated rules judged by the real kernel.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSources } from '../../src/load/sources.js';
import { InputError } from '../../src/model/errors.js';
import { printIptablesSave } from '../../src/node/iptables/index.js';
import { ipRoute } from '../../src/node/render/index.js';
import { renderGet } from '../../src/render/kubectl.js';
import { buildTwin, type Twin } from '../../src/twin.js';

const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo');

async function demo(): Promise<Twin> {
  return buildTwin(await readSources([DEMO]));
}

describe('demo cluster', () => {
  it("node-1's routes are Flannel VXLAN's, with the seed's line for node-2's pods", async () => {
    const twin = await demo();
    const routes = ipRoute(twin.node('node-1').host, { table: 'main' });
    expect(routes.split('\n')).toContain('10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink ');
    expect(routes).toContain('10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 \n');
  });

  it('my-app is the LoadBalancer of the seed: 203.0.113.50:80 → NodePort 30080 → ClusterIP 10.96.0.15', async () => {
    const twin = await demo();
    const svc = renderGet(twin.state, 'services', {
      wide: false,
      namespace: 'default',
      allNamespaces: false,
    });
    expect(svc).toContain(
      'my-app       LoadBalancer   10.96.0.15   203.0.113.50   80:30080/TCP   <unknown>\n',
    );
    const pods = renderGet(twin.state, 'pods', { wide: true, namespace: 'default', allNamespaces: false });
    for (const [ip, node] of [
      ['10.244.0.5', 'node-1'],
      ['10.244.1.3', 'node-2'],
      ['10.244.2.2', 'node-3'],
    ]) {
      expect(pods).toMatch(new RegExp(`${ip!.replaceAll('.', '\\.')}\\s+${node}`));
    }
  });

  it('kube-proxy sends the NodePort through KUBE-EXT and spreads over the three pods 1/3, 1/2, 1', async () => {
    const text = printIptablesSave((await demo()).node('node-1').host.iptables);
    expect(text).toMatch(
      /-A KUBE-NODEPORTS -p tcp -m comment --comment "default\/my-app" -m tcp --dport 30080 -j KUBE-EXT-\w{16}\n/,
    );
    expect(text).toContain(
      '--comment "default/my-app -> 10.244.0.5:8080" -m statistic --mode random --probability 0.33333333349',
    );
    expect(text).toContain(
      '--comment "default/my-app -> 10.244.1.3:8080" -m statistic --mode random --probability 0.50000000000',
    );
    expect(text).toMatch(/--comment "default\/my-app -> 10\.244\.2\.2:8080" -j KUBE-SEP-\w{16}\n/);
  });

  it('is deterministic: the same input gives the same node state, byte for byte', async () => {
    const [a, b] = [await demo(), await demo()];
    for (const n of a.state.nodeInfo) {
      expect(printIptablesSave(a.node(n.name).host.iptables)).toBe(
        printIptablesSave(b.node(n.name).host.iptables),
      );
      expect(ipRoute(a.node(n.name).host, { table: 'all' })).toBe(
        ipRoute(b.node(n.name).host, { table: 'all' }),
      );
    }
  });

  it('reports bad input with file:line:column and the field, not a stack trace', () => {
    const text =
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: 10.96.0.300\n  ports:\n    - port: 80\n';
    try {
      buildTwin([{ file: 'bad.yaml', text }]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as Error).message).toMatch(/^bad\.yaml:6:14: Service default\/web spec\.clusterIP: /);
    }
  });
});

// ---- the kernel judges the generated rules ------------------------------------------------------

function kernelMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  const r = spawnSync('iptables-restore', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'iptables is not installed (apt-get install -y iptables)';
  return undefined;
}

const missing = kernelMissing();
const namespaces: string[] = [];
afterAll(() => {
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
});

describe.skipIf(missing !== undefined && process.env.CI !== 'true')('demo rules in the real kernel', () => {
  it('each node loads with iptables-restore in a fresh namespace and iptables-save reads back the same rules', async () => {
    if (missing) throw new Error(`kernel test cannot run in CI: ${missing}`);
    const twin = await demo();
    for (const info of twin.state.nodeInfo) {
      const ours = printIptablesSave(twin.node(info.name).host.iptables);
      const ns = `kpath-t-demo-${process.pid}-${info.name}`;
      execFileSync('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
      execFileSync('ip', ['netns', 'exec', ns, 'iptables-restore'], { input: ours });
      const theirs = execFileSync('ip', ['netns', 'exec', ns, 'iptables-save'], { encoding: 'utf8' });
      const rules = (t: string) => t.split('\n').filter((l) => !l.startsWith('#'));
      expect(rules(theirs)).toEqual(rules(ours));
    }
  });
});

// Throwaway network namespaces for kernel tests: the prerequisite probe (with the CI rule: in CI a
// missing prerequisite fails, elsewhere the kernel tests skip with the reason), creation with cleanup,
// and applying a NodeState with ipCommands().
import { execFileSync } from 'node:child_process';
import { afterAll, test } from 'vitest';
import { ipCommands } from '../../../src/agents/cni/index.js';
import type { NodeState } from '../../../src/node/state.js';

export function run(argv: string[]): string {
  const [cmd, ...args] = argv;
  return execFileSync(cmd!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why the kernel cannot be used here, or undefined when it can. */
export function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_SYS_ADMIN)';
  const probe = `kpath-t-probe-${process.pid}`;
  try {
    run(['ip', 'netns', 'add', probe]);
  } catch (e) {
    return `cannot create a network namespace (${String(e).split('\n')[0]})`;
  }
  try {
    run(['ip', '-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    run(['ip', '-n', probe, 'link', 'add', 'b0', 'type', 'bridge']);
    run(['ip', '-n', probe, 'link', 'add', 'x0', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'dev', 'p0']);
    run(['bridge', '-V']);
    // programCni sets net.bridge.bridge-nf-call-iptables, which exists only with br_netfilter loaded.
    run(['ip', 'netns', 'exec', probe, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']);
    return undefined;
  } catch (e) {
    return `veth/bridge/vxlan, the bridge tool or br_netfilter (modprobe br_netfilter) unavailable (${String(e).split('\n')[0]})`;
  } finally {
    try {
      run(['ip', 'netns', 'del', probe]);
    } catch {}
  }
}

/** The probe's answer; registers a failing test when CI is "true" and the kernel cannot be used. */
export function kernelPrerequisite(): string | undefined {
  const missing = missingPrerequisite();
  if (missing && process.env.CI === 'true') {
    test('kernel prerequisites', () => {
      throw new Error(`kernel test cannot run in CI: ${missing}`);
    });
  }
  return missing;
}

const created: string[] = [];
afterAll(() => {
  for (const ns of created.splice(0).reverse()) {
    try {
      run(['ip', 'netns', 'del', ns]);
    } catch {}
  }
});

/** Creates a throwaway namespace (deleted after the file's tests), replacing a leftover from an aborted run. */
export function addNetns(name: string): void {
  try {
    run(['ip', 'netns', 'del', name]);
  } catch {}
  run(['ip', 'netns', 'add', name]);
  created.push(name);
}

/** Waits (bounded) until IPv6 DAD is over and every device that should be up has carrier. */
export function settle(namespaces: string[]): void {
  for (let i = 0; i < 100; i++) {
    const busy = namespaces.some((ns) =>
      /tentative|NO-CARRIER|state (DOWN|LOWERLAYERDOWN)/.test(run(['ip', '-n', ns, 'addr'])),
    );
    if (!busy) return;
    execFileSync('sleep', ['0.1']);
  }
}

export interface Applied {
  node: NodeState;
  /** Model netns name (`root`, `cni-…`) → real throwaway name. */
  real: Map<string, string>;
}

/**
 * Applies a node to namespaces kpath-t-<tag>-n (root) and -p<i> (pods); its eth0 is a veth whose other
 * end, `peerName`, is left in the existing namespace `underlay` for the caller to bring up or bridge.
 */
export function applyNode(tag: string, node: NodeState, underlay: string, peerName: string): Applied {
  const real = new Map<string, string>([[node.host.name, `kpath-t-${tag}-n`]]);
  for (const [i, p] of node.pods.entries()) real.set(p.name, `kpath-t-${tag}-p${i}`);
  for (const name of real.values()) addNetns(name);
  const cmds = ipCommands(node, {
    netnsName: (n) => real.get(n) ?? n,
    underlay: { netns: underlay, peerName },
  });
  // The namespaces exist already (created above, so that cleanup covers them).
  for (const c of cmds.filter((c) => !(c[1] === 'netns' && c[2] === 'add'))) run(c);
  return { node, real };
}

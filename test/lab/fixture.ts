// Shared by the lab tests: the kernel prerequisite (with the CI rule: in CI a missing prerequisite fails,
// elsewhere the kernel tests skip with the reason), the demo twin and its host-gw variant, and snapshots
// of the host's own state to prove lab mode never touches it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { demoPath } from '../../src/cli/input.js';
import { SERVER_MARK } from '../../src/lab/servers.js';
import { readSources } from '../../src/load/sources.js';
import { buildTwin, type Twin } from '../../src/twin.js';

function sh(argv: string[]): string {
  return execFileSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_SYS_ADMIN)';
  for (const cmd of ['ip', 'bridge', 'sysctl', 'iptables-restore', 'iptables-save']) {
    try {
      sh(['sh', '-c', `command -v ${cmd}`]);
    } catch {
      return `${cmd} is not installed (apt-get install -y iproute2 iptables procps)`;
    }
  }
  const probe = `kpath-t-l1probe-${process.pid}`;
  try {
    sh(['ip', 'netns', 'add', probe]);
    sh(['ip', '-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
    sh(['ip', '-n', probe, 'link', 'add', 'x0', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'dev', 'p0']);
    sh(['ip', 'netns', 'exec', probe, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']);
    return undefined;
  } catch (e) {
    return `netns/veth/vxlan or br_netfilter unavailable (${String(e).split('\n')[0]})`;
  } finally {
    try {
      sh(['ip', 'netns', 'del', probe]);
    } catch {}
  }
}

/** The probe's answer; registers a failing test when CI is "true" and the kernel cannot be used. */
export function kernelPrerequisite(): string | undefined {
  const missing = missingPrerequisite();
  if (missing && process.env.CI === 'true') {
    test('lab kernel prerequisites', () => {
      throw new Error(`lab test cannot run in CI: ${missing}`);
    });
  }
  return missing;
}

export async function demoTwin(edit?: (text: string) => string): Promise<Twin> {
  if (!edit) return buildTwin(await readSources([demoPath()], async () => ''));
  const dir = mkdtempSync(join(tmpdir(), 'kpath-t-lab-'));
  for (const f of readdirSync(demoPath()))
    writeFileSync(join(dir, f), edit(readFileSync(join(demoPath(), f), 'utf8')));
  return buildTwin(await readSources([dir], async () => ''));
}

/** The demo with Flannel's host-gw backend: direct routes via the other nodes, no VXLAN. */
export const hostGw = (text: string) => text.replace('backend: vxlan', 'backend: host-gw');

/**
 * The demo with kube-router enforcing NetworkPolicy: shop/web accepts only my-app pods (any namespace) on
 * TCP 80, so every other pod's connection to it is refused by the policy rules.
 */
export const withPolicies = (text: string) => {
  const agent = text.replace('backend: vxlan', 'backend: vxlan\n    policyAgent: kube-router');
  if (!text.includes('kind: StatefulSet')) return agent;
  return `${agent}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-my-app, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: my-app}}}]
      ports: [{port: 80}]
`;
};

/** What the host's own namespace looks like: rules (timestamps dropped), links, routes. */
export function hostSnapshot(): { iptables: string; links: string; routes: string } {
  return {
    iptables: sh(['iptables-save'])
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n'),
    links: sh(['ip', '-o', 'link', 'show']).replace(/ +link\/.*$/gm, ''),
    routes: sh(['ip', 'route', 'show', 'table', 'all']),
  };
}

export function netnsWithPrefix(prefix: string): string[] {
  // /run/netns is what `ip netns list` lists.
  return existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(prefix)) : [];
}

/** The lab's per-namespace /etc files (resolv.conf, hosts, nsswitch.conf under /etc/netns/<netns>/). */
export function netnsEtcWithPrefix(prefix: string): string[] {
  return existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(prefix)) : [];
}

/** PIDs of lab servers whose command line names this lab's namespaces. */
export function serversOf(lab: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(SERVER_MARK) && cmd.includes(`kpath-${lab}-`)) out.push(Number(d));
    } catch {}
  }
  return out;
}

// What this machine's kernel and tools can do, detected at run time in a throwaway namespace of the lab.
// A feature the cluster needs but the kernel lacks makes that part "simulated only": predicted by the
// twin, never checked against the kernel — and always said so (docs/divergences.md lists them).
import { existsSync } from 'node:fs';
import { run, tryRun } from './kernel.js';
import { labPrefix } from './names.js';
import type { LabPlan } from './plan.js';

export type Feature =
  | 'vxlan'
  | 'br_netfilter'
  | 'conntrack-tool'
  | 'iptables-nft'
  | 'ipip'
  | 'wireguard'
  | 'dummy'
  | 'ipvs'
  | 'sctp';

export type Features = Record<Feature, boolean>;

/** Link kinds and proxy modes that need a kernel feature. */
const NEEDS: Partial<Record<string, Feature>> = {
  vxlan: 'vxlan',
  ipip: 'ipip',
  wireguard: 'wireguard',
  dummy: 'dummy',
  ipvs: 'ipvs',
};

export function detectFeatures(lab: string): Features {
  const probe = `${labPrefix(lab)}probe`;
  tryRun(['ip', 'netns', 'del', probe]);
  run(['ip', 'netns', 'add', probe]);
  try {
    const link = (...args: string[]) => tryRun(['ip', '-n', probe, 'link', 'add', ...args]);
    link('kp0', 'type', 'veth', 'peer', 'name', 'kp1');
    const has = (cmd: string) => tryRun(['sh', '-c', `command -v ${cmd}`]);
    let brnf = tryRun(['ip', 'netns', 'exec', probe, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']);
    // The sysctl exists only once br_netfilter is loaded; loading it is the one host-wide step (as kubeadm's
    // preflight does), and its sysctls are then per namespace.
    if (!brnf && tryRun(['modprobe', 'br_netfilter']))
      brnf = tryRun(['ip', 'netns', 'exec', probe, 'sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']);
    let version = '';
    try {
      version = run(['iptables', '-V']);
    } catch {}
    return {
      vxlan: link('kp2', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'dev', 'kp0'),
      br_netfilter: brnf,
      'conntrack-tool': has('conntrack'),
      'iptables-nft': version.includes('nf_tables'),
      ipip: link('kp3', 'type', 'ipip', 'local', '192.0.2.1'),
      wireguard: link('kp4', 'type', 'wireguard'),
      dummy: link('kp5', 'type', 'dummy'),
      ipvs:
        tryRun(['ip', 'netns', 'exec', probe, 'sh', '-c', 'test -e /proc/net/ip_vs']) ||
        existsSync('/proc/net/ip_vs'),
      sctp: hasSctp(probe),
    };
  } finally {
    tryRun(['ip', 'netns', 'del', probe]);
  }
}

/**
 * SCTP sockets need the kernel's sctp module, whose per-namespace sysctls (/proc/sys/net/sctp) exist once
 * it is loaded; like br_netfilter, loading it is a host-wide step (the kernel also autoloads it on the
 * first SCTP socket). Node.js cannot open an SCTP socket, so the module's presence is the test.
 */
function hasSctp(probe: string): boolean {
  const present = () => tryRun(['ip', 'netns', 'exec', probe, 'test', '-d', '/proc/sys/net/sctp']);
  return present() || (tryRun(['modprobe', 'sctp']) && present());
}

export function missingFeatures(f: Features): Feature[] {
  return (Object.keys(f) as Feature[]).filter((k) => !f[k]);
}

/** Features the plan needs that the machine lacks: `lab up` cannot build those parts. */
export function blockingFeatures(plan: LabPlan, f: Features): Feature[] {
  const out = new Set<Feature>();
  for (const k of [...plan.linkKinds, plan.proxyMode]) {
    const need = NEEDS[k];
    if (need && !f[need]) out.add(need);
  }
  if (!f.br_netfilter) out.add('br_netfilter');
  return [...out];
}

// What `lab up` will create, as plain data: every namespace (in creation order), every command, the
// rules to load with iptables-restore and the servers to start. Pure: the same twin gives the same plan,
// so it is tested without root; `up.ts` is the edge that carries it out.
import { ipCommands } from '../agents/cni/ip-commands.js';
import { ipsetRestore } from '../agents/policy/ipset.js';
import { gatewayMac } from '../datapath/world.js';
import type { ClusterState, NodeInfo, UnderlaySubnet } from '../model/cluster.js';
import { printIptablesSave } from '../node/iptables/print.js';
import type { LinkKind, NodeState } from '../node/state.js';
import type { Twin } from '../twin.js';
import { type DnsRole, dnsPlan, type LabFile, markCoreDns } from './dns-plan.js';
import {
  externalNetns,
  externalPort,
  nodeNetns,
  podNetns,
  underlayBridge,
  underlayNetns,
  underlayPort,
} from './names.js';

export type NamespaceRole = 'underlay' | 'node' | 'pod' | 'external';

export interface LabNamespace {
  name: string;
  role: NamespaceRole;
  /** `node-1` for a node, the hosting node for a pod. */
  node?: string;
  /** `ns/name` for a pod. */
  pod?: string;
  /** The external host's name. */
  external?: string;
}

export type LabStep =
  | { kind: 'netns'; name: string }
  | { kind: 'run'; argv: string[]; input?: string }
  | { kind: 'iptables-restore'; netns: string; rules: string };

/** One server process: it listens on every port in its namespace and names itself `label`. */
export interface ServerSpec {
  netns: string;
  /** `ns/pod` (or `node/NAME` for a host-network listener). */
  label: string;
  tcp: number[];
  udp: number[];
  /** A DNS server (CoreDNS pod or spec.dns upstream) instead of the plain probe server. */
  dns?: DnsRole;
}

export interface LabPlan {
  lab: string;
  cluster: string;
  underlay: string;
  namespaces: LabNamespace[];
  steps: LabStep[];
  servers: ServerSpec[];
  /** Device kinds the cluster's nodes use (for feature detection: vxlan, ipip, wireguard, dummy). */
  linkKinds: LinkKind[];
  /** The kube-proxy mode the nodes were programmed for. */
  proxyMode: string;
  /** Host files for the namespaces (/etc/netns/<netns>/resolv.conf, hosts, nsswitch.conf). */
  files?: LabFile[];
}

/** The address the underlay router answers on toward external hosts (link-local: never routed). */
export const EXTERNAL_GATEWAY = '169.254.0.1';

function segments(state: ClusterState): UnderlaySubnet[] {
  const out: UnderlaySubnet[] = [];
  for (const s of [...state.config.underlay, ...state.nodeInfo.map((n) => n.underlay)]) {
    if (!out.some((o) => o.cidr.equals(s.cidr))) out.push(s);
  }
  return out;
}

function ns(underlay: string, ...rest: string[]): string[] {
  return ['ip', '-n', underlay, ...rest];
}

/** Nodes a cloud load balancer would send to: ready, and with a local ready endpoint under Local policy. */
function lbTargets(state: ClusterState, svcNs: string, svcName: string, local: boolean): NodeInfo[] {
  return state.nodeInfo.filter((n) => {
    if (!n.ready) return false;
    if (!local) return true;
    return state.endpointSlices.some(
      (s) =>
        (s.metadata.namespace ?? 'default') === svcNs &&
        s.metadata.labels?.['kubernetes.io/service-name'] === svcName &&
        s.endpoints.some((e) => e.nodeName === n.name && e.conditions?.ready !== false),
    );
  });
}

/**
 * The cloud load balancer as rules in the underlay router: each VIP port is DNATed to a NodePort on a
 * random healthy node (kube-proxy's own statistic-cascade idiom), keeping the client address unless the
 * cluster config says the LB SNATs.
 */
export function loadBalancerRules(state: ClusterState): string {
  const lines: string[] = [];
  const snat = state.config.loadBalancer.sourceMode === 'snat';
  for (const svc of state.services) {
    const svcNs = svc.metadata.namespace ?? 'default';
    const local = svc.spec.externalTrafficPolicy === 'Local';
    const targets = lbTargets(state, svcNs, svc.metadata.name, local);
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
      if (!ing.ip || ing.ip.includes(':')) continue;
      for (const p of svc.spec.ports ?? []) {
        const proto = (p.protocol ?? 'TCP').toLowerCase();
        if (!p.nodePort || (proto !== 'tcp' && proto !== 'udp')) continue;
        const match = `-d ${ing.ip}/32 -p ${proto} -m ${proto} --dport ${p.port}`;
        targets.forEach((n, i) => {
          const left = targets.length - i;
          const stat = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
          lines.push(`-A PREROUTING ${match}${stat} -j DNAT --to-destination ${n.internalIP}:${p.nodePort}`);
        });
        if (snat) {
          lines.push(
            `-A POSTROUTING -p ${proto} -m conntrack --ctstate DNAT --ctorigdst ${ing.ip}/32 --ctorigdstport ${p.port} -j SNAT --to-source ${ing.ip}`,
          );
        }
      }
    }
  }
  return lines.length ? `*nat\n${lines.join('\n')}\nCOMMIT\n` : '';
}

function underlaySteps(twin: Twin, lab: string): LabStep[] {
  const state = twin.state;
  const u = underlayNetns(lab);
  const steps: LabStep[] = [{ kind: 'netns', name: u }];
  const sysctl = (kv: string): LabStep => ({
    kind: 'run',
    argv: ['ip', 'netns', 'exec', u, 'sysctl', '-qw', kv],
  });
  // The underlay namespace is the L2 segment(s) and the router (gateway) behind them.
  steps.push(sysctl('net.ipv4.ip_forward=1'));
  // The router hairpins LB traffic back onto the segment it came from; redirects would only confuse nodes.
  steps.push(sysctl('net.ipv4.conf.all.send_redirects=0'));
  steps.push({ kind: 'run', argv: ns(u, 'link', 'set', 'dev', 'lo', 'up') });
  segments(state).forEach((s, i) => {
    const br = underlayBridge(i);
    steps.push({ kind: 'run', argv: ns(u, 'link', 'add', br, 'address', gatewayMac(s), 'type', 'bridge') });
    steps.push({ kind: 'run', argv: ns(u, 'link', 'set', 'dev', br, 'up') });
    if (s.gateway) {
      steps.push({ kind: 'run', argv: ns(u, 'addr', 'add', `${s.gateway}/${s.cidr.len}`, 'dev', br) });
    }
  });
  state.config.externalHosts.forEach((e, i) => {
    const x = externalNetns(lab, e.name);
    const port = externalPort(i);
    steps.push({ kind: 'netns', name: x });
    steps.push({
      kind: 'run',
      argv: ns(u, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', x),
    });
    steps.push({ kind: 'run', argv: ns(u, 'link', 'set', 'dev', port, 'up') });
    steps.push({ kind: 'run', argv: ns(u, 'addr', 'add', `${EXTERNAL_GATEWAY}/32`, 'dev', port) });
    steps.push({ kind: 'run', argv: ns(u, 'route', 'add', `${e.ip}/32`, 'dev', port) });
    steps.push({ kind: 'run', argv: ns(x, 'link', 'set', 'dev', 'lo', 'up') });
    steps.push({ kind: 'run', argv: ns(x, 'link', 'set', 'dev', 'eth0', 'up') });
    steps.push({ kind: 'run', argv: ns(x, 'addr', 'add', `${e.ip}/32`, 'dev', 'eth0') });
    steps.push({
      kind: 'run',
      argv: ns(x, 'route', 'add', 'default', 'via', EXTERNAL_GATEWAY, 'dev', 'eth0', 'onlink'),
    });
  });
  const lb = loadBalancerRules(state);
  if (lb) steps.push({ kind: 'iptables-restore', netns: u, rules: lb });
  return steps;
}

function nodeSteps(twin: Twin, lab: string, node: NodeState, index: number): LabStep[] {
  const real = (name: string): string => {
    if (name === node.host.name) return nodeNetns(lab, node.node);
    const p = node.pods.find((x) => x.name === name);
    if (p?.owner.kind === 'pod') return podNetns(lab, p.owner.namespace, p.owner.name);
    return name;
  };
  const u = underlayNetns(lab);
  const port = underlayPort(index);
  const steps: LabStep[] = [{ kind: 'netns', name: real(node.host.name) }];
  for (const p of node.pods) steps.push({ kind: 'netns', name: real(p.name) });
  const cmds = ipCommands(node, { netnsName: real, underlay: { netns: u, peerName: port } });
  // The namespaces are created by their own steps (recorded in the journal first).
  for (const argv of cmds) if (!(argv[1] === 'netns' && argv[2] === 'add')) steps.push({ kind: 'run', argv });
  const info = twin.state.nodeInfo.find((n) => n.name === node.node);
  const seg = info ? segments(twin.state).findIndex((s) => s.cidr.equals(info.underlay.cidr)) : -1;
  if (seg >= 0)
    steps.push({ kind: 'run', argv: ns(u, 'link', 'set', 'dev', port, 'master', underlayBridge(seg)) });
  steps.push({ kind: 'run', argv: ns(u, 'link', 'set', 'dev', port, 'up') });
  // The kernel rate-limits ICMP errors per peer (net.ipv4.icmp_ratelimit, 1 s with a small burst), which turns a
  // burst of REJECTs into timeouts; kpath predicts per packet, so the lab switches it off (docs/divergences.md).
  steps.push({
    kind: 'run',
    argv: ['ip', 'netns', 'exec', real(node.host.name), 'sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0'],
  });
  for (const n of [node.host, ...node.pods]) {
    // A policy agent's rules match ipsets (`-m set --match-set`), which must exist before iptables-restore.
    if (n.ipsets?.length) {
      steps.push({
        kind: 'run',
        argv: ['ip', 'netns', 'exec', real(n.name), 'ipset', 'restore'],
        input: ipsetRestore(n.ipsets),
      });
    }
    const rules = printIptablesSave(n.iptables);
    if (rules) steps.push({ kind: 'iptables-restore', netns: real(n.name), rules });
  }
  return steps;
}

function servers(twin: Twin, lab: string): ServerSpec[] {
  const out: ServerSpec[] = [];
  for (const pod of twin.state.pods) {
    const node = pod.spec.nodeName;
    if (!node || !pod.status?.podIP) continue;
    const namespace = pod.metadata.namespace ?? 'default';
    const netns = pod.spec.hostNetwork ? nodeNetns(lab, node) : podNetns(lab, namespace, pod.metadata.name);
    let spec = out.find((s) => s.netns === netns);
    if (!spec) {
      spec = { netns, label: `${namespace}/${pod.metadata.name}`, tcp: [], udp: [] };
      out.push(spec);
    }
    for (const c of pod.spec.containers) {
      for (const p of c.ports ?? []) {
        const list =
          (p.protocol ?? 'TCP') === 'UDP' ? spec.udp : (p.protocol ?? 'TCP') === 'TCP' ? spec.tcp : undefined;
        if (list && !list.includes(p.containerPort)) list.push(p.containerPort);
      }
    }
  }
  return out.filter((s) => s.tcp.length + s.udp.length > 0);
}

function batchKey(argv: readonly string[]): { key: string; head: string[]; line: string } | undefined {
  const [tool, flag, netns, ...rest] = argv;
  if ((tool === 'ip' || tool === 'bridge') && flag === '-n' && netns)
    return { key: `${tool} ${netns}`, head: [tool, '-n', netns, '-batch', '-'], line: rest.join(' ') };
  if (
    tool === 'ip' &&
    flag === 'netns' &&
    netns === 'exec' &&
    argv[4] === 'sysctl' &&
    argv[5] === '-qw' &&
    argv.length === 7
  )
    return { key: `sysctl ${argv[3]}`, head: argv.slice(0, 6), line: argv[6] ?? '' };
  return undefined;
}

/**
 * The same steps with runs of `ip -n NS …` (and `bridge -n NS …`) in one namespace merged into one
 * `-batch -` invocation, and runs of sysctl writes into one sysctl call: a few processes per namespace
 * instead of one per command, in the same order.
 */
export function batchSteps(steps: readonly LabStep[]): LabStep[] {
  const out: LabStep[] = [];
  let group: { key: string; head: string[]; lines: string[] } | undefined;
  const flush = () => {
    if (!group) return;
    if (group.key.startsWith('sysctl ')) out.push({ kind: 'run', argv: [...group.head, ...group.lines] });
    else out.push({ kind: 'run', argv: group.head, input: `${group.lines.join('\n')}\n` });
    group = undefined;
  };
  for (const s of steps) {
    const b = s.kind === 'run' && s.input === undefined ? batchKey(s.argv) : undefined;
    if (!b) {
      flush();
      out.push(s);
      continue;
    }
    if (group?.key !== b.key) {
      flush();
      group = { key: b.key, head: b.head, lines: [] };
    }
    group.lines.push(b.line);
  }
  flush();
  return out;
}

/** Everything `lab up` does for a twin, in order; `lab` names the lab (the cluster name by default). */
export function labPlan(twin: Twin, lab: string = twin.state.config.name): LabPlan {
  const nodes = twin.nodes();
  const steps: LabStep[] = [...underlaySteps(twin, lab)];
  for (const [i, n] of nodes.entries()) steps.push(...nodeSteps(twin, lab, n, i));
  const namespaces: LabNamespace[] = [{ name: underlayNetns(lab), role: 'underlay' }];
  for (const e of twin.state.config.externalHosts) {
    namespaces.push({ name: externalNetns(lab, e.name), role: 'external', external: e.name });
  }
  const kinds = new Set<LinkKind>();
  for (const n of nodes) {
    namespaces.push({ name: nodeNetns(lab, n.node), role: 'node', node: n.node });
    for (const p of n.pods) {
      if (p.owner.kind !== 'pod') continue;
      namespaces.push({
        name: podNetns(lab, p.owner.namespace, p.owner.name),
        role: 'pod',
        node: n.node,
        pod: `${p.owner.namespace}/${p.owner.name}`,
      });
    }
    for (const x of [n.host, ...n.pods]) for (const l of x.links) kinds.add(l.kind);
  }
  const dns = dnsPlan(twin, lab, namespaces);
  steps.push(...dns.steps);
  namespaces.push(...dns.namespaces);
  const names = new Set<string>();
  for (const n of namespaces) {
    if (names.has(n.name)) throw new Error(`two lab namespaces would both be named ${n.name}`);
    names.add(n.name);
  }
  return {
    lab,
    cluster: twin.state.config.name,
    underlay: underlayNetns(lab),
    namespaces,
    steps,
    servers: [...markCoreDns(twin, servers(twin, lab)), ...dns.servers],
    linkKinds: [...kinds].sort(),
    proxyMode: twin.state.config.kubeProxy.mode,
    files: dns.files,
  };
}

// kube-router's NetworkPolicy controller (cloudnativelabs/kube-router pkg/controllers/netpol, v2.x iptables
// mode) as one full sync on one node: the iptables calls of ensureTopLevelChains and
// ensureDefaultNetworkPolicyChain, the filter-table iptables-restore payload of syncNetworkPolicyChains,
// syncPodFirewallChains and ensureExplicitAccept, and the ipsets it restores. Enforcement is marks:
// a policy chain sets 0x10000 on traffic a rule allows; a pod firewall chain REJECTs what is unmarked,
// then marks 0x20000, and the top-level chains ACCEPT 0x20000 at their end.
import type { ClusterState, NodeInfo } from '../../model/cluster.js';
import type { Labels, Pod, Protocol } from '../../model/k8s.js';
import { IPAddr } from '../../net/ip.js';
import type { IptablesCommand } from '../../node/iptables/types.js';
import type { IpSet, IpSetEntry } from '../../node/state.js';
import { NAMESPACE_NAME_LABEL } from '../../policy/policy-index.js';
import { matchesSelector } from '../../policy/selector.js';
import { type NetworkPolicyView, type NpPeer, type NpPort, parsePolicies } from '../../policy/types.js';
import {
  KUBE_NWPLCY_DEFAULT,
  KUBE_ROUTER_FORWARD,
  KUBE_ROUTER_INPUT,
  KUBE_ROUTER_OUTPUT,
  networkPolicyChainName,
  podFirewallChainName,
  policyDestinationPodIPSetName,
  policyIndexedDestinationIPBlockIPSetName,
  policyIndexedDestinationPodIPSetName,
  policyIndexedEgressNamedPortIPSetName,
  policyIndexedIngressNamedPortIPSetName,
  policyIndexedSourceIPBlockIPSetName,
  policyIndexedSourcePodIPSetName,
  policySourcePodIPSetName,
  ruleUUID,
  TOP_LEVEL_CHAINS,
} from './names.js';

export interface KubeRouterOptions {
  /**
   * The sync version hashed into KUBE-POD-FW-/KUBE-NWPLCY- names. The real controller uses the
   * sync's start time in nanoseconds, so the names change on every full sync; kpath fixes it.
   */
  syncVersion?: string;
}

export interface KubeRouterSync {
  /** iptables calls made before the restore (top-level chains, KUBE-NWPLCY-DEFAULT), in order. */
  commands: IptablesCommand[];
  /** The filter-table payload; applied on top of the node's rules (its own chains are all new). */
  restorePayload: string;
  ipsets: IpSet[];
}

/** A pod as the controller keeps it (podInfo): only pods isNetPolActionable accepts. */
interface PodInfo {
  namespace: string;
  name: string;
  ip: string;
  labels: Labels;
  hostIP?: string;
  nodeName?: string;
  pod: Pod;
}

const ACCEPT_MARK = '0x10000/0x10000';
const COMPLY_MARK = '0x20000/0x20000';

/** isNetPolActionable: running (not finished), has an IP, not hostNetwork. */
function actionablePods(state: ClusterState): PodInfo[] {
  const out: PodInfo[] = [];
  for (const pod of state.pods) {
    const phase = pod.status?.phase;
    // kpath programs the IPv4 family only (kube-router's ip6tables/inet6 half is not modelled).
    const ip = [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((x) => x.ip)].find(
      (a) => a !== undefined && IPAddr.tryParse(a)?.family === 4,
    );
    if (!ip || pod.spec.hostNetwork || phase === 'Succeeded' || phase === 'Failed') continue;
    out.push({
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name,
      ip,
      labels: pod.metadata.labels ?? {},
      ...(pod.status?.hostIP ? { hostIP: pod.status.hostIP } : {}),
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      pod,
    });
  }
  return out;
}

/** An iptables-restore line as the controller writes it: words joined by spaces, comments quoted. */
function line(words: readonly string[]): string {
  return words.join(' ');
}

const q = (s: string) => `"${s}"`;

/** Named ports of pods: name → protocol → containerPort → pod IPs (grabNamedPortFromPod). */
type NamedPorts = Map<string, Map<string, Map<number, string[]>>>;

function grabNamedPorts(pods: readonly PodInfo[]): NamedPorts {
  const out: NamedPorts = new Map();
  for (const p of pods) {
    for (const c of p.pod.spec.containers ?? []) {
      for (const port of c.ports ?? []) {
        const name = port.name ?? '';
        const proto = port.protocol ?? 'TCP';
        const byProto = out.get(name) ?? new Map<string, Map<number, string[]>>();
        out.set(name, byProto);
        const byPort = byProto.get(proto) ?? new Map<number, string[]>();
        byProto.set(proto, byPort);
        byPort.set(port.containerPort, [...(byPort.get(port.containerPort) ?? []), p.ip]);
      }
    }
  }
  return out;
}

interface PortSpec {
  protocol: Protocol;
  port: string;
  endport: string;
}

interface NamedPortEndpoints extends PortSpec {
  ips: string[];
}

interface RulePorts {
  numeric: PortSpec[];
  named: NamedPortEndpoints[];
}

/** processNetworkPolicyPorts: numeric ports as written, named ports resolved to (port, pod IPs). */
function splitPorts(ports: readonly NpPort[], named: NamedPorts): RulePorts {
  const numeric: PortSpec[] = [];
  const resolved: NamedPortEndpoints[] = [];
  for (const p of ports) {
    if (p.port === undefined) numeric.push({ protocol: p.protocol, port: '', endport: '' });
    else if (typeof p.port === 'number') {
      const end = p.endPort !== undefined && p.endPort >= p.port ? String(p.endPort) : '';
      numeric.push({ protocol: p.protocol, port: String(p.port), endport: end });
    } else {
      for (const [port, ips] of named.get(p.port)?.get(p.protocol) ?? []) {
        resolved.push({ protocol: p.protocol, port: String(port), endport: '', ips });
      }
    }
  }
  return { numeric, named: resolved };
}

export function kubeRouterSync(
  state: ClusterState,
  node: NodeInfo,
  opts: KubeRouterOptions = {},
): KubeRouterSync {
  const version = opts.syncVersion ?? '0';
  const nodeIP = node.internalIP.toString();
  const pods = actionablePods(state);
  const nsLabels = new Map<string, Labels>();
  for (const ns of state.namespaces) {
    nsLabels.set(ns.metadata.name, {
      [NAMESPACE_NAME_LABEL]: ns.metadata.name,
      ...(ns.metadata.labels ?? {}),
    });
  }
  const policies = parsePolicies(state.policies, state.sources).networkPolicies;

  const commands = topLevelCommands(state);
  const chains: string[] = [];
  const rules: string[] = [];
  const sets = new Map<string, IpSet>();
  const defineSet = (name: string, type: string, members: IpSetEntry[]) => {
    if (!sets.has(name)) sets.set(name, { name, type, family: 'inet', timeout: 0, members });
  };
  const ipEntries = (ips: readonly string[]): IpSetEntry[] =>
    [...new Set(ips)].map((member) => ({ member, timeout: 0 }));

  const inNamespace = (ns: string) => pods.filter((p) => p.namespace === ns);
  const targetsOf = (np: NetworkPolicyView) =>
    inNamespace(np.namespace).filter((p) => matchesSelector(np.podSelector, p.labels));

  // evalPodPeer: namespaceSelector picks namespaces by label (then the podSelector, if any, inside
  // them); a podSelector alone picks pods of the policy's namespace.
  const peerPods = (np: NetworkPolicyView, peer: NpPeer): PodInfo[] => {
    if (peer.kind !== 'selector') return [];
    if (peer.namespaceSelector) {
      const sel = peer.namespaceSelector;
      return pods.filter(
        (p) =>
          matchesSelector(sel, nsLabels.get(p.namespace) ?? { [NAMESPACE_NAME_LABEL]: p.namespace }) &&
          (peer.podSelector === undefined || matchesSelector(peer.podSelector, p.labels)),
      );
    }
    if (peer.podSelector) {
      const sel = peer.podSelector;
      return inNamespace(np.namespace).filter((p) => matchesSelector(sel, p.labels));
    }
    return [];
  };
  // evalIPBlockPeer: cidr and its excepts (as nomatch) in one hash:net set per rule; hash:net cannot
  // hold a /0, so 0.0.0.0/0 becomes its two halves.
  const ipBlockEntries = (peers: readonly NpPeer[]): IpSetEntry[] => {
    const out: IpSetEntry[] = [];
    const halves = (cidr: string, nomatch: boolean) =>
      (cidr.endsWith('/0') ? ['0.0.0.0/1', '128.0.0.0/1'] : [cidr]).map((member) => ({
        member,
        timeout: 0,
        ...(nomatch ? { nomatch: true } : {}),
      }));
    for (const p of peers) {
      if (p.kind !== 'ipBlock' || p.cidr.addr.family !== 4) continue;
      out.push(...halves(p.cidr.toString(), false));
      for (const e of p.except) out.push(...halves(e.toString(), true));
    }
    return out;
  };

  // appendRuleToPolicyChain: a MARK rule and a RETURN-if-marked rule with the same matches.
  const appendRule = (
    chain: string,
    comment: string,
    srcSet: string,
    dstSet: string,
    protocol: string,
    port: string,
    endport: string,
  ) => {
    const w = ['-A', chain, '-m', 'comment', '--comment', q(comment)];
    if (srcSet) w.push('-m', 'set', '--match-set', srcSet, 'src');
    if (dstSet) w.push('-m', 'set', '--match-set', dstSet, 'dst');
    if (protocol) w.push('-p', protocol);
    if (port) w.push('--dport', endport ? `${port}:${endport}` : port);
    rules.push(line([...w, '-j', 'MARK', '--set-xmark', ACCEPT_MARK]));
    rules.push(line([...w, '-m', 'mark', '--mark', ACCEPT_MARK, '-j', 'RETURN']));
  };
  // The numeric ports with the rule's two sets; each named port with its own set (the pods exposing
  // it, `namedSet(index)` of type `namedType`) in the destination slot.
  const appendPortRules = (
    chain: string,
    comment: string,
    srcSet: string,
    dstSet: string,
    ports: RulePorts,
    namedSet: (index: number) => string,
    namedType: 'hash:ip' | 'hash:net',
  ) => {
    for (const p of ports.numeric) appendRule(chain, comment, srcSet, dstSet, p.protocol, p.port, p.endport);
    ports.named.forEach((ep, ei) => {
      const set = namedSet(ei);
      defineSet(set, namedType, ipEntries(ep.ips));
      appendRule(chain, comment, srcSet, set, ep.protocol, ep.port, ep.endport);
    });
  };

  // ---- syncNetworkPolicyChains: one chain per policy, on every node ----
  const targetsByPolicy = new Map<NetworkPolicyView, PodInfo[]>();
  for (const np of policies) {
    const targets = targetsOf(np);
    targetsByPolicy.set(np, targets);
    const chain = networkPolicyChainName(np.namespace, np.name, version);
    chains.push(chain);
    const ingress = np.policyTypes.includes('Ingress');
    const egress = np.policyTypes.includes('Egress');
    const targetIPs = targets.map((p) => p.ip);
    if (ingress) {
      const dstSet = policyDestinationPodIPSetName(np.namespace, np.name);
      defineSet(dstSet, 'hash:ip', ipEntries(targetIPs));
      const namedIngress = grabNamedPorts(targets);
      np.ingress.forEach((rule, ri) => {
        const namedSet = (ei: number) =>
          policyIndexedIngressNamedPortIPSetName(np.namespace, np.name, ri, ei);
        const matchAllSource = rule.peers.length === 0;
        const matchAllPorts = rule.ports.length === 0;
        const ports = splitPorts(rule.ports, namedIngress);
        const srcPods = rule.peers.flatMap((peer) => peerPods(np, peer));
        const toAll = `rule to ACCEPT traffic from all sources to dest pods selected by policy name: ${np.name} namespace ${np.namespace}`;
        const fromPods = `rule to ACCEPT traffic from source pods to dest pods selected by policy name ${np.name} namespace ${np.namespace}`;
        if (srcPods.length > 0) {
          const srcSet = policyIndexedSourcePodIPSetName(np.namespace, np.name, ri);
          defineSet(srcSet, 'hash:ip', ipEntries(srcPods.map((p) => p.ip)));
          appendPortRules(chain, fromPods, srcSet, dstSet, ports, namedSet, 'hash:ip');
          // Mirrors kube-router: a rule whose ports are all unresolvable named ports is left with no
          // ports at all, and so matches every port.
          if (ports.numeric.length === 0 && ports.named.length === 0) {
            appendRule(chain, fromPods, srcSet, dstSet, '', '', '');
          }
        }
        if (matchAllSource && !matchAllPorts) {
          appendPortRules(chain, toAll, '', dstSet, ports, namedSet, 'hash:ip');
        }
        if (matchAllSource && matchAllPorts) appendRule(chain, toAll, '', dstSet, '', '', '');
        const blocks = ipBlockEntries(rule.peers);
        if (rule.peers.some((p) => p.kind === 'ipBlock')) {
          const blockSet = policyIndexedSourceIPBlockIPSetName(np.namespace, np.name, ri);
          defineSet(blockSet, 'hash:net', blocks);
          const fromBlocks = `rule to ACCEPT traffic from specified ipBlocks to dest pods selected by policy name: ${np.name} namespace ${np.namespace}`;
          if (!matchAllPorts) {
            // kube-router refreshes the named-port set as hash:net here (RefreshSet, TypeHashNet); when
            // pod peers of the same rule defined it first, kpath keeps that first definition.
            appendPortRules(chain, fromBlocks, blockSet, dstSet, ports, namedSet, 'hash:net');
          } else appendRule(chain, fromBlocks, blockSet, dstSet, '', '', '');
        }
      });
    }
    if (egress) {
      const srcSet = policySourcePodIPSetName(np.namespace, np.name);
      defineSet(srcSet, 'hash:ip', ipEntries(targetIPs));
      np.egress.forEach((rule, ri) => {
        const matchAllDestinations = rule.peers.length === 0;
        const matchAllPorts = rule.ports.length === 0;
        const dstPods = rule.peers.flatMap((peer) => peerPods(np, peer));
        // With no `to`, named ports resolve on the pods of the policy's own namespace.
        const named = grabNamedPorts(matchAllDestinations ? inNamespace(np.namespace) : dstPods);
        const ports = splitPorts(rule.ports, named);
        const toPods = `rule to ACCEPT traffic from source pods to dest pods selected by policy name ${np.name} namespace ${np.namespace}`;
        const toAll = `rule to ACCEPT traffic from source pods to all destinations selected by policy name: ${np.name} namespace ${np.namespace}`;
        if (dstPods.length > 0) {
          const dstSet = policyIndexedDestinationPodIPSetName(np.namespace, np.name, ri);
          defineSet(dstSet, 'hash:ip', ipEntries(dstPods.map((p) => p.ip)));
          const namedSet = (ei: number) =>
            policyIndexedEgressNamedPortIPSetName(np.namespace, np.name, ri, ei);
          appendPortRules(chain, toPods, srcSet, dstSet, ports, namedSet, 'hash:ip');
          if (ports.numeric.length === 0 && ports.named.length === 0) {
            appendRule(chain, toPods, srcSet, dstSet, '', '', '');
          }
        }
        if (matchAllDestinations && !matchAllPorts) {
          for (const p of ports.numeric) appendRule(chain, toAll, srcSet, '', p.protocol, p.port, p.endport);
          // Mirrors kube-router: a named port with no `to` matches its number towards any destination.
          for (const ep of ports.named)
            appendRule(chain, toAll, srcSet, '', ep.protocol, ep.port, ep.endport);
        }
        if (matchAllDestinations && matchAllPorts) appendRule(chain, toAll, srcSet, '', '', '', '');
        if (rule.peers.some((p) => p.kind === 'ipBlock')) {
          const blockSet = policyIndexedDestinationIPBlockIPSetName(np.namespace, np.name, ri);
          defineSet(blockSet, 'hash:net', ipBlockEntries(rule.peers));
          const toBlocks = `rule to ACCEPT traffic from source pods to specified ipBlocks selected by policy name: ${np.name} namespace ${np.namespace}`;
          if (!matchAllPorts) {
            for (const p of ports.numeric)
              appendRule(chain, toBlocks, srcSet, blockSet, p.protocol, p.port, p.endport);
          } else appendRule(chain, toBlocks, srcSet, blockSet, '', '', '');
        }
      });
    }
  }

  // ---- syncPodFirewallChains: one chain per pod running on this node ----
  const local = pods.filter((p) => (p.hostIP ? p.hostIP === nodeIP : p.nodeName === node.name));
  for (const pod of local) {
    const fw = podFirewallChainName(pod.namespace, pod.name, version);
    chains.push(fw);
    const ip = pod.ip;
    // setupPodNetpolRules inserts at position 1, so the chain reads in the reverse of this order.
    let hasIngress = false;
    let hasEgress = false;
    for (const np of policies) {
      if (!targetsByPolicy.get(np)!.includes(pod)) continue;
      const chain = networkPolicyChainName(np.namespace, np.name, version);
      const comment = q(`run through nw policy ${np.name}`);
      const ingress = np.policyTypes.includes('Ingress');
      const egress = np.policyTypes.includes('Egress');
      hasIngress ||= ingress;
      hasEgress ||= egress;
      // A policy of both types is jumped to without -s/-d: its ingress and egress rules see traffic in
      // both directions (kube-router's behaviour; docs/reach-json.md, "Known differences").
      const dir = ingress && egress ? [] : ingress ? ['-d', ip] : ['-s', ip];
      rules.push(line(['-I', fw, '1', ...dir, '-m', 'comment', '--comment', comment, '-j', chain]));
    }
    if (!hasIngress) {
      rules.push(
        `-I ${fw} 1 -d ${ip} -m comment --comment ${q('run through default ingress network policy chain')} -j ${KUBE_NWPLCY_DEFAULT}`,
      );
    }
    if (!hasEgress) {
      rules.push(
        `-I ${fw} 1 -s ${ip} -m comment --comment ${q('run through default egress network policy chain')} -j ${KUBE_NWPLCY_DEFAULT}`,
      );
    }
    const fromNode = q("rule to permit the traffic traffic to pods when source is the pod's local node");
    rules.push(`-I ${fw} 1 -m comment --comment ${fromNode} -m addrtype --src-type LOCAL -d ${ip} -j ACCEPT`);
    rules.push(
      `-I ${fw} 1 -m comment --comment ${q('rule to drop invalid state for pod')} -m conntrack --ctstate INVALID -j DROP`,
    );
    rules.push(
      `-I ${fw} 1 -m comment --comment ${q('rule for stateful firewall for pod')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    );

    // interceptPodInboundTraffic: routed (FORWARD), service-proxied from the node (OUTPUT), bridged.
    const toPod = q(
      `rule to jump traffic destined to POD name:${pod.name} namespace: ${pod.namespace} to chain ${fw}`,
    );
    rules.push(`-A ${KUBE_ROUTER_FORWARD} -m comment --comment ${toPod} -d ${ip} -j ${fw}`);
    rules.push(`-A ${KUBE_ROUTER_OUTPUT} -m comment --comment ${toPod} -d ${ip} -j ${fw}`);
    rules.push(
      `-A ${KUBE_ROUTER_FORWARD} -m physdev --physdev-is-bridged -m comment --comment ${toPod} -d ${ip} -j ${fw}`,
    );
    // interceptPodOutboundTraffic: from the pod to the node (INPUT), routed, node-local, bridged.
    const fromPod = q(
      `rule to jump traffic from POD name:${pod.name} namespace: ${pod.namespace} to chain ${fw}`,
    );
    for (const chain of [KUBE_ROUTER_INPUT, KUBE_ROUTER_FORWARD, KUBE_ROUTER_OUTPUT]) {
      rules.push(`-A ${chain} -m comment --comment ${fromPod} -s ${ip} -j ${fw}`);
    }
    rules.push(
      `-A ${KUBE_ROUTER_FORWARD} -m physdev --physdev-is-bridged -m comment --comment ${fromPod} -s ${ip} -j ${fw}`,
    );

    // dropUnmarkedTrafficRules: log, REJECT what no policy marked, clear the mark for the next chain.
    const who = `POD name:${pod.name} namespace: ${pod.namespace}`;
    rules.push(
      `-A ${fw} -m comment --comment ${q(`rule to log dropped traffic ${who}`)} -m mark ! --mark ${ACCEPT_MARK} -j NFLOG --nflog-group 100 -m limit --limit 10/minute --limit-burst 10`,
    );
    rules.push(
      `-A ${fw} -m comment --comment ${q(`rule to REJECT traffic destined for ${who}`)} -m mark ! --mark ${ACCEPT_MARK} -j REJECT`,
    );
    rules.push(`-A ${fw} -j MARK --set-mark 0/0x10000`);
    rules.push(
      `-A ${fw} -m comment --comment ${q('set mark to ACCEPT traffic that comply to network policies')} -j MARK --set-mark ${COMPLY_MARK}`,
    );
  }

  // ---- ensureExplicitAccept: traffic that passed the pod chains is accepted at the end ----
  const complies = q('rule to explicitly ACCEPT traffic that comply to network policies');
  for (const chain of [KUBE_ROUTER_INPUT, KUBE_ROUTER_FORWARD, KUBE_ROUTER_OUTPUT]) {
    rules.push(`-A ${chain} -m comment --comment ${complies} -m mark --mark ${COMPLY_MARK} -j ACCEPT`);
  }

  // cleanupStaleRules rewrites the buffer as: chain declarations first, then every rule in order.
  const restorePayload = ['*filter', ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join(
    '\n',
  );
  return { commands, restorePayload, ipsets: [...sets.values()] };
}

/** ensureTopLevelChains and ensureDefaultNetworkPolicyChain, as the iptables calls they make. */
function topLevelCommands(state: ClusterState): IptablesCommand[] {
  const out: IptablesCommand[] = [];
  for (const [builtin, custom] of TOP_LEVEL_CHAINS) {
    out.push({ table: 'filter', op: 'new-chain', chain: custom });
    const words = ['-m', 'comment', '--comment', 'kube-router netpol', '-j', custom];
    words[3] = `kube-router netpol - ${ruleUUID(builtin, words)}`;
    out.push({ table: 'filter', op: 'insert', chain: builtin, position: 1, args: words });
  }
  const withUUID = (words: string[]) => {
    const i = words.indexOf('--comment') + 1;
    words[i] = `${words[i]} - ${ruleUUID(KUBE_ROUTER_INPUT, words)}`;
    return words;
  };
  const range = `${state.config.nodePortRange.from}:${state.config.nodePortRange.to}`;
  const whitelist = [
    withUUID([
      '-m',
      'comment',
      '--comment',
      'allow traffic to primary/secondary cluster IP range',
      '-d',
      state.config.serviceCIDR.toString(),
      '-j',
      'RETURN',
    ]),
    ...(['tcp', 'udp'] as const).map((proto) =>
      withUUID([
        '-p',
        proto,
        '-m',
        'comment',
        '--comment',
        `allow LOCAL ${proto.toUpperCase()} traffic to node ports`,
        '-m',
        'addrtype',
        '--dst-type',
        'LOCAL',
        '-m',
        'multiport',
        '--dports',
        range,
        '-j',
        'RETURN',
      ]),
    ),
  ];
  whitelist.forEach((args, i) => {
    out.push({ table: 'filter', op: 'insert', chain: KUBE_ROUTER_INPUT, position: i + 1, args });
  });
  out.push({ table: 'filter', op: 'new-chain', chain: KUBE_NWPLCY_DEFAULT });
  // utils.CommonICMPRules(IPv4): echo requests, destination unreachable, time exceeded.
  for (const [comment, type] of [
    ['allow icmp echo requests', '8'],
    ['allow icmp destination unreachable messages', '3'],
    ['allow icmp time exceeded messages', '11'],
  ] as const) {
    out.push({
      table: 'filter',
      op: 'append',
      chain: KUBE_NWPLCY_DEFAULT,
      args: ['-m', 'comment', '--comment', comment, '-p', 'icmp', '--icmp-type', type, '-j', 'ACCEPT'],
    });
  }
  out.push({
    table: 'filter',
    op: 'append',
    chain: KUBE_NWPLCY_DEFAULT,
    args: [
      '-j',
      'MARK',
      '-m',
      'comment',
      '--comment',
      'rule to mark traffic matching a network policy',
      '--set-xmark',
      '0x10000/0x10000',
    ],
  });
  return out;
}

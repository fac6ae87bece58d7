// kube-proxy's iptables mode (pkg/proxy/iptables/proxier.go syncProxyRules): the exact
// iptables-restore payload of a full sync, the jump rules, and the sysctls it sets.
import { RestoreLines } from '../../../node/iptables/restore-lines.js';
import type { IptablesCommand } from '../../../node/iptables/types.js';
import type { EndpointInfo } from '../endpoints.js';
import { localTrafficDetector } from '../local-detector.js';
import { nodePortAddresses, nodePortIPs } from '../nodeport-addresses.js';
import type { KubeProxyInput, Proxier } from '../proxier.js';
import { buildProxyView } from '../proxier.js';
import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../service-port.js';
import { categorizeEndpoints } from '../topology.js';
import { endpointChain, portProtoHash } from './chain-names.js';
import { iptablesJumpCommands } from './jump-rules.js';

export interface IptablesProxierOutput {
  /** Exactly the text kube-proxy passes to `iptables-restore --noflush --counters` (written on first read). */
  readonly restorePayload: string;
  /** The same payload as lines, the per-endpoint ones pre-split: what applyRestore reads fastest. */
  readonly restoreLines: RestoreLines;
  /** EnsureChain/EnsureRule(Prepend) commands in call order (plus the canary chains). */
  jumpRules: IptablesCommand[];
  /** e.g. `net.ipv4.conf.all.route_localnet` = `1` when localhost NodePorts are on. */
  sysctls: Record<string, string>;
}

/** Above this many endpoints, SEP and SVC→SEP comments are dropped (largeClusterEndpointsThreshold). */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

const KUBE_SERVICES = 'KUBE-SERVICES';
const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
const KUBE_FORWARD = 'KUBE-FORWARD';
const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
const KUBE_FIREWALL = 'KUBE-FIREWALL';
const NFACCT_INVALID = 'ct_state_invalid_dropped_pkts';
const NFACCT_LOCALHOST_NP = 'localhost_nps_accepted_pkts';

/** `fmt.Sprintf("%0.10f", 1.0/n)`. */
export function computeProbability(n: number): string {
  // Go rounds an exact halfway case to even, toFixed rounds it up. 1/n is exact in binary only for
  // powers of two, and 1/2^k has k decimals, so the one halfway case is n = 2^11 (0.00048828125).
  if (n === 2048) return '0.0004882812';
  return (1 / n).toFixed(10);
}

/** The mark string: upstream tests hard-code `0x4000`; production formats `%#08x` → `0x00004000`. */
export function masqueradeMark(bit: number, format: 'upstream-test' | 'production'): string {
  const hex = (2 ** bit).toString(16);
  return format === 'production' ? `0x${hex.padStart(8, '0')}` : `0x${hex}`;
}

export const syncIptablesRules: Proxier<IptablesProxierOutput> = (
  input: KubeProxyInput,
): IptablesProxierOutput => {
  const { family, config } = input;
  const isIPv6 = family === 6;
  const view = buildProxyView(input);
  const mark = masqueradeMark(config.masqueradeBit, input.markFormat ?? 'production');
  const detector = localTrafficDetector(config, family, input.nodePodCIDRs);
  const npa = nodePortAddresses(config.nodePortAddresses, family, view.nodeIP);
  // Localhost NodePorts are IPv4-only and off when nodePortAddresses excludes 127/8 (NewProxier).
  const localhostNodePorts = !isIPv6 && config.localhostNodePorts && npa.containsIPv4Loopback;
  const nfacct = input.nfacct === true;
  const largeClusterMode = view.totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const masqAll = config.masqueradeAll;
  // Node hints are matched against kube-proxy's own node name.
  const topology = input.topology ? { ...input.topology, nodeName: input.nodeName } : undefined;

  // The payload's four sections (chains before rules in each table), as lines; see restore-lines.ts.
  const filterChains = new RestoreLines();
  const filterRules = new RestoreLines();
  const natChains = new RestoreLines();
  const natRules = new RestoreLines();

  for (const c of [
    KUBE_SERVICES,
    KUBE_EXTERNAL_SERVICES,
    KUBE_FORWARD,
    KUBE_NODEPORTS,
    KUBE_PROXY_FIREWALL,
  ]) {
    filterChains.chain(c);
  }
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) natChains.chain(c);

  natRules.line(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
  natRules.line(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
  natRules.line(
    `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE` +
      (config.masqueradeRandomFully ? ' --random-fully' : ''),
  );
  natRules.line(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);

  if (localhostNodePorts) {
    // Mirrors kubelet's anti-martian rule for route_localnet (issue 90259).
    filterChains.chain(KUBE_FIREWALL);
    filterRules.line(
      `-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }

  const probabilities: string[] = [];
  const probability = (n: number): string => {
    let p = probabilities[n];
    if (p === undefined) {
      p = computeProbability(n);
      probabilities[n] = p;
    }
    return p;
  };
  const ifNotLocal = detector ? detector.ifNotLocal.join(' ') : '';
  const ifLocal = detector ? detector.ifLocal.join(' ') : '';

  for (const { servicePort: sp, endpoints } of view.servicePorts) {
    const protocol = sp.protocol.toLowerCase();
    const S = sp.name;
    const cat = categorizeEndpoints(endpoints, sp, topology);
    const hasEndpoints = cat.hasAnyEndpoints;
    const h = portProtoHash(S, protocol);
    const svcChain = `KUBE-SVC-${h}`;
    const svlChain = `KUBE-SVL-${h}`;
    const extChain = `KUBE-EXT-${h}`;
    const fwChain = `KUBE-FW-${h}`;
    const usesClusterPolicyChain = cat.clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
    const usesLocalPolicyChain = cat.localEndpoints.length > 0 && usesLocalEndpoints(sp);

    let internalTrafficChain = svcChain;
    let hasInternalEndpoints = hasEndpoints;
    if (sp.internalPolicyLocal) {
      internalTrafficChain = svlChain;
      if (cat.localEndpoints.length === 0) hasInternalEndpoints = false;
    }
    let externalPolicyChain = svcChain;
    let hasExternalEndpoints = hasEndpoints;
    if (sp.externalPolicyLocal) {
      externalPolicyChain = svlChain;
      if (cat.localEndpoints.length === 0) hasExternalEndpoints = false;
    }
    // Based on hasEndpoints, not hasExternalEndpoints: the local short-circuit rules are still needed.
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
    const usesFWChain =
      hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const lbTrafficChain = usesFWChain ? fwChain : extChain;

    let internalFilterTarget = '';
    let internalFilterComment = '';
    let externalFilterTarget = '';
    let externalFilterComment = '';
    if (!hasEndpoints) {
      internalFilterTarget = 'REJECT';
      internalFilterComment = `"${S} has no endpoints"`;
      externalFilterTarget = 'REJECT';
      externalFilterComment = internalFilterComment;
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = 'DROP';
        internalFilterComment = `"${S} has no local endpoints"`;
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = 'DROP';
        externalFilterComment = `"${S} has no local endpoints"`;
      }
    }

    const proto = `-m ${protocol} -p ${protocol}`;
    const cip = sp.clusterIP.toString();
    const port = String(sp.port);

    // Capture the ClusterIP.
    if (hasInternalEndpoints) {
      natRules.line(
        `-A ${KUBE_SERVICES} -m comment --comment "${S} cluster IP" ${proto} -d ${cip} --dport ${port} -j ${internalTrafficChain}`,
      );
    } else {
      filterRules.line(
        `-A ${KUBE_SERVICES} -m comment --comment ${internalFilterComment} ${proto} -d ${cip} --dport ${port} -j ${internalFilterTarget}`,
      );
    }

    // Capture externalIPs.
    for (const eip of sp.externalIPs) {
      const e = eip.toString();
      if (hasEndpoints) {
        natRules.line(
          `-A ${KUBE_SERVICES} -m comment --comment "${S} external IP" ${proto} -d ${e} --dport ${port} -j ${extChain}`,
        );
      }
      if (!hasExternalEndpoints) {
        filterRules.line(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} ${proto} -d ${e} --dport ${port} -j ${externalFilterTarget}`,
        );
      }
    }

    // Capture load-balancer ingress.
    for (const vip of sp.loadBalancerVIPs) {
      const l = vip.toString();
      if (hasEndpoints) {
        natRules.line(
          `-A ${KUBE_SERVICES} -m comment --comment "${S} loadbalancer IP" ${proto} -d ${l} --dport ${port} -j ${lbTrafficChain}`,
        );
      }
      if (usesFWChain) {
        filterRules.line(
          `-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${S} traffic not accepted by ${fwChain}" ${proto} -d ${l} --dport ${port} -j DROP`,
        );
      }
    }
    if (!hasExternalEndpoints) {
      for (const vip of sp.loadBalancerVIPs) {
        filterRules.line(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} ${proto} -d ${vip.toString()} --dport ${port} -j ${externalFilterTarget}`,
        );
      }
    }

    // Capture NodePorts (never subject to loadBalancerSourceRanges).
    if (sp.nodePort !== 0) {
      const np = String(sp.nodePort);
      if (hasEndpoints) {
        if (localhostNodePorts && nfacct) {
          natRules.line(
            `-A ${KUBE_NODEPORTS} -m comment --comment ${S} ${proto} -d 127.0.0.0/8 --dport ${np} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NP} -j ${extChain}`,
          );
        }
        natRules.line(`-A ${KUBE_NODEPORTS} -m comment --comment ${S} ${proto} --dport ${np} -j ${extChain}`);
      }
      if (!hasExternalEndpoints) {
        filterRules.line(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL ${proto} --dport ${np} -j ${externalFilterTarget}`,
        );
      }
    }

    // Health check node port: accepted whether or not there are local endpoints.
    if (sp.healthCheckNodePort !== 0) {
      filterRules.line(
        `-A ${KUBE_NODEPORTS} -m comment --comment "${S} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
      );
    }

    // Internal traffic: masquerade off-cluster sources reaching the ClusterIP.
    if (hasInternalEndpoints) {
      const args = `-m comment --comment "${S} cluster IP" ${proto} -d ${cip} --dport ${port}`;
      if (masqAll) natRules.line(`-A ${internalTrafficChain} ${args} -j ${KUBE_MARK_MASQ}`);
      else if (detector)
        natRules.line(`-A ${internalTrafficChain} ${args} ${ifNotLocal} -j ${KUBE_MARK_MASQ}`);
    }

    // External traffic chain.
    if (usesExternalTrafficChain) {
      natChains.chain(extChain);
      if (!sp.externalPolicyLocal) {
        natRules.line(
          `-A ${extChain} -m comment --comment "masquerade traffic for ${S} external destinations" -j ${KUBE_MARK_MASQ}`,
        );
      } else {
        if (detector) {
          // Pods reaching an external IP are short-circuited to all endpoints, unmasqueraded.
          natRules.line(
            `-A ${extChain} -m comment --comment "pod traffic for ${S} external destinations" ${ifLocal} -j ${svcChain}`,
          );
        }
        natRules.line(
          `-A ${extChain} -m comment --comment "masquerade LOCAL traffic for ${S} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
        );
        natRules.line(
          `-A ${extChain} -m comment --comment "route LOCAL traffic for ${S} external destinations" -m addrtype --src-type LOCAL -j ${svcChain}`,
        );
      }
      if (hasExternalEndpoints) natRules.line(`-A ${extChain} -j ${externalPolicyChain}`);
    }

    // loadBalancerSourceRanges firewall chain.
    if (usesFWChain) {
      natChains.chain(fwChain);
      const head = `-A ${fwChain} -m comment --comment "${S} loadbalancer IP"`;
      let allowFromNode = false;
      for (const cidr of sp.loadBalancerSourceRanges) {
        natRules.line(`${head} -s ${cidr.toString()} -j ${extChain}`);
        if (view.nodeIP && cidr.contains(view.nodeIP)) allowFromNode = true;
      }
      // Node → VIP traffic may loop back with the VIP as source; allow it if the node is allowed.
      if (allowFromNode) {
        for (const vip of sp.loadBalancerVIPs) natRules.line(`${head} -s ${vip.toString()} -j ${extChain}`);
      }
      natRules.line(
        `-A ${fwChain} -m comment --comment "other traffic to ${S} will be dropped by ${KUBE_PROXY_FIREWALL}"`,
      );
    }

    const affinity = sp.sessionAffinityClientIP;
    // One hash per endpoint: the SVC/SVL rules and the SEP chain share the name.
    const sepNames = new Map<EndpointInfo, string>();
    const sepOf = (ep: EndpointInfo): string => {
      let name = sepNames.get(ep);
      if (name === undefined) {
        name = endpointChain(S, protocol, ep.endpoint);
        sepNames.set(ep, name);
      }
      return name;
    };
    const writeServiceToEndpointRules = (chain: string, eps: readonly EndpointInfo[]): void => {
      if (affinity) {
        for (const ep of eps) {
          const sep = sepOf(ep);
          const comment = largeClusterMode ? '' : ` -m comment --comment "${S} -> ${ep.endpoint}"`;
          natRules.line(
            `-A ${chain}${comment} -m recent --name ${sep} --rcheck --seconds ${sp.stickyMaxAgeSeconds} --reap -j ${sep}`,
          );
        }
      }
      const n = eps.length;
      for (let i = 0; i < n; i++) {
        const ep = eps[i]!;
        const sep = sepOf(ep);
        if (largeClusterMode) {
          // Comment-less, as in the text branch below: handed over pre-split (restore-lines.ts).
          if (i < n - 1) natRules.statistic(chain, probability(n - i), sep);
          else natRules.jump(chain, sep);
          continue;
        }
        const comment = ` -m comment --comment "${S} -> ${ep.endpoint}"`;
        if (i < n - 1) {
          natRules.line(
            `-A ${chain}${comment} -m statistic --mode random --probability ${probability(n - i)} -j ${sep}`,
          );
        } else {
          natRules.line(`-A ${chain}${comment} -j ${sep}`);
        }
      }
    };

    if (usesClusterPolicyChain) {
      natChains.chain(svcChain);
      writeServiceToEndpointRules(svcChain, cat.clusterEndpoints);
    }
    if (usesLocalPolicyChain) {
      natChains.chain(svlChain);
      writeServiceToEndpointRules(svlChain, cat.localEndpoints);
    }

    // Per-endpoint chains.
    for (const ep of cat.allReachableEndpoints) {
      const sep = sepOf(ep);
      natChains.chain(sep);
      if (largeClusterMode && !affinity) {
        // The two lines of the text branch below, comment-less, handed over pre-split.
        natRules.masq(sep, ep.ipText, KUBE_MARK_MASQ);
        natRules.dnat(sep, protocol, ep.endpoint);
        continue;
      }
      const head = largeClusterMode ? `-A ${sep}` : `-A ${sep} -m comment --comment ${S}`;
      // Hairpin: an endpoint reaching itself through the service must be masqueraded.
      natRules.line(`${head} -s ${ep.ipText} -j ${KUBE_MARK_MASQ}`);
      const recent = affinity ? ` -m recent --name ${sep} --set` : '';
      natRules.line(`${head}${recent} ${proto} -j DNAT --to-destination ${ep.endpoint}`);
    }
  }

  // Tail-call to KUBE-NODEPORTS: must be the last rule of KUBE-SERVICES.
  const lastComment =
    '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
  if (npa.matchAll) {
    let dest = '-m addrtype --dst-type LOCAL';
    // Localhost NodePorts never work on IPv6, and on IPv4 only with route_localnet.
    if (isIPv6) dest += ' ! -d ::1/128';
    else if (!localhostNodePorts) dest += ' ! -d 127.0.0.0/8';
    natRules.line(`-A ${KUBE_SERVICES} ${lastComment} ${dest} -j ${KUBE_NODEPORTS}`);
  } else {
    for (const ip of nodePortIPs(npa, input.localInterfaceAddresses ?? [])) {
      if (ip.isLoopback() && (isIPv6 || !localhostNodePorts)) continue;
      natRules.line(`-A ${KUBE_SERVICES} ${lastComment} -d ${ip.toString()} -j ${KUBE_NODEPORTS}`);
    }
  }

  if (!config.conntrackTCPBeLiberal) {
    filterRules.line(
      `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID` +
        (nfacct ? ` -m nfacct --nfacct-name ${NFACCT_INVALID}` : '') +
        ' -j DROP',
    );
  }
  // Forward marked traffic even with a DROP FORWARD policy (NodePort traffic to other nodes).
  filterRules.line(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
  );
  filterRules.line(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );

  const lines = RestoreLines.join([
    '*filter',
    filterChains,
    filterRules,
    'COMMIT',
    '*nat',
    natChains,
    natRules,
    'COMMIT',
  ]);
  const sysctls: Record<string, string> = {};
  if (localhostNodePorts) sysctls['net.ipv4.conf.all.route_localnet'] = '1';
  // The text is written only when read: programNode applies the lines, which need none of it.
  let payload: string | undefined;
  return {
    get restorePayload(): string {
      payload ??= lines.toString();
      return payload;
    },
    restoreLines: lines,
    jumpRules: iptablesJumpCommands(),
    sysctls,
  };
};

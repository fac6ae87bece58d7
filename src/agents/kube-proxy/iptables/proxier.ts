// kube-proxy's iptables mode (pkg/proxy/iptables/proxier.go syncProxyRules): the exact
// iptables-restore payload of a full sync, the jump rules, and the sysctls it sets.
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
  /** Exactly the text kube-proxy passes to `iptables-restore --noflush --counters`. */
  restorePayload: string;
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

const chainLine = (c: string): string => `:${c} - [0:0]`;

/**
 * Lines joined into flat text a block at a time. Half a million template-literal lines held until one
 * final join would all survive the young generation (and be copied by the GC); a block of 4,096 is
 * flattened while its lines are still young, and at ~300 KB it is a large object, which the GC
 * never copies, so only the flat blocks live on.
 */
class LineBuffer {
  private readonly blocks: string[] = [];
  private lines: string[] = [];

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length === 4096) {
      this.blocks.push(this.lines.join('\n'));
      this.lines = [];
    }
  }

  /** All lines, newline-separated. */
  text(): string {
    if (this.lines.length > 0) {
      this.blocks.push(this.lines.join('\n'));
      this.lines = [];
    }
    return this.blocks.join('\n');
  }
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

  const filterChains = new LineBuffer();
  const filterRules = new LineBuffer();
  const natChains = new LineBuffer();
  const natRules = new LineBuffer();

  for (const c of [
    KUBE_SERVICES,
    KUBE_EXTERNAL_SERVICES,
    KUBE_FORWARD,
    KUBE_NODEPORTS,
    KUBE_PROXY_FIREWALL,
  ]) {
    filterChains.push(chainLine(c));
  }
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ])
    natChains.push(chainLine(c));

  natRules.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
  natRules.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
  natRules.push(
    `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE` +
      (config.masqueradeRandomFully ? ' --random-fully' : ''),
  );
  natRules.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);

  if (localhostNodePorts) {
    // Mirrors kubelet's anti-martian rule for route_localnet (issue 90259).
    filterChains.push(chainLine(KUBE_FIREWALL));
    filterRules.push(
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
      natRules.push(
        `-A ${KUBE_SERVICES} -m comment --comment "${S} cluster IP" ${proto} -d ${cip} --dport ${port} -j ${internalTrafficChain}`,
      );
    } else {
      filterRules.push(
        `-A ${KUBE_SERVICES} -m comment --comment ${internalFilterComment} ${proto} -d ${cip} --dport ${port} -j ${internalFilterTarget}`,
      );
    }

    // Capture externalIPs.
    for (const eip of sp.externalIPs) {
      const e = eip.toString();
      if (hasEndpoints) {
        natRules.push(
          `-A ${KUBE_SERVICES} -m comment --comment "${S} external IP" ${proto} -d ${e} --dport ${port} -j ${extChain}`,
        );
      }
      if (!hasExternalEndpoints) {
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} ${proto} -d ${e} --dport ${port} -j ${externalFilterTarget}`,
        );
      }
    }

    // Capture load-balancer ingress.
    for (const vip of sp.loadBalancerVIPs) {
      const l = vip.toString();
      if (hasEndpoints) {
        natRules.push(
          `-A ${KUBE_SERVICES} -m comment --comment "${S} loadbalancer IP" ${proto} -d ${l} --dport ${port} -j ${lbTrafficChain}`,
        );
      }
      if (usesFWChain) {
        filterRules.push(
          `-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${S} traffic not accepted by ${fwChain}" ${proto} -d ${l} --dport ${port} -j DROP`,
        );
      }
    }
    if (!hasExternalEndpoints) {
      for (const vip of sp.loadBalancerVIPs) {
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} ${proto} -d ${vip.toString()} --dport ${port} -j ${externalFilterTarget}`,
        );
      }
    }

    // Capture NodePorts (never subject to loadBalancerSourceRanges).
    if (sp.nodePort !== 0) {
      const np = String(sp.nodePort);
      if (hasEndpoints) {
        if (localhostNodePorts && nfacct) {
          natRules.push(
            `-A ${KUBE_NODEPORTS} -m comment --comment ${S} ${proto} -d 127.0.0.0/8 --dport ${np} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NP} -j ${extChain}`,
          );
        }
        natRules.push(`-A ${KUBE_NODEPORTS} -m comment --comment ${S} ${proto} --dport ${np} -j ${extChain}`);
      }
      if (!hasExternalEndpoints) {
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL ${proto} --dport ${np} -j ${externalFilterTarget}`,
        );
      }
    }

    // Health check node port: accepted whether or not there are local endpoints.
    if (sp.healthCheckNodePort !== 0) {
      filterRules.push(
        `-A ${KUBE_NODEPORTS} -m comment --comment "${S} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
      );
    }

    // Internal traffic: masquerade off-cluster sources reaching the ClusterIP.
    if (hasInternalEndpoints) {
      const args = `-m comment --comment "${S} cluster IP" ${proto} -d ${cip} --dport ${port}`;
      if (masqAll) natRules.push(`-A ${internalTrafficChain} ${args} -j ${KUBE_MARK_MASQ}`);
      else if (detector)
        natRules.push(`-A ${internalTrafficChain} ${args} ${ifNotLocal} -j ${KUBE_MARK_MASQ}`);
    }

    // External traffic chain.
    if (usesExternalTrafficChain) {
      natChains.push(chainLine(extChain));
      if (!sp.externalPolicyLocal) {
        natRules.push(
          `-A ${extChain} -m comment --comment "masquerade traffic for ${S} external destinations" -j ${KUBE_MARK_MASQ}`,
        );
      } else {
        if (detector) {
          // Pods reaching an external IP are short-circuited to all endpoints, unmasqueraded.
          natRules.push(
            `-A ${extChain} -m comment --comment "pod traffic for ${S} external destinations" ${ifLocal} -j ${svcChain}`,
          );
        }
        natRules.push(
          `-A ${extChain} -m comment --comment "masquerade LOCAL traffic for ${S} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
        );
        natRules.push(
          `-A ${extChain} -m comment --comment "route LOCAL traffic for ${S} external destinations" -m addrtype --src-type LOCAL -j ${svcChain}`,
        );
      }
      if (hasExternalEndpoints) natRules.push(`-A ${extChain} -j ${externalPolicyChain}`);
    }

    // loadBalancerSourceRanges firewall chain.
    if (usesFWChain) {
      natChains.push(chainLine(fwChain));
      const head = `-A ${fwChain} -m comment --comment "${S} loadbalancer IP"`;
      let allowFromNode = false;
      for (const cidr of sp.loadBalancerSourceRanges) {
        natRules.push(`${head} -s ${cidr.toString()} -j ${extChain}`);
        if (view.nodeIP && cidr.contains(view.nodeIP)) allowFromNode = true;
      }
      // Node → VIP traffic may loop back with the VIP as source; allow it if the node is allowed.
      if (allowFromNode) {
        for (const vip of sp.loadBalancerVIPs) natRules.push(`${head} -s ${vip.toString()} -j ${extChain}`);
      }
      natRules.push(
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
          natRules.push(
            `-A ${chain}${comment} -m recent --name ${sep} --rcheck --seconds ${sp.stickyMaxAgeSeconds} --reap -j ${sep}`,
          );
        }
      }
      const n = eps.length;
      for (let i = 0; i < n; i++) {
        const ep = eps[i]!;
        const sep = sepOf(ep);
        const comment = largeClusterMode ? '' : ` -m comment --comment "${S} -> ${ep.endpoint}"`;
        if (i < n - 1) {
          natRules.push(
            `-A ${chain}${comment} -m statistic --mode random --probability ${probability(n - i)} -j ${sep}`,
          );
        } else {
          natRules.push(`-A ${chain}${comment} -j ${sep}`);
        }
      }
    };

    if (usesClusterPolicyChain) {
      natChains.push(chainLine(svcChain));
      writeServiceToEndpointRules(svcChain, cat.clusterEndpoints);
    }
    if (usesLocalPolicyChain) {
      natChains.push(chainLine(svlChain));
      writeServiceToEndpointRules(svlChain, cat.localEndpoints);
    }

    // Per-endpoint chains.
    for (const ep of cat.allReachableEndpoints) {
      const sep = sepOf(ep);
      natChains.push(chainLine(sep));
      const head = largeClusterMode ? `-A ${sep}` : `-A ${sep} -m comment --comment ${S}`;
      // Hairpin: an endpoint reaching itself through the service must be masqueraded.
      natRules.push(`${head} -s ${ep.ipText} -j ${KUBE_MARK_MASQ}`);
      const recent = affinity ? ` -m recent --name ${sep} --set` : '';
      natRules.push(`${head}${recent} ${proto} -j DNAT --to-destination ${ep.endpoint}`);
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
    natRules.push(`-A ${KUBE_SERVICES} ${lastComment} ${dest} -j ${KUBE_NODEPORTS}`);
  } else {
    for (const ip of nodePortIPs(npa, input.localInterfaceAddresses ?? [])) {
      if (ip.isLoopback() && (isIPv6 || !localhostNodePorts)) continue;
      natRules.push(`-A ${KUBE_SERVICES} ${lastComment} -d ${ip.toString()} -j ${KUBE_NODEPORTS}`);
    }
  }

  if (!config.conntrackTCPBeLiberal) {
    filterRules.push(
      `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID` +
        (nfacct ? ` -m nfacct --nfacct-name ${NFACCT_INVALID}` : '') +
        ' -j DROP',
    );
  }
  // Forward marked traffic even with a DROP FORWARD policy (NodePort traffic to other nodes).
  filterRules.push(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
  );
  filterRules.push(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );

  // Joined per buffer (each is never empty): spreading half a million lines into one array would copy them again.
  const payload = [
    '*filter',
    filterChains.text(),
    filterRules.text(),
    'COMMIT',
    '*nat',
    natChains.text(),
    natRules.text(),
    'COMMIT',
    // The final newline comes from the join: appending it would make a 33 MB string to flatten again.
    '',
  ].join('\n');
  const sysctls: Record<string, string> = {};
  if (localhostNodePorts) sysctls['net.ipv4.conf.all.route_localnet'] = '1';
  return { restorePayload: payload, jumpRules: iptablesJumpCommands(), sysctls };
};

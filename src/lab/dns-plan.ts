// What DNS adds to a lab plan: the upstream servers of spec.dns as namespaces on the underlay, which
// lab servers speak DNS, and the files kubelet and the container image give each pod (resolv.conf,
// hosts, nsswitch.conf), placed where `ip netns exec` bind-mounts them: /etc/netns/<netns>/.
import { resolvConf } from '../dns/resolv-conf.js';
import type { UpstreamDnsServer } from '../dns/upstream.js';
import type { ClusterState } from '../model/cluster.js';
import type { Pod } from '../model/k8s.js';
import { IPAddr } from '../net/ip.js';
import { clusterDns } from '../trace/dns-step.js';
import type { Twin } from '../twin.js';
import { labPrefix, underlayBridge, underlayNetns } from './names.js';
import type { LabNamespace, LabStep, ServerSpec } from './plan.js';

/** What a lab DNS server is: CoreDNS (the model, built from the cluster's sources) or one upstream. */
export type DnsRole = { kind: 'coredns' } | { kind: 'upstream'; upstream: UpstreamDnsServer };

/** A host file the lab writes (recorded in the journal before it is written, removed by `lab down`). */
export interface LabFile {
  path: string;
  content: string;
}

/** Where `ip netns exec NETNS` finds the namespace's own /etc files (iproute2 bind-mounts each one). */
export const NETNS_ETC = '/etc/netns';

export function netnsEtcDir(netns: string): string {
  return `${NETNS_ETC}/${netns}`;
}

/** A container image's name service switch (debian, ubuntu): /etc/hosts, then DNS — no mDNS, no myhostname. */
export const POD_NSSWITCH = 'hosts:          files dns\n';

/** The namespace of an upstream DNS server that is neither the underlay router nor an external host. */
export function upstreamNetns(lab: string, name: string): string {
  return `${labPrefix(lab)}dns-${name.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 60);
}

/** kubelet's managedHostsFileContent (pkg/kubelet/kubelet_pods.go): the pod's /etc/hosts. */
export function podHostsFile(pod: Pod, clusterDomain: string): string {
  const ns = pod.metadata.namespace ?? 'default';
  const hostName = (pod.spec.hostname ?? pod.metadata.name).slice(0, 63);
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  let out =
    '# Kubernetes-managed hosts file.\n' +
    '127.0.0.1\tlocalhost\n' +
    '::1\tlocalhost ip6-localhost ip6-loopback\n' +
    'fe00::0\tip6-localnet\n' +
    'fe00::0\tip6-mcastprefix\n' +
    'fe00::1\tip6-allnodes\n' +
    'fe00::2\tip6-allrouters\n';
  const domain = pod.spec.subdomain ? `${pod.spec.subdomain}.${ns}.svc.${clusterDomain}` : '';
  for (const ip of ips)
    out += domain ? `${ip}\t${hostName}.${domain}\t${hostName}\n` : `${ip}\t${hostName}\n`;
  const aliases = (pod.spec as { hostAliases?: { ip: string; hostnames?: string[] }[] }).hostAliases ?? [];
  if (aliases.length > 0) {
    out += '\n# Entries added by HostAliases.\n';
    for (const a of aliases) out += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
  }
  return out;
}

interface Segment {
  cidr: { contains(ip: IPAddr): boolean; len: number };
  gateway?: string | undefined;
}

function segmentsOf(state: ClusterState): Segment[] {
  const out: { cidr: ClusterState['config']['underlay'][number]['cidr']; gateway?: string }[] = [];
  for (const s of [...state.config.underlay, ...state.nodeInfo.map((n) => n.underlay)]) {
    if (!out.some((o) => o.cidr.equals(s.cidr)))
      out.push({ cidr: s.cidr, ...(s.gateway ? { gateway: s.gateway.toString() } : {}) });
  }
  return out;
}

export interface DnsPlan {
  namespaces: LabNamespace[];
  steps: LabStep[];
  /** Servers for upstreams (CoreDNS pods' servers are the pods' own, marked by `markCoreDns`). */
  servers: ServerSpec[];
  files: LabFile[];
}

/** The external hosts' addresses: an upstream there would need two servers on one port. */
function takenByExternal(state: ClusterState, ip: string): boolean {
  return state.config.externalHosts.some((e) => e.ip.toString() === ip);
}

/**
 * The upstream DNS servers of spec.dns as lab namespaces: one at the underlay gateway runs in the
 * underlay namespace (it is the router); one inside an underlay segment is a host on that bridge; any
 * other address is routed like an external host.
 */
function upstreamPlan(twin: Twin, lab: string): Omit<DnsPlan, 'files'> {
  const state = twin.state;
  const u = underlayNetns(lab);
  const segs = segmentsOf(state);
  const out: Omit<DnsPlan, 'files'> = { namespaces: [], steps: [], servers: [] };
  const server = (netns: string, up: UpstreamDnsServer): ServerSpec => ({
    netns,
    label: `upstream/${up.name}`,
    tcp: [53],
    udp: [53],
    dns: { kind: 'upstream', upstream: up },
  });
  clusterDns(twin).upstreams.forEach((up, i) => {
    const ip = IPAddr.tryParse(up.ip);
    if (ip?.family !== 4 || takenByExternal(state, up.ip)) return;
    if (segs.some((s) => s.gateway === up.ip)) {
      out.servers.push(server(u, up));
      return;
    }
    const x = upstreamNetns(lab, up.name);
    const port = `kpath-d${i}`;
    const ns = (n: string, ...rest: string[]) => ['ip', '-n', n, ...rest];
    out.namespaces.push({ name: x, role: 'external', external: `dns-${up.name}` });
    out.steps.push({ kind: 'netns', name: x });
    out.steps.push({
      kind: 'run',
      argv: ns(u, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', x),
    });
    out.steps.push({ kind: 'run', argv: ns(x, 'link', 'set', 'dev', 'lo', 'up') });
    out.steps.push({ kind: 'run', argv: ns(x, 'link', 'set', 'dev', 'eth0', 'up') });
    const seg = segs.findIndex((s) => s.cidr.contains(ip));
    const s = segs[seg];
    if (s) {
      // A resolver on the nodes' own subnet: a host on the same L2 segment, reached by ARP.
      out.steps.push({ kind: 'run', argv: ns(u, 'link', 'set', 'dev', port, 'master', underlayBridge(seg)) });
      out.steps.push({ kind: 'run', argv: ns(u, 'link', 'set', 'dev', port, 'up') });
      out.steps.push({ kind: 'run', argv: ns(x, 'addr', 'add', `${up.ip}/${s.cidr.len}`, 'dev', 'eth0') });
      if (s.gateway)
        out.steps.push({ kind: 'run', argv: ns(x, 'route', 'add', 'default', 'via', s.gateway) });
    } else {
      // Anywhere else: routed by the underlay router, like an external host.
      out.steps.push({ kind: 'run', argv: ns(u, 'link', 'set', 'dev', port, 'up') });
      out.steps.push({ kind: 'run', argv: ns(u, 'addr', 'add', '169.254.0.1/32', 'dev', port) });
      out.steps.push({ kind: 'run', argv: ns(u, 'route', 'add', `${up.ip}/32`, 'dev', port) });
      out.steps.push({ kind: 'run', argv: ns(x, 'addr', 'add', `${up.ip}/32`, 'dev', 'eth0') });
      out.steps.push({
        kind: 'run',
        argv: ns(x, 'route', 'add', 'default', 'via', '169.254.0.1', 'dev', 'eth0', 'onlink'),
      });
    }
    out.servers.push(server(x, up));
  });
  return out;
}

/** True for the pods of the CoreDNS Deployment (k8s-app=kube-dns in kube-system). */
export function isCoreDnsPod(pod: Pod): boolean {
  return pod.metadata.namespace === 'kube-system' && pod.metadata.labels?.['k8s-app'] === 'kube-dns';
}

/** The files of each pod namespace (and the node's resolv.conf in each node namespace). */
function filesPlan(twin: Twin, namespaces: readonly LabNamespace[]): LabFile[] {
  const state = twin.state;
  const model = clusterDns(twin);
  const files: LabFile[] = [];
  const put = (netns: string, name: string, content: string) =>
    files.push({ path: `${netnsEtcDir(netns)}/${name}`, content });
  for (const n of namespaces) {
    if (n.role === 'node') {
      put(n.name, 'resolv.conf', model.nodeResolvConfText);
      put(n.name, 'nsswitch.conf', POD_NSSWITCH);
      continue;
    }
    if (n.role !== 'pod' || !n.pod) continue;
    const pod = state.pods.find((p) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}` === n.pod);
    if (!pod || pod.spec.hostNetwork) continue;
    let conf: string;
    try {
      conf = resolvConf(state, pod, model.nodeResolvConfText);
    } catch {
      continue; // dnsPolicy None without nameservers: the API server would have rejected the pod
    }
    put(n.name, 'resolv.conf', conf);
    put(n.name, 'hosts', podHostsFile(pod, state.config.clusterDomain));
    put(n.name, 'nsswitch.conf', POD_NSSWITCH);
  }
  return files;
}

/** Everything DNS adds to the plan of `lab`, given the namespaces the rest of the plan creates. */
export function dnsPlan(twin: Twin, lab: string, namespaces: readonly LabNamespace[]): DnsPlan {
  const up = upstreamPlan(twin, lab);
  return { ...up, files: filesPlan(twin, [...namespaces, ...up.namespaces]) };
}

/** Marks the servers of CoreDNS pods as DNS servers (they answer with the model on port 53). */
export function markCoreDns(twin: Twin, servers: ServerSpec[]): ServerSpec[] {
  const coredns = new Set(
    twin.state.pods
      .filter((p) => isCoreDnsPod(p) && !p.spec.hostNetwork)
      .map((p) => `kube-system/${p.metadata.name}`),
  );
  return servers.map((s) => (coredns.has(s.label) ? { ...s, dns: { kind: 'coredns' } } : s));
}

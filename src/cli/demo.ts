// `kpath demo`: a guided tour of the built-in demo cluster (or of -f manifests): the control plane's
// results, then each node's state in the formats an engineer would read on the node itself.
import type { Command } from 'commander';
import type { ClusterState } from '../model/cluster.js';
import { formatRule, printIptablesSave } from '../node/iptables/index.js';
import type { Chain, Ruleset } from '../node/iptables/types.js';
import { bridgeFdb, ipNeigh, ipRoute } from '../node/render/index.js';
import { renderGet } from '../render/kubectl.js';
import type { Twin } from '../twin.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';

export function registerDemo(program: Command): void {
  addInputOptions(
    program
      .command('demo')
      .description('a guided tour of the demo cluster: control plane results and every node'),
  ).action(async (opts: InputOptions) => {
    process.stdout.write(renderDemo(await loadTwin(opts)));
  });
}

export function renderDemo(twin: Twin): string {
  const { state } = twin;
  const c = state.config;
  const out: string[] = [];
  const say = (s = '') => out.push(s);
  const shell = (cmd: string, text: string) => {
    say(`$ ${cmd}`);
    out.push(text.replace(/\n$/, ''));
    say();
  };

  say(
    `kpath — cluster "${c.name}": ${state.nodeInfo.length} nodes, ${state.pods.length} pods, ${state.services.length} services`,
  );
  say();
  say(
    `Pod network ${c.podCIDR} (a /${c.nodeCIDRMaskSize} per node), services ${c.serviceCIDR}, cluster DNS ${c.dnsServiceIP} (${c.clusterDomain}).`,
  );
  say(`CNI: ${cniSummary(state)}. kube-proxy: ${c.kubeProxy.mode} mode.`);
  if (c.externalHosts.length) {
    say(`Outside the cluster: ${c.externalHosts.map((h) => `${h.name} ${h.ip}`).join(', ')}.`);
  }
  say();
  say(
    '1. The control plane: scheduling, IP allocation and EndpointSlices, as the API server would hold them.',
  );
  say();
  shell(
    'kubectl get nodes -o wide',
    renderGet(state, 'nodes', { wide: true, namespace: 'default', allNamespaces: false }),
  );
  shell(
    'kubectl get pods -A -o wide',
    renderGet(state, 'pods', { wide: true, namespace: 'default', allNamespaces: true }),
  );
  shell(
    'kubectl get services -A',
    renderGet(state, 'services', { wide: false, namespace: 'default', allNamespaces: true }),
  );
  shell(
    'kubectl get endpointslices -A',
    renderGet(state, 'endpointslices', { wide: false, namespace: 'default', allNamespaces: true }),
  );

  say('2. Every node, programmed by the CNI plugin and kube-proxy: what you would see on the node itself.');
  say();
  for (const info of state.nodeInfo) {
    const node = twin.node(info.name);
    say(`── ${info.name} (${info.internalIP}, pods ${info.podCIDR}) ──`);
    say();
    shell('ip route', ipRoute(node.host, { table: 'main' }));
    if (node.host.links.some((l) => l.kind === 'vxlan')) {
      const vxlan = node.host.links.find((l) => l.kind === 'vxlan')!.name;
      shell(`ip neigh show dev ${vxlan}`, onlyDev(ipNeigh(node.host), vxlan));
      shell(`bridge fdb show dev ${vxlan}`, onlyDev(bridgeFdb(node.host), vxlan));
    }
    say(
      `iptables-save: ${printIptablesSave(node.host.iptables).split('\n').length - 1} lines (${ruleCounts(node.host.iptables)}); ` +
        `\`kpath node ${info.name} iptables-save\` prints them all.`,
    );
    say();
  }

  const lb = state.services.find(
    (s) => s.spec.type === 'LoadBalancer' && s.status?.loadBalancer?.ingress?.length,
  );
  if (lb) {
    const first = twin.node(state.nodeInfo[0]!.name);
    const name = `${lb.metadata.namespace}/${lb.metadata.name}`;
    say(`3. How ${name} is wired on ${first.node}: kube-proxy's nat rules for it, following the jumps a new`);
    say(
      '   connection takes (KUBE-SERVICES / KUBE-NODEPORTS → KUBE-EXT → KUBE-SVC → one KUBE-SEP, chosen at random).',
    );
    say();
    shell(`iptables-save -t nat   # excerpt`, serviceRules(first.host.iptables, name));
  }
  say('Next:');
  say(
    "  kpath trace external svc/default/my-app            the seed's north–south journey, hop by hop, and back",
  );
  say('  kpath trace external svc/default/my-app --explain  the same, one plain sentence per hop');
  say('  kpath node NODE iptables-save|ip-route|ip-addr|ip-link|ip-neigh|bridge-fdb');
  say('  kpath dns web.shop --from shop/POD, kpath reach, kpath serve, sudo kpath lab up');
  say('and the same commands with -f on your own manifests or `kubectl get -A -o yaml` output.');
  return `${out.join('\n')}\n`;
}

function cniSummary(state: ClusterState): string {
  const cni = state.config.cni;
  if (cni.plugin === 'flannel' && cni.backend === 'vxlan') {
    return `flannel, VXLAN backend (flannel.1, VNI ${cni.vxlanVNI}, UDP ${cni.vxlanPort}, MTU ${cni.mtu - 50})`;
  }
  if (cni.plugin === 'flannel') return 'flannel, host-gw backend (routes to each node over the underlay)';
  return `${cni.plugin} (bridge ${cni.bridgeName})`;
}

function onlyDev(text: string, dev: string): string {
  return text
    .split('\n')
    .filter((l) => l.includes(` dev ${dev} `) || l.endsWith(` dev ${dev}`))
    .join('\n');
}

function ruleCounts(rs: Ruleset): string {
  return rs.tables
    .map((t) => `${t.name} ${t.chains.reduce((n: number, ch: Chain) => n + ch.rules.length, 0)} rules`)
    .join(', ');
}

/**
 * The nat rules of one service in the order a packet meets them: the KUBE-SERVICES and KUBE-NODEPORTS
 * rules whose comment names it, then every service chain they lead to, depth first.
 */
function serviceRules(rules: Ruleset, service: string): string {
  const nat = rules.tables.find((t) => t.name === 'nat');
  if (!nat) return '';
  const chains = new Map(nat.chains.map((c) => [c.name, c]));
  const lines: string[] = [];
  const seen = new Set<string>();
  const visit = (chain: Chain, only?: (text: string) => boolean) => {
    for (const rule of chain.rules) {
      const text = `-A ${chain.name} ${formatRule(rule)}`;
      if (only && !only(text)) continue;
      lines.push(text);
      const target = rule.options.find((o) => o.flag === '-j' || o.flag === '-g')?.args[0];
      const next = target && /^KUBE-(EXT|SVC|SVL|FW|SEP)-/.test(target) ? chains.get(target) : undefined;
      if (next && !seen.has(next.name)) {
        seen.add(next.name);
        visit(next);
      }
    }
  };
  const mentions = (text: string) =>
    text.includes(`"${service} `) || text.includes(`"${service}"`) || text.includes(`"${service}:`);
  for (const top of ['KUBE-SERVICES', 'KUBE-NODEPORTS']) {
    const chain = chains.get(top);
    if (chain) visit(chain, mentions);
  }
  return lines.join('\n');
}

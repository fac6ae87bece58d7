// `kpath node NAME VIEW`: one node's state printed exactly as the real tool prints it on that node.
import type { Command } from 'commander';
import { printIptablesSave } from '../node/iptables/index.js';
import { bridgeFdb, ipAddr, ipLink, ipNeigh, ipRoute } from '../node/render/index.js';
import type { NetnsState, NodeState } from '../node/state.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';

const VIEWS = ['iptables-save', 'ip-route', 'ip-addr', 'ip-link', 'ip-neigh', 'bridge-fdb'] as const;
type View = (typeof VIEWS)[number];

interface NodeCliOptions extends InputOptions {
  pod?: string;
  table?: string;
  counters?: boolean;
}

export function registerNode(program: Command): void {
  addInputOptions(
    program
      .command('node')
      .description("print a node's state as the real tool prints it there")
      .argument('<name>', 'node name')
      .argument('<view>', VIEWS.join(' | '))
      .option('--pod <ns/name>', "show the view inside this pod's network namespace instead")
      .option('--table <table>', 'ip-route: main | local | all', 'main')
      .option('-c, --counters', 'iptables-save: print packet and byte counters'),
  ).action(async (name: string, view: string, opts: NodeCliOptions) => {
    if (!VIEWS.includes(view as View))
      throw new UsageError(`unknown view "${view}": use ${VIEWS.join(', ')}`);
    const twin = await loadTwin(opts);
    const node = twin.node(name);
    process.stdout.write(renderView(pickNetns(node, opts.pod), view as View, opts));
  });
}

function pickNetns(node: NodeState, pod: string | undefined): NetnsState {
  if (!pod) return node.host;
  const [ns, name] = pod.includes('/') ? pod.split('/', 2) : ['default', pod];
  const found = node.pods.find(
    (p) => p.owner.kind === 'pod' && p.owner.namespace === ns && p.owner.name === name,
  );
  if (!found) throw new UsageError(`pod ${ns}/${name} has no network namespace on node ${node.node}`);
  return found;
}

function renderView(ns: NetnsState, view: View, opts: NodeCliOptions): string {
  switch (view) {
    case 'iptables-save':
      return printIptablesSave(ns.iptables, { counters: !!opts.counters });
    case 'ip-route': {
      const table = opts.table ?? 'main';
      if (table !== 'main' && table !== 'local' && table !== 'all') {
        throw new UsageError(`unknown routing table "${table}": use main, local or all`);
      }
      return ipRoute(ns, { table });
    }
    case 'ip-addr':
      return ipAddr(ns);
    case 'ip-link':
      return ipLink(ns);
    case 'ip-neigh':
      return ipNeigh(ns);
    case 'bridge-fdb':
      return bridgeFdb(ns);
  }
}

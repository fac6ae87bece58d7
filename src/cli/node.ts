// `kpath node NAME VIEW`: one node's state printed exactly as the real tool prints it on that node.
import type { Command } from 'commander';
import { isNodeView, NODE_VIEWS, pickNetns, renderNodeView } from '../node/views.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';

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
      .argument('<view>', NODE_VIEWS.join(' | '))
      .option('--pod <ns/name>', "show the view inside this pod's network namespace instead")
      .option('--table <table>', 'ip-route: main | local | all', 'main')
      .option('-c, --counters', 'iptables-save: print packet and byte counters'),
  ).action(async (name: string, view: string, opts: NodeCliOptions) => {
    if (!isNodeView(view)) throw new UsageError(`unknown view "${view}": use ${NODE_VIEWS.join(', ')}`);
    const table = opts.table ?? 'main';
    if (table !== 'main' && table !== 'local' && table !== 'all') {
      throw new UsageError(`unknown routing table "${table}": use main, local or all`);
    }
    const twin = await loadTwin(opts);
    const ns = pickNetns(twin.node(name), opts.pod);
    process.stdout.write(renderNodeView(ns, view, { table, counters: !!opts.counters }));
  });
}

// `kpath get nodes|pods|services|endpointslices`, laid out like kubectl.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { GET_KIND_ALIASES, renderGet, selectObjects } from '../render/kubectl.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';

interface GetCliOptions extends InputOptions {
  output?: string;
  namespace: string;
  allNamespaces?: boolean;
}

export function registerGet(program: Command): void {
  addInputOptions(
    program
      .command('get')
      .description('list nodes, pods, services or endpointslices as kubectl would show them')
      .argument('<kind>', 'nodes | pods | services | endpointslices (kubectl short names work)')
      .option('-o, --output <format>', 'wide | json | yaml')
      .option('-n, --namespace <ns>', 'namespace', 'default')
      .option('-A, --all-namespaces', 'list every namespace'),
  ).action(async (kindArg: string, opts: GetCliOptions) => {
    const kind = GET_KIND_ALIASES[kindArg.toLowerCase()];
    if (!kind) throw new UsageError(`unknown kind "${kindArg}": use nodes, pods, services or endpointslices`);
    if (opts.output && !['wide', 'json', 'yaml'].includes(opts.output)) {
      throw new UsageError(`unknown output format "${opts.output}": use wide, json or yaml`);
    }
    const twin = await loadTwin(opts);
    const getOpts = {
      wide: opts.output === 'wide',
      namespace: opts.namespace,
      allNamespaces: !!opts.allNamespaces,
    };
    if (opts.output === 'json' || opts.output === 'yaml') {
      // kubectl wraps several objects in a List.
      const list = {
        apiVersion: 'v1',
        kind: 'List',
        items: selectObjects(twin.state, kind, getOpts),
        metadata: { resourceVersion: '' },
      };
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(list, null, 4)}\n` : stringify(list));
      return;
    }
    process.stdout.write(renderGet(twin.state, kind, getOpts));
  });
}

// `kpath pod NS/NAME VIEW`: a file or view from inside one pod, as the pod itself would show it.
import type { Command } from 'commander';
import { resolvConf } from '../dns/resolv-conf.js';
import { clusterDns, findPod } from '../trace/dns-step.js';
import type { Twin } from '../twin.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';

const VIEWS = ['resolv.conf'] as const;
type View = (typeof VIEWS)[number];

export function registerPod(program: Command): void {
  addInputOptions(
    program
      .command('pod')
      .description('print a file from inside a pod, as `kubectl exec POD -- cat FILE` shows it')
      .argument('<pod>', 'ns/name (or pod/ns/name; a bare name is in namespace default)')
      .argument('<view>', VIEWS.join(' | ')),
  ).action(async (podArg: string, view: string, opts: InputOptions) => {
    checkView(view);
    process.stdout.write(runPod(await loadTwin(opts), podArg, view));
  });
}

function checkView(view: string): asserts view is View {
  if (!VIEWS.includes(view as View)) throw new UsageError(`unknown view "${view}": use ${VIEWS.join(', ')}`);
}

/** What `kpath pod POD VIEW` prints. */
export function runPod(twin: Twin, podArg: string, view: string): string {
  checkView(view);
  const pod = findPod(twin, podArg);
  // kubelet writes it from the pod's dnsPolicy and dnsConfig, the cluster DNS settings and the node's resolv.conf.
  return resolvConf(twin.state, pod, clusterDns(twin).nodeResolvConfText);
}

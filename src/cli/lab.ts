// `kpath lab up|down|status|exec|verify`: the cluster's network in real network namespaces on this
// machine. Argument parsing and output only; the work is in src/lab.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  formatDnsReport,
  formatReachVerifyReport,
  formatVerifyReport,
  journalLabs,
  labDown,
  labStatus,
  labUp,
  labVerify,
  loadDivergences,
  type ProbeCategory,
  readJournal,
  resolveTarget,
  verifyDns,
  verifyReach,
} from '../lab/index.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin, packageRoot } from './input.js';
import { reachQuery } from './reach.js';

interface LabOptions extends InputOptions {
  lab?: string;
}

function rootOnly(): void {
  if (process.getuid?.() !== 0)
    throw new UsageError('lab mode needs root (network namespaces need CAP_SYS_ADMIN); run it with sudo.');
}

/** The lab a command means: --lab, else the cluster of -f, else the only lab up, else the demo. */
async function labName(opts: LabOptions): Promise<string> {
  if (opts.lab) return opts.lab;
  if (opts.file.length) return (await loadTwin(opts)).state.config.name;
  const labs = journalLabs();
  return labs.length === 1 && labs[0] ? labs[0] : 'demo';
}

const labOption = (cmd: Command) =>
  addInputOptions(
    cmd.option('--lab <name>', 'the lab (namespace prefix kpath-<name>-); default: the cluster name'),
  );

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .description("the cluster's network in real Linux network namespaces (root)");

  labOption(
    lab.command('up').description('build every node, pod and external host in network namespaces'),
  ).action(async (opts: LabOptions) => {
    rootOnly();
    const twin = await loadTwin(opts);
    const r = await labUp(twin, opts.lab ? { lab: opts.lab } : {});
    const j = r.journal;
    const count = (role: string) => j.namespaces.filter((n) => n.role === role).length;
    const dnsUp = r.plan.servers.filter((s) => s.dns?.kind === 'upstream').length;
    const hosts = count('external') - r.plan.namespaces.filter((n) => n.external?.startsWith('dns-')).length;
    process.stdout.write(
      `lab ${j.lab} is up in ${(r.elapsedMs / 1000).toFixed(1)} s: ${count('node')} nodes, ${count('pod')} pods, ${hosts} external hosts, ${dnsUp} DNS upstreams, ${j.processes.length} servers (namespaces kpath-${j.lab}-*)\n`,
    );
    if (r.simulatedOnly.length)
      process.stdout.write(`simulated only (this kernel lacks them): ${r.simulatedOnly.join(', ')}\n`);
  });

  labOption(lab.command('down').description("remove a lab's namespaces and servers, even after a crash"))
    .option('--all', 'every lab with a state file')
    .action(async (opts: LabOptions & { all?: boolean }) => {
      rootOnly();
      const labs = opts.all ? journalLabs() : [await labName(opts)];
      for (const name of labs) {
        const r = labDown(name);
        process.stdout.write(
          `lab ${name}: removed ${r.namespaces.length} namespaces, stopped ${r.killed.length} processes\n`,
        );
      }
    });

  labOption(lab.command('status').description('list the labs and what exists of them')).action(
    async (opts: LabOptions) => {
      const labs = opts.lab || opts.file.length ? [await labName(opts)] : journalLabs();
      if (labs.length === 0) process.stdout.write('no lab is up\n');
      for (const name of labs) {
        const s = labStatus(name);
        const up = s.namespaces.filter((n) => n.exists).length;
        const alive = s.processes.filter((p) => p.alive).length;
        process.stdout.write(
          `lab ${name} (cluster ${s.cluster ?? '?'}): ${s.status}, ${up}/${s.namespaces.length} namespaces, ${alive}/${s.processes.length} servers running\n`,
        );
        for (const n of s.namespaces) {
          const what = n.ns.pod
            ? `pod/${n.ns.pod}`
            : n.ns.node && n.ns.role === 'node'
              ? `node/${n.ns.node}`
              : n.ns.external
                ? `external/${n.ns.external}`
                : n.ns.role;
          process.stdout.write(`  ${n.ns.name}  ${what}${n.exists ? '' : '  (missing)'}\n`);
        }
        for (const n of s.strays)
          process.stdout.write(`  ${n}  (not in the state file; \`kpath lab down\` removes it)\n`);
        if (s.simulatedOnly.length) process.stdout.write(`  simulated only: ${s.simulatedOnly.join(', ')}\n`);
      }
    },
  );

  labOption(
    lab
      .command('exec')
      .description('run a command inside a pod (ns/name), node/NAME, external/NAME or the underlay')
      .argument('<target>')
      .argument('<command...>'),
  ).action(async (target: string, command: string[], opts: LabOptions) => {
    rootOnly();
    const name = await labName(opts);
    const journal = readJournal(name);
    if (!journal) throw new UsageError(`lab "${name}" is not up; run \`kpath lab up\` first`);
    const ns = resolveTarget(journal, target);
    const r = spawnSync('ip', ['netns', 'exec', ns.name, ...command], { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  });

  labOption(
    lab.command('verify').description('compare every predicted probe with a real connection in the lab'),
  )
    .option('--sample <n>', 'verify N probes picked at random', (v) => Number.parseInt(v, 10))
    .option('--seed <s>', 'seed for --sample', (v) => Number.parseInt(v, 10), 1)
    .option('--category <c...>', 'only pod-pod, pod-clusterip, pod-nodeport, external-nodeport, external-lb')
    .option(
      '--hops <n>',
      "also check every traced iptables rule of N probes against the kernel's counters",
      (v) => Number.parseInt(v, 10),
    )
    .option('--differences', 'print only the rows that are not ok')
    // --reach: the reachability matrix (as `kpath reach`) against the twin's traces and the kernel.
    .option('--reach', 'verify every cell of the reachability matrix: kpath reach, the twin and the kernel')
    .option(
      '--port <port>',
      'with --reach: probe these ports (80, 80/TCP, 53/UDP)',
      (v, p: string[]) => [...p, v],
      [],
    )
    .option(
      '--dns',
      'resolve names in every pod with glibc (getent ahosts) and compare with the resolver model',
    )
    .action(
      async (
        opts: LabOptions & {
          sample?: number;
          seed: number;
          hops?: number;
          category?: ProbeCategory[];
          differences?: boolean;
          reach?: boolean;
          port: string[];
          dns?: boolean;
        },
      ) => {
        rootOnly();
        const twin = await loadTwin(opts);
        if (opts.dns) {
          const r = await verifyDns(twin, {
            ...(opts.lab ? { lab: opts.lab } : {}),
            ...(opts.sample !== undefined ? { sample: opts.sample } : {}),
            seed: opts.seed,
          });
          process.stdout.write(formatDnsReport(r, { onlyDifferences: !!opts.differences }));
          if (r.differ > 0) process.exitCode = 1;
          return;
        }
        if (opts.reach) {
          const ports = reachQuery({ from: [], to: [], port: opts.port }).ports ?? [];
          const r = await verifyReach(twin, {
            ...(opts.lab ? { lab: opts.lab } : {}),
            ...(ports.length ? { ports } : {}),
            ...(opts.sample !== undefined ? { sample: opts.sample } : {}),
            seed: opts.seed,
            divergences: loadDivergences(join(packageRoot(), 'docs', 'divergences.md')),
          });
          process.stdout.write(formatReachVerifyReport(r, { onlyDifferences: !!opts.differences }));
          if (r.counts.different > 0) process.exitCode = 1;
          return;
        }
        const report = await labVerify(twin, {
          ...(opts.lab ? { lab: opts.lab } : {}),
          ...(opts.sample !== undefined ? { sample: opts.sample } : {}),
          seed: opts.seed,
          ...(opts.category ? { categories: opts.category } : {}),
          ...(opts.hops ? { hops: opts.hops } : {}),
          divergences: loadDivergences(join(packageRoot(), 'docs', 'divergences.md')),
        });
        process.stdout.write(formatVerifyReport(report, { onlyDifferences: !!opts.differences }));
        if (report.unexplained > 0) process.exitCode = 1;
      },
    );
}

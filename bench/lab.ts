// Lab-mode benchmark (root only; not part of bench/run.ts):
//   npm run build && sudo node dist/bench/lab.js [--cycles 100] [--extra-pods 12]
//   (or, without building: sudo npx vite-node bench/lab.ts)
// Reports: `lab up` time of the demo cluster (goal < 5 s), the marginal time per pod (goal < 0.1 s),
// probes verified per second, and the up/down endurance run: N cycles, every 5th one killing `lab up`
// with SIGKILL halfway, each followed by `lab down` and a check that nothing is left (namespaces,
// journal, server processes) and that the host's iptables-save, links and routes are unchanged.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoPath } from '../src/cli/input.js';
import { NETNS_ETC } from '../src/lab/dns-plan.js';
import { detectFeatures } from '../src/lab/features.js';
import { journalPath, readJournal } from '../src/lab/journal.js';
import { labDown, labUp } from '../src/lab/lifecycle.js';
import { SERVER_MARK } from '../src/lab/servers.js';
import { labVerify } from '../src/lab/verify.js';
import { readSources } from '../src/load/sources.js';
import { buildTwin, type Twin } from '../src/twin.js';

process.env.KPATH_LAB_DIR ??= mkdtempSync(join(tmpdir(), 'kpath-bench-lab-'));

async function twinOf(edit?: (t: string) => string): Promise<Twin> {
  if (!edit) return buildTwin(await readSources([demoPath()], async () => ''));
  const dir = mkdtempSync(join(tmpdir(), 'kpath-bench-demo-'));
  for (const f of readdirSync(demoPath()))
    writeFileSync(join(dir, f), edit(readFileSync(join(demoPath(), f), 'utf8')));
  return buildTwin(await readSources([dir], async () => ''));
}

// Child mode: a `lab up` the parent kills halfway.
const child = process.env.KPATH_BENCH_LAB_CHILD;
if (child) {
  await labUp(await twinOf(), {
    lab: child,
    onStep: () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5),
  });
  process.exit(0);
}

/** How to run this very script again: compiled JavaScript directly, TypeScript through vite-node. */
function selfArgv(): string[] {
  const self = fileURLToPath(import.meta.url);
  if (!self.endsWith('.ts')) return [self];
  return [join(process.cwd(), 'node_modules', 'vite-node', 'vite-node.mjs'), self];
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const sh = (argv: string[]) =>
  execFileSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const hostState = () =>
  [
    sh(['iptables-save'])
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n'),
    sh(['ip', '-o', 'link', 'show']).replace(/ +link\/.*$/gm, ''),
    sh(['ip', 'route', 'show', 'table', 'all']),
  ].join('\n--\n');

function leftovers(lab: string): string[] {
  const out = sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`kpath-${lab}-`));
  if (readJournal(lab)) out.push(journalPath(lab));
  // The pods' resolv.conf, hosts and nsswitch.conf that `ip netns exec` bind-mounts.
  if (existsSync(NETNS_ETC))
    for (const d of readdirSync(NETNS_ETC)) if (d.startsWith(`kpath-${lab}-`)) out.push(`${NETNS_ETC}/${d}`);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const c = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (c.includes(SERVER_MARK) && c.includes(`kpath-${lab}-`)) out.push(`pid ${d}`);
    } catch {}
  }
  return out;
}

const lab = `bench${process.pid % 10000}`;
const host0 = hostState();
const features = detectFeatures(lab);

const demo = await twinOf();
const up = await labUp(demo, { lab, features });
const pods = up.journal.namespaces.filter((n) => n.role === 'pod').length;
console.log(
  `lab up, demo cluster (${pods} pods, ${up.journal.processes.length} servers): ${(up.elapsedMs / 1000).toFixed(2)} s (goal < 5 s)`,
);
const report = await labVerify(demo, { lab });
console.log(
  `lab verify: ${report.verdicts.length} probes, ${report.connections} connections in ${(report.elapsedMs / 1000).toFixed(1)} s = ${(report.verdicts.length / (report.elapsedMs / 1000)).toFixed(1)} probes/s, ${(report.connections / (report.elapsedMs / 1000)).toFixed(0)} connections/s; ${report.unexplained} unexplained differences`,
);
labDown(lab);

const extra = arg('extra-pods', 12);
const bigger = await twinOf((t) =>
  t.replace(/replicas: 2\n(\s+selector:\n\s+matchLabels: \{app: web\})/, `replicas: ${2 + extra}\n$1`),
);
const upBig = await labUp(bigger, { lab, features });
const podsBig = upBig.journal.namespaces.filter((n) => n.role === 'pod').length;
labDown(lab);
console.log(
  `per pod: ${((((upBig.elapsedMs - up.elapsedMs) / Math.max(1, podsBig - pods)) * 1000) / 1000).toFixed(0)} ms (${podsBig - pods} extra pods: ${(upBig.elapsedMs / 1000).toFixed(2)} s) (goal < 100 ms)`,
);

const cycles = arg('cycles', 100);
const t0 = performance.now();
let killed = 0;
for (let i = 0; i < cycles; i++) {
  if (i % 5 === 4) {
    const steps = 4 + Math.floor(Math.random() * 10);
    const c = spawn(process.execPath, selfArgv(), {
      stdio: 'ignore',
      env: { ...process.env, KPATH_BENCH_LAB_CHILD: lab },
    });
    while ((readJournal(lab)?.namespaces.length ?? 0) < steps && c.exitCode === null)
      await new Promise((r) => setTimeout(r, 5));
    if (c.exitCode !== null)
      throw new Error(`cycle ${i}: lab up exited (${c.exitCode}) before it could be killed`);
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    killed++;
  } else {
    await labUp(demo, { lab, features });
  }
  labDown(lab);
  const left = leftovers(lab);
  if (left.length) throw new Error(`cycle ${i}: left behind ${left.join(', ')}`);
}
const changed = hostState() !== host0;
console.log(
  `${cycles} up/down cycles (${killed} with lab up killed -9 halfway) in ${((performance.now() - t0) / 1000).toFixed(0)} s: nothing left behind; host iptables-save/links/routes ${changed ? 'CHANGED' : 'unchanged'}`,
);
if (changed) process.exitCode = 1;

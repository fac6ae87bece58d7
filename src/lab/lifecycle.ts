// `lab up`, `lab down`, `lab status` and the namespace lookup behind `lab exec`: the edge that carries a
// LabPlan out on the real kernel and removes it again, crash-safe through the journal.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SourceText } from '../load/sources.js';
import { UnsupportedError } from '../model/errors.js';
import type { Twin } from '../twin.js';
import { NETNS_ETC } from './dns-plan.js';
import {
  blockingFeatures,
  detectFeatures,
  type Feature,
  type Features,
  missingFeatures,
} from './features.js';
import {
  type LabJournal,
  labFilePath,
  readJournal,
  removeJournal,
  removeLabFiles,
  writeJournal,
} from './journal.js';
import { listNetns, netnsPids, run, tryRun } from './kernel.js';
import { checkLabName, labPrefix } from './names.js';
import { batchSteps, type LabNamespace, type LabPlan, labPlan } from './plan.js';
import { SERVER_MARK, startServer } from './servers.js';

/** Lab mode needs root (CAP_SYS_ADMIN for namespaces, CAP_NET_ADMIN for links). */
export class LabPermissionError extends Error {}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new LabPermissionError(
      'lab mode needs root (network namespaces need CAP_SYS_ADMIN); run it with sudo.',
    );
  }
}

/** The lab a verify runs against (`lab`, else the cluster's name): needs root and the lab up. */
export function labToVerify(twin: Twin, lab?: string): { lab: string; journal: LabJournal } {
  requireRoot();
  const name = lab ?? twin.state.config.name;
  const journal = readJournal(name);
  if (journal?.status !== 'up')
    throw new UnsupportedError(`lab "${name}" is not up; run \`kpath lab up\` first`);
  return { lab: name, journal };
}

export interface UpOptions {
  /** The lab's name (namespace prefix `kpath-<lab>-`); the cluster name by default. */
  lab?: string;
  /** Called after each step (for progress output and for tests that interrupt setup). */
  onStep?: (done: number, total: number) => void;
  /** Already detected features (saves the probe when many labs go up in a row). */
  features?: Features;
  /** The cluster's input, from which the CoreDNS pods' servers rebuild the DNS model (default: the twin's). */
  sources?: readonly SourceText[];
}

/** The query log of the DNS server in `netns`. */
export function dnsLogPath(lab: string, netns: string): string {
  return labFilePath(lab, `dns-${netns}.log`);
}

export interface UpResult {
  journal: LabJournal;
  plan: LabPlan;
  /** Features this machine lacks: whatever needs them is simulated only. */
  simulatedOnly: Feature[];
  elapsedMs: number;
}

function labNameOf(twin: Twin, lab: string | undefined): string {
  const name = lab ?? twin.state.config.name;
  const bad = checkLabName(name);
  if (bad) throw new UnsupportedError(bad);
  return name;
}

/** Builds the cluster in real namespaces; on any failure removes what it made and rethrows. */
export async function labUp(twin: Twin, opts: UpOptions = {}): Promise<UpResult> {
  requireRoot();
  const started = performance.now();
  const lab = labNameOf(twin, opts.lab);
  if (readJournal(lab))
    throw new UnsupportedError(`lab "${lab}" is already up; run \`kpath lab down\` first`);
  const leftover = listNetns().filter((n) => n.startsWith(labPrefix(lab)));
  if (leftover.length) {
    throw new UnsupportedError(
      `namespaces of lab "${lab}" exist already (${leftover[0]}, …); run \`kpath lab down\` first`,
    );
  }
  const plan = labPlan(twin, lab);
  const features = opts.features ?? detectFeatures(lab);
  const blocking = blockingFeatures(plan, features);
  if (blocking.length) {
    throw new UnsupportedError(
      `this machine's kernel lacks ${blocking.join(', ')}, which the cluster needs; it can only be simulated (see docs/divergences.md)`,
    );
  }
  const journal: LabJournal = {
    version: 1,
    lab,
    cluster: plan.cluster,
    status: 'creating',
    startedAt: new Date().toISOString(),
    namespaces: [],
    processes: [],
    simulatedOnly: missingFeatures(features),
  };
  writeJournal(journal);
  const meta = new Map(plan.namespaces.map((n) => [n.name, n]));
  const sources = opts.sources ?? twin.sources;
  const sourcesFile = labFilePath(lab, 'dns-sources');
  try {
    if (sources) writeFileSync(sourcesFile, JSON.stringify(sources));
    // Intent first here too: the paths are in the journal before the files exist.
    journal.files = (plan.files ?? []).map((f) => f.path);
    if (journal.files.length && !existsSync(NETNS_ETC)) journal.createdNetnsEtc = true;
    writeJournal(journal);
    for (const f of plan.files ?? []) {
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.content);
    }
    const steps = batchSteps(plan.steps);
    const total = steps.length + plan.servers.length;
    let done = 0;
    const serverFor = new Map(plan.servers.map((s) => [s.netns, s]));
    const serving: Promise<void>[] = [];
    for (const step of steps) {
      if (step.kind === 'netns') {
        // Intent first: the journal names the namespace before it can exist.
        journal.namespaces.push(meta.get(step.name) ?? { name: step.name, role: 'pod' });
        writeJournal(journal);
        run(['ip', 'netns', 'add', step.name]);
        // A server binds 0.0.0.0, which needs no device: starting it now overlaps Node's start-up
        // with the rest of the setup.
        const s = serverFor.get(step.name);
        if (s) {
          // A DNS server loads the whole model first (under vite-node when run from sources: slower).
          // Without the input (read from stdin) a CoreDNS pod keeps the plain probe server.
          const dnsFiles =
            s.dns && (s.dns.kind === 'upstream' || sources)
              ? { log: dnsLogPath(lab, s.netns), ...(sources ? { sources: sourcesFile } : {}) }
              : undefined;
          const p = startServer(
            s,
            (pid) => {
              journal.processes.push({ pid, netns: s.netns, label: s.label });
              writeJournal(journal);
            },
            dnsFiles ? 60_000 : 10_000,
            dnsFiles,
            labFilePath(lab, `${s.netns}.err`),
          ).then(() => opts.onStep?.(++done, total));
          p.catch(() => {}); // awaited below; a setup failure first must not leave it unhandled
          serving.push(p);
        }
      } else if (step.kind === 'run') run(step.argv, step.input);
      else run(['ip', 'netns', 'exec', step.netns, 'iptables-restore'], step.rules);
      opts.onStep?.(++done, total);
    }
    await Promise.all(serving);
    journal.status = 'up';
    writeJournal(journal);
  } catch (e) {
    labDown(lab);
    throw e;
  }
  return { journal, plan, simulatedOnly: missingFeatures(features), elapsedMs: performance.now() - started };
}

export interface DownResult {
  lab: string;
  namespaces: string[];
  killed: number[];
}

function isOurServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(SERVER_MARK);
  } catch {
    return false;
  }
}

function kill(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes a lab: kills its servers and anything else running in its namespaces, deletes every namespace
 * the journal recorded plus any `kpath-<lab>-*` one found (a crash between journal and creation, or a
 * lost journal), then the journal. Deleting a namespace takes its devices with it (veth peers included).
 */
export function labDown(lab: string): DownResult {
  requireRoot();
  const bad = checkLabName(lab);
  if (bad) throw new UnsupportedError(bad);
  const journal = readJournal(lab);
  const prefix = labPrefix(lab);
  const names = new Set<string>(journal?.namespaces.map((n) => n.name) ?? []);
  for (const n of listNetns()) if (n.startsWith(prefix)) names.add(n);
  const killed: number[] = [];
  for (const p of journal?.processes ?? []) if (isOurServer(p.pid) && kill(p.pid)) killed.push(p.pid);
  for (const n of names) for (const pid of netnsPids(n)) if (kill(pid)) killed.push(pid);
  waitGone(killed);
  const deleted: string[] = [];
  for (const n of names) {
    const path = `/run/netns/${n}`;
    if (!existsSync(path)) continue;
    tryRun(['ip', 'netns', 'del', n]);
    // `ip netns add` killed between creating the file and bind-mounting it leaves a plain file.
    if (existsSync(path)) {
      tryRun(['umount', '-l', path]);
      rmSync(path, { force: true });
    }
    deleted.push(n);
  }
  removeNetnsFiles(prefix, journal?.files ?? [], journal?.createdNetnsEtc === true);
  removeLabFiles(lab);
  removeJournal(lab);
  return { lab, namespaces: deleted, killed };
}

/**
 * Removes the lab's /etc/netns files: those the journal recorded, then every /etc/netns/kpath-<lab>-*
 * directory (a lost journal), and /etc/netns itself if this lab created it and it is empty now.
 */
function removeNetnsFiles(prefix: string, files: readonly string[], created: boolean): void {
  for (const f of files) if (f.startsWith(`${NETNS_ETC}/${prefix}`)) rmSync(f, { force: true });
  if (!existsSync(NETNS_ETC)) return;
  for (const d of readdirSync(NETNS_ETC))
    if (d.startsWith(prefix)) rmSync(`${NETNS_ETC}/${d}`, { recursive: true, force: true });
  try {
    if (created && readdirSync(NETNS_ETC).length === 0) rmdirSync(NETNS_ETC);
  } catch {}
}

/** Waits (bounded) until killed processes are gone, so their namespaces can really be freed. */
function waitGone(pids: number[]): void {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && pids.some((p) => existsSync(`/proc/${p}`) && !isZombie(p))) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

export interface StatusEntry {
  lab: string;
  cluster?: string;
  status: LabJournal['status'] | 'orphaned';
  namespaces: { ns: LabNamespace; exists: boolean }[];
  /** `kpath-<lab>-*` namespaces the journal does not know. */
  strays: string[];
  processes: { pid: number; label: string; alive: boolean }[];
  simulatedOnly: string[];
}

export function labStatus(lab: string): StatusEntry {
  const journal = readJournal(lab);
  const present = new Set(listNetns());
  const known = new Set(journal?.namespaces.map((n) => n.name) ?? []);
  return {
    lab,
    ...(journal ? { cluster: journal.cluster } : {}),
    status: journal?.status ?? 'orphaned',
    namespaces: (journal?.namespaces ?? []).map((ns) => ({ ns, exists: present.has(ns.name) })),
    strays: [...present].filter((n) => n.startsWith(labPrefix(lab)) && !known.has(n)).sort(),
    processes: (journal?.processes ?? []).map((p) => ({
      pid: p.pid,
      label: p.label,
      alive: isOurServer(p.pid),
    })),
    simulatedOnly: journal?.simulatedOnly ?? [],
  };
}

/**
 * The namespace `lab exec` enters for a target: `node/NAME`, `external/NAME`, `underlay`, or a pod as
 * `ns/name`, `pod/ns/name` or a bare name that is unique.
 */
export function resolveTarget(journal: LabJournal, target: string): LabNamespace {
  const t = target.replace(/^pod\//, '');
  const byRole = (role: LabNamespace['role'], pred: (n: LabNamespace) => boolean) =>
    journal.namespaces.filter((n) => n.role === role && pred(n));
  let found: LabNamespace[];
  if (t.startsWith('node/')) found = byRole('node', (n) => n.node === t.slice(5));
  else if (t.startsWith('external/')) found = byRole('external', (n) => n.external === t.slice(9));
  else if (t === 'underlay') found = byRole('underlay', () => true);
  else if (t.includes('/')) found = byRole('pod', (n) => n.pod === t);
  else found = byRole('pod', (n) => n.pod?.split('/')[1] === t);
  if (found.length === 1 && found[0]) return found[0];
  const pods = journal.namespaces.filter((n) => n.pod).map((n) => n.pod);
  if (found.length > 1) throw new UnsupportedError(`"${target}" is ambiguous: name it as ns/name`);
  throw new UnsupportedError(
    `"${target}" is not in lab ${journal.lab}; use node/NAME, external/NAME, underlay or a pod (${pods.slice(0, 10).join(', ')})`,
  );
}

// The lab's state file, written as an intent log: each namespace is recorded BEFORE it is created and
// each server's PID as soon as it exists, so `lab down` after a crash or kill -9 knows everything that
// may exist. The file lives in $KPATH_LAB_DIR (default /run/kpath, a tmpfs cleared at boot like netns).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabNamespace } from './plan.js';

export interface LabProcess {
  pid: number;
  netns: string;
  label: string;
}

export interface LabJournal {
  version: 1;
  lab: string;
  cluster: string;
  /** `creating` until `lab up` finished; a journal left in `creating` is a crashed setup. */
  status: 'creating' | 'up';
  startedAt: string;
  /** Every namespace that may exist, in creation order (recorded before creation). */
  namespaces: LabNamespace[];
  processes: LabProcess[];
  /** Kernel features the lab could not use: those parts are simulated only. */
  simulatedOnly: string[];
  /** Host files the lab writes outside its directory (/etc/netns/<netns>/…), recorded before writing. */
  files?: string[];
  /** /etc/netns did not exist before this lab: `lab down` removes it again once it is empty. */
  createdNetnsEtc?: boolean;
}

export function labDir(): string {
  return process.env.KPATH_LAB_DIR ?? '/run/kpath';
}

export function journalPath(lab: string): string {
  return join(labDir(), `lab-${lab}.json`);
}

export function readJournal(lab: string): LabJournal | undefined {
  const path = journalPath(lab);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as LabJournal;
}

/** Replaces the journal atomically (write + rename), so a kill mid-write never leaves half a file. */
export function writeJournal(j: LabJournal): void {
  mkdirSync(labDir(), { recursive: true });
  const path = journalPath(j.lab);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(j, null, 2)}\n`);
  renameSync(tmp, path);
}

/** A lab's own files next to its journal (DNS query logs, the input the DNS servers rebuild the model from). */
export function labFilePath(lab: string, name: string): string {
  // `@` cannot occur in a lab name, so one lab's prefix never matches another lab's files.
  return join(labDir(), `lab-${lab}@${name}`);
}

/** Removes every file of `lab` in the lab directory except the journal (that is removeJournal's). */
export function removeLabFiles(lab: string): void {
  const dir = labDir();
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.startsWith(`lab-${lab}@`)) rmSync(join(dir, f), { force: true });
}

export function removeJournal(lab: string): void {
  rmSync(journalPath(lab), { force: true });
  // A writer killed between write and rename leaves its temporary file.
  const dir = labDir();
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir))
    if (f.startsWith(`lab-${lab}.json.`)) rmSync(join(dir, f), { force: true });
}

/** The labs that have a journal. */
export function journalLabs(): string[] {
  const dir = labDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => /^lab-(.+)\.json$/.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .sort();
}

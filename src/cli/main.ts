#!/usr/bin/env -S node --max-semi-space-size=256
// (A young generation of up to 256 MiB: programming a large node keeps most of what it allocates, and
// each scavenge copies those survivors again. On the 1,000-node bench cluster: V8's default 16 MiB
// makes 20 scavenges, ~340 ms of 1.9 s; 64 MiB 4, ~250 ms; 256 MiB none. A small cluster never grows it.)
// The kpath command line: argument parsing and output only; the work happens in the pure layers.
import { Command, CommanderError } from 'commander';
import { registerDemo } from './demo.js';
import { registerDiff } from './diff.js';
import { registerDns } from './dns.js';
import { reportError } from './errors.js';
import { registerGet } from './get.js';
import { registerLab } from './lab.js';
import { registerNode } from './node.js';
import { registerPod } from './pod.js';
import { registerReach } from './reach.js';
import { registerServe } from './serve.js';
import { registerTrace } from './trace.js';

const program = new Command('kpath')
  .description('A digital twin of Kubernetes cluster networking: what happens to this packet, and why.')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerDemo(program);
registerDns(program);
registerGet(program);
registerLab(program);
registerNode(program);
registerReach(program);
registerDiff(program);
registerPod(program);
registerTrace(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.exit(reportError(err));
}

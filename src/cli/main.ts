#!/usr/bin/env node
// The kpath command line: argument parsing and output only; the work happens in the pure layers.
import { Command, CommanderError } from 'commander';
import { registerDemo } from './demo.js';
import { reportError } from './errors.js';
import { registerGet } from './get.js';
import { registerNode } from './node.js';

const program = new Command('kpath')
  .description('A digital twin of Kubernetes cluster networking: what happens to this packet, and why.')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerDemo(program);
registerGet(program);
registerNode(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.exit(reportError(err));
}

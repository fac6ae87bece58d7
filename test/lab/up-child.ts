// Run by lab.kernel.test.ts as a separate process (vite-node), to be killed with SIGKILL mid-setup.
import { demoPath } from '../../src/cli/input.js';
import { labUp } from '../../src/lab/lifecycle.js';
import { readSources } from '../../src/load/sources.js';
import { buildTwin } from '../../src/twin.js';

const lab = process.argv[2] ?? '';
const twin = buildTwin(await readSources([demoPath()], async () => ''));
// Slow each step a little so the parent can kill the process with the lab half built.
await labUp(twin, { lab, onStep: () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30) });

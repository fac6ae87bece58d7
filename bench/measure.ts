// What every bench script shares: command-line numbers, and one measured phase printed as wall time, CPU
// time (user + system: on a shared machine the wall clock measures the neighbours too), heap, and the
// kernel's own peak RSS (resourceUsage().maxRSS, which a phase holding the thread cannot hide).
import { performance } from 'node:perf_hooks';

export function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

export const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0).padStart(5);

export const maxRss = (): number => process.resourceUsage().maxRSS * 1024;

export interface Cost {
  wall: number;
  cpu: number;
}

/** Runs `fn` after a GC (with --expose-gc), prints its cost, adds it to `sum` when given. */
export function measure<T>(label: string, fn: () => T, sum?: Cost): T {
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1000;
  if (sum) {
    sum.wall += wall;
    sum.cpu += cpu;
  }
  console.log(
    `${label.padEnd(58)} ${wall.toFixed(0).padStart(7)} ms wall ${cpu.toFixed(0).padStart(7)} ms cpu   heap ${mib(process.memoryUsage().heapUsed)} MiB   peak RSS ${mib(maxRss())} MiB`,
  );
  return r;
}

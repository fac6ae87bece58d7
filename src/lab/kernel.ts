// Running the real tools (ip, bridge, sysctl, iptables-restore, conntrack) — the only place lab mode
// touches the machine. Failures carry the command and the tool's own message.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')}: ${stderr.trim().split('\n')[0] ?? 'failed'}`);
  }
}

export function run(argv: readonly string[], input?: string): string {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('empty command');
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input !== undefined ? { input } : {}),
    });
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    throw new CommandError(argv, err.stderr || err.message || 'failed');
  }
}

/** Like run() but never throws; for clean-up, where "already gone" is success. */
export function tryRun(argv: readonly string[]): boolean {
  try {
    run(argv);
    return true;
  } catch {
    return false;
  }
}

export function runAsync(argv: readonly string[], timeoutMs = 120_000): Promise<string> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    execFile(
      cmd ?? '',
      args,
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new CommandError(argv, stderr || err.message));
        else resolve(stdout);
      },
    );
  });
}

/**
 * Named network namespaces: the entries of /run/netns, which is what `ip netns list` reads (read directly:
 * `ip netns list` also asks each one's netnsid and complains about one being deleted meanwhile).
 */
export function listNetns(): string[] {
  if (!existsSync(NETNS_DIR)) return [];
  return readdirSync(NETNS_DIR).sort();
}

export const NETNS_DIR = '/run/netns';

/** PIDs of the processes inside a namespace (`ip netns pids`). */
export function netnsPids(name: string): number[] {
  try {
    return run(['ip', 'netns', 'pids', name]).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

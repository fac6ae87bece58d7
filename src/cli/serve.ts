// `kpath serve`: the web page and its JSON API over the given manifests (or the demo), on loopback by default.
import { join } from 'node:path';
import type { Command } from 'commander';
import { startServer } from '../server/http.js';
import { CLI_WORKSPACE, Workspaces } from '../server/workspaces.js';
import { UsageError } from './errors.js';
import { addInputOptions, demoPath, type InputOptions, loadTwin, packageRoot } from './input.js';
import { parsePort } from './trace.js';

interface ServeCliOptions extends InputOptions {
  port: string;
  host: string;
}

export function registerServe(program: Command): void {
  addInputOptions(
    program
      .command('serve')
      .description('serve the web page (topology, traces, node state) and its JSON API')
      .option('--port <n>', 'TCP port', '7070')
      .option('--host <addr>', 'address to bind (loopback unless told otherwise)', '127.0.0.1'),
  ).action(async (opts: ServeCliOptions) => {
    const port = opts.port === '0' ? 0 : parsePort(opts.port, '--port');
    if (!/^[0-9a-fA-F.:]+$|^localhost$/.test(opts.host)) {
      throw new UsageError(`--host "${opts.host}" is not an IP address`);
    }
    const twin = await loadTwin(opts);
    const files = opts.file.length ? opts.file : [demoPath()];
    const workspaces = new Workspaces({ id: CLI_WORKSPACE, files, twin });
    const server = await startServer({
      workspaces,
      host: opts.host,
      port,
      webRoot: join(packageRoot(), 'dist', 'web'),
    }).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new UsageError(`port ${port} on ${opts.host} is in use: choose another with --port`);
      if (code === 'EADDRNOTAVAIL')
        throw new UsageError(`--host ${opts.host} is not an address of this machine`);
      throw err;
    });
    process.stderr.write(`kpath: serving ${files.join(', ')} at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
  });
}

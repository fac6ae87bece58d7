// The entry point of a lab DNS server process (started by servers.ts inside a namespace):
// `… kpath-lab-server NETNS LABEL CONFIG-JSON`. It prints `ready` once every port is bound.
import { type DnsServerConfig, serveDns } from './dns-server.js';

const at = process.argv.indexOf('kpath-lab-server');
const cfg = JSON.parse(process.argv[at + 3] ?? '{}') as DnsServerConfig;
process.stdout.on('error', () => {});
process.on('SIGTERM', () => process.exit(0));
serveDns(cfg).then(
  () => process.stdout.write('ready\n'),
  (e: Error) => {
    process.stdout.write(`error ${e.message}\n`);
    process.exit(1);
  },
);

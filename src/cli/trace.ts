// `kpath trace FROM TO` and `kpath trace --at node/NAME --src … --dst …`: argument checking, then the engine,
// then one renderer (text, --explain, JSON, pcap). Exit 0 when the packet was DELIVERED, 1 otherwise, 2 on misuse.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { IPAddr } from '../net/ip.js';
import { parseIptablesSave } from '../node/iptables/index.js';
import { renderTraceJson } from '../render/trace-json.js';
import { renderTraceText } from '../render/trace-text.js';
import type { InjectQuery, TraceQuery } from '../trace/index.js';
import type { Protocol, Trace } from '../trace/types.js';
import type { Twin } from '../twin.js';
import { UsageError } from './errors.js';
import { addInputOptions, type InputOptions, loadTwin } from './input.js';

const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp', 'icmp'];
const OUTPUTS = ['text', 'json'] as const;
type Output = (typeof OUTPUTS)[number];

export const ENDPOINT_GRAMMAR =
  'ns/name, pod/ns/name, svc/ns/name[:port], node/name, IP, IP:port or external[:IP]';
const TO_GRAMMAR = `${ENDPOINT_GRAMMAR.replace(' or ', ', ')} or a DNS name[:port]`;

/** The options as commander hands them over (strings; `return` is false with --no-return). */
export interface TraceCliOptions extends InputOptions {
  port?: string;
  protocol?: string;
  seed?: string;
  endpoint?: string;
  return?: boolean;
  output?: string;
  explain?: boolean;
  pcap?: string;
  at?: string;
  iface?: string;
  src?: string;
  dst?: string;
  iptablesSave?: string;
}

export type EndpointArg =
  | { kind: 'pod'; namespace: string; name: string }
  | { kind: 'service'; namespace: string; name: string; port?: number | string }
  | { kind: 'node'; name: string }
  | { kind: 'ip'; ip: IPAddr; port?: number }
  | { kind: 'external'; ip?: IPAddr }
  /** TO only: a DNS name the source pod's resolver looks up first (`my-app`, `db.shop.svc.cluster.local`). */
  | { kind: 'name'; name: string; port?: number };

interface Presentation {
  output: Output;
  explain: boolean;
  pcap?: string;
  files: string[];
}

export type TracePlan =
  | (Presentation & {
      kind: 'connection';
      query: TraceQuery;
      /** TO is a DNS name: the pod (or node) resolves it first, and the connection goes to the answer. */
      name?: { name: string; port?: number };
    })
  | (Presentation & {
      kind: 'inject';
      query: InjectQuery;
      /** Path of a real node's `iptables-save` dump, read and parsed when the plan runs. */
      iptablesSave?: string;
      noReturn: boolean;
    });

// Kubernetes' name rules (apimachinery validation): namespaces are DNS-1123 labels, Services DNS-1035
// labels, pods and nodes DNS-1123 subdomains; named ports are IANA service names.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// RFC 1123 host names, as the resolver accepts them (case-insensitive; a trailing dot makes them absolute).
const HOSTNAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;
const IANA_SVC_NAME = /^(?=.*[a-z])(?!-)(?!.*--)[a-z0-9-]{1,15}(?<!-)$/;

function checkName(kind: 'namespace' | 'pod' | 'service' | 'node', name: string, role: string): string {
  const ok =
    kind === 'namespace'
      ? DNS1123_LABEL.test(name) && name.length <= 63
      : kind === 'service'
        ? DNS1035_LABEL.test(name) && name.length <= 63
        : DNS1123_SUBDOMAIN.test(name) && name.length <= 253;
  if (!ok) throw new UsageError(`${role}: "${name}" is not a valid ${kind} name`);
  return name;
}

export function parsePort(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what}: "${text}" is not a port number (1-65535)`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new UsageError(`${what}: port ${n} is out of range (1-65535)`);
  return n;
}

/** `IP`, `IP:port`, `[IPv6]` or `[IPv6]:port` (a bare IPv6 address has no port). */
export function parseHostPort(text: string, what: string): { ip: IPAddr; port?: number } {
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracket) {
    const ip = IPAddr.tryParse(bracket[1]!);
    if (ip?.family !== 6) throw new UsageError(`${what}: "${bracket[1]}" is not an IPv6 address`);
    return bracket[2] === undefined ? { ip } : { ip, port: parsePort(bracket[2], what) };
  }
  const whole = IPAddr.tryParse(text);
  if (whole) return { ip: whole };
  const colon = text.lastIndexOf(':');
  if (colon > 0 && !text.slice(0, colon).includes(':')) {
    const ip = IPAddr.tryParse(text.slice(0, colon));
    if (ip) return { ip, port: parsePort(text.slice(colon + 1), what) };
  }
  throw new UsageError(`${what}: "${text}" is not an IP address or IP:port`);
}

/** One FROM or TO argument, checked against the grammar; the engine resolves the names. */
export function parseEndpointArg(text: string, role: 'FROM' | 'TO' | '--endpoint'): EndpointArg {
  const bad = () =>
    new UsageError(`${role} "${text}" is not one of ${role === 'TO' ? TO_GRAMMAR : ENDPOINT_GRAMMAR}`);
  if (text === 'external') return { kind: 'external' };
  if (text.startsWith('external:')) {
    const host = parseHostPort(text.slice(9), role);
    if (host.port !== undefined) throw new UsageError(`${role}: external:IP takes an address without a port`);
    return { kind: 'external', ip: host.ip };
  }
  if (/^[\d[]/.test(text) || (text.includes(':') && /^[0-9a-f:.]+$/i.test(text))) {
    // Starts like an address: anything wrong with it is an address problem, not a grammar one.
    if (/^[\d.:[\]a-f]+$/i.test(text)) return { kind: 'ip', ...parseHostPort(text, role) };
  }
  const parts = text.split('/');
  if (parts[0] === 'svc') {
    if (parts.length !== 3) throw bad();
    const [name, port, ...more] = parts[2]!.split(':');
    if (more.length) throw bad();
    const svc = {
      kind: 'service' as const,
      namespace: checkName('namespace', parts[1]!, role),
      name: checkName('service', name!, role),
    };
    if (port === undefined) return svc;
    if (/^\d+$/.test(port)) return { ...svc, port: parsePort(port, role) };
    if (!IANA_SVC_NAME.test(port))
      throw new UsageError(`${role}: "${port}" is neither a port number nor a port name`);
    return { ...svc, port };
  }
  if (parts[0] === 'node') {
    if (parts.length !== 2) throw bad();
    return { kind: 'node', name: checkName('node', parts[1]!, role) };
  }
  if (parts[0] === 'pod' && parts.length === 3) {
    return {
      kind: 'pod',
      namespace: checkName('namespace', parts[1]!, role),
      name: checkName('pod', parts[2]!, role),
    };
  }
  if (parts.length === 2 && parts[0] !== 'pod') {
    return {
      kind: 'pod',
      namespace: checkName('namespace', parts[0]!, role),
      name: checkName('pod', parts[1]!, role),
    };
  }
  // A trailing dot is kept: it makes the name absolute, so the resolver skips the search list.
  const named = /^([A-Za-z0-9.-]+?)(\.?)(?::(\d+))?$/.exec(text);
  if (role === 'TO' && parts.length === 1 && named && HOSTNAME.test(named[1]!) && named[1]!.length <= 253) {
    const name = named[1]! + named[2]!;
    return named[3] === undefined
      ? { kind: 'name', name }
      : { kind: 'name', name, port: parsePort(named[3], role) };
  }
  throw bad();
}

function parseProtocol(text: string | undefined): Protocol {
  const p = (text ?? 'tcp').toLowerCase();
  if (!PROTOCOLS.includes(p as Protocol)) {
    throw new UsageError(`unknown protocol "${text}": use ${PROTOCOLS.join(', ')}`);
  }
  return p as Protocol;
}

function parseSeed(text: string | undefined): number {
  if (text === undefined) return 1;
  // A uint32, so any seed a user can type gives the same trace in every implementation of the PRNG.
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) {
    throw new UsageError(`--seed: "${text}" is not a whole number between 0 and 4294967295`);
  }
  return Number(text);
}

function parseOutput(text: string | undefined): Output {
  const o = text ?? 'text';
  if (!OUTPUTS.includes(o as Output)) throw new UsageError(`unknown output format "${o}": use text or json`);
  return o as Output;
}

function portOf(e: EndpointArg): number | string | undefined {
  return e.kind === 'ip' || e.kind === 'service' || e.kind === 'name' ? e.port : undefined;
}

/** Turns the command line into what the engine is asked; every misuse is one sentence (UsageError). */
export function planTrace(
  from: string | undefined,
  to: string | undefined,
  opts: TraceCliOptions,
): TracePlan {
  const protocol = parseProtocol(opts.protocol);
  const seed = parseSeed(opts.seed);
  const output = parseOutput(opts.output);
  const explain = !!opts.explain;
  if (explain && output === 'json')
    throw new UsageError('--explain is for text output; the JSON has every explanation');
  const presentation: Presentation = {
    output,
    explain,
    ...(opts.pcap !== undefined ? { pcap: opts.pcap } : {}),
    files: opts.file ?? [],
  };
  if (opts.pcap === '') throw new UsageError('--pcap needs a file name');

  if (opts.at !== undefined) return planInject(from, opts, protocol, seed, presentation);

  for (const [flag, value] of [
    ['--iface', opts.iface],
    ['--src', opts.src],
    ['--dst', opts.dst],
    ['--iptables-save', opts.iptablesSave],
  ] as const) {
    if (value !== undefined)
      throw new UsageError(
        `${flag} belongs to the raw form: kpath trace --at node/NAME --src IP --dst IP:port`,
      );
  }
  if (from === undefined || to === undefined) {
    throw new UsageError(
      `give FROM and TO (${ENDPOINT_GRAMMAR}), or use --at node/NAME --src IP --dst IP:port`,
    );
  }
  parseEndpointArg(from, 'FROM');
  const dst = parseEndpointArg(to, 'TO');
  let port: number | undefined;
  if (opts.port !== undefined) {
    port = parsePort(opts.port, '--port');
    const given = portOf(dst);
    if (given !== undefined && given !== port) {
      throw new UsageError(`TO already names port ${given}; drop --port ${port} or the port in TO`);
    }
  }
  if (protocol === 'icmp' && (port !== undefined || portOf(dst) !== undefined)) {
    throw new UsageError('ICMP has no ports: drop the port for --protocol icmp');
  }
  if (opts.endpoint !== undefined) {
    const e = parseEndpointArg(opts.endpoint, '--endpoint');
    if (e.kind !== 'pod') throw new UsageError(`--endpoint "${opts.endpoint}" must name a pod as ns/pod`);
  }
  const query: TraceQuery = {
    from,
    to,
    protocol,
    seed,
    ...(port !== undefined ? { port } : {}),
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint.replace(/^pod\//, '') } : {}),
    ...(opts.return === false ? { noReturn: true } : {}),
  };
  const name =
    dst.kind === 'name'
      ? { name: dst.name, ...((port ?? dst.port) !== undefined ? { port: port ?? dst.port } : {}) }
      : undefined;
  return { ...presentation, kind: 'connection', query, ...(name ? { name } : {}) };
}

function planInject(
  from: string | undefined,
  opts: TraceCliOptions,
  protocol: Protocol,
  seed: number,
  presentation: Presentation,
): TracePlan {
  if (from !== undefined)
    throw new UsageError('--at traces a raw packet: give --src and --dst instead of FROM and TO');
  if (opts.port !== undefined)
    throw new UsageError('--port is for FROM TO; with --at put the port in --dst IP:port');
  if (opts.endpoint !== undefined) throw new UsageError('--endpoint is for FROM TO traces, not for --at');
  const node = opts.at!.replace(/^node\//, '');
  checkName('node', node, '--at');
  if (opts.src === undefined || opts.dst === undefined) {
    throw new UsageError('--at needs --src IP[:port] and --dst IP:port');
  }
  const src = parseHostPort(opts.src, '--src');
  const dst = parseHostPort(opts.dst, '--dst');
  if (src.ip.family !== dst.ip.family) throw new UsageError('--src and --dst must both be IPv4 or both IPv6');
  if (protocol === 'icmp') {
    if (src.port !== undefined || dst.port !== undefined)
      throw new UsageError('ICMP has no ports: drop them from --src and --dst');
  } else if (dst.port === undefined) {
    throw new UsageError(`--dst needs a port for ${protocol}: IP:port`);
  }
  if (opts.iface !== undefined && opts.iface !== 'local' && !validIfname(opts.iface)) {
    throw new UsageError(
      `--iface "${opts.iface}" is not an interface name (at most 15 characters, no "/" or spaces)`,
    );
  }
  if (opts.iptablesSave === '') throw new UsageError('--iptables-save needs a file name');
  const query: InjectQuery = {
    node,
    src: opts.src,
    dst: opts.dst,
    protocol,
    seed,
    ...(opts.iface !== undefined ? { iface: opts.iface } : {}),
  };
  return {
    ...presentation,
    kind: 'inject',
    query,
    noReturn: opts.return === false,
    ...(opts.iptablesSave !== undefined ? { iptablesSave: opts.iptablesSave } : {}),
  };
}

/** The kernel's dev_valid_name: 1-15 bytes, not `.` or `..`, no `/`, `:` or whitespace. */
function validIfname(name: string): boolean {
  return name.length >= 1 && name.length < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** The side effects a trace run needs, injectable so tests can use a fake twin and engine. */
export interface TraceIO {
  loadTwin(opts: InputOptions): Promise<Twin>;
  engine(): Promise<{
    traceConnection(twin: Twin, q: TraceQuery): Trace;
    traceInjected(twin: Twin, q: InjectQuery): Trace;
  }>;
  readFile(path: string): Promise<string>;
  writePcap(trace: Trace, path: string): Promise<void>;
  write(text: string): void;
  /** Whether stdout is a terminal, and its width. */
  tty: { isTTY: boolean; columns?: number };
  env: Record<string, string | undefined>;
  setExitCode(code: number): void;
}

export const defaultTraceIO: TraceIO = {
  loadTwin,
  engine: async () => {
    // Loaded on first use: `kpath node …` must not pay for (or fail on) the packet walk.
    const m = await import('../trace/index.js');
    if (typeof m.traceConnection !== 'function' || typeof m.traceInjected !== 'function') {
      throw new Error('the trace engine is not available in this build');
    }
    return m;
  },
  readFile: (path) => readFile(path, 'utf8'),
  writePcap: async (trace, path) => (await import('../render/pcap.js')).writeTracePcap(trace, path),
  write: (text) => {
    process.stdout.write(text);
  },
  tty: process.stdout,
  env: process.env,
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

/** Runs a plan; returns the exit status (0 DELIVERED, 1 any other disposition). */
export async function runTrace(plan: TracePlan, io: TraceIO): Promise<number> {
  let trace: Trace;
  if (plan.kind === 'inject') {
    let query = plan.query;
    if (plan.iptablesSave !== undefined) {
      const path = plan.iptablesSave;
      const text = await io.readFile(path).catch((err: unknown) => {
        throw new UsageError(`cannot read --iptables-save file "${path}": ${errorText(err)}`);
      });
      // Parse errors carry file:line:col (IptablesParseError is an InputError).
      query = { ...query, iptablesOverride: parseIptablesSave(text, path) };
    }
    const twin = await io.loadTwin({ file: plan.files });
    trace = (await io.engine()).traceInjected(twin, query);
    if (plan.noReturn) trace = withoutReturn(trace);
  } else if (plan.name) {
    trace = await traceByName(plan, plan.name, io);
  } else {
    const twin = await io.loadTwin({ file: plan.files });
    trace = (await io.engine()).traceConnection(twin, plan.query);
  }

  if (plan.output === 'json') {
    io.write(renderTraceJson(trace));
  } else {
    // NO_COLOR (no-color.org): any non-empty value turns colour off; so does TERM=dumb.
    const color = io.tty.isTTY && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
    const width = io.tty.isTTY && io.tty.columns ? Math.max(60, io.tty.columns) : 100;
    io.write(renderTraceText(trace, { explain: plan.explain, color, width }));
  }
  if (plan.pcap !== undefined) {
    const path = plan.pcap;
    await io.writePcap(trace, path).catch((err: unknown) => {
      throw new UsageError(`cannot write --pcap file "${path}": ${errorText(err)}`);
    });
  }
  return trace.disposition === 'DELIVERED' ? 0 : 1;
}

/** TO is a name: the sender's resolver asks CoreDNS first, then the connection (src/trace/dns-step.ts). */
async function traceByName(
  plan: Extract<TracePlan, { kind: 'connection' }>,
  name: { name: string; port?: number },
  io: TraceIO,
): Promise<Trace> {
  const twin = await io.loadTwin({ file: plan.files });
  const engine = await io.engine();
  const { traceToName } = await import('../trace/dns-step.js');
  return traceToName(twin, plan.query, name, engine.traceConnection);
}

function withoutReturn(trace: Trace): Trace {
  const { return: _dropped, ...rest } = trace;
  return rest;
}

function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && err.code === 'ENOENT')
    return 'no such file or directory';
  return err instanceof Error ? err.message : String(err);
}

export function registerTrace(program: Command, io: TraceIO = defaultTraceIO): void {
  addInputOptions(
    program
      .command('trace')
      .description('follow one packet (and its reply) through the cluster, hop by hop')
      .argument('[from]', `where the connection starts: ${ENDPOINT_GRAMMAR}`)
      .argument('[to]', 'where it goes: the same forms, or a DNS name[:port] resolved from FROM first')
      .option('--port <n>', 'destination port (when TO does not name one)')
      .option('--protocol <p>', 'tcp | udp | sctp | icmp', 'tcp')
      .option('--seed <n>', 'picks the branch at every random choice; same seed, same trace', '1')
      .option('--endpoint <ns/pod>', 'force this backend wherever kube-proxy chooses at random')
      .option('--no-return', "skip the reply's journey")
      .option('-o, --output <format>', 'text | json', 'text')
      .option('--explain', 'one plain sentence per hop instead of rules and packets')
      .option('--pcap <file>', "also write the trace's packets as a pcap file (tcpdump -r, Wireshark)")
      .option('--at <node/NAME>', 'raw form: inject one packet at this node')
      .option('--iface <if|local>', 'raw form: the interface it arrives on (default eth0), or local')
      .option('--src <IP[:port]>', 'raw form: source address')
      .option('--dst <IP:port>', 'raw form: destination address')
      .option(
        '--iptables-save <file>',
        "raw form: use a real node's iptables-save dump instead of the generated rules",
      ),
  )
    .addHelpText(
      'after',
      '\nExit status: 0 when the packet is DELIVERED, 1 for any other disposition, 2 when the command is misused.',
    )
    .action(async (from: string | undefined, to: string | undefined, opts: TraceCliOptions) => {
      io.setExitCode(await runTrace(planTrace(from, to, opts), io));
    });
}

// Captures real kernel packets for the wire tests: two throwaway network namespaces joined by a veth pair, a
// flannel-style vxlan device (VNI 1, UDP 8472) on each side, `tcpdump -w` on one veth while closed ports answer
// with RST and ICMP port unreachable. Checksum offload is switched off so the capture holds the checksums the
// kernel computed, not CHECKSUM_PARTIAL placeholders.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Packet } from '../../src/net/packet.js';
import { parseFrame, serializeFrame } from '../../src/net/wire.js';
import { readPcap } from '../../src/render/pcap.js';
import { checksumErrors, withoutFlowLabels } from './checksum-model.js';

export const CAPTURE_TOOLS = ['ip', 'bridge', 'tcpdump', 'ethtool', 'ping', 'bash'] as const;

/** Why a live capture cannot run here, or undefined when it can. */
export function missingCapturePrerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  for (const cmd of CAPTURE_TOOLS) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      return `${cmd} is not installed (apt-get install -y iproute2 tcpdump ethtool iputils-ping)`;
    }
  }
  return undefined;
}

const run = (args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });

/** Runs the traffic and returns the pcap bytes tcpdump wrote. Namespaces are removed even on failure. */
export async function captureKernelPackets(file: string): Promise<Uint8Array> {
  const tag = `${process.pid % 100000}`;
  const A = `kpath-t-w3a${tag}`;
  const B = `kpath-t-w3b${tag}`;
  const inA = (...a: string[]) => run(['ip', 'netns', 'exec', A, ...a]);
  let td: ReturnType<typeof spawn> | undefined;
  try {
    run(['ip', 'netns', 'add', A]);
    run(['ip', 'netns', 'add', B]);
    run(['ip', 'link', 'add', 'w3a', 'netns', A, 'type', 'veth', 'peer', 'name', 'w3b', 'netns', B]);
    for (const [ns, dev, mac, v4, v6, flMac, flAddr] of [
      [
        A,
        'w3a',
        '02:00:00:00:00:0a',
        '192.168.1.10/24',
        'fd00:1::10/64',
        'aa:aa:aa:00:00:0a',
        '10.244.0.0/32',
      ],
      [
        B,
        'w3b',
        '02:00:00:00:00:0b',
        '192.168.1.11/24',
        'fd00:1::11/64',
        'aa:aa:aa:00:00:0b',
        '10.244.1.0/32',
      ],
    ] as const) {
      const local = v4.split('/')[0]!;
      run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      run(['ip', '-n', ns, 'link', 'set', dev, 'address', mac, 'up']);
      run(['ip', '-n', ns, 'addr', 'add', v4, 'dev', dev]);
      run(['ip', '-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad']);
      // The device as flanneld creates it: VNI 1, dstport 8472, no learning, no udpcsum attribute.
      run([
        'ip',
        '-n',
        ns,
        'link',
        'add',
        'flannel.1',
        'type',
        'vxlan',
        'id',
        '1',
        'local',
        local,
        'dev',
        dev,
        'dstport',
        '8472',
        'nolearning',
      ]);
      run(['ip', '-n', ns, 'link', 'set', 'flannel.1', 'address', flMac, 'up']);
      run(['ip', '-n', ns, 'addr', 'add', flAddr, 'dev', 'flannel.1']);
      for (const d of [dev, 'flannel.1']) run(['ip', 'netns', 'exec', ns, 'ethtool', '-K', d, 'tx', 'off']);
    }
    const peer = (
      ns: string,
      dev: string,
      v4: string,
      v6: string,
      mac: string,
      flPeer: string,
      flMac: string,
      under: string,
      sub: string,
    ) => {
      run(['ip', '-n', ns, 'neigh', 'add', v4, 'lladdr', mac, 'dev', dev, 'nud', 'permanent']);
      run(['ip', '-n', ns, 'neigh', 'add', v6, 'lladdr', mac, 'dev', dev, 'nud', 'permanent']);
      run(['ip', '-n', ns, 'route', 'add', sub, 'via', flPeer, 'dev', 'flannel.1', 'onlink']);
      run(['ip', '-n', ns, 'neigh', 'add', flPeer, 'lladdr', flMac, 'dev', 'flannel.1', 'nud', 'permanent']);
      run(['bridge', '-n', ns, 'fdb', 'add', flMac, 'dev', 'flannel.1', 'dst', under]);
    };
    peer(
      A,
      'w3a',
      '192.168.1.11',
      'fd00:1::11',
      '02:00:00:00:00:0b',
      '10.244.1.0',
      'aa:aa:aa:00:00:0b',
      '192.168.1.11',
      '10.244.1.0/24',
    );
    peer(
      B,
      'w3b',
      '192.168.1.10',
      'fd00:1::10',
      '02:00:00:00:00:0a',
      '10.244.0.0',
      'aa:aa:aa:00:00:0a',
      '192.168.1.10',
      '10.244.0.0/24',
    );

    const dump = spawn(
      'ip',
      ['netns', 'exec', A, 'tcpdump', '-i', 'w3a', '--immediate-mode', '-U', '-n', '-w', file],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    td = dump;
    const exited = new Promise<void>((resolve) => dump.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
      dump.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    // Closed ports answer: TCP with RST, UDP with ICMP port unreachable; payloads are zero bytes like ours.
    const tcp = (host: string) => {
      try {
        inA('timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${host}/8080`);
      } catch {
        // Connection refused is the point.
      }
    };
    const udp = (host: string) => inA('bash', '-c', `printf '\\0\\0\\0\\0\\0' > /dev/udp/${host}/9999`);
    tcp('192.168.1.11');
    udp('192.168.1.11');
    inA('ping', '-c1', '-W1', '-s', '0', '192.168.1.11');
    tcp('10.244.1.0');
    udp('10.244.1.0');
    tcp('fd00:1::11');
    udp('fd00:1::11');
    inA('ping', '-6', '-c1', '-W1', '-s', '0', 'fd00:1::11');
    await new Promise((r) => setTimeout(r, 300));
    dump.kill('SIGINT');
    await exited;
    td = undefined;
    return readFileSync(file);
  } finally {
    td?.kill('SIGKILL');
    for (const ns of [A, B]) {
      try {
        run(['ip', 'netns', 'del', ns]);
      } catch {
        // Already gone.
      }
    }
  }
}

export interface CaptureCheck {
  /** Frames our serialiser reproduced byte for byte (IPv6 flow labels zeroed), described like `IPv4 TCP [RST,ACK]`. */
  exact: string[];
  /** Frames with TCP options (which we do not write), compared field by field. */
  fieldwise: string[];
  mismatches: string[];
  /** Neighbour discovery and MLD frames, which carry options we do not model. */
  skipped: number;
}

function describe(p: Packet): string {
  const fam = p.ip.version === 4 ? 'IPv4' : 'IPv6';
  const l4 = p.l4;
  const what =
    l4 === undefined
      ? `proto ${p.ip.protocol}`
      : l4.kind === 'tcp'
        ? `TCP [${l4.flags.join(',')}]`
        : l4.kind === 'icmp'
          ? `ICMP ${l4.type}/${l4.code}`
          : l4.kind.toUpperCase();
  const base = `${fam} ${what}`;
  return p.encap ? `VXLAN(${describe(p.encap.inner)}) ${base}` : base;
}

function innermost(p: Packet): { p: Packet; offset: number } {
  // Offset of the innermost frame inside the outer one: Ethernet 14 + IP + UDP 8 + VXLAN 8.
  if (!p.encap) return { p, offset: 0 };
  const inner = innermost(p.encap.inner);
  return { p: inner.p, offset: 14 + (p.ip.version === 4 ? 20 : 40) + 16 + inner.offset };
}

/** Compares every IP frame of a real capture with our serialisation of the headers parsed from it. */
export function checkCapture(pcap: Uint8Array): CaptureCheck {
  const out: CaptureCheck = { exact: [], fieldwise: [], mismatches: [], skipped: 0 };
  for (const [i, rec] of readPcap(pcap).records.entries()) {
    let p: Packet;
    try {
      p = parseFrame(rec.data);
    } catch {
      out.skipped++;
      continue;
    }
    const { p: leaf, offset } = innermost(p);
    const l4 = leaf.l4;
    if (!l4 || (l4.kind === 'icmp' && leaf.ip.version === 6 && ![1, 2, 3, 4, 128, 129].includes(l4.type))) {
      out.skipped++;
      continue;
    }
    const ours = serializeFrame(p);
    const real = withoutFlowLabels(rec.data);
    const ipOff = offset + 14;
    const hdr = leaf.ip.version === 4 ? 20 : 40;
    const tcpOptions = l4.kind === 'tcp' && real[ipOff + hdr + 12]! >> 4 > 5;
    if (!tcpOptions) {
      if (Buffer.compare(Buffer.from(ours), Buffer.from(real)) === 0) out.exact.push(describe(p));
      else
        out.mismatches.push(
          `record ${i + 1} ${describe(p)}: ours ${Buffer.from(ours).toString('hex')} real ${Buffer.from(real).toString('hex')}`,
        );
      continue;
    }
    // With options: the fields we do write must equal the kernel's, and our checksums must verify.
    const fields = (b: Uint8Array) => {
      const ipb = b.subarray(ipOff);
      const ipFields =
        leaf.ip.version === 4
          ? [...ipb.subarray(0, 2), ...ipb.subarray(4, 10), ...ipb.subarray(12, 20)]
          : [...ipb.subarray(0, 4), ...ipb.subarray(6, 40)];
      const t = ipb.subarray(hdr);
      return Buffer.from([...b.subarray(0, 14), ...ipFields, ...t.subarray(0, 12), t[13]!]).toString('hex');
    };
    const bad = checksumErrors(ours);
    if (fields(ours) === fields(real) && bad.length === 0) out.fieldwise.push(describe(p));
    else
      out.mismatches.push(
        `record ${i + 1} ${describe(p)} (fields): ours ${fields(ours)} real ${fields(real)}`,
      );
  }
  return out;
}

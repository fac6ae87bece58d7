// End to end on the built-in demo cluster: the real loader, control plane, node agents and trace engine,
// through `runTrace` as the command runs it. The seeds' north–south journey: the client 198.51.100.5 connects
// to the LoadBalancer 203.0.113.50:80, the LB picks a node's NodePort 30080, kube-proxy DNATs to one of three
// pods (1/3 each) and masquerades (externalTrafficPolicy: Cluster), the reply comes back un-NATed by
// conntrack and the client sees it from 203.0.113.50:80.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTwin } from '../../src/cli/input.js';
import { planTrace, runTrace, type TraceCliOptions, type TraceIO } from '../../src/cli/trace.js';
import { pcapFile } from '../../src/render/pcap.js';
import { packetText } from '../../src/render/trace-text.js';
import * as engine from '../../src/trace/index.js';
import type { Twin } from '../../src/twin.js';
import { checkSchema } from '../render/trace-schema-check.js';

const schema = JSON.parse(
  readFileSync(new URL('../../docs/trace-json.schema.json', import.meta.url), 'utf8'),
);
const engineReady =
  typeof engine.traceConnection === 'function' && typeof engine.traceInjected === 'function';
// Until the engine answers, these stay visible as todo rather than silently passing.
const e2e = (name: string, fn: () => Promise<void>) => (engineReady ? it(name, fn) : it.todo(name));

let twin: Promise<Twin> | undefined;
const demo = () => {
  twin ??= loadTwin({ file: [] });
  return twin;
};

async function run(from: string | undefined, to: string | undefined, o: Partial<TraceCliOptions> = {}) {
  const out: string[] = [];
  const io: TraceIO = {
    loadTwin: () => demo(),
    engine: async () => engine,
    readFile: async (p) => readFileSync(p, 'utf8'),
    writePcap: async () => {},
    write: (s) => {
      out.push(s);
    },
    tty: { isTTY: false },
    env: {},
    setExitCode: () => {},
  };
  const code = await runTrace(planTrace(from, to, { file: [], ...o }), io);
  return { code, text: out.join('') };
}

const json = async (from: string, to: string, o: Partial<TraceCliOptions> = {}) => {
  const r = await run(from, to, { ...o, output: 'json' });
  return { code: r.code, j: JSON.parse(r.text) };
};

describe('kpath trace on the demo cluster', () => {
  e2e('external → 203.0.113.50:80 is DELIVERED to a my-app pod, exit 0, schema-valid JSON', async () => {
    const { code, j } = await json('external', '203.0.113.50:80');
    expect(code).toBe(0);
    expect(checkSchema(schema, j)).toEqual([]);
    expect(j.disposition).toBe('DELIVERED');
    expect(j.request.from.ip).toBe('198.51.100.5');
    expect(j.delivered.pod).toMatch(/^default\/my-app-6d8f7b9c5d-/);
    expect(['10.244.0.5', '10.244.1.3', '10.244.2.2']).toContain(j.delivered.ip);
    expect(j.delivered.port).toBe(8080);
    // externalTrafficPolicy: Cluster → KUBE-MARK-MASQ, so the pod does not see the client's address.
    expect(j.masquerade).toBe(true);
    expect(j.delivered.observedSource.startsWith('198.51.100.5:')).toBe(false);
    expect(j.return.disposition).toBe('DELIVERED');
    expect(j.return.observedSource).toBe('203.0.113.50:80');
  });

  e2e('lists the LB’s node choice and kube-proxy’s endpoint choice, 1/3 each, one followed', async () => {
    const { j } = await json('external', '203.0.113.50:80');
    const svc = j.branches.filter((b: { dnat: string | null }) => b.dnat !== null);
    expect(svc.map((b: { dnat: string }) => b.dnat).sort()).toEqual([
      '10.244.0.5:8080',
      '10.244.1.3:8080',
      '10.244.2.2:8080',
    ]);
    for (const b of svc) expect(b.probability).toBeCloseTo(1 / 3, 9);
    expect(svc.filter((b: { chosen: boolean }) => b.chosen)).toHaveLength(1);
    const chosen = svc.find((b: { chosen: boolean }) => b.chosen);
    expect(chosen.dnat).toBe(`${j.delivered.ip}:8080`);
    const dnat = j.hops.find((h: { decidedBy: { text: string } | null }) =>
      h.decidedBy?.text.endsWith(`-j DNAT --to-destination ${chosen.dnat}`),
    );
    expect(dnat.decidedBy).toMatchObject({ kind: 'iptables-rule', table: 'nat' });
    expect(dnat.decidedBy.chain).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
  });

  e2e(
    'the text output: rules quoted, VXLAN shown, 100 columns, byte-identical for the same seed',
    async () => {
      const a = await run('external', '203.0.113.50:80');
      const b = await run('external', '203.0.113.50:80');
      expect(a.text).toBe(b.text);
      expect(a.text).toMatch(/^trace external \(198\.51\.100\.5:\d+\) → 203\.0\.113\.50:80 {2}tcp, seed 1$/m);
      expect(a.text).toMatch(/^ {6}choice {2}1\/3 → node-1 192\.168\.1\.10:30080/m);
      expect(a.text).toMatch(
        /^ {14}1\/3 → 10\.244\.\d\.\d+:8080 {2}via KUBE-SEP-[A-Z2-7]{16} {2}\(followed, seed 1\)$/m,
      );
      expect(a.text.replace(/\n {16}/g, ' ')).toMatch(
        /^ {6}rule {4}-A KUBE-SEP-[A-Z2-7]{16} -p tcp -m comment --comment "default\/my-app" -m tcp -j DNAT --to-destination 10\.244\.\d\.\d+:8080$/m,
      );
      expect(a.text).toContain('\nReturn path\n');
      expect(a.text).toContain('sees the reply come from 203.0.113.50:80');
      for (const line of a.text.split('\n')) {
        if ([...line].length > 100)
          expect(
            line.split(' ').some((w) => w.length > 80),
            line,
          ).toBe(true);
      }
    },
  );

  e2e('a cross-node endpoint crosses flannel.1 as VXLAN vni 1 on UDP 8472', async () => {
    // Find a seed whose endpoint is not on the node the LB chose: the packet must be encapsulated.
    for (let seed = 1; seed <= 30; seed++) {
      const { j } = await json('external', '203.0.113.50:80', { seed: String(seed) });
      const enc = j.hops.find((h: { after: { encap: unknown } }) => h.after.encap !== null);
      if (!enc) continue;
      expect(enc.after.encap).toMatchObject({
        kind: 'vxlan',
        vni: 1,
        outer: { l4: { kind: 'udp', dport: 8472 } },
      });
      const { text } = await run('external', '203.0.113.50:80', { seed: String(seed) });
      expect(text).toMatch(
        /after {3}outer IP 192\.168\.1\.\d+\.\d+ > 192\.168\.1\.\d+\.8472 \[VXLAN vni 1\]\n {14}inner IP /,
      );
      return;
    }
    throw new Error('no seed in 1..30 sent the packet across nodes');
  });

  e2e('seeds reach every endpoint; --endpoint forces one', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 40 && seen.size < 3; seed++) {
      seen.add((await json('external', '203.0.113.50:80', { seed: String(seed) })).j.delivered.ip);
    }
    expect([...seen].sort()).toEqual(['10.244.0.5', '10.244.1.3', '10.244.2.2']);
    const forced = await json('external', '203.0.113.50:80', { endpoint: 'default/my-app-6d8f7b9c5d-p2w8h' });
    expect(forced.j.delivered.ip).toBe('10.244.2.2');
    expect(forced.j.request.forcedEndpoint).toMatch(/my-app-6d8f7b9c5d-p2w8h$/);
  });

  // From outside, svc/… means the address the service exposes to the outside (here the LB's 203.0.113.50:80).
  e2e('external svc/default/my-app takes the LoadBalancer path (the seed’s north–south trace)', async () => {
    const { code, j } = await json('external', 'svc/default/my-app');
    expect(code).toBe(0);
    expect(j.request.to.ip).toBe('203.0.113.50');
    expect(j.request.to.port).toBe(80);
    expect(j.disposition).toBe('DELIVERED');
    expect(j.return.observedSource).toBe('203.0.113.50:80');
  });

  e2e('pod → ClusterIP: --no-return leaves the reply out; --explain gives one sentence per hop', async () => {
    const { j } = await json('default/my-app-6d8f7b9c5d-x7k2p', 'svc/default/my-app', { return: false });
    expect(j.disposition).toBe('DELIVERED');
    expect(j.return).toBeNull();
    expect(checkSchema(schema, j)).toEqual([]);
    const { text } = await run('default/my-app-6d8f7b9c5d-x7k2p', 'svc/default/my-app', { explain: true });
    expect(text).not.toMatch(/^ {6}rule {4}-A /m);
    for (const h of j.hops) expect(text.replace(/\n {6,7}/g, ' ')).toContain(h.explanation);
  });

  e2e('--at with a real iptables-save dump traces through the imported rules', async () => {
    // The dump (captured from iptables-save on this machine) has no KUBE-NODEPORTS rule for 30080, so the
    // NodePort is not open on this node: the host's stack gets the SYN and nothing listens.
    const { code, j } = await json(undefined as never, undefined as never, {
      at: 'node/node-1',
      src: '198.51.100.5:40000',
      dst: '192.168.1.10:30080',
      iptablesSave: new URL('golden/node-1.iptables-save.txt', import.meta.url).pathname,
    });
    expect(code).toBe(1);
    expect(j.disposition).toBe('NOT_LISTENING');
    const generated = await json(undefined as never, undefined as never, {
      at: 'node/node-1',
      src: '198.51.100.5:40000',
      dst: '192.168.1.10:30080',
    });
    expect(generated.j.disposition).toBe('DELIVERED');
    expect(generated.code).toBe(0);
  });

  e2e('every packet line is what the real tcpdump prints for the same packet', async () => {
    const tcpdump = ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].find((p) => existsSync(p));
    if (!tcpdump) {
      if (process.env.CI === 'true') throw new Error('tcpdump is not installed (apt-get install -y tcpdump)');
      return;
    }
    const t = engine.traceConnection(await demo(), {
      from: 'external',
      to: '203.0.113.50:80',
      protocol: 'tcp',
      seed: 1,
    });
    // VXLAN on flannel's port 8472 is decoded by tcpdump as OTV; the trace prints it as outer … [VXLAN vni N].
    const packets = [...t.hops, ...(t.return?.hops ?? [])].map((h) => h.after).filter((p) => !p.encap);
    expect(packets.length).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), 'kpath-trace-e2e-'));
    try {
      const file = join(dir, 't.pcap');
      writeFileSync(file, pcapFile(packets, { linkType: 'raw' }));
      const real = execFileSync(tcpdump, ['-n', '-r', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\S+ /, '').replace(/, (seq|ack|win) [\d:]+|, options \[[^\]]*\]/g, ''));
      expect(packets.map((p) => packetText(p).join(' '))).toEqual(real);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  e2e('unknown names are one sentence (NotFoundError → exit 2 in main)', async () => {
    await expect(run('default/nope', 'svc/default/my-app')).rejects.toThrow(/pod "default\/nope" not found/);
  });
});

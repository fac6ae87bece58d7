// The JSON API behind `kpath serve`: every answer is the CLI's own answer (same engine, same renderers), bad
// requests are told plainly with the status a client can act on, and uploads never touch the filesystem.
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { readSources } from '../../src/load/sources.js';
import { printIptablesSave } from '../../src/node/iptables/index.js';
import { ipRoute } from '../../src/node/render/index.js';
import { traceToJson } from '../../src/render/trace-json.js';
import { type ApiRequest, handleApi } from '../../src/server/api.js';
import type { NetfilterTableJson } from '../../src/server/node-views.js';
import type { Topology } from '../../src/server/topology.js';
import { CLI_WORKSPACE, Workspaces } from '../../src/server/workspaces.js';
import { traceConnection } from '../../src/trace/index.js';
import { buildTwin, type Twin } from '../../src/twin.js';

const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo');
let twin: Twin;
let ws: Workspaces;

beforeAll(async () => {
  twin = buildTwin(await readSources([DEMO]));
  ws = new Workspaces({ id: CLI_WORKSPACE, files: [DEMO], twin });
});

function call(method: string, path: string, body?: unknown) {
  const url = new URL(path, 'http://localhost');
  const req: ApiRequest = {
    method,
    path: url.pathname,
    query: url.searchParams,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  };
  const r = handleApi(ws, req);
  return { ...r, json: () => JSON.parse(r.body) as unknown };
}

describe('GET /api/topology', () => {
  test('the demo cluster: three nodes with eth0, flannel.1 and cni0, a pod per node on its veth', () => {
    const r = call('GET', '/api/topology');
    expect(r.status).toBe(200);
    const t = r.json() as Topology;
    expect(t.nodes.map((n) => [n.name, n.ip, n.podCIDR])).toEqual([
      ['node-1', '192.168.1.10', '10.244.0.0/24'],
      ['node-2', '192.168.1.11', '10.244.1.0/24'],
      ['node-3', '192.168.1.12', '10.244.2.0/24'],
    ]);
    for (const n of t.nodes) {
      expect(n.devices.map((d) => d.name)).toEqual(expect.arrayContaining(['eth0', 'flannel.1', 'cni0']));
      // flannel's VXLAN device: VNI 1 on UDP 8472 (the Linux default port flannel uses), local VTEP = node IP.
      const vx = n.devices.find((d) => d.name === 'flannel.1')?.vxlan;
      expect(vx).toEqual({ vni: 1, local: n.ip, dstport: 8472, dev: 'eth0' });
      const host = twin.node(n.name).host;
      for (const p of n.pods.filter((p) => !p.hostNetwork)) {
        // The host end of the pod's veth is a real link of the node, enslaved to cni0.
        const link = host.links.find((l) => l.name === p.hostVeth);
        expect(link?.kind).toBe('veth');
        expect(link?.master).toBe('cni0');
        expect(n.devices.some((d) => d.name === p.hostVeth)).toBe(false);
      }
    }
    const myApp = t.services.find((s) => s.name === 'my-app');
    expect(myApp).toMatchObject({
      type: 'LoadBalancer',
      clusterIP: '10.96.0.15',
      loadBalancerIPs: ['203.0.113.50'],
    });
    expect(myApp?.ports[0]).toMatchObject({ port: 80, nodePort: 30080, protocol: 'TCP' });
    expect(myApp?.endpoints).toEqual([
      'default/my-app-6d8f7b9c5d-m4q9z',
      'default/my-app-6d8f7b9c5d-p2w8h',
      'default/my-app-6d8f7b9c5d-x7k2p',
    ]);
    expect(t.loadBalancers).toEqual([{ ip: '203.0.113.50', service: 'default/my-app' }]);
    expect(t.externals).toEqual([{ name: 'client', ip: '198.51.100.5' }]);
  });
});

describe('GET /api/nodes/:name/…', () => {
  test('text views are what `kpath node` prints', () => {
    const r = call('GET', '/api/nodes/node-2/ip-route');
    expect(r.contentType).toBe('text/plain');
    expect(r.body).toBe(ipRoute(twin.node('node-2').host, { table: 'main' }));
    // Flannel VXLAN's routes to the other nodes' pod subnets, as `ip route` prints them on a real node.
    expect(r.body).toContain('10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink');
    expect(call('GET', '/api/nodes/node-2/iptables-save').body).toBe(
      printIptablesSave(twin.node('node-2').host.iptables),
    );
  });

  test("a pod's namespace with ?pod=", () => {
    const r = call('GET', '/api/nodes/node-2/ip-route?pod=default/my-app-6d8f7b9c5d-m4q9z');
    expect(r.body).toContain('default via 10.244.1.1 dev eth0');
    expect(call('GET', '/api/nodes/node-2/ip-route?pod=default/nope').status).toBe(404);
  });

  test('the netfilter graph: every rule is a line of iptables-save, jumps point at chains of the table', () => {
    const tables = call('GET', '/api/nodes/node-1/netfilter').json() as NetfilterTableJson[];
    const save = printIptablesSave(twin.node('node-1').host.iptables).split('\n');
    const nat = tables.find((t) => t.name === 'nat');
    expect(nat).toBeDefined();
    const names = new Set(nat?.chains.map((c) => c.name));
    for (const t of tables) {
      for (const c of t.chains) {
        c.rules.forEach((r, i) => {
          expect(save).toContain(r.text);
          expect(r.n).toBe(i + 1);
        });
      }
    }
    const svc = nat?.chains.find((c) => c.name === 'KUBE-SERVICES');
    const toSvc = svc?.rules.find((r) => r.text.includes('"default/my-app cluster IP"'));
    expect(toSvc?.jumpsToChain).toBe(true);
    expect(toSvc?.target).toMatch(/^KUBE-SVC-/);
    const svcChain = nat?.chains.find((c) => c.name === toSvc?.target);
    // Three endpoints: three KUBE-SEP jumps, the first two with the statistic match (1/3, then 1/2).
    expect(
      svcChain?.rules.filter((r) => r.target?.startsWith('KUBE-SEP-') && names.has(r.target)),
    ).toHaveLength(3);
    expect(nat?.chains.find((c) => c.name === 'PREROUTING')?.builtin).toBe(true);
  });

  test('unknown node, unknown view, bad table', () => {
    expect(call('GET', '/api/nodes/node-9/ip-route').json()).toMatchObject({ error: { kind: 'not-found' } });
    expect(call('GET', '/api/nodes/node-1/ip-rule').status).toBe(404);
    expect(call('GET', '/api/nodes/node-1/ip-route?table=x').status).toBe(400);
    expect(call('POST', '/api/nodes/node-1/ip-route', '').status).toBe(405);
  });
});

describe('POST /api/trace', () => {
  test("the seed's north–south trace is the engine's trace, as `kpath trace -o json` has it", () => {
    const q = { from: 'external', to: '203.0.113.50', port: 80, endpoint: 'default/my-app-6d8f7b9c5d-m4q9z' };
    const r = call('POST', '/api/trace', q);
    expect(r.status).toBe(200);
    const want = traceToJson(traceConnection(twin, { ...q, protocol: 'tcp', seed: 1 }));
    expect(r.json()).toEqual(JSON.parse(JSON.stringify(want)));
    expect(want.disposition).toBe('DELIVERED');
  });

  test('the CLI argument rules apply', () => {
    expect(
      call('POST', '/api/trace', { from: 'external', to: '203.0.113.50', port: 70000 }).json(),
    ).toMatchObject({
      error: { kind: 'usage', message: '--port: port 70000 is out of range (1-65535)' },
    });
    expect(call('POST', '/api/trace', { from: 'default/nope', to: '203.0.113.50', port: 80 }).status).toBe(
      404,
    );
    expect(call('POST', '/api/trace', 'not json').status).toBe(400);
    expect(call('POST', '/api/trace', { from: 1, to: [] }).status).toBe(400);
    expect(call('GET', '/api/trace').status).toBe(405);
  });

  test('never reads a file named in the request', () => {
    // The CLI's --iptables-save reads a dump from disk; the API has no such field, so it is dropped.
    const r = call('POST', '/api/trace', {
      at: 'node/node-1',
      src: '198.51.100.5:40000',
      dst: '192.168.1.10:30080',
      iptablesSave: '/etc/passwd',
      file: ['/etc/passwd'],
    });
    expect(r.status).toBe(200);
    expect(r.body).not.toContain('root:');
  });
});

describe('POST /api/manifests', () => {
  test('bad input comes back as file:line:col problems with the field', () => {
    const r = call('POST', '/api/manifests', {
      files: [
        {
          name: 'bad.yaml',
          text: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 99999\n',
        },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({
      error: {
        kind: 'input',
        problems: [
          { file: 'bad.yaml', line: 7, col: 11, field: 'spec.ports[0].port', object: 'Service default/x' },
        ],
      },
    });
  });

  test('an upload gets an id that later requests name with ?m=', async () => {
    const sources = await readSources([DEMO]);
    const files = sources.map((s) => ({ name: s.file.split('/').pop() ?? s.file, text: s.text }));
    const r = call('POST', '/api/manifests', { files: files.filter((f) => f.name !== 'backend.yaml') });
    expect(r.status).toBe(200);
    const { id } = r.json() as { id: string };
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    const t = call('GET', `/api/topology?m=${id}`).json() as Topology;
    expect(t.services.some((s) => s.namespace === 'shop')).toBe(false);
    expect(
      (call('GET', '/api/topology').json() as Topology).services.some((s) => s.namespace === 'shop'),
    ).toBe(true);
    // The same files give the same id.
    expect(
      (
        call('POST', '/api/manifests', { files: files.filter((f) => f.name !== 'backend.yaml') }).json() as {
          id: string;
        }
      ).id,
    ).toBe(id);
    expect(call('GET', '/api/topology?m=0123456789abcdef').status).toBe(404);
    expect(call('POST', '/api/manifests', { files: [] }).status).toBe(400);
  });
});

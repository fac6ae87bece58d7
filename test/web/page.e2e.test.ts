// The page in a real headless Chromium (Debian's package, driven by playwright-core): load the demo cluster,
// run the seed's north–south trace (client → LB → NodePort → pod on another node), and check that every hop,
// the NAT changes and the VXLAN encapsulation are shown. Screenshots go to docs/screenshots/ when KPATH_SCREENSHOTS=1..
import { existsSync, mkdtempSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateClusterYaml } from '../../bench/generate.js';
import { runDns } from '../../src/cli/dns.js';
import { runReach } from '../../src/cli/reach.js';
import { readSources } from '../../src/load/sources.js';
import { traceToJson } from '../../src/render/trace-json.js';
import type { RunningServer } from '../../src/server/http.js';
import { traceConnection } from '../../src/trace/index.js';
import { buildTwin, type Twin } from '../../src/twin.js';
import { DEMO, type DemoServer, ROOT, startDemoServer, uploadDemoWith } from './demo-server.js';

// Screenshots are evidence for the docs, refreshed on demand (KPATH_SCREENSHOTS=1), never by a plain test run.
const SHOTS =
  process.env.KPATH_SCREENSHOTS === '1'
    ? join(ROOT, 'docs', 'screenshots')
    : mkdtempSync(join(tmpdir(), 'kpath-shots-'));
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === 'true') {
  // CI must not pass by skipping: the page is only tested in a real browser.
  throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
}

// The seed's scenario: the client reaches my-app through the LB; the backend is forced onto node-2's pod so the
// packet crosses from the node the LB picked (node-3 with seed 1) to another node over VXLAN.
const POD = 'default/my-app-6d8f7b9c5d-m4q9z';
const COMMAND = `kpath trace external 203.0.113.50 --port 80 --endpoint ${POD}`;

let demo: DemoServer | undefined;
let twin: Twin;
let server: RunningServer;
let context: BrowserContext;
let page: Page;
let dir: string;

/**
 * Readability, checked in the browser on the drawn SVG: node boxes never overlap each other; groups, devices
 * and pods stay inside their node, never overlap each other; pods sit inside their group; a group's title
 * fits its box. Browser-side code as a string: the test's tsconfig has no DOM library.
 */
async function overlaps(): Promise<string[]> {
  return page.evaluate(`(() => {
    const box = (el) => { const b = el.getBBox(); return { x: b.x, y: b.y, w: b.width, h: b.height }; };
    const over = (a, b) => a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5;
    const inside = (a, b) => a.x >= b.x - 0.5 && a.y >= b.y - 0.5 && a.x + a.w <= b.x + b.w + 0.5 && a.y + a.h <= b.y + b.h + 0.5;
    const bad = [];
    const nodes = [...document.querySelectorAll('g.node')].map((g) => ({ id: g.dataset.id, g, b: box(g.querySelector('rect.node-box')) }));
    for (let i = 0; i < nodes.length; i++)
      for (let j = i + 1; j < nodes.length; j++)
        if (over(nodes[i].b, nodes[j].b)) bad.push(nodes[i].id + ' overlaps ' + nodes[j].id);
    for (const n of nodes) {
      const parts = [...n.g.querySelectorAll(':scope > g.group, :scope > g.device, :scope > g.pod')].map((g) => ({ id: g.dataset.id, cls: g.getAttribute('class'), b: box(g.querySelector(':scope > rect')), g }));
      for (const p of parts) if (!inside(p.b, n.b)) bad.push(p.id + ' outside ' + n.id);
      const groups = parts.filter((p) => p.cls.startsWith('group'));
      for (let i = 0; i < parts.length; i++)
        for (let j = i + 1; j < parts.length; j++) {
          const a = parts[i], b = parts[j];
          const podInGroup = (x, y) => x.cls.startsWith('pod') && y.cls.startsWith('group');
          if (podInGroup(a, b) || podInGroup(b, a)) continue;
          if (over(a.b, b.b)) bad.push(a.id + ' overlaps ' + b.id);
        }
      for (const p of parts.filter((p) => p.cls.startsWith('pod')))
        if (groups.filter((g) => inside(p.b, g.b)).length !== 1) bad.push(p.id + ' not in exactly one group');
      for (const g of groups) {
        const t = g.g.querySelector('text');
        if (t && t.getComputedTextLength() > g.b.w - 8) bad.push(g.id + ' title overflows');
      }
    }
    return bad;
  })()`);
}

/** Clicks a button and measures until the next frame is painted (reported, never asserted). */
async function clickAndMeasure(name: string): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    const el = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === ${JSON.stringify(name)});
    const t0 = performance.now();
    el.click();
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
  })`);
}

describe.skipIf(!haveChromium)(
  `the web page in Chromium${haveChromium ? '' : ` (skipped: ${CHROMIUM} missing)`}`,
  () => {
    beforeAll(async () => {
      // Always the page of the current sources, built into a scratch folder.
      demo = await startDemoServer('kpath-e2e-');
      ({ twin, server, dir } = demo);
      context = await chromium.launchPersistentContext(join(dir, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1600, height: 1000 },
      });
      page = context.pages()[0] ?? (await context.newPage());
      await mkdir(SHOTS, { recursive: true });
    }, 120_000);

    afterAll(async () => {
      await context?.close();
      await demo?.close();
    });

    test('topology: nodes with their devices and pods, the underlay, the client and the load balancer', async () => {
      await page.goto(server.url);
      await page.waitForSelector('body[data-ready="true"]');
      const readyMs = Number(await page.locator('body').getAttribute('data-ready-ms'));
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      const warmMs = Number(await page.locator('body').getAttribute('data-ready-ms'));
      console.log(
        `kpath page interactive ${readyMs} ms after navigation start (demo cluster; ${warmMs} ms reloaded)`,
      );
      for (const id of [
        'ext:client',
        'lb:203.0.113.50',
        'underlay',
        'node:node-1',
        'node:node-2',
        'node:node-3',
        'dev:node-2/flannel.1',
        'dev:node-2/cni0',
        `pod:${POD}`,
      ]) {
        expect(await page.locator(`[data-id="${id}"]`).count(), id).toBe(1);
      }
      // The pod box names its veth's host end, the interface the CNI created on node-2.
      const veth = twin
        .node('node-2')
        .pods.find((p) => p.owner.kind === 'pod' && p.owner.name === POD.split('/')[1])
        ?.links.find((l) => l.kind === 'veth')?.peer?.ifname;
      expect(await page.locator(`[data-id="pod:${POD}"]`).textContent()).toContain(`⇄ ${veth}`);
      // Service overlay: my-app's three endpoints are marked.
      await page.getByRole('button', { name: 'default/my-app', exact: true }).click();
      expect(await page.locator('.pod.endpoint').count()).toBe(3);
      expect(new URL(page.url()).searchParams.get('svc')).toBe('default/my-app');
      // Search dims what does not match; collapse hides a node's pods.
      await page.getByLabel('Search').fill('10.244.2.2');
      expect(await page.locator('.pod.hit').count()).toBe(1);
      await page.getByLabel('Search').fill('');
      await page.screenshot({ path: join(SHOTS, 'topology.png'), fullPage: false });
      const pods = await page.locator('[data-id="node:node-1"] .pod').count();
      expect(pods).toBe(twin.state.pods.filter((p) => p.spec.nodeName === 'node-1').length);
      await page.getByRole('button', { name: 'collapse node-1' }).click();
      expect(await page.locator('[data-id="node:node-1"] .pod').count()).toBe(0);
      expect(await page.locator('[data-id="node:node-1"]').textContent()).toContain(
        `${pods} pods (collapsed)`,
      );
      expect(new URL(page.url()).searchParams.get('fold')).toBe('node-1');
      await page.getByRole('button', { name: 'expand node-1' }).focus();
      await page.keyboard.press('Enter');
      expect(await page.locator('[data-id="node:node-1"] .pod').count()).toBe(pods);

      // Groups: node-2's pods of namespace default form one group with its count; it collapses and expands
      // (mouse or keyboard), and the URL keeps it.
      const group = page.locator('[data-id="group:node-2:default"]');
      const inDefault = twin.state.pods.filter(
        (p) => p.spec.nodeName === 'node-2' && p.metadata.namespace === 'default',
      ).length;
      expect(await group.textContent()).toContain(`default (${inDefault} pod${inDefault === 1 ? '' : 's'})`);
      await page.getByRole('button', { name: 'collapse group default on node-2' }).click();
      expect(await page.locator(`[data-id="pod:${POD}"]`).count()).toBe(0);
      expect(new URL(page.url()).searchParams.get('gfold')).toBe('node-2:default');
      expect(await page.locator('[data-id="node:node-2"] .pod').count()).toBe(
        twin.state.pods.filter((p) => p.spec.nodeName === 'node-2').length - inDefault,
      );
      await page.getByRole('button', { name: 'expand group default on node-2' }).focus();
      await page.keyboard.press(' ');
      expect(await page.locator(`[data-id="pod:${POD}"]`).count()).toBe(1);
      // By workload: the demo's my-app pods (bare pods with the Deployment's pod-template-hash label) and
      // shop's web (a Deployment's ReplicaSet) are named by their Deployment; db by its StatefulSet.
      await page.getByLabel('Group pods by').selectOption('workload');
      expect(await page.locator('[data-id="group:node-2:default/Deployment/my-app"]').count()).toBe(1);
      const web = twin.state.pods.find((p) => p.metadata.labels?.app === 'web');
      expect(await page.locator(`[data-id="group:${web?.spec.nodeName}:shop/Deployment/web"]`).count()).toBe(
        1,
      );
      expect(await page.locator('g.group[data-id$=":shop/StatefulSet/db"]').count()).toBe(2);
      await page.getByLabel('Group pods by').selectOption('namespace');
    });

    test("trace: the seed's north–south journey, every hop, NAT and VXLAN", async () => {
      await page.goto(`${server.url}?view=trace`);
      await page.waitForSelector('body[data-ready="true"]');
      await page.getByLabel('or paste a command').fill(COMMAND);
      await page.getByRole('button', { name: 'Run pasted' }).click();
      await page.waitForSelector('[data-testid="disposition"]');
      const renderMs = Number(await page.locator('body').getAttribute('data-trace-render-ms'));
      console.log(`kpath trace rendered ${renderMs} ms after its JSON arrived`);

      const want = traceToJson(
        traceConnection(twin, {
          from: 'external',
          to: '203.0.113.50',
          port: 80,
          protocol: 'tcp',
          seed: 1,
          endpoint: POD,
        }),
      );
      expect(want.disposition).toBe('DELIVERED');
      // Every hop of both legs is listed, in order, with its component and action.
      const shown = await page
        .locator('button.hop')
        .evaluateAll((els) =>
          els.map((e) => [
            Number(e.getAttribute('data-hop')),
            e.getAttribute('data-component'),
            e.querySelector('.what')?.textContent,
          ]),
        );
      const all = [...want.hops, ...(want.return?.hops ?? [])];
      expect(shown).toEqual(all.map((h) => [h.n, h.component, `${h.component} · ${h.action}`]));
      expect(await page.getByTestId('disposition').textContent()).toContain('DELIVERED');

      // NAT: the LB's and kube-proxy's DNAT, the MASQUERADE's SNAT, each tagged in the list and shown in detail.
      const natHops = all.filter((h) => h.changes.some((c) => c.tag === 'DNAT' || c.tag === 'SNAT'));
      expect(natHops.length).toBeGreaterThanOrEqual(3);
      for (const h of natHops) {
        await page.locator(`button.hop[data-hop="${h.n}"]`).click();
        const detail = page.getByTestId('hop-detail');
        for (const c of h.changes.filter((c) => c.tag)) {
          const li = detail.locator(`.changes li[data-tag="${c.tag}"]`);
          expect(await li.count()).toBeGreaterThan(0);
          expect(await li.first().textContent()).toContain(c.to);
        }
        // The rewritten address is highlighted in the "after" packet.
        expect(await detail.locator('section[aria-label="after"] tr.changed').count()).toBeGreaterThan(0);
      }
      const kubeDnat = all.find(
        (h) =>
          h.component === 'conntrack' &&
          h.changes.some((c) => c.tag === 'DNAT' && c.to === '10.244.1.3:8080'),
      );
      expect(kubeDnat).toBeDefined();

      // VXLAN: the outer header drawn around the inner frame, node-3's VTEP to node-2's on UDP 8472.
      const encap = all.find((h) => h.action === 'encapsulate');
      expect(encap?.after.encap?.outer.ip).toMatchObject({ src: '192.168.1.12', dst: '192.168.1.11' });
      await page.locator(`button.hop[data-hop="${encap?.n}"]`).click();
      const after = page.locator('[data-testid="hop-detail"] section[aria-label="after"]');
      const outer = after.locator('[data-encap="vxlan"]');
      expect(await outer.count()).toBe(1);
      expect(await outer.locator('tr[data-field="outer.ip.src"] td').textContent()).toBe('192.168.1.12');
      expect(await outer.locator('tr[data-field="outer.ip.dst"] td').textContent()).toBe('192.168.1.11');
      expect(await outer.locator('tr[data-field="outer.l4.dport"] td').textContent()).toBe('8472');
      expect(await outer.locator('.frame.inner tr[data-field="ip.dst"] td').textContent()).toBe('10.244.1.3');
      expect(
        await page.locator('[data-testid="hop-detail"] section[aria-label="before"] [data-encap]').count(),
      ).toBe(0);

      // TTL: the kernel's ip_forward decrements it between the routing decision and the FORWARD hook.
      const fwd = want.hops.findIndex(
        (h, i) => i > 0 && !h.before.encap && h.before.ip.ttl !== want.hops[i - 1]?.after.ip.ttl,
      );
      const ttlHop = want.hops[fwd];
      const before = want.hops[fwd - 1];
      expect(ttlHop && before && before.after.ip.ttl - ttlHop.before.ip.ttl).toBe(1);
      expect(await page.locator(`button.hop[data-hop="${ttlHop?.n}"] .tag-ttl`).count()).toBe(1);
      await page.locator(`button.hop[data-hop="${ttlHop?.n}"]`).click();
      expect(
        await page.locator('[data-testid="hop-detail"] .since li[data-field="ip.ttl"]').textContent(),
      ).toContain(`${before?.after.ip.ttl} → ${ttlHop?.before.ip.ttl}`);

      // The path is drawn through the client, the LB, both nodes' VXLAN devices and the pod.
      for (const id of [
        'ext:client',
        'lb:203.0.113.50',
        'dev:node-3/flannel.1',
        'dev:node-2/flannel.1',
        `pod:${POD}`,
      ]) {
        expect(
          await page.locator(`[data-id="${id}"].on-path, [data-id="${id}"] .on-path`).count(),
          id,
        ).toBeGreaterThan(0);
      }
      expect(await page.locator('polyline.path.forward').count()).toBe(1);
      expect(await page.locator('polyline.path.return').count()).toBe(1);
      expect(await page.locator('circle.packet').count()).toBe(1);
      await page.screenshot({ path: join(SHOTS, 'trace.png') });

      // The deciding rule in its chain: the KUBE-SEP DNAT rule highlighted among the chain's rules.
      const sep = all.find((h) => h.decidedBy?.chain?.startsWith('KUBE-SEP-') && h.action === 'DNAT');
      await page.locator(`button.hop[data-hop="${sep?.n}"]`).click();
      const hit = page.locator('.context [data-hit="true"]');
      await hit.waitFor();
      expect(await hit.textContent()).toBe(sep?.decidedBy?.text);
      expect(await page.locator('.context h4').textContent()).toContain(`-S ${sep?.decidedBy?.chain}`);

      // Random choices: every branch with its probability.
      const svc = all.find((h) => h.branches && h.decidedBy?.chain?.startsWith('KUBE-SVC-'));
      await page.locator(`button.hop[data-hop="${svc?.n}"]`).click();
      expect(await page.locator('.branches tbody tr').count()).toBe(3);
      expect(await page.locator('.branches tr.chosen').textContent()).toContain('10.244.1.3:8080');

      // The route decision in its table.
      const route = all.find((h) => h.decidedBy?.kind === 'route' && h.node === 'node-3');
      await page.locator(`button.hop[data-hop="${route?.n}"]`).click();
      await page.locator('.context [data-hit="true"]').waitFor();
      // `ip route` ends its lines with a space, as the real one does; the decision quotes the route without it.
      expect((await page.locator('.context [data-hit="true"]').textContent())?.trimEnd()).toBe(
        route?.decidedBy?.text.trim(),
      );

      // Keyboard: ↓ in the hop list moves to the next hop.
      await page.locator(`button.hop[data-hop="${route?.n}"]`).focus();
      await page.keyboard.press('ArrowDown');
      expect(new URL(page.url()).searchParams.get('hop')).toBe(String((route?.n ?? 0) + 1));

      // Play moves the packet along the path, hop after hop.
      await page.getByRole('button', { name: 'First hop' }).click();
      await page.getByRole('button', { name: 'Play' }).click();
      await expect
        .poll(() => Number(new URL(page.url()).searchParams.get('hop')), { timeout: 10_000 })
        .toBeGreaterThanOrEqual(4);
      await page.getByRole('button', { name: 'Pause' }).click();
    });

    test('a link reproduces the view: the same trace, the same hop selected', async () => {
      const encap = traceToJson(
        traceConnection(twin, {
          from: 'external',
          to: '203.0.113.50',
          port: 80,
          protocol: 'tcp',
          seed: 1,
          endpoint: POD,
        }),
      ).hops.find((h) => h.action === 'encapsulate');
      const q = new URLSearchParams({
        view: 'trace',
        from: 'external',
        to: '203.0.113.50',
        port: '80',
        endpoint: POD,
        hop: String(encap?.n),
      });
      await page.goto(`${server.url}?${q}`);
      await page.waitForSelector('[data-testid="hop-detail"]');
      expect(await page.locator('h3', { hasText: `Hop ${encap?.n}:` }).count()).toBe(1);
      expect(await page.locator('[data-encap="vxlan"]').count()).toBe(1);
      // The same link on the node view: conntrack on node-3 after that trace, as `conntrack -L` lists it.
      q.set('view', 'node');
      q.set('node', 'node-3');
      q.set('panel', 'conntrack');
      await page.goto(`${server.url}?${q}`);
      const ct = page.locator('pre.raw');
      await ct.waitFor();
      const entries = traceToJson(
        traceConnection(twin, {
          from: 'external',
          to: '203.0.113.50',
          port: 80,
          protocol: 'tcp',
          seed: 1,
          endpoint: POD,
        }),
      ).conntrack.find((c) => c.node === 'node-3')?.entries;
      expect(entries?.length).toBeGreaterThan(0);
      expect((await ct.textContent())?.split('\n').slice(0, entries?.length)).toEqual(entries);
    });

    test('node view: KUBE-SERVICES → KUBE-SVC → KUBE-SEP as a graph, and the raw text', async () => {
      await page.goto(`${server.url}?view=node&node=node-1`);
      await page.waitForSelector('.chain-graph');
      for (const chain of ['PREROUTING', 'KUBE-SERVICES', 'KUBE-NODEPORTS']) {
        expect(await page.locator(`[data-chain="${chain}"]`).count(), chain).toBe(1);
      }
      expect(await page.locator('[data-chain^="KUBE-SVC-"]').count()).toBeGreaterThan(0);
      expect(await page.locator('[data-chain^="KUBE-SEP-"]').count()).toBeGreaterThanOrEqual(3);
      await page.locator('[data-chain="KUBE-SERVICES"]').click();
      const svcJump = page.locator('section[aria-label="chain KUBE-SERVICES"] button.link').first();
      const target = await svcJump.textContent();
      await svcJump.click();
      expect(new URL(page.url()).searchParams.get('chain')).toBe(target);
      await page.screenshot({ path: join(SHOTS, 'node.png') });
      await page.getByLabel('raw iptables-save').check();
      const raw = await page.locator('pre.raw').textContent();
      const api = await (await fetch(new URL('api/nodes/node-1/iptables-save', server.url))).text();
      expect(raw).toBe(api);
      await page.getByRole('tab', { name: 'routes' }).click();
      await page.waitForSelector('pre.raw');
      expect(await page.locator('pre.raw').textContent()).toContain(
        '10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink',
      );
    });

    test('50 nodes and 500 pods stay readable: collapsed nodes, groups with counts, search opens the hit, no box overlaps', async () => {
      // bench/generate.ts: 50 services of 10 replicas (500 pods) on 50 nodes, plus CoreDNS.
      const yaml = generateClusterYaml({ nodes: 50, services: 50, replicas: 10 });
      const res = await fetch(new URL('api/manifests', server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ files: [{ name: 'bench.yaml', text: yaml }] }),
      });
      expect(res.status).toBe(200);
      const { id } = (await res.json()) as { id: string };
      const topo = (await (await fetch(new URL(`api/topology?m=${id}`, server.url))).json()) as {
        nodes: { name: string; pods: { name: string; ip: string; namespace: string }[] }[];
      };
      const total = topo.nodes.reduce((n, x) => n + x.pods.length, 0);
      expect(topo.nodes).toHaveLength(50);
      expect(total).toBeGreaterThanOrEqual(500);
      const t0 = Date.now();
      await page.goto(`${server.url}?m=${id}`);
      await page.waitForSelector('body[data-ready="true"]');
      const readyMs = Number(await page.locator('body').getAttribute('data-ready-ms'));
      console.log(
        `kpath page with 50 nodes / ${total} pods ready in ${Date.now() - t0} ms (server time included; ${readyMs} ms after navigation start)`,
      );
      expect(await page.locator('g.node').count()).toBe(50);
      expect(await page.locator('g.pod').count()).toBe(0);
      expect(await page.locator('g.node', { hasText: 'pods (collapsed)' }).count()).toBe(50);
      expect(await overlaps()).toEqual([]);
      await page.screenshot({ path: join(SHOTS, 'topology-50-nodes.png') });

      // Expand every node: each shows its groups with their counts; a group of more than 6 pods starts
      // collapsed, so a node stays a few lines tall.
      const expandMs = await clickAndMeasure('Expand all');
      const groups = await page.locator('g.group').count();
      console.log(`kpath expanded 50 nodes (${groups} groups) in ${expandMs.toFixed(0)} ms`);
      expect(groups).toBeGreaterThanOrEqual(50);
      const drawn = await page.locator('g.pod').count();
      const counts = await page
        .locator('g.group')
        .evaluateAll((els) =>
          els.map((e) => [
            Number(/\((\d+) pods?\)/.exec(e.textContent ?? '')?.[1]),
            e.getAttribute('class')?.includes('collapsed'),
          ]),
        );
      expect(counts.reduce((n, [c]) => n + Number(c), 0)).toBe(total);
      expect(drawn).toBe(counts.reduce((n, [c, folded]) => n + (folded ? 0 : Number(c)), 0));
      expect(await overlaps()).toEqual([]);
      // Every group open: all pods drawn, still nothing overlapping.
      const openMs = await clickAndMeasure('Open all groups');
      console.log(`kpath drew all ${total} pods (every group open) in ${openMs.toFixed(0)} ms`);
      expect(await page.locator('g.pod').count()).toBe(total);
      expect(new URL(page.url()).searchParams.get('gall')).toBe('open');
      expect(await overlaps()).toEqual([]);
      await clickAndMeasure('Close all groups');
      expect(await page.locator('g.pod').count()).toBe(0);
      expect(await page.locator('g.group.collapsed').count()).toBe(groups);

      // Search a pod's IP: its node and its group open, the pod is the one hit, the group is marked.
      const node = topo.nodes[17];
      const target = node?.pods.find((p) => p.namespace !== 'kube-system') ?? node?.pods[0];
      await clickAndMeasure('Collapse all');
      await page.getByLabel('Search').fill(target?.ip ?? '');
      expect(await page.locator('g.pod.hit').count()).toBe(1);
      expect(await page.locator(`[data-id="pod:${target?.namespace}/${target?.name}"].hit`).count()).toBe(1);
      const hitGroup = page.locator(`[data-id="node:${node?.name}"] g.group.hit`);
      expect(await hitGroup.count()).toBe(1);
      expect(await hitGroup.locator('[aria-expanded="true"]').count()).toBe(1);
      expect(await page.locator('g.group').count()).toBe(
        await page.locator(`[data-id="node:${node?.name}"] g.group`).count(),
      );
      expect(await overlaps()).toEqual([]);

      // By workload: one group per Deployment on each node (svc-N, from the ReplicaSet's pod-template-hash).
      await page.getByLabel('Search').fill('');
      await page.getByLabel('Group pods by').selectOption('workload');
      expect(new URL(page.url()).searchParams.get('group')).toBe('workload');
      const wlMs = await clickAndMeasure('Expand all');
      console.log(`kpath expanded 50 nodes grouped by workload in ${wlMs.toFixed(0)} ms`);
      expect(await page.locator('g.group[data-id*=":ns-0/Deployment/svc-"]').count()).toBeGreaterThanOrEqual(
        50,
      );
      expect(await overlaps()).toEqual([]);
      await page.screenshot({ path: join(SHOTS, 'topology-50-nodes-groups.png') });
      await page.getByLabel('Group pods by').selectOption('namespace');
    });

    test("DNS: a pod's resolv.conf, every query in order and the result; dig-like server queries; a trace's DNS steps", async () => {
      const web = twin.state.pods.find((p) => p.metadata.labels?.app === 'web');
      const from = `shop/${web?.metadata.name}`;
      await page.goto(`${server.url}?view=dns&dname=db&dfrom=${encodeURIComponent(from)}`);
      const answer = page.getByTestId('dns-answer');
      await answer.waitFor();
      const want = JSON.parse(runDns(twin, 'db', { from, output: 'json' }).stdout) as {
        resolvConf: string;
        queries: { name: string; type: string; server: string; rcode: string; answer: string[] }[];
        result: { status: string; addresses: string[] };
      };
      expect(await answer.getAttribute('data-mode')).toBe('lookup');
      expect(await page.locator('section[aria-label="resolv.conf"] pre').textContent()).toBe(want.resolvConf);
      const rows = await page
        .locator('.dns-queries tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      expect(rows).toEqual(
        want.queries.map((q, i) => [
          String(i + 1),
          q.name,
          q.type,
          q.server,
          q.rcode === 'NOERROR' && q.answer.length === 0 ? 'NOERROR (no data)' : q.rcode,
          q.answer.join(''),
        ]),
      );
      const result = await page.getByTestId('dns-result').textContent();
      expect(result).toContain(want.result.status);
      for (const a of want.result.addresses) expect(result).toContain(a);
      await page.screenshot({ path: join(SHOTS, 'dns.png') });
      // The raw text is exactly what the terminal shows.
      await page.getByLabel('raw text').check();
      expect(await page.locator('.dns-answer pre.raw').textContent()).toBe(
        runDns(twin, 'db', { from, verbose: true }).stdout,
      );

      await page.getByLabel('raw text').uncheck();

      // Ask the kube-dns ClusterIP directly, like dig, from the form.
      await page.getByLabel('Name', { exact: true }).fill('kubernetes.default.svc.cluster.local');
      await page.getByLabel('a server, like dig (--server)').check();
      await page.getByRole('button', { name: 'Resolve' }).click();
      await page.waitForSelector('[data-testid="dns-answer"][data-mode="server"]');
      expect(new URL(page.url()).searchParams.get('dask')).toBe('server');
      expect(await page.locator('section[aria-label="answer"]').textContent()).toContain(
        'kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1',
      );

      // A trace to a name shows the resolver's steps before the packet's.
      const q = new URLSearchParams({ view: 'trace', from, to: 'web', port: '80' });
      await page.goto(`${server.url}?${q}`);
      const steps = page.getByTestId('trace-dns');
      await steps.waitFor();
      await page.waitForSelector('[data-testid="disposition"]');
      const trace = (await (
        await fetch(new URL('api/trace', server.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ from, to: 'web', port: 80 }),
        })
      ).json()) as {
        dns: { queries: { name: string; type: string; rcode: string }[]; result: { addresses: string[] } };
      };
      const shown = await steps
        .locator('.dns-queries tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].slice(1, 5).map((td) => td.textContent)),
        );
      expect(shown.map(([name, type, , rcode]) => [name, type, rcode?.replace(' (no data)', '')])).toEqual(
        trace.dns.queries.map((x) => [x.name, x.type, x.rcode]),
      );
      expect(await steps.locator('summary').textContent()).toContain(trace.dns.result.addresses[0] ?? '?');
      expect(await page.locator('button.hop').count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(SHOTS, 'trace-dns.png') });
    });

    test('reach: the truth table with allow/deny in words, a cell explains itself and traces its connection', async () => {
      const deny =
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-in, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n';
      const { id, files } = await uploadDemoWith(server, { name: 'deny.yaml', text: deny });
      const q = new URLSearchParams({ view: 'reach', m: id, rport: '80' });
      q.append('rfrom', 'default');
      q.append('rto', 'shop');
      q.append('rto', 'app=my-app');
      await page.goto(`${server.url}?${q}`);
      const matrix = page.locator('table.reach-matrix[data-probe="80/TCP"]');
      await matrix.waitFor();
      // The verdicts are the CLI's, cell by cell, and every cell says it in words.
      const policyTwin = buildTwin(files.map((f) => ({ file: f.name, text: f.text })));
      const cli = JSON.parse(
        runReach(policyTwin, {
          from: ['default'],
          to: ['shop', 'app=my-app'],
          port: ['80'],
          output: 'json',
          file: [],
        }).stdout,
      ) as { note?: string; cells: { from: string; to: string; verdict: string; reason: string }[] };
      const shown = await page
        .locator('table.reach-matrix button[data-cell]')
        .evaluateAll((bs) =>
          bs.map((b) => [b.getAttribute('data-cell'), b.textContent, b.closest('td')?.className]),
        );
      expect(shown).toEqual(
        cli.cells.map((c) => [
          `${c.from}|${c.to}|80/TCP`,
          c.verdict === 'allow' ? '✓ allow' : '✗ deny',
          c.verdict,
        ]),
      );
      expect(new Set(cli.cells.map((c) => c.verdict))).toEqual(new Set(['allow', 'deny']));
      // Colour as well as words: allow and deny cells are painted differently.
      const bg = (cls: string) =>
        matrix
          .locator(`td.${cls}`)
          .first()
          .evaluate(
            (td) =>
              (
                globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
              ).getComputedStyle(td).backgroundColor,
          );
      expect(await bg('allow')).not.toBe(await bg('deny'));
      if (cli.note) expect(await page.locator('.reach-view .note').textContent()).toContain(cli.note);
      // With --port every destination is probed: one cell per pair.
      expect(shown).toHaveLength(
        (await matrix.locator('tbody tr').count()) * (await matrix.locator('thead th.col').count()),
      );

      // A cell opens its reason: the line `kpath reach --explain` prints for it.
      const cell = cli.cells.find((c) => c.verdict === 'deny' && c.to.startsWith('shop/web'));
      const cellId = `${cell?.from}|${cell?.to}|80/TCP`;
      await page.locator(`button[data-cell="${cellId}"]`).focus();
      await page.keyboard.press('Enter');
      const explain = await page.locator('[data-testid="reach-cell"] pre.explain').textContent();
      const table = runReach(policyTwin, {
        from: ['default'],
        to: ['shop', 'app=my-app'],
        port: ['80'],
        output: 'table',
        explain: true,
        file: [],
      }).stdout;
      expect(table.split('\n')).toContain(explain);
      expect(explain).toContain(cell?.reason);
      expect(new URL(page.url()).searchParams.get('rcell')).toBe(cellId);
      await page.screenshot({ path: join(SHOTS, 'reach.png') });

      // "Trace this" opens the trace view for that very pair and port.
      await page.getByRole('button', { name: 'Trace this' }).click();
      await page.waitForSelector('[data-testid="disposition"]');
      const url = new URL(page.url()).searchParams;
      expect([url.get('view'), url.get('from'), url.get('to'), url.get('port')]).toEqual([
        'trace',
        cell?.from,
        cell?.to,
        '80',
      ]);
      expect(await page.locator('.trace-summary code.command').textContent()).toContain(
        `kpath trace ${cell?.from} ${cell?.to} --port 80`,
      );
    });

    test('reach grouped by workload: the roll-up equals the API, a mixed cell lists its pod pairs', async () => {
      // db takes connections from db-0 only: db → db is mixed, web → db denied, all → web allowed.
      const policy =
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-from-db-0, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {statefulset.kubernetes.io/pod-name: db-0}}}]}]\n';
      const { id, files } = await uploadDemoWith(server, { name: 'db-from-db-0.yaml', text: policy });
      const q = new URLSearchParams({ view: 'reach', m: id, rfrom: 'shop', rto: 'shop' });
      await page.goto(`${server.url}?${q}`);
      await page.locator('table.reach-matrix[data-probe="5432/TCP"]').waitFor();
      const asked: URLSearchParams[] = [];
      const onRequest = (r: { url(): string }) => {
        const u = new URL(r.url());
        if (u.pathname.endsWith('/api/reach')) asked.push(u.searchParams);
      };
      page.on('request', onRequest);
      // The checkbox by keyboard: the URL gains rgroup=workload and the tables roll up.
      await page.getByLabel('Group by workload').focus();
      await page.keyboard.press('Space');
      await page.locator('table.reach-matrix.grouped[data-probe="5432/TCP"]').waitFor();
      expect(new URL(page.url()).searchParams.get('rgroup')).toBe('workload');
      expect(await page.getByLabel('Group by workload').isChecked()).toBe(true);
      const api = (await (
        await fetch(new URL(`api/reach?m=${id}&from=shop&to=shop&group=workload`, server.url))
      ).json()) as {
        probes: { port: number; protocol: string }[];
        cells: {
          from: string;
          to: string;
          port: number;
          protocol: string;
          verdict: string;
          reason: string;
        }[];
        grouped: { froms: string[]; tos: string[]; values: string[][][] };
      };
      const words: Record<string, string> = {
        allow: '✓ allow',
        deny: '✗ deny',
        mixed: '◐ mixed',
        'not-probed': '–',
      };
      for (const [k, p] of api.probes.entries()) {
        const t = page.locator(`table.reach-matrix.grouped[data-probe="${p.port}/${p.protocol}"]`);
        expect(await t.locator('thead th.col span').allTextContents()).toEqual(api.grouped.tos);
        expect(await t.locator('tbody th[scope="row"]').allTextContents()).toEqual(api.grouped.froms);
        const shown = await t
          .locator('tbody tr')
          .evaluateAll((trs) =>
            trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => [td.className, td.textContent])),
          );
        expect(shown).toEqual(api.grouped.values[k]?.map((row) => row.map((v) => [v, words[v]])));
      }
      expect(new Set(api.grouped.values.flat(2))).toEqual(new Set(['allow', 'deny', 'mixed', 'not-probed']));
      // Mixed is painted apart from allow and deny, as well as worded.
      const bg = (cls: string) =>
        page
          .locator(`table.reach-matrix.grouped td.${cls}`)
          .first()
          .evaluate(
            (td) =>
              (
                globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
              ).getComputedStyle(td).backgroundColor,
          );
      const colours = new Set([await bg('allow'), await bg('deny'), await bg('mixed')]);
      expect(colours.size).toBe(3);

      // Enter on the mixed cell lists the pod pairs behind it, each with its `kpath reach --explain` line.
      const mixedId = 'shop/db|shop/db|5432/TCP';
      await page.locator(`button[data-group-cell="${mixedId}"]`).focus();
      await page.keyboard.press('Enter');
      const aside = page.getByTestId('reach-group-cell');
      await aside.waitFor();
      expect(new URL(page.url()).searchParams.get('rgcell')).toBe(mixedId);
      const pairs = api.cells.filter(
        (c) =>
          c.port === 5432 && c.from !== c.to && c.from.startsWith('shop/db-') && c.to.startsWith('shop/db-'),
      );
      expect(pairs.map((c) => [c.from, c.to, c.verdict])).toEqual([
        ['shop/db-0', 'shop/db-1', 'allow'],
        ['shop/db-1', 'shop/db-0', 'deny'],
      ]);
      expect(
        await aside.locator('li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-cell'))),
      ).toEqual(pairs.map((c) => `${c.from}|${c.to}|5432/TCP`));
      const explainTable = runReach(buildTwin(files.map((f) => ({ file: f.name, text: f.text }))), {
        from: ['shop'],
        to: ['shop'],
        port: [],
        output: 'table',
        explain: true,
        file: [],
      }).stdout.split('\n');
      const lines = await aside.locator('pre.explain').allTextContents();
      expect(lines).toHaveLength(2);
      for (const l of lines) expect(explainTable).toContain(l);
      // The tables came without pod cells (a 500-pod matrix is ~70 MB of them); the pair asked for its own.
      page.off('request', onRequest);
      expect(asked.map((a) => [a.get('group'), a.get('cells'), a.get('pair')])).toEqual([
        ['workload', 'none', null],
        ['workload', null, 'shop/db|shop/db'],
      ]);
      await page.screenshot({ path: join(SHOTS, 'reach-grouped.png') });

      // Each pair traces its own connection.
      await aside.getByRole('button', { name: 'Trace this: shop/db-1 → shop/db-0 5432/TCP' }).click();
      await page.waitForSelector('[data-testid="disposition"]');
      const url = new URL(page.url()).searchParams;
      expect([url.get('view'), url.get('from'), url.get('to'), url.get('port')]).toEqual([
        'trace',
        'shop/db-1',
        'shop/db-0',
        '5432',
      ]);
    });

    test('manifests: pasted YAML with an error shows the file, line and field', async () => {
      await page.goto(server.url);
      await page.waitForSelector('body[data-ready="true"]');
      await page.getByRole('button', { name: 'Manifests…' }).click();
      await page
        .getByLabel('Paste manifests')
        .fill('apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 99999\n');
      await page.getByRole('button', { name: 'Load pasted' }).click();
      const problem = page.getByRole('alert', { name: 'problems' });
      await problem.waitFor();
      expect(await problem.textContent()).toContain(
        'pasted.yaml:7:11: Service default/x spec.ports[0].port: must be between 1 and 65535',
      );

      // Upload: the demo without backend.yaml; the page switches to it and the URL names it.
      const sources = await readSources([DEMO]);
      await page.getByLabel('Upload YAML or JSON files').setInputFiles(
        sources
          .filter((f) => !f.file.endsWith('backend.yaml'))
          .map((f) => ({
            name: f.file.split('/').pop() ?? 'x.yaml',
            mimeType: 'application/yaml',
            buffer: Buffer.from(f.text),
          })),
      );
      await expect.poll(() => new URL(page.url()).searchParams.has('m'), { timeout: 10_000 }).toBe(true);
      await page.waitForSelector('body[data-ready="true"]');
      await page.getByRole('button', { name: 'default/my-app', exact: true }).waitFor();
      expect(await page.getByRole('button', { name: 'shop/web', exact: true }).count()).toBe(0);

      // Drag and drop: a broken file dropped on the page opens the dialog with its problem.
      // Browser-side code as a string: the test's tsconfig has no DOM library.
      await page.evaluate(`{
        const dt = new DataTransfer();
        dt.items.add(new File(['kind: Pod\\napiVersion: v1\\nmetadata: {name: p}\\nspec: {containers: 5}\\n'], 'dropped.yaml'));
        document.querySelector('.app').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }`);
      const dropped = page.getByRole('alert', { name: 'problems' });
      await dropped.waitFor();
      expect(await dropped.textContent()).toMatch(/^dropped\.yaml:\d+:\d+: Pod default\/p spec\.containers/);
    });
  },
);

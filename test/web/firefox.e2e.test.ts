// The page in Firefox: Debian's firefox-esr driven over WebDriver BiDi by puppeteer-core (playwright-core only
// drives Playwright's own patched Firefox build). A smoke test: the demo's topology, the seed's north–south
// trace with every hop listed and the VXLAN hop's outer header, and the DNS and reach views answering.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { traceToJson } from '../../src/render/trace-json.js';
import type { RunningServer } from '../../src/server/http.js';
import { traceConnection } from '../../src/trace/index.js';
import type { Twin } from '../../src/twin.js';
import { type DemoServer, startDemoServer } from './demo-server.js';

const FIREFOX = '/usr/bin/firefox-esr';

/** The little of puppeteer-core's API this test uses (it is loaded by name, so its types are not needed). */
interface Page {
  goto(url: string): Promise<unknown>;
  waitForSelector(selector: string, opts?: { timeout?: number }): Promise<unknown>;
  $$eval<T>(selector: string, fn: (els: never[]) => T): Promise<T>;
  $eval<T>(selector: string, fn: (el: never) => T): Promise<T>;
  click(selector: string): Promise<void>;
  type(selector: string, text: string): Promise<void>;
  url(): string;
}
interface Browser {
  newPage(): Promise<Page>;
  version(): Promise<string>;
  close(): Promise<void>;
}
interface Puppeteer {
  launch(opts: Record<string, unknown>): Promise<Browser>;
}

async function loadPuppeteer(): Promise<Puppeteer | undefined> {
  const name = 'puppeteer-core';
  try {
    return ((await import(name)) as { default: Puppeteer }).default;
  } catch {
    return undefined;
  }
}

const puppeteer = await loadPuppeteer();
const haveFirefox = existsSync(FIREFOX);
const missing = [
  ...(haveFirefox ? [] : [`${FIREFOX} (apt-get install -y firefox-esr)`]),
  ...(puppeteer ? [] : ['puppeteer-core (npm install puppeteer-core)']),
];
if (missing.length > 0 && process.env.CI === 'true') {
  // CI must not pass by skipping: "works in Firefox" is only known by running it.
  throw new Error(`the Firefox e2e test needs ${missing.join(' and ')}`);
}

const POD = 'default/my-app-6d8f7b9c5d-m4q9z';

let demo: DemoServer | undefined;
let twin: Twin;
let server: RunningServer;
let browser: Browser;
let page: Page;
let dir: string;

describe.skipIf(missing.length > 0)(
  `the web page in Firefox${missing.length ? ` (skipped: missing ${missing.join(', ')})` : ''}`,
  () => {
    beforeAll(async () => {
      demo = await startDemoServer('kpath-ff-');
      ({ twin, server, dir } = demo);
      browser = await (puppeteer as Puppeteer).launch({
        browser: 'firefox',
        executablePath: FIREFOX,
        headless: true,
        userDataDir: join(dir, 'profile'),
        args: ['--width=1600', '--height=1000'],
        // No telemetry, updates or first-run pages from a throwaway profile.
        extraPrefsFirefox: {
          'app.update.enabled': false,
          'datareporting.policy.dataSubmissionEnabled': false,
          'network.captive-portal-service.enabled': false,
        },
      });
      console.log(`kpath e2e in ${await browser.version()}`);
      page = await browser.newPage();
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await demo?.close();
    });

    test('topology: nodes, devices and pods drawn', async () => {
      await page.goto(server.url);
      await page.waitForSelector('body[data-ready="true"]');
      const ids = await page.$$eval('[data-id]', (els) =>
        els.map((e) => (e as { getAttribute(n: string): string | null }).getAttribute('data-id')),
      );
      for (const id of [
        'ext:client',
        'lb:203.0.113.50',
        'node:node-2',
        'dev:node-2/flannel.1',
        `pod:${POD}`,
      ]) {
        expect(ids, id).toContain(id);
      }
      expect(ids.filter((id) => id?.startsWith('pod:'))).toHaveLength(twin.state.pods.length);
    });

    test("trace: the seed's north–south journey, every hop listed, the VXLAN outer header", async () => {
      await page.goto(`${server.url}?view=trace`);
      await page.waitForSelector('body[data-ready="true"]');
      await page.type(
        'input[name="command"]',
        `kpath trace external 203.0.113.50 --port 80 --endpoint ${POD}`,
      );
      await page.click('.paste button');
      await page.waitForSelector('[data-testid="disposition"]');
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
      const all = [...want.hops, ...(want.return?.hops ?? [])];
      const shown = await page.$$eval('button.hop', (els) =>
        els.map((e) => {
          const el = e as { getAttribute(n: string): string | null };
          return [Number(el.getAttribute('data-hop')), el.getAttribute('data-component')];
        }),
      );
      expect(shown).toEqual(all.map((h) => [h.n, h.component]));
      expect(
        await page.$eval('[data-testid="disposition"]', (e) => (e as { textContent: string }).textContent),
      ).toContain('DELIVERED');
      // The path is drawn: both legs' polylines, the packet, the client and the pod on it.
      expect(await page.$$eval('polyline.path', (els) => els.length)).toBe(2);
      expect(await page.$$eval('[data-id="ext:client"].on-path', (els) => els.length)).toBe(1);
      expect(await page.$$eval(`[data-id="pod:${POD}"].on-path`, (els) => els.length)).toBe(1);
      const encap = all.find((h) => h.action === 'encapsulate');
      await page.click(`button.hop[data-hop="${encap?.n}"]`);
      await page.waitForSelector('[data-testid="hop-detail"] [data-encap="vxlan"]');
      const outer = await page.$$eval(
        '[data-testid="hop-detail"] section[aria-label="after"] [data-encap="vxlan"] tr[data-field^="outer."] td',
        (els) => els.map((e) => (e as { textContent: string }).textContent),
      );
      expect(outer).toEqual(expect.arrayContaining(['192.168.1.12', '192.168.1.11', '8472']));
      expect(new URL(page.url()).searchParams.get('hop')).toBe(String(encap?.n));
    });

    test('DNS and reach views answer', async () => {
      const web = twin.state.pods.find((p) => p.metadata.labels?.app === 'web');
      await page.goto(`${server.url}?view=dns&dname=web&dfrom=shop/${web?.metadata.name}`);
      await page.waitForSelector('[data-testid="dns-result"]');
      expect(
        await page.$eval('[data-testid="dns-result"]', (e) => (e as { textContent: string }).textContent),
      ).toContain('OK');
      await page.goto(`${server.url}?view=reach&rfrom=default&rto=shop&rport=80`);
      await page.waitForSelector('table.reach-matrix button[data-cell]');
      const cells = await page.$$eval('table.reach-matrix button[data-cell]', (els) => els.length);
      expect(cells).toBe(3 * 4);
    });
  },
);

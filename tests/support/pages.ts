// What a browser test file needs around its tests: the app, one Debian Chromium, pages
// sized as a desktop or a phone, and every uncaught error in a page's script failing the
// test that was running (a throw inside Playwright's listener would escape the test).
import { mkdir } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { startTestApp, type TestApp, type TestUser } from './app.js';
import { hasChromium, launchBrowser } from './browser.js';

const SHOTS = process.env.SCREENSHOTS; // a folder to keep screenshots in, for looking at

export function useBrowserPages(opts: { fullPageShots?: boolean } = {}) {
  // A browser test walks a whole flow in two or three Chromium pages: in a full parallel run
  // on two cores one took over 30 s (CI, load 10–18) where alone it takes 5–10.
  vi.setConfig({ testTimeout: 90_000 });
  let app: TestApp | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    // Without Chromium the tests skip (describe.skipIf); with CI set, global setup fails first.
    if (hasChromium) browser = await launchBrowser();
    if (SHOTS) await mkdir(SHOTS, { recursive: true });
  });
  afterEach(() => {
    expect(pageErrors.splice(0), 'uncaught errors in the pages').toEqual([]);
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await app?.close();
  });

  /** A page in a context of its own: DESKTOP or PHONE, plus any other context option. */
  const open = async (device: BrowserContextOptions): Promise<Page> => {
    const context = await browser!.newContext({ ...device, baseURL: app!.baseUrl });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => void pageErrors.push(`${err.name}: ${err.message}`));
    return page;
  };

  return {
    app: (): TestApp => app!,
    open,
    /**
     * Logs `user` in through the login form, on the home page: in a page of its own, or in
     * `page` (another tab of a context that already exists).
     */
    logIn: async (user: TestUser, device: BrowserContextOptions, page?: Page): Promise<Page> => {
      page ??= await open(device);
      page.setDefaultTimeout(8000);
      await page.goto('/login');
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(user.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL((u) => u.pathname === '/');
      return page;
    },
    shot: async (page: Page, name: string): Promise<void> => {
      if (SHOTS) {
        await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: opts.fullPageShots });
      }
    },
  };
}

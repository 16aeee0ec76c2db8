// Every page, as axe-core (the engine behind Lighthouse's accessibility audit) judges it
// against WCAG 2.1 A and AA: desktop and phone, light and dark. And reflow (WCAG 1.4.10):
// at 400 % zoom of a 1280 px window, 320 × 256 CSS px, nothing scrolls sideways and the
// composer can still be reached.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContextOptions, Page } from 'playwright-core';
import { openChat, sendByForm, signUp, type TestUser } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { useBrowserPages } from './support/pages.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const ZOOM_400 = { viewport: { width: 320, height: 256 } };

const pages = useBrowserPages();
let ann: TestUser;
let bo: TestUser;
let chatId: number;

beforeAll(async () => {
  const app = pages.app();
  ann = await signUp(app, { displayName: 'Ann Lee' });
  bo = await signUp(app, { displayName: 'Bo Park' });
  chatId = await openChat(ann, bo);
  await sendByForm(ann, chatId, 'Are we still on for Saturday?');
  await sendByForm(bo, chatId, 'Yes! 10 am at the park. https://example.com/park');
});

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe's WCAG 2.1 A/AA violations on the page as it is now, in words a failure can show. */
async function violations(page: Page): Promise<string[]> {
  // Evaluated, not added as a script tag: the app's CSP (rightly) refuses inline scripts.
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (o: unknown) => Promise<unknown> } }).axe;
    const result = (await axe.run({
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    })) as { violations: Violation[] };
    return result.violations;
  });
  return found.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

const loggedOut = ['/', '/login', '/signup'];
const loggedIn = () => [
  '/',
  `/conversations/${chatId}`,
  '/friends',
  '/account',
  `/search?email=${encodeURIComponent(bo.email)}`,
];

const devices: [string, BrowserContextOptions][] = [
  ['desktop light', DESKTOP],
  ['phone light', PHONE],
  ['desktop dark', { ...DESKTOP, colorScheme: 'dark' }],
  ['phone dark', { ...PHONE, colorScheme: 'dark' }],
];

describe.skipIf(!hasChromium)('accessibility (axe-core, WCAG 2.1 AA)', () => {
  for (const [name, device] of devices) {
    it(`has no violations on any page, ${name}`, async () => {
      const found: string[] = [];
      const visitor = await pages.open(device);
      for (const path of loggedOut) {
        await visitor.goto(path);
        for (const v of await violations(visitor)) found.push(`logged out ${path}: ${v}`);
      }
      const page = await pages.logIn(ann, device);
      for (const path of loggedIn()) {
        await page.goto(path);
        await pages.shot(
          page,
          `a11y-${name.replace(' ', '-')}${path.split('?')[0]!.replaceAll('/', '-')}`,
        );
        for (const v of await violations(page)) found.push(`${path}: ${v}`);
      }
      expect(found).toEqual([]);
    });
  }

  it('reflows at 400 % zoom: no sideways scroll, the composer in reach', async () => {
    const wide: string[] = [];
    const visitor = await pages.open(ZOOM_400);
    for (const path of loggedOut) {
      await visitor.goto(path);
      const width = await visitor.evaluate(() => document.documentElement.scrollWidth);
      if (width > 320) wide.push(`logged out ${path}: ${width} px`);
    }
    const page = await pages.logIn(ann, ZOOM_400);
    for (const path of loggedIn()) {
      await page.goto(path);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 320) wide.push(`${path}: ${width} px`);
    }
    expect(wide).toEqual([]);

    await page.goto(`/conversations/${chatId}`);
    const box = page.getByLabel('Message', { exact: true });
    await box.fill('Still readable at 400 %');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() =>
        page.locator('#messages li.msg').filter({ hasText: 'Still readable at 400 %' }).count(),
      )
      .toBe(1);
  });

  it('shows several messages of a conversation at 320 × 400 (400 % zoom)', async () => {
    const page = await pages.logIn(ann, { viewport: { width: 320, height: 400 } });
    await page.goto(`/conversations/${chatId}`);
    await pages.shot(page, 'a11y-320x400-conversation');
    const visible = await page.evaluate(() => {
      const log = document.getElementById('log')!.getBoundingClientRect();
      return [...document.querySelectorAll('#messages li.msg')].filter((li) => {
        const r = li.getBoundingClientRect();
        return r.top >= log.top - 1 && r.bottom <= log.bottom + 1;
      }).length;
    });
    expect(visible).toBeGreaterThanOrEqual(2);
  }, 30_000);
});

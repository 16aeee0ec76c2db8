// Desktop, two panes (issue 12): picking another conversation in the list opens it on the
// right without a reload; the list stays, and the conversation left behind stops listening.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openChat, sendByForm, signUp, type TestUser } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { useBrowserPages } from './support/pages.js';

const pages = useBrowserPages();
let ann: TestUser;
let bo: TestUser;
let cy: TestUser;
let withBo: number;
let withCy: number;

beforeAll(async () => {
  const app = pages.app();
  ann = await signUp(app, { displayName: 'Ann Lee' });
  bo = await signUp(app, { displayName: 'Bo Park' });
  cy = await signUp(app, { displayName: 'Cy Diaz' });
  withBo = await openChat(ann, bo);
  withCy = await openChat(ann, cy);
  await sendByForm(bo, withBo, 'From Bo, before');
  await sendByForm(cy, withCy, 'From Cy, before');
});

const log = (page: Page) => page.locator('#messages li.msg');
const heading = (page: Page) => page.locator('.chat-head h1');

async function send(page: Page, text: string) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

describe.skipIf(!hasChromium)('switching conversations on a desktop', () => {
  it('opens the other conversation in place, and only it hears what comes', async () => {
    const page = await pages.logIn(ann, DESKTOP);
    await page.goto(`/conversations/${withBo}`);
    await expect
      .poll(() => page.evaluate(() => document.getElementById('log')?.classList.contains('live')))
      .toBe(true);
    // A mark that a page load would wipe, and a scrolled list that a load would reset.
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

    await page.locator('#inbox a', { hasText: 'Cy Diaz' }).click();
    await page.waitForURL((u) => u.pathname === `/conversations/${withCy}`);
    await expect.poll(() => heading(page).textContent()).toBe('Cy Diaz');
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(
      true,
    );
    expect(await page.title()).toContain('Cy Diaz');
    expect(await page.locator('#inbox [aria-current="page"]').textContent()).toContain('Cy Diaz');
    await expect.poll(() => log(page).filter({ hasText: 'From Cy, before' }).count()).toBe(1);

    // Sending goes to Cy's conversation, once; Bo's arriving message stays out of this log.
    await send(page, 'Hello Cy, in place');
    await expect
      .poll(() =>
        log(page)
          .filter({ hasText: 'Hello Cy, in place' })
          .and(page.locator(':not(.pending)'))
          .count(),
      )
      .toBe(1);
    await sendByForm(bo, withBo, 'From Bo, while Ann reads Cy');
    // The list hears it (Bo's conversation moves up with its unread count)...
    await expect.poll(() => page.locator('#inbox li').first().textContent()).toContain('Bo Park');
    // ...the open log does not.
    expect(await log(page).filter({ hasText: 'From Bo, while Ann reads Cy' }).count()).toBe(0);
    const stored = await pages
      .app()
      .pool.query('SELECT conversation_id FROM messages WHERE body = $1', ['Hello Cy, in place']);
    expect(stored.rows).toEqual([{ conversation_id: withCy }]);

    // Back returns to Bo's conversation, with what came meanwhile; listeners were not doubled.
    await page.goBack();
    await page.waitForURL((u) => u.pathname === `/conversations/${withBo}`);
    await expect.poll(() => heading(page).textContent()).toBe('Bo Park');
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(
      true,
    );
    await expect
      .poll(() => log(page).filter({ hasText: 'From Bo, while Ann reads Cy' }).count())
      .toBe(1);
    await sendByForm(bo, withBo, 'From Bo, live');
    await expect.poll(() => log(page).filter({ hasText: 'From Bo, live' }).count()).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await log(page).filter({ hasText: 'From Bo, live' }).count()).toBe(1);
  });

  it('on a phone, the list is its own page: a plain page load', async () => {
    const page = await pages.logIn(ann, PHONE);
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    await page.locator('#inbox a', { hasText: 'Cy Diaz' }).click();
    await page.waitForURL((u) => u.pathname === `/conversations/${withCy}`);
    expect(
      await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed),
    ).toBeUndefined();
  }, 30_000);
});

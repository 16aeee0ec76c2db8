// Desktop, two panes (issue 12): picking another conversation in the list opens it on the
// right without a reload; the list stays, and the conversation left behind stops listening.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openChat, sendByForm, signUp, type TestUser } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { useBrowserPages } from './support/pages.js';
import { fillBusyInbox } from '../bench/busy-inbox.js';

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

describe.skipIf(!hasChromium)('a list longer than 50 conversations', () => {
  it('"Show more conversations" lengthens it in place, and it stays long while switching and when messages come', async () => {
    const app = pages.app();
    const dee = await signUp(app, { displayName: 'Dee Busy' });
    const eve = await signUp(app, { displayName: 'Eve Live' });
    const withEve = await openChat(dee, eve);
    await sendByForm(eve, withEve, 'Hello Dee');
    await fillBusyInbox(app.pool, dee.id, 'Dee Busy'); // 200 more, all newer than Eve's

    const page = await pages.logIn(dee, DESKTOP);
    const rows = page.locator('#inbox li.inbox-item');
    const first = page.locator('#inbox li.inbox-item a').first();
    await first.click(); // the newest conversation, opened in the right pane
    await page.waitForURL((u) => /^\/conversations\/\d+$/.test(u.pathname));
    await expect
      .poll(() => page.evaluate(() => document.getElementById('log')?.classList.contains('live')))
      .toBe(true);
    expect(await rows.count()).toBe(50);
    await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

    await page.getByRole('link', { name: 'Show more conversations' }).click();
    await expect.poll(() => rows.count()).toBe(100);
    await pages.shot(page, 'inbox-show-more-desktop');
    // The keyboard goes on where the new rows start; no page load happened.
    expect(await page.evaluate(() => document.activeElement?.closest('li')?.id)).toBe(
      'inbox-from-50',
    );
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(
      true,
    );

    // A conversation from the second fifty opens beside it; the list keeps its 100 rows.
    const far = rows.nth(70);
    const farId = await far.getAttribute('data-conversation-id');
    await far.locator('a').click();
    await page.waitForURL((u) => u.pathname === `/conversations/${farId}`);
    await expect
      .poll(() => page.locator('#inbox [aria-current="page"]').getAttribute('href'))
      .toBe(`/conversations/${farId}`);
    await expect.poll(() => rows.count()).toBe(100);

    // A message in the oldest conversation (Eve's, 201st) brings it to the top, live, and the
    // list is read again at its length.
    await sendByForm(eve, withEve, 'Still there, Dee?');
    await expect.poll(() => rows.first().textContent()).toContain('Eve Live');
    expect(await rows.count()).toBe(100);
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(
      true,
    );

    // On a phone the list is the home page; its end offers the same link.
    // (The script swaps the list in again when its socket connects: no handle to the old
    // link is kept; the locator finds the link anew, and a click retries on a swapped one.)
    const phone = await pages.logIn(dee, PHONE);
    await phone.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await pages.shot(phone, 'inbox-show-more-phone');
    await phone.getByRole('link', { name: 'Show more conversations' }).click();
    await expect.poll(() => phone.locator('#inbox li.inbox-item').count()).toBe(100);
  });
});

// The conversation reads like a chat (issue 12): groups, day separators, the unread
// divider, two panes on a desktop, one header on a phone, Enter by device, dark mode.
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContextOptions, Page } from 'playwright-core';
import { openChat, sendByForm, signUp, type TestApp, type TestUser } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { useBrowserPages } from './support/pages.js';

const DAY = 86_400_000;

const pages = useBrowserPages();
const { shot } = pages;
let app: TestApp;
let ann: TestUser;
let bo: TestUser;
let chatId: number;

beforeAll(async () => {
  app = pages.app();
  ann = await signUp(app, { displayName: 'Ann Lee' });
  bo = await signUp(app, { displayName: 'Bo Park' });
  chatId = await openChat(ann, bo);
  // Three days of talk: two days ago, yesterday, and three from Bo in a row today.
  const lines: [TestUser, string, number][] = [
    [ann, 'Are we still on for Saturday?', 2 * DAY + 60_000],
    [bo, 'Yes! 10 am at the park.', 2 * DAY],
    [ann, 'See you there 🙂', DAY + 120_000],
    [ann, '🎉🎉', DAY + 60_000],
  ];
  for (const [who, body] of lines) await sendByForm(who, chatId, body);
  const { rows } = await app.pool.query<{ id: number }>(
    'SELECT id FROM messages WHERE conversation_id = $1 ORDER BY id',
    [chatId],
  );
  for (const [i, row] of rows.entries())
    await app.pool.query(
      `UPDATE messages SET created_at = now() - $2 * interval '1 ms' WHERE id = $1`,
      [row.id, lines[i]![2]],
    );
  // Ann read all of that; Bo's next three are new to her.
  await app.pool.query(
    'UPDATE conversation_members SET last_read_message_id = $2 WHERE conversation_id = $1 AND user_id = $3',
    [chatId, rows.at(-1)!.id, ann.id],
  );
  for (const body of ['Morning!', 'Did you get home ok?', 'Call me when you can']) {
    await app.pool.query('SELECT 1'); // keep order readable; form sends are sequential anyway
    await postAs(bo, body);
  }
});
/** Bo's sends through the form also mark Bo's reading; Ann's mark stays where it was. */
async function postAs(who: TestUser, body: string) {
  await sendByForm(who, chatId, body);
}

const logIn = (user: TestUser, device: BrowserContextOptions): Promise<Page> =>
  pages.logIn(user, device);

describe.skipIf(!hasChromium)('a conversation that reads like a chat', () => {
  it('opens at the unread divider without JavaScript (reading there moves no mark), with the list beside it on a desktop', async () => {
    const page = await logIn(ann, { ...DESKTOP, javaScriptEnabled: false });
    const link = page.locator(`#inbox a[href^="/conversations/${chatId}"]`);
    expect(await link.getAttribute('href')).toBe(`/conversations/${chatId}#unread`);
    await link.click();
    await page.waitForURL(/#unread$/);
    // The server rendered both panes: the list and the conversation.
    const list = await page.locator('.pane-list').boundingBox();
    const log = await page.getByRole('log').boundingBox();
    expect(list && log).toBeTruthy();
    expect(list!.x + list!.width).toBeLessThanOrEqual(log!.x + 1);
    expect(await page.locator('.pane-list [aria-current="page"]').count()).toBe(1);
    // The divider is on screen, not scrolled away above the log.
    const divider = await page.locator('#unread').boundingBox();
    expect(divider!.y).toBeGreaterThanOrEqual(log!.y - 1);
    expect(divider!.y).toBeLessThan(log!.y + log!.height);
    await page.context().close();
  });

  it('groups one sender’s messages, names days, and opens at the unread divider', async () => {
    const page = await logIn(ann, DESKTOP);
    await shot(page, 'home-desktop-light');
    await page.locator(`#inbox a[href^="/conversations/${chatId}"]`).first().click();
    const days = page.locator('#messages li.day');
    await expect
      .poll(() => days.allTextContents())
      .toEqual([
        expect.stringMatching(/^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)$/),
        'Yesterday',
        'Today',
      ]);
    // Bo's three messages today make one group: only the first starts it.
    const bos = page.locator('#messages li.msg.theirs');
    expect(await bos.count()).toBe(4);
    expect(await bos.evaluateAll((els) => els.map((e) => e.classList.contains('first')))).toEqual([
      true,
      true,
      false,
      false,
    ]);
    // A direct chat shows no name above the bubbles; the name is still there for screen readers.
    expect(await page.locator('#messages li.msg.named').count()).toBe(0);
    // The time sits in the bubble; the full date is its title.
    const time = page.locator('#messages li.msg .bubble time').first();
    expect(await time.getAttribute('title')).toMatch(/\d{4}/);
    // Two emoji alone are shown larger.
    expect(await page.locator('#messages li.msg.emoji .body').textContent()).toBe('🎉🎉');
    // The divider counts Bo's three new messages and is in view.
    const divider = page.locator('#unread');
    expect(await divider.textContent()).toBe('3 unread messages');
    expect(await divider.isVisible()).toBe(true);
    await shot(page, 'conversation-desktop-light');
    await page.context().close();
  });

  it('on a phone shows one header and Enter makes a new line; Send sends', async () => {
    const page = await logIn(bo, PHONE);
    await page.goto(`/conversations/${chatId}`);
    // The site's nav is off screen inside a conversation; the chat header stays.
    expect(await page.locator('.topbar').isVisible()).toBe(false);
    expect(await page.getByRole('link', { name: 'Back to your conversations' }).isVisible()).toBe(
      true,
    );
    expect(await page.locator('.chat-head .avatar').textContent()).toBe('AL');
    const box = page.getByRole('textbox', { name: 'Message' });
    const oneLine = (await box.boundingBox())!.height;
    expect(oneLine).toBeLessThan(60);
    await box.pressSequentially('first line');
    await box.press('Enter');
    await box.pressSequentially('second line');
    expect(await box.inputValue()).toBe('first line\nsecond line');
    expect((await box.boundingBox())!.height).toBeGreaterThan(oneLine);
    expect(await page.locator('#counter').isVisible()).toBe(false);
    await shot(page, 'conversation-phone-light');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => page.locator('#messages li.msg.mine[data-id] .body').last().textContent())
      .toBe('first line\nsecond line');
    await page.context().close();
  });

  it('on a desktop Enter sends and Shift+Enter makes a new line', async () => {
    const page = await logIn(bo, DESKTOP);
    await page.goto(`/conversations/${chatId}`);
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.pressSequentially('one');
    await box.press('Shift+Enter');
    await box.pressSequentially('two');
    await box.press('Enter');
    await expect
      .poll(() => page.locator('#messages li.msg.mine[data-id] .body').last().textContent())
      .toBe('one\ntwo');
    // The live message joined the group of Bo's messages from a moment ago.
    expect(
      await page
        .locator('#messages li.msg[data-id]')
        .last()
        .evaluate((e) => e.classList.contains('first')),
    ).toBe(false);
    await page.context().close();
  });

  it('follows the system’s dark preference', async () => {
    for (const [device, suffix] of [
      [DESKTOP, 'desktop'],
      [PHONE, 'phone'],
    ] as const) {
      const page = await logIn(ann, { ...device, colorScheme: 'dark' });
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const ink = await page.evaluate(() => getComputedStyle(document.body).color);
      // Dark page, light text.
      const lum = (c: string) =>
        c
          .match(/\d+/g)!
          .slice(0, 3)
          .reduce((n, x) => n + Number(x), 0);
      expect(lum(ink)).toBeGreaterThan(lum(bg) + 300);
      await shot(page, `home-${suffix}-dark`);
      await page.goto(`/conversations/${chatId}`);
      await shot(page, `conversation-${suffix}-dark`);
      await page.goto('/account');
      await shot(page, `account-${suffix}-dark`);
      await page.goto(`/search?email=${encodeURIComponent(bo.email)}`);
      await shot(page, `search-${suffix}-dark`);
      await page.context().close();
    }
  });

  it('changes the display name on the Account page, with the signup’s rules', async () => {
    const user = await signUp(app, { displayName: 'Cy' });
    const page = await logIn(user, PHONE);
    await page.getByRole('link', { name: 'Account' }).click();
    const field = page.getByLabel('Display name');
    expect(await field.inputValue()).toBe('Cy');
    // Only invisible characters: refused in words, with a 400, and nothing changes.
    await field.fill('\u200B\u200B');
    const refused = page.waitForResponse((r) => r.url().endsWith('/account/name'));
    await page.getByRole('button', { name: 'Save name' }).click();
    expect((await refused).status()).toBe(400);
    expect(await page.locator('#e-displayName').textContent()).toContain('Enter a display name');
    await page.getByLabel('Display name').fill('  Cy Twain ');
    await page.getByRole('button', { name: 'Save name' }).click();
    await expect
      .poll(() => page.locator('.notice.success').textContent())
      .toBe('Your display name was changed.');
    expect(await page.getByLabel('Display name').inputValue()).toBe('Cy Twain');
    await shot(page, 'account-phone-light');
    await page.goto('/');
    expect(await page.textContent('h1')).toContain('Cy Twain');
    await page.context().close();
  });
});

// Search, notifications and "Download my data" in a real Chromium: the search box on the home
// page, results that open the conversation at the message; a hidden tab notifies once for
// two tabs, never for a muted conversation; "Turn on notifications" asks only when pressed.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openChat, post, sendByForm, signUp, type TestApp, type TestUser } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { uploaded, png } from './support/files.js';
import { createGroup } from './support/groups.js';
import { useBrowserPages } from './support/pages.js';
import { sleep, until } from './support/wait.js';
import { ask, cookieOf, openSocket } from './support/sockets.js';
import { downloadExport, unzip } from './support/zip.js';

const pages = useBrowserPages({ fullPageShots: true });
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
  for (let i = 1; i <= 40; i++) {
    await sendByForm(
      i % 2 ? bo : ann,
      chatId,
      i === 7
        ? 'The kayak trip is on Saturday, bring https://maps.example.org/lake-route'
        : `small talk ${i}`,
    );
  }
  await sendByForm(bo, chatId, 'Kayaking again next week? Same lake.');
  const cy = await signUp(app, { displayName: 'Cy Moreno' });
  const withCy = await openChat(ann, cy);
  await sendByForm(cy, withCy, 'I found a cheap kayak rental: cy.moreno@example.net has the list');
});

const { logIn } = pages;

describe.skipIf(!hasChromium)('search in a browser', () => {
  for (const [name, device] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`on a ${name}: the box above the conversations finds kayak, highlighted, and a result opens the conversation there`, async () => {
      const page = await logIn(ann, device);
      await page.getByRole('searchbox', { name: 'Search messages' }).fill('kayak');
      await page.getByRole('button', { name: 'Search messages' }).click();
      await page.waitForURL((u) => u.pathname === '/messages/search');
      const results = page.getByRole('list', { name: 'Results' }).getByRole('listitem');
      await expect.poll(() => results.count()).toBe(3);
      await expect.poll(() => page.locator('.hits mark').first().textContent()).toMatch(/^kayak$/i);
      await shot(page, `find-notify-search-${name}`);
      // The oldest result (the trip) opens its conversation with the message in view, marked.
      await results.filter({ hasText: 'trip is on Saturday' }).getByRole('link').click();
      await page.waitForURL((u) => u.pathname === `/conversations/${chatId}`);
      const found = page.locator('.msg.found');
      await expect.poll(() => found.textContent()).toContain('kayak trip');
      await expect.poll(() => found.isVisible()).toBe(true);
      // On screen, whole: between the top and the bottom of the window.
      await expect
        .poll(() =>
          found.evaluate((e) => {
            const r = e.getBoundingClientRect();
            return r.top >= -1 && r.bottom <= window.innerHeight + 1;
          }),
        )
        .toBe(true);
      // The conversation's header stays in view above it (the page itself did not scroll).
      await expect
        .poll(() =>
          page.locator('.chat-head h1').evaluate((e) => e.getBoundingClientRect().top >= 0),
        )
        .toBe(true);
      await shot(page, `find-notify-opened-${name}`);
    });
  }

  it('without JavaScript, the same search works and highlights', async () => {
    const page = await logIn(ann, { ...DESKTOP, javaScriptEnabled: false });
    await page.getByRole('searchbox', { name: 'Search messages' }).fill('example.net');
    await page.getByRole('button', { name: 'Search messages' }).click();
    await expect.poll(() => page.locator('.hits mark').allTextContents()).toEqual(['example.net']);
  });
});

/** Both tabs hidden (as behind another window), and notifications recorded instead of shown. */
const HIDDEN_AND_RECORDED = () => {
  const w = window as unknown as { __notes: Array<{ title: string; body?: string; tag?: string }> };
  w.__notes = [];
  // A plain function, not a class: the script is sent to the page as its source text.
  function Recorded(title: string, opts: { body?: string; tag?: string } = {}) {
    w.__notes.push({ title, ...opts });
  }
  Recorded.permission = 'granted';
  Recorded.requestPermission = () => Promise.resolve('granted');
  (Recorded.prototype as { close?: () => void }).close = () => undefined;
  Object.defineProperty(window, 'Notification', { value: Recorded, configurable: true });
  Object.defineProperty(document, 'visibilityState', { get: () => 'hidden', configurable: true });
  Object.defineProperty(document, 'hidden', { get: () => true, configurable: true });
};

describe.skipIf(!hasChromium)('notifications in a browser', () => {
  it('two hidden tabs notify once for a new message, never for a muted conversation', async () => {
    const first = await pages.open(DESKTOP);
    await first.context().addInitScript(HIDDEN_AND_RECORDED);
    await logIn(bo, DESKTOP, first);
    const second = await first.context().newPage();
    await second.goto('/account');
    await first.goto('/');
    // Both tabs' sockets are up (the inbox refresh on connect has run).
    await sleep(800);
    type Note = { title: string; body: string };
    const notes = async () => [
      ...(await first.evaluate<Note[]>('window.__notes')),
      ...(await second.evaluate<Note[]>('window.__notes')),
    ];

    await sendByForm(ann, chatId, 'Are you coming tonight?');
    await until('a notification', async () => (await notes()).length > 0);
    await sleep(1000); // the other tab would have shown its own by now
    expect(await notes()).toEqual([
      expect.objectContaining({
        title: 'Ann Lee',
        body: 'Are you coming tonight?',
        tag: `conversation-${chatId}`,
      }),
    ]);

    expect(
      (await post(bo.agent, `/conversations/${chatId}/mute`, {}, `/conversations/${chatId}`))
        .status,
    ).toBe(303);
    await sendByForm(ann, chatId, 'muted now');
    await sleep(1500);
    expect(await notes()).toHaveLength(1);
    await post(bo.agent, `/conversations/${chatId}/unmute`, {}, `/conversations/${chatId}`);
  });

  it('asks for permission only when "Turn on notifications" is pressed', async () => {
    const page = await pages.open(DESKTOP);
    await page.context().addInitScript(() => {
      const w = window as unknown as { __asked: number };
      w.__asked = 0;
      const real = Notification.requestPermission.bind(Notification);
      Notification.requestPermission = () => {
        w.__asked++;
        return real();
      };
    });
    await page.context().grantPermissions(['notifications']);
    await logIn(bo, DESKTOP, page);
    await page.goto('/account');
    const button = page.getByRole('button', { name: 'Turn on notifications' });
    await expect.poll(() => button.isVisible()).toBe(true);
    expect(await page.evaluate('window.__asked')).toBe(0);
    await shot(page, 'find-notify-account-desktop');
    await button.click();
    await expect.poll(() => page.evaluate('window.__asked')).toBe(1);
    await expect
      .poll(() => page.locator('#notify-status').textContent())
      .toMatch(/^Notifications are on/);
    await expect
      .poll(() => page.getByRole('button', { name: 'Download my data' }).isVisible())
      .toBe(true);
    const phone = await logIn(bo, PHONE);
    await phone.goto('/account');
    await shot(phone, 'find-notify-account-phone');
  });
});

describe.skipIf(!hasChromium)("a group's notification level in a browser", () => {
  let group: number;
  beforeAll(async () => {
    const cy = await signUp(app, { displayName: 'Cy Moreno' });
    await openChat(ann, cy); // friends, so both are in the group without a request
    group = await createGroup(ann, 'Kayak club', [bo, cy]);
  });

  async function choose(page: Page, level: string) {
    await page.goto(`/conversations/${group}`);
    await page.getByText('Notifications', { exact: true }).click();
    await page.getByRole('radio', { name: level }).check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL((u) => u.pathname === `/conversations/${group}`);
    await page.getByText('Notifications', { exact: true }).click();
    await expect.poll(() => page.getByRole('radio', { name: level }).isChecked()).toBe(true);
  }

  for (const [name, device] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
    ['desktop without JavaScript', { ...DESKTOP, javaScriptEnabled: false }],
  ] as const) {
    it(`on a ${name}: "Notifications" beside Mute offers the three levels, and the choice is kept`, async () => {
      const page = await logIn(bo, device);
      await page.goto(`/conversations/${group}`);
      await expect.poll(() => page.getByRole('button', { name: 'Mute' }).isVisible()).toBe(true);
      await page.getByText('Notifications', { exact: true }).click();
      // Three members: the default is every message.
      expect(await page.getByRole('radio', { name: 'All messages' }).isChecked()).toBe(true);
      await expect
        .poll(() => page.getByRole('group', { name: 'Notify me of' }).getByRole('radio').count())
        .toBe(3);
      await choose(page, 'Only @mentions');
      await shot(page, `group-notify-level-${name.replace(/ /g, '-')}`);
      const { rows } = await app.pool.query<{ notify_level: string }>(
        'SELECT notify_level FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
        [group, bo.id],
      );
      expect(rows[0]!.notify_level).toBe('mentions');
      await choose(page, 'All messages');
      // Left open on the group, this tab would read what the next test sends.
      await page.close();
    });
  }

  it('a hidden tab set to "Only @mentions" notifies for a mention and not for the rest', async () => {
    const page = await pages.open(DESKTOP);
    await page.context().addInitScript(HIDDEN_AND_RECORDED);
    await logIn(bo, DESKTOP, page);
    await choose(page, 'Only @mentions');
    await page.goto('/');
    await sleep(800); // the socket is up
    await sendByForm(ann, group, 'who brings the paddles?');
    await sendByForm(ann, group, '@Bo Park can you?');
    await until(
      'a notification',
      async () => (await page.evaluate<unknown[]>('window.__notes')).length > 0,
      10_000,
    );
    await sleep(1000);
    expect(await page.evaluate('window.__notes')).toEqual([
      expect.objectContaining({ title: 'Ann Lee in Kayak club', body: '@Bo Park can you?' }),
    ]);
    await choose(page, 'All messages');
  });

  it("the export's pages open in a browser from the unzipped folder: the list, a conversation, its picture", async () => {
    const picture = await uploaded(ann.agent, chatId, {
      data: await png(320, 200, '#ffc0cb'),
      name: 'lake.png',
      type: 'image/png',
    });
    const socket = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const sent = await ask(socket, 'message:send', {
      conversationId: chatId,
      body: 'The **lake**, from last week',
      clientId: crypto.randomUUID(),
      attachmentIds: [picture.id],
    });
    socket.close();
    expect(sent.ok).toBe(true);
    const dir = await mkdtemp(path.join(tmpdir(), 'export-'));
    try {
      for (const e of await unzip((await downloadExport(ann)).body as Buffer)) {
        await mkdir(path.dirname(path.join(dir, e.name)), { recursive: true });
        await writeFile(path.join(dir, e.name), e.data);
      }
      for (const [device, name] of [
        [DESKTOP, 'desktop'],
        [{ ...PHONE, colorScheme: 'dark' as const }, 'phone-dark'],
      ] as const) {
        const page = await pages.open({ ...device, javaScriptEnabled: false });
        await page.goto(pathToFileURL(path.join(dir, 'index.html')).href);
        expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('Ann Lee');
        await shot(page, `export-index-${name}`);
        await page.getByRole('link', { name: 'Bo Park' }).click();
        await page.getByText('The kayak trip is on Saturday').waitFor();
        const img = page.locator('img[alt="lake.png"]');
        await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(320);
        expect(await page.locator('strong', { hasText: 'lake' }).count()).toBe(1);
        // Read as a page, not sideways: nothing wider than the screen.
        expect(
          await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        ).toBe(true);
        await shot(page, `export-conversation-${name}`);
        await page.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

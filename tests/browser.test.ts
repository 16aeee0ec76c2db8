// Two people, two real browsers (desktop and phone sized): they find each other
// by email and chat live both ways, with nothing reloading.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { uniqueEmail } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { useBrowserPages } from './support/pages.js';

const { app: currentApp, open, shot } = useBrowserPages({ fullPageShots: false });

async function signUpIn(page: Page, name: string, email: string) {
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect.poll(() => page.textContent('h1')).toContain(`Welcome, ${name}!`); // a new account's first home
}

async function noSidewaysScroll(page: Page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

describe.skipIf(!hasChromium)('two people chatting in real browsers', () => {
  it('Ann (desktop) and Bo (phone) find each other by email and chat live both ways', async () => {
    const ann = await open(DESKTOP);
    const bo = await open(PHONE);
    const annEmail = uniqueEmail('ann');
    const boEmail = uniqueEmail('bo');
    await signUpIn(ann, 'Ann', annEmail);
    await signUpIn(bo, 'Bo', boEmail);
    await shot(ann, 'home-desktop');
    await shot(bo, 'home-phone');

    // Ann searches for Bo, with stray spaces and capitals, and starts a chat.
    await ann.getByRole('link', { name: 'Search' }).click();
    await ann.getByLabel('Email').fill(`  ${boEmail.toUpperCase()} `);
    await ann.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => ann.locator('.result-name').textContent()).toBe('Bo');
    await shot(ann, 'search-desktop');
    // They become friends first (a stranger's first message would be a request: see
    // browser-friends.test.ts): Ann adds Bo, Bo accepts on his Friends page.
    await ann.getByRole('button', { name: 'Add friend' }).click();
    await ann.waitForURL(/\/friends$/);
    await bo.getByRole('link', { name: 'Friends' }).click();
    await bo.getByRole('button', { name: 'Accept' }).click();
    await bo.waitForURL(/\/friends$/);
    await bo.getByRole('link', { name: 'Home' }).click();
    await ann.goto(`/search?email=${encodeURIComponent(boEmail)}`);
    await ann.getByRole('button', { name: 'Message' }).click();
    await ann.waitForURL(/\/conversations\/\d+$/);

    // Sending does not reload the page: a marker on window survives.
    await ann.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const annBox = ann.getByRole('textbox', { name: 'Message' });
    await annBox.fill('Hello Bo! 👋');
    await annBox.press('Enter');
    await expect.poll(() => ann.locator('#messages li.msg.mine[data-id]').count()).toBe(1);
    expect(await ann.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42);
    await expect.poll(() => annBox.inputValue()).toBe('');

    // Bo's inbox updates live: the conversation appears with an unread count, no reload.
    await expect.poll(() => bo.locator('#inbox .inbox-item').count(), { timeout: 10_000 }).toBe(1);
    expect(await bo.locator('#inbox .inbox-item .badge').textContent()).toBe('1');
    expect(await bo.locator('#inbox .preview').textContent()).toContain('Hello Bo!');
    await expect.poll(() => bo.title()).toMatch(/^\(1\) /);
    await shot(bo, 'inbox-unread-phone');

    await bo.locator('#inbox .inbox-item a').click();
    // With unread messages the inbox link opens the conversation at the first of them.
    await bo.waitForURL(/\/conversations\/\d+#unread$/);
    const log = bo.getByRole('log');
    await expect.poll(() => log.textContent()).toContain('Hello Bo! 👋');

    // On the phone the composer is on screen without scrolling, and nothing scrolls sideways.
    const box = await bo.getByRole('textbox', { name: 'Message' }).boundingBox();
    const send = await bo.getByRole('button', { name: 'Send' }).boundingBox();
    expect(box && send).toBeTruthy();
    expect(box!.y + box!.height).toBeLessThanOrEqual(844);
    expect(send!.y + send!.height).toBeLessThanOrEqual(844);
    expect(await noSidewaysScroll(bo)).toBe(true);

    // Bo types: Ann sees "Bo is typing…". On a phone Enter makes a new line; Send sends.
    const boBox = bo.getByRole('textbox', { name: 'Message' });
    await boBox.pressSequentially('Hi Ann');
    await expect.poll(() => ann.locator('#typing').textContent()).toBe('Bo is typing…');
    await boBox.press('Enter');
    await boBox.pressSequentially('second line');
    await bo.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => ann.getByRole('log').textContent(), { timeout: 10_000 })
      .toContain('second line');
    expect(await ann.locator('#messages li.msg.theirs .body').last().textContent()).toBe(
      'Hi Ann\nsecond line',
    );
    await expect.poll(() => ann.locator('#typing').textContent()).toBe('');
    // Ann's message was seen by Bo.
    await expect.poll(() => ann.locator('.receipt').textContent()).toBe('Seen');
    await shot(ann, 'conversation-desktop');
    await shot(bo, 'conversation-phone');

    // An empty message is refused in words, and nothing is sent.
    await boBox.fill('   ');
    await bo.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => bo.locator('#composer-error').textContent())
      .toContain('Write a message first');
    expect(await bo.locator('#messages li.msg').count()).toBe(2);
    expect(await noSidewaysScroll(ann)).toBe(true);
  });

  it('every page fits a 390 px phone with no sideways scroll, and a 1280 px desktop', async () => {
    for (const device of [PHONE, DESKTOP]) {
      const page = await open(device);
      const tag = device === PHONE ? 'phone' : 'desktop';
      await page.goto('/');
      await shot(page, `welcome-${tag}`);
      expect(await noSidewaysScroll(page)).toBe(true);
      await page.goto('/signup');
      await page.getByLabel('Email').fill('not-an-email');
      await page.getByLabel('Display name').fill('A'.repeat(50));
      await page.getByLabel('Password').fill('short');
      await page.getByRole('button', { name: 'Sign up' }).click();
      await expect.poll(() => page.locator('.error').count()).toBeGreaterThan(1);
      await shot(page, `signup-errors-${tag}`);
      expect(await noSidewaysScroll(page)).toBe(true);
      await signUpIn(page, 'W'.repeat(50), uniqueEmail('wide'));
      expect(await noSidewaysScroll(page)).toBe(true);
      for (const path of ['/search', '/account', '/search?email=nobody%40example.com']) {
        await page.goto(path);
        expect(await noSidewaysScroll(page), path).toBe(true);
      }
      await shot(page, `search-none-${tag}`);
      await page.goto('/account');
      await shot(page, `account-${tag}`);
      await page.goto('/login');
      await shot(page, `login-${tag}`);
    }
  });
  it('a reader who scrolled up is not yanked down: "New messages" appears, and older messages load on scrolling to the top', async () => {
    const ann = await open(DESKTOP);
    const bo = await open(PHONE);
    const annEmail = uniqueEmail('ann');
    await signUpIn(ann, 'Ann', annEmail);
    await signUpIn(bo, 'Bo', uniqueEmail('bo'));
    // Bo opens the chat with Ann by her email, as the Search page does.
    await bo.goto(`/search?email=${encodeURIComponent(annEmail)}`);
    await bo.getByRole('button', { name: 'Message' }).click();
    await bo.waitForURL(/\/conversations\/\d+$/);
    const conversationId = Number(/(\d+)$/.exec(bo.url())![1]);
    const annId = Number(await ann.locator('body').getAttribute('data-me'));
    for (let i = 1; i <= 70; i++) {
      await currentApp().ctx.writer.write({
        conversationId,
        senderId: annId,
        clientId: crypto.randomUUID(),
        body: `history ${i}`,
      });
    }
    await bo.reload();
    const items = bo.locator('#messages li.msg');
    expect(await items.count()).toBe(50);
    expect(await items.first().textContent()).toContain('history 21');

    // Scrolling to the top loads the 20 older ones in place, without a page load.
    await bo.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
    await bo.locator('#log').evaluate((log) => log.scrollTo(0, 0));
    await expect.poll(() => items.count()).toBe(70);
    expect(await items.first().textContent()).toContain('history 1');
    expect(await bo.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(7);

    // Bo is reading old messages; a new one arrives: he stays put and is told.
    const before = await bo.locator('#log').evaluate((log) => log.scrollTop);
    await ann.goto(`/conversations/${conversationId}`);
    await ann.getByRole('textbox', { name: 'Message' }).fill('are you there?');
    await ann.getByRole('textbox', { name: 'Message' }).press('Enter');
    await expect.poll(() => bo.locator('#new-messages').isVisible()).toBe(true);
    expect(await bo.locator('#log').evaluate((log) => log.scrollTop)).toBe(before);
    await bo.locator('#new-messages').click();
    await expect
      .poll(() =>
        bo.locator('#log').evaluate((log) => log.scrollHeight - log.scrollTop - log.clientHeight),
      )
      .toBeLessThan(48);
    expect(await items.last().textContent()).toContain('are you there?');
    await expect.poll(() => bo.locator('#new-messages').isVisible()).toBe(false);
    await shot(bo, 'conversation-history-phone');
  });
});

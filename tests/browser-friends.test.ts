// Friends and message requests in real browsers: a stranger's first message arrives as
// a request, answering it starts the chat; a block is silent and final for the blocked.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { uniqueEmail } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { useBrowserPages } from './support/pages.js';

const { open, shot } = useBrowserPages({ fullPageShots: true });

async function signUpIn(page: Page, name: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase());
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect.poll(() => page.textContent('h1')).toContain(`Welcome, ${name}!`); // a new account's first home
  return email;
}

/** Ann finds Bo by email and writes to him: to a stranger, a message request. */
async function firstMessage(ann: Page, boEmail: string, text: string) {
  await ann.goto(`/search?email=${encodeURIComponent(boEmail)}`);
  await ann.getByRole('button', { name: 'Message' }).click();
  await ann.waitForURL(/\/conversations\/\d+$/);
  const box = ann.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  // The Send button, as on any device (on a phone Enter makes a new line).
  await ann.getByRole('button', { name: 'Send' }).click();
  await expect.poll(() => ann.locator('#messages li.msg.mine[data-id]').count()).toBe(1);
}

const noSidewaysScroll = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

// Two browsers and many steps: on a machine busy with other suites they need more than 30 s.
describe.skipIf(!hasChromium)(
  'friends and message requests in real browsers',
  { timeout: 90_000 },
  () => {
    it('a stranger’s message arrives under Requests; Bo accepts it and they chat live', async () => {
      const ann = await open(DESKTOP);
      const bo = await open(PHONE);
      await signUpIn(ann, 'Ann');
      const boEmail = await signUpIn(bo, 'Bo');
      await firstMessage(ann, boEmail, 'Hi Bo, it’s Ann from the book club');
      // Ann sees nothing of Bo yet: no online, no last seen.
      expect(await ann.locator('.chat-sub .presence').count()).toBe(0);

      // Bo's home shows it live under "Requests", not as an unread conversation.
      await expect
        .poll(() => bo.locator('#requests .inbox-item').count(), { timeout: 10_000 })
        .toBe(1);
      expect(await bo.locator('#requests').isVisible()).toBe(true);
      expect(await bo.locator('#inbox .inbox-item').count()).toBe(0);
      expect(await bo.title()).not.toMatch(/^\(/);
      await shot(bo, 'friends-request-home-phone');

      await bo.locator('#requests .inbox-item a').click();
      await bo.waitForURL(/\/conversations\/\d+$/);
      await expect.poll(() => bo.getByRole('log').textContent()).toContain('book club');
      for (const name of ['Accept', 'Decline', 'Block']) {
        expect(await bo.getByRole('button', { name, exact: true }).count(), name).toBe(1);
      }
      expect(await noSidewaysScroll(bo)).toBe(true);
      await shot(bo, 'friends-request-phone');
      await bo.getByRole('button', { name: 'Accept', exact: true }).click();
      await bo.waitForURL(/\/conversations\/\d+$/);
      expect(await bo.getByRole('button', { name: 'Accept', exact: true }).count()).toBe(0);

      // Accepted: a chat like any other, live both ways, Bo now visible to Ann.
      const boBox = bo.getByRole('textbox', { name: 'Message' });
      await boBox.fill('Hello Ann!');
      await bo.getByRole('button', { name: 'Send' }).click(); // Bo is on a phone
      await expect
        .poll(() => ann.getByRole('log').textContent(), { timeout: 10_000 })
        .toContain('Hello Ann!');
      await ann.reload();
      await expect.poll(() => ann.locator('.chat-sub .presence').textContent()).toContain('online');
      await ann.getByRole('textbox', { name: 'Message' }).fill('Great to hear from you');
      await ann.getByRole('textbox', { name: 'Message' }).press('Enter');
      await expect
        .poll(() => bo.getByRole('log').textContent(), { timeout: 10_000 })
        .toContain('Great to hear from you');

      // Friends: Ann adds Bo from a search result, Bo accepts on the Friends page.
      await ann.goto(`/search?email=${encodeURIComponent(boEmail)}`);
      await ann.getByRole('button', { name: 'Add friend' }).click();
      await ann.waitForURL(/\/friends$/);
      expect(await ann.getByRole('button', { name: 'Cancel' }).count()).toBe(1);
      // On a phone a conversation's one header has no site nav: back to the list first.
      await bo.goto('/');
      await bo.getByRole('link', { name: 'Friends' }).click();
      await bo.getByRole('button', { name: 'Accept', exact: true }).click();
      await bo.waitForURL(/\/friends$/);
      await expect
        .poll(() => bo.locator('.person .presence').first().textContent())
        .toContain('online');
      expect(await bo.getByRole('button', { name: 'Message' }).count()).toBe(1);
      expect(await noSidewaysScroll(bo)).toBe(true);
      await shot(bo, 'friends-page-phone');
      await ann.goto('/friends');
      await shot(ann, 'friends-page-desktop');
    });

    it('Bo blocks Ann: she is not told, her sends wait as a request would, and she can no longer find him', async () => {
      const ann = await open(PHONE);
      const bo = await open(DESKTOP);
      const annEmail = await signUpIn(ann, 'Ann');
      const boEmail = await signUpIn(bo, 'Bo');
      await firstMessage(ann, boEmail, 'buy my crypto course');
      await expect
        .poll(() => bo.locator('#requests .inbox-item').count(), { timeout: 10_000 })
        .toBe(1);
      await bo.locator('#requests .inbox-item a').click();
      await bo.waitForURL(/\/conversations\/\d+$/);
      await bo.getByRole('button', { name: 'Block', exact: true }).click();
      await bo.waitForURL((url) => url.pathname === '/');
      expect(await bo.locator('#requests .inbox-item').count()).toBe(0);

      // Ann writes on: two more go through as for any pending request, then "waiting".
      const box = ann.getByRole('textbox', { name: 'Message' });
      for (const text of ['hello?', 'are you there?', 'answer me']) {
        await box.fill(text);
        await ann.getByRole('button', { name: 'Send' }).click(); // Ann is on a phone
      }
      // Her fourth message is refused on the message itself, in words, and not retried by itself.
      await expect
        .poll(() => ann.locator('#messages li.msg.failed').textContent(), { timeout: 10_000 })
        .toMatch(/Not sent — Waiting for them to accept/i);
      expect(await ann.locator('#messages li.msg.failed').count()).toBe(1);
      await shot(ann, 'friends-blocked-conversation-phone');
      // Bo heard none of it, and each answers "no account" for the other's email.
      expect(await bo.locator('#inbox .inbox-item, #requests .inbox-item').count()).toBe(0);
      await ann.goto(`/search?email=${encodeURIComponent(boEmail)}`);
      expect(await ann.getByRole('status').textContent()).toContain('No account uses that email');
      await bo.goto(`/search?email=${encodeURIComponent(annEmail)}`);
      expect(await bo.getByRole('status').textContent()).toContain('No account uses that email');

      // Bo's Account lists her under "Blocked people", with "Unblock".
      await bo.goto('/account');
      expect(await bo.getByRole('heading', { name: 'Blocked people' }).count()).toBe(1);
      expect(await bo.getByRole('button', { name: 'Unblock' }).count()).toBe(1);
      expect(
        await bo.getByRole('checkbox', { name: 'Others can find me by my email' }).isChecked(),
      ).toBe(true);
      await shot(bo, 'friends-account-desktop');
      await bo.getByRole('button', { name: 'Unblock' }).click();
      await bo.waitForURL(/\/account$/);
      expect(await bo.getByRole('button', { name: 'Unblock' }).count()).toBe(0);
    });
  },
);

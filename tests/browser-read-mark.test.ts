// Read receipts in a real browser: only the person looking marks a conversation read.
// Another site (a second origin, 127.0.0.2) that sends the browser to a conversation
// must not move the read mark, so the sender never sees a false "Seen".
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  openChat,
  sendByForm,
  signUp,
  post,
  startTestApp,
  uniqueEmail,
  type TestApp,
  type TestUser,
} from './support/app.js';
import { DESKTOP, hasChromium, launchBrowser } from './support/browser.js';

let app: TestApp;
let browser: Browser;
let context: BrowserContext;
let foreign: http.Server;
let foreignUrl: string;
let target = '/';

beforeAll(async () => {
  app = await startTestApp();
  // The other site: a page that sends whoever opens it to `target` on the chat's origin.
  foreign = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(
      `<!doctype html><p>Cute cats</p><script>location.href = ${JSON.stringify(app.baseUrl + target)};</script>`,
    );
  });
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.2', resolve));
  foreignUrl = `http://127.0.0.2:${(foreign.address() as AddressInfo).port}/`;
  if (hasChromium) browser = await launchBrowser();
});
afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close();
  await new Promise((r) => foreign?.close(r));
  await app?.close();
});

async function readMark(conversationId: number, userId: number): Promise<number> {
  const { rows } = await app.pool.query<{ mark: number }>(
    'SELECT last_read_message_id AS mark FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
    [conversationId, userId],
  );
  return rows[0]!.mark;
}

/** What Ann's own conversation page shows under her last message. */
async function annSeesSeen(ann: TestUser, conversationId: number): Promise<boolean> {
  const page = await ann.agent.get(`/conversations/${conversationId}`);
  return page.text.includes('<p class="receipt">Seen</p>');
}

describe.skipIf(!hasChromium)('read receipts in a real browser', () => {
  it('a page on another site that sends Bo to his conversation does not mark it read; Bo touching the page, or opening it himself, does', async () => {
    context = await browser.newContext({ ...DESKTOP, baseURL: app.baseUrl });
    const bo: Page = await context.newPage();
    const boEmail = uniqueEmail('bo');
    await bo.goto('/signup');
    await bo.getByLabel('Email').fill(boEmail);
    await bo.getByLabel('Display name').fill('Bo');
    await bo.getByLabel('Password').fill('correct horse battery');
    await bo.getByRole('button', { name: 'Sign up' }).click();
    await expect.poll(() => bo.textContent('h1')).toContain('Welcome, Bo!');
    const boId = (
      await app.pool.query<{ id: number }>('SELECT id FROM users WHERE email = $1', [boEmail])
    ).rows[0]!.id;

    const ann = await signUp(app, { displayName: 'Ann' });
    // Friends first (a stranger would not see Bo's read marks): Ann asks, Bo accepts.
    expect((await post(ann.agent, '/friends/requests', { email: boEmail }, '/search')).status).toBe(
      303,
    );
    await bo.goto('/friends');
    await bo.getByRole('button', { name: 'Accept', exact: true }).click();
    await bo.waitForURL(/\/friends$/);
    const conversationId = await openChat(ann, { email: boEmail });
    const first = await sendByForm(ann, conversationId, 'Are you there?');

    // Every event the server hears from a socket, to know when the page has caught up.
    const heard: string[] = [];
    app.io.on('connection', (socket) => socket.onAny((event: string) => heard.push(event)));

    target = `/conversations/${conversationId}`;
    await bo.goto(foreignUrl);
    await bo.waitForURL(`${app.baseUrl}/conversations/${conversationId}`);
    await expect.poll(() => bo.locator('#messages li.msg').count()).toBe(1);
    // The page has synced (the moment it would mark read) and had time to say so.
    await expect.poll(() => heard.includes('sync')).toBe(true);
    await bo.waitForTimeout(700);
    expect(heard.filter((e) => e === 'conversation:read')).toEqual([]);
    expect(await readMark(conversationId, boId)).toBe(0);
    expect(await annSeesSeen(ann, conversationId)).toBe(false);

    // Bo touches the page: now he is reading it.
    await bo.locator('#log').click();
    await expect.poll(() => readMark(conversationId, boId)).toBe(first);
    expect(await annSeesSeen(ann, conversationId)).toBe(true);

    // Positive control: Bo opens the conversation himself, from his inbox.
    const second = await sendByForm(ann, conversationId, 'And now?');
    await bo.goto('/');
    await bo.locator(`#inbox a[href="/conversations/${conversationId}"]`).click();
    await bo.waitForURL(`${app.baseUrl}/conversations/${conversationId}`);
    await expect.poll(() => readMark(conversationId, boId)).toBe(second);
  });
});

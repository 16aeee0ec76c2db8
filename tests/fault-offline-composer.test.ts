// Fault: the browser loses its connection while someone writes. The message
// waits in the outbox (localStorage `chat:outbox:<userId>:<conversationId>`) with "Waiting for the
// connection…", the banner says "Connection lost — reconnecting…", and when the
// network is back the message goes once — also when the page is reloaded at
// that very moment, and when the page is reloaded after the server stored it
// but before the page heard so.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { signUp, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { hasChromium, launchBrowser, DESKTOP } from './support/browser.js';
import {
  closeSockets,
  cookieOf,
  openDirect,
  openSocket,
  record,
  type ClientSocket,
} from './support/sockets.js';
import { sleep, until } from './support/fault.js';
import type { MessageDto } from '../src/shared/protocol.js';

let app: TestApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let ann: TestUser;
let bo: TestUser;
let conversationId: number;
let boSocket: ClientSocket;
let boGot: MessageDto[];
const pageErrors: Error[] = [];
/** How the page was cut off: Playwright's offline emulation, or that plus aborted socket.io requests. */
let method: 'setOffline' | 'setOffline + route abort' = 'setOffline';
let blocked = false;
let offlineEvidence = '';
/** message:send events the server received, by clientId (every attempt, from any page). */
const sendsSeen = new Map<string, number>();
/** socket.io requests of Ann's page that failed while she was cut off. */
const failedWhileOffline: string[] = [];

const outboxKey = () => `chat:outbox:${ann.id}:${conversationId}`;
async function stored(body: string): Promise<number> {
  const { rows } = await app.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM messages WHERE body = $1',
    [body],
  );
  return rows[0]!.n;
}

async function annHasSocket(): Promise<boolean> {
  const sockets = await app.io.in(`user:${ann.id}`).fetchSockets();
  return sockets.length > 0;
}

/** Ann's page is connected and has upgraded from polling to its WebSocket, as a page settles. */
function annSettled(): boolean {
  return [...app.io.sockets.sockets.values()].some(
    (s) => s.data.userId === ann.id && s.conn.transport.name === 'websocket',
  );
}

async function outbox(): Promise<Array<{ clientId: string; body: string }>> {
  const raw = await page.evaluate((k) => localStorage.getItem(k), outboxKey());
  return raw ? (JSON.parse(raw) as Array<{ clientId: string; body: string }>) : [];
}

const banner = () => page.locator('#connection');
const itemsWith = (body: string) => page.locator('#messages li.msg').filter({ hasText: body });

/** Cuts Ann's page off: no network, and the server side of her socket closed so she notices. */
async function goOffline(): Promise<void> {
  // Closing a polling transport in the middle of its upgrade leaves the server side open
  // (until the ping timeout) though the page has let go; a settled page is the real case.
  await until("Ann's page on its WebSocket", annSettled, 10_000);
  await context.setOffline(true);
  if (method !== 'setOffline') await page.route('**/socket.io/**', (r) => r.abort());
  blocked = true;
  // close(true): at once, not after queued packets drain (a drain that never comes would keep
  // the socket open); the client sees its transport close and retries.
  for (const s of app.io.sockets.sockets.values()) if (s.data.userId === ann.id) s.conn.close(true);
  await expect.poll(() => banner().isVisible(), { timeout: 5000 }).toBe(true);
  expect(await banner().textContent()).toBe('Connection lost — reconnecting…');
  await until('the server side of her socket to close', async () => !(await annHasSocket()), 5000);
  // Give the client time to try reconnecting (it backs off 1 s, 2 s…): it must not get through.
  await sleep(2500);
  if ((await annHasSocket()) || !failedWhileOffline.length) {
    // Offline emulation let the reconnect through: block socket.io's requests as well.
    method = 'setOffline + route abort';
    await page.route('**/socket.io/**', (r) => r.abort());
    for (const s of app.io.sockets.sockets.values())
      if (s.data.userId === ann.id) s.conn.close(true);
    await until(
      'the server side of her socket to close',
      async () => !(await annHasSocket()),
      5000,
    );
    await sleep(2500);
  }
  expect(await annHasSocket(), 'the page reconnected although offline').toBe(false);
  offlineEvidence = `${failedWhileOffline.length} socket.io requests refused, e.g. ${failedWhileOffline[0] ?? '-'}`;
  expect(failedWhileOffline.length, 'the page tried to reconnect and was refused').toBeGreaterThan(
    0,
  );
  expect(await banner().isVisible()).toBe(true);
}

async function goOnline(): Promise<void> {
  failedWhileOffline.length = 0;
  await context.setOffline(false);
  if (method !== 'setOffline') await page.unroute('**/socket.io/**');
  blocked = false;
}

/** Types while offline and presses Enter; checks the pending state and the outbox. */
async function typeOffline(body: string): Promise<string> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(body);
  await box.press('Enter');
  const item = itemsWith(body);
  await expect.poll(() => item.count()).toBe(1);
  expect(await item.getAttribute('class')).toContain('pending');
  expect(await item.locator('.state').textContent()).toBe('Waiting for the connection…');
  expect(await item.getAttribute('data-id')).toBeNull();
  const saved = (await outbox()).filter((o) => o.body === body);
  expect(saved).toHaveLength(1);
  await sleep(300);
  expect(await stored(body)).toBe(0);
  return saved[0]!.clientId;
}

/** After the network is back: stored once, shown once and no longer pending, outbox empty, Bo got it once. */
async function expectDeliveredOnce(body: string, clientId: string): Promise<void> {
  await expect.poll(() => stored(body), { timeout: 15_000 }).toBe(1);
  await expect
    .poll(() => page.locator(`#messages li.msg[data-client-id="${clientId}"][data-id]`).count(), {
      timeout: 15_000,
    })
    .toBe(1);
  await expect
    .poll(() => page.locator('#messages li.msg.pending').count(), { timeout: 15_000 })
    .toBe(0);
  await expect.poll(() => outbox(), { timeout: 15_000 }).toEqual([]);
  await expect.poll(() => banner().isVisible(), { timeout: 15_000 }).toBe(false);
  await until(`Bo to receive "${body}"`, () => boGot.some((m) => m.body === body), 10_000);
  await sleep(1000); // a second send, a duplicate event, would show up by now
  expect(await stored(body)).toBe(1);
  expect(await itemsWith(body).count()).toBe(1);
  expect(boGot.filter((m) => m.body === body)).toHaveLength(1);
  const { rows } = await app.pool.query<{ client_id: string }>(
    'SELECT client_id FROM messages WHERE body = $1',
    [body],
  );
  expect(rows[0]!.client_id).toBe(clientId);
}

describe.skipIf(!hasChromium)('writing while offline', () => {
  beforeAll(async () => {
    app = await startTestApp();
    app.io.on('connection', (s) =>
      s.onAny((event: string, payload: { clientId?: string }) => {
        if (event === 'message:send' && payload?.clientId)
          sendsSeen.set(payload.clientId, (sendsSeen.get(payload.clientId) ?? 0) + 1);
      }),
    );
    ann = await signUp(app, { displayName: 'Ann' });
    bo = await signUp(app, { displayName: 'Bo' });
    conversationId = await openDirect(ann, bo);
    boSocket = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    boGot = record(boSocket, 'message:new');
    browser = await launchBrowser();
    context = await browser.newContext({ ...DESKTOP, baseURL: app.baseUrl });
    const cookie = (await cookieOf(ann.agent)).split('=');
    await context.addCookies([
      { name: cookie[0]!, value: cookie.slice(1).join('='), url: app.baseUrl },
    ]);
    page = await context.newPage();
    page.on('pageerror', (err) => void pageErrors.push(err));
    page.on('requestfailed', (r) => {
      if (blocked && r.url().includes('/socket.io/'))
        failedWhileOffline.push(`${r.url().replace(/\?.*/, '')} ${r.failure()?.errorText ?? ''}`);
    });
    await page.goto(`/conversations/${conversationId}`);
    await until("Ann's page to connect", annHasSocket, 10_000);
  }, 60_000);

  afterAll(async () => {
    console.log(`offline composer: cut off with ${method}; ${offlineEvidence}`);
    if (blocked) await goOnline().catch(() => undefined);
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    closeSockets();
    await app?.close();
  });

  it('(a) a message written offline waits, then goes once when the network is back', async () => {
    const t0 = Date.now();
    await goOffline();
    const body = `offline hello ${randomBytes(3).toString('hex')}`;
    const clientId = await typeOffline(body);
    await goOnline();
    await expectDeliveredOnce(body, clientId);
    expect(pageErrors).toEqual([]);
    console.log(
      `(a) ${Date.now() - t0} ms, cut off with ${method}; sends the server saw: ${sendsSeen.get(clientId)}`,
    );
  }, 60_000);

  it('(b) written offline, then back online and reloaded at once: sent from the restored outbox, stored once', async () => {
    const t0 = Date.now();
    await goOffline();
    const body = `offline reload ${randomBytes(3).toString('hex')}`;
    const clientId = await typeOffline(body);
    await goOnline();
    await page.reload();
    await expectDeliveredOnce(body, clientId);
    expect(pageErrors).toEqual([]);
    console.log(`(b) ${Date.now() - t0} ms; sends the server saw: ${sendsSeen.get(clientId)}`);
  }, 60_000);

  it('(c) reloaded after the server stored it but before the page heard so: shown once, not stuck "Sending…"', async () => {
    const t0 = Date.now();
    await goOffline();
    const body = `ack lost ${randomBytes(3).toString('hex')}`;
    const clientId = await typeOffline(body);
    const snapshot = await page.evaluate((k) => localStorage.getItem(k), outboxKey());
    await goOnline();
    await expectDeliveredOnce(body, clientId);
    // The tab is reloaded with the outbox as it was before the ack arrived (the ack was lost).
    await page.evaluate(([k, v]) => localStorage.setItem(k!, v!), [outboxKey(), snapshot]);
    await page.reload();
    await expect.poll(() => annHasSocket(), { timeout: 10_000 }).toBe(true);
    await sleep(1500); // the resend and its ack
    const states = await itemsWith(body).evaluateAll((lis) =>
      lis.map((li) => `${li.className} ${li.querySelector('.state')?.textContent ?? ''}`.trim()),
    );
    console.log(
      `(c) ${Date.now() - t0} ms; sends the server saw: ${sendsSeen.get(clientId)}; items shown for the message: ${JSON.stringify(states)}`,
    );
    expect(await stored(body)).toBe(1);
    expect(boGot.filter((m) => m.body === body)).toHaveLength(1);
    // Soft: each of these is its own symptom, and all of them are worth seeing in a failure.
    expect.soft(states, 'the message is shown once, as stored').toEqual(['msg mine']);
    expect
      .soft(await page.locator('#messages li.msg.pending').count(), 'items left "Sending…"')
      .toBe(0);
    expect.soft(await outbox(), 'the outbox in localStorage after the ack').toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

// The service worker's pushsubscriptionchange (public/sw.js), run as the browser would run
// it but in a vm: its `self`, registration and push manager are stand-ins, its fetch goes
// to the real app with the browser's session cookie. Chromium cannot be made to fire this
// event (its push service is FCM, out of reach here), so the handler is tested this way.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { post, signUp, startTestApp, type TestApp, type TestUser } from '../support/app.js';
import { cookieOf } from '../support/sockets.js';
import { PUSH_KEYS, PUSH_SERVICE } from '../support/fuzz.js';
import { Pusher } from '../../src/features/notifications/pusher.js';

const WORKER = readFileSync(new URL('../../public/sw.js', import.meta.url), 'utf8');
const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:test@example.com' };
const FCM = PUSH_SERVICE;
const keys = PUSH_KEYS;
const bytesOf = (b64url: string) => Buffer.from(b64url, 'base64url');

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
  app.ctx.push = new Pusher(app.pool, app.ctx.notify, app.ctx.logger, { vapid });
});
afterAll(async () => {
  await app?.close();
});

interface FakeSubscription {
  endpoint: string;
  options?: { applicationServerKey: ArrayBuffer };
  getKey(name: string): ArrayBuffer;
}
const fakeSubscription = (endpoint: string, key?: ArrayBuffer): FakeSubscription => ({
  endpoint,
  options: key ? { applicationServerKey: key } : undefined,
  getKey: (name) => {
    const b = bytesOf(name === 'p256dh' ? keys.p256dh : keys.auth);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  },
});

/** Loads sw.js with a browser's cookie (or none); returns its pushsubscriptionchange handler. */
function loadWorker(cookie: string | undefined, subscribed: FakeSubscription) {
  const handlers = new Map<string, (event: unknown) => void>();
  const asked: unknown[] = [];
  const self = {
    addEventListener: (type: string, fn: (event: unknown) => void) => handlers.set(type, fn),
    location: { origin: app.baseUrl },
    registration: {
      pushManager: {
        subscribe: (opts: unknown) => {
          asked.push(opts);
          return Promise.resolve(subscribed);
        },
      },
    },
  };
  const sent: Array<{ path: string; method: string }> = [];
  const browserFetch = (path: string, init: RequestInit = {}) => {
    sent.push({ path, method: init.method ?? 'GET' });
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', cookie);
    return fetch(new URL(path, app.baseUrl), { ...init, headers, redirect: 'manual' });
  };
  vm.runInNewContext(WORKER, {
    self,
    fetch: browserFetch,
    URL,
    URLSearchParams,
    Uint8Array,
    String,
    btoa,
    atob,
  });
  const handle = async (event: {
    oldSubscription?: FakeSubscription;
    newSubscription?: FakeSubscription;
  }) => {
    let waited: Promise<unknown> | undefined;
    handlers.get('pushsubscriptionchange')!({
      ...event,
      waitUntil: (p: Promise<unknown>) => (waited = p),
    });
    await waited;
  };
  return { handle, asked, sent };
}

const endpointsOf = async (u: TestUser) =>
  (
    await app.pool.query<{ endpoint: string; session_id: string }>(
      'SELECT endpoint, session_id FROM push_subscriptions WHERE user_id = $1 ORDER BY id',
      [u.id],
    )
  ).rows;

async function subscribed(u: TestUser, endpoint: string) {
  const res = await post(u.agent, '/push/subscriptions', { endpoint, ...keys }, '/account');
  expect(res.status).toBe(204);
}

describe('the service worker when the push service changes the subscription', () => {
  it('subscribes again with the same server key and replaces the old subscription on the server', async () => {
    const ann = await signUp(app);
    await subscribed(ann, `${FCM}ann-old`);
    const [before] = await endpointsOf(ann);
    const serverKey = bytesOf(vapid.publicKey);
    const key = serverKey.buffer.slice(
      serverKey.byteOffset,
      serverKey.byteOffset + serverKey.length,
    );
    const worker = loadWorker(await cookieOf(ann.agent), fakeSubscription(`${FCM}ann-new`));
    await worker.handle({ oldSubscription: fakeSubscription(`${FCM}ann-old`, key) });
    expect(worker.asked).toEqual([{ userVisibleOnly: true, applicationServerKey: key }]);
    // The new one, in the same session (it ends with it); the old one gone.
    expect(await endpointsOf(ann)).toEqual([
      { endpoint: `${FCM}ann-new`, session_id: before!.session_id },
    ]);
  });

  it("takes the browser's new subscription when it comes with the event, and the server key from the server when the old one is unknown", async () => {
    const bo = await signUp(app);
    const given = loadWorker(await cookieOf(bo.agent), fakeSubscription(`${FCM}unused`));
    await given.handle({ newSubscription: fakeSubscription(`${FCM}bo-given`) });
    expect(given.asked).toEqual([]);
    const made = loadWorker(await cookieOf(bo.agent), fakeSubscription(`${FCM}bo-made`));
    await made.handle({});
    const asked = made.asked[0] as { applicationServerKey: Uint8Array };
    expect(Buffer.from(asked.applicationServerKey).equals(bytesOf(vapid.publicKey))).toBe(true);
    expect((await endpointsOf(bo)).map((r) => r.endpoint)).toEqual([
      `${FCM}bo-given`,
      `${FCM}bo-made`,
    ]);
  });

  it("never removes another person's subscription named as the old one", async () => {
    const [cy, di] = [await signUp(app), await signUp(app)];
    await subscribed(di, `${FCM}di-phone`);
    const worker = loadWorker(await cookieOf(cy.agent), fakeSubscription(`${FCM}cy-new`));
    await worker.handle({ oldSubscription: fakeSubscription(`${FCM}di-phone`) });
    expect((await endpointsOf(di)).map((r) => r.endpoint)).toEqual([`${FCM}di-phone`]);
    expect((await endpointsOf(cy)).map((r) => r.endpoint)).toEqual([`${FCM}cy-new`]);
  });

  it('logged out, sends nothing and stores nothing', async () => {
    const { rows } = await app.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM push_subscriptions',
    );
    const worker = loadWorker(undefined, fakeSubscription(`${FCM}nobody`));
    await worker.handle({ oldSubscription: fakeSubscription(`${FCM}whatever`) });
    expect(worker.sent).toEqual([{ path: '/push/token', method: 'GET' }]);
    const after = await app.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM push_subscriptions',
    );
    expect(after.rows[0]!.n).toBe(rows[0]!.n);
  });

  it('its token is for this site only: no CORS, not cached, and a post without it is refused', async () => {
    const ed = await signUp(app);
    const res = await ed.agent.get('/push/token').set('origin', 'https://evil.example');
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    const forged = await ed.agent
      .post('/push/subscriptions')
      .type('form')
      .send({ endpoint: `${FCM}forged`, ...keys, oldEndpoint: `${FCM}x` });
    expect(forged.status).toBe(403);
    expect(await endpointsOf(ed)).toEqual([]);
  });
});

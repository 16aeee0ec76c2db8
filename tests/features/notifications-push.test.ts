// Web Push against a local push service (the web-push-testing package, on 127.0.0.1 only):
// a message reaches a browser with no tab open, encrypted on the wire; none when a tab is
// open, none to the sender, none for a muted conversation or a message request; reading it
// elsewhere withdraws it; an expired subscription is dropped; only push services' addresses
// are accepted as endpoints.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChat, post, sendByForm, signUp, startTestApp } from '../support/app.js';
import type { TestApp, TestUser } from '../support/app.js';
import { closeSockets, cookieOf, openSocket } from '../support/sockets.js';
import { createGroup } from '../support/groups.js';
import { Pusher } from '../../src/features/notifications/pusher.js';
import { listSubscriptions } from '../../src/features/notifications/db.js';

interface PushModel {
  notifyUrl: string;
  subscribe(
    o: object,
  ): Promise<{ endpoint: string; keys: { p256dh: string; auth: string }; clientHash: string }>;
  getNotifications(o: { clientHash: string }): { messages: string[] };
  expireSubscription(hash: string): void;
}
const require = createRequire(import.meta.url);
const { PushApiModel } = require('web-push-testing/src/PushApiModel.js') as {
  PushApiModel: new () => PushModel;
};
const PushServer = require('web-push-testing/src/server.js') as new (
  m: PushModel,
  port: number,
) => { _app: http.RequestListener; setRequestHandlers(): void };

let app: TestApp;
let service: http.Server;
let model: PushModel;
const wire: string[] = []; // every body sent to the push service, as bytes in latin1
const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:test@example.com' };

beforeAll(async () => {
  app = await startTestApp();
  // The local push service: its own listen() would take every interface, so we listen for it.
  model = new PushApiModel();
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const pushServer = new PushServer(model, port);
  model.notifyUrl = `http://127.0.0.1:${port}/notify/`;
  pushServer.setRequestHandlers();
  service = http.createServer(pushServer._app);
  await new Promise<void>((r) => service.listen(port, '127.0.0.1', r));
  app.ctx.push = new Pusher(app.pool, app.ctx.notify, app.ctx.logger, {
    vapid,
    allowLoopback: true,
    delayMs: 5,
    fetch: async (url, init) => {
      const body = init?.body instanceof Blob ? Buffer.from(await init.body.arrayBuffer()) : null;
      if (body) wire.push(body.toString('latin1'));
      return fetch(url, init);
    },
  });
});
afterAll(async () => {
  closeSockets();
  await new Promise((r) => service?.close(r));
  await app?.close();
});

/** A browser subscribed at the local push service, its subscription given to the app. */
async function subscribe(u: TestUser) {
  const sub = await model.subscribe({
    applicationServerKey: vapid.publicKey,
    userVisibleOnly: 'true',
  });
  const res = await post(
    u.agent,
    '/push/subscriptions',
    {
      endpoint: sub.endpoint,
      p256dh: sub.keys.p256dh,
      auth: sub.keys.auth,
    },
    '/account',
  );
  expect(res.status).toBe(204);
  return {
    hash: sub.clientHash,
    received: () =>
      model
        .getNotifications({ clientHash: sub.clientHash })
        .messages.map((m) => JSON.parse(m) as Record<string, unknown>),
  };
}

const settle = () => app.ctx.push.idle();

describe('Web Push', () => {
  let ann: TestUser;
  let bo: TestUser;
  let chat: number;
  let annPush: Awaited<ReturnType<typeof subscribe>>;
  let boPush: Awaited<ReturnType<typeof subscribe>>;
  beforeAll(async () => {
    [ann, bo] = [
      await signUp(app, { displayName: 'Ann' }),
      await signUp(app, { displayName: 'Bo' }),
    ];
    chat = await openChat(ann, bo);
    annPush = await subscribe(ann);
    boPush = await subscribe(bo);
  });

  it('reaches a browser with no tab open, with the sender and the first line, encrypted on the way', async () => {
    const before = wire.length;
    const id = await sendByForm(ann, chat, 'Otters at the pier\nsecond line stays out');
    await settle();
    const got = boPush.received();
    expect(got).toEqual([
      expect.objectContaining({
        type: 'message',
        title: 'Ann',
        body: 'Otters at the pier',
        tag: `conversation-${chat}`,
        url: `/conversations/${chat}#m${id}`,
      }),
    ]);
    // What the push service carried: aes128gcm ciphertext, no word of the message.
    const sent = wire.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toContain('Otters');
    expect(sent[0]).not.toContain('Ann');
    // Never to the sender.
    expect(annPush.received()).toEqual([]);
  });

  it('asks the full check only about recipients who have a subscription', async () => {
    const [cy, dee] = [
      await signUp(app, { displayName: 'Cy' }),
      await signUp(app, { displayName: 'Dee' }),
    ];
    const quiet = await openChat(cy, dee); // neither has a subscription
    const asked: unknown[][] = [];
    const query = app.pool.query.bind(app.pool);
    const spy = ((text: unknown, values?: unknown[]) => {
      if (typeof text === 'string' && text.includes('WITH q AS')) asked.push(values ?? []);
      return query(text as string, values);
    }) as typeof app.pool.query;
    app.pool.query = spy;
    try {
      await sendByForm(cy, quiet, 'nobody here subscribed');
      await settle();
      expect(asked).toEqual([]); // the subscription lookup said no one: no full check
      const n = boPush.received().length;
      await sendByForm(ann, chat, 'Bo has a subscription');
      await settle();
      expect(asked).toHaveLength(1);
      expect(asked[0]![0]).toEqual([bo.id]);
      expect(boPush.received()).toHaveLength(n + 1);
    } finally {
      app.pool.query = query;
    }
  });

  it('sends nothing while the recipient has a tab open (a socket on any instance)', async () => {
    const tab = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    const n = boPush.received().length;
    await sendByForm(ann, chat, 'heard live');
    await settle();
    expect(boPush.received()).toHaveLength(n);
    tab.disconnect();
  });

  it('withdraws the notification when the message is read elsewhere', async () => {
    const id = await sendByForm(ann, chat, 'read me elsewhere');
    await settle();
    expect(boPush.received().at(-1)).toMatchObject({ type: 'message', body: 'read me elsewhere' });
    const res = await post(
      bo.agent,
      `/conversations/${chat}/read`,
      { messageId: String(id) },
      `/conversations/${chat}`,
    );
    expect(res.status).toBe(303);
    await settle();
    expect(boPush.received().at(-1)).toEqual({
      type: 'read',
      tag: `conversation-${chat}`,
      conversationId: chat,
    });
    // A second read mark has nothing left to withdraw: no push.
    const n = boPush.received().length;
    await post(
      bo.agent,
      `/conversations/${chat}/read`,
      { messageId: String(id) },
      `/conversations/${chat}`,
    );
    await settle();
    expect(boPush.received()).toHaveLength(n);
  });

  it('sends nothing for a muted conversation, and again after Unmute', async () => {
    expect(
      (await post(bo.agent, `/conversations/${chat}/mute`, {}, `/conversations/${chat}`)).status,
    ).toBe(303);
    expect((await bo.agent.get(`/conversations/${chat}`)).text).toMatch(
      /<button[^>]*aria-pressed="true"><span class="tool-icon" aria-hidden="true">[^<]*<\/span><span class="tool-label">Unmute<\/span><\/button>/,
    );
    const n = boPush.received().length;
    await sendByForm(ann, chat, 'while muted');
    await settle();
    expect(boPush.received()).toHaveLength(n);
    await post(bo.agent, `/conversations/${chat}/unmute`, {}, `/conversations/${chat}`);
    await sendByForm(ann, chat, 'after unmute');
    await settle();
    expect(boPush.received().at(-1)).toMatchObject({ body: 'after unmute' });
  });

  it('hides the text when "Show message text in notifications" is off: it never reaches the push service', async () => {
    await post(bo.agent, '/account/notifications', {}, '/account'); // the box unticked
    expect((await bo.agent.get('/account')).text).not.toMatch(/name="notifyText" checked/);
    await sendByForm(ann, chat, 'secret plans');
    await settle();
    const last = boPush.received().at(-1)!;
    expect(last).toMatchObject({ title: 'Ann', body: 'New message' });
    expect(JSON.stringify(last)).not.toContain('secret');
    await post(bo.agent, '/account/notifications', { notifyText: 'on' }, '/account');
  });

  it('sends nothing for a message request from a stranger, nor from someone blocked', async () => {
    const cy = await signUp(app);
    const request = await openChat(cy, { email: bo.email });
    const n = boPush.received().length;
    await sendByForm(cy, request, 'hello stranger');
    await settle();
    expect(boPush.received()).toHaveLength(n);
    // A friend Bo then blocks: their messages wake nothing.
    const eve = await signUp(app);
    const withEve = await openChat(eve, bo);
    const blocked = await post(
      bo.agent,
      `/conversations/${withEve}/block`,
      {},
      `/conversations/${withEve}`,
    );
    expect(blocked.status).toBe(303);
    await sendByForm(eve, withEve, 'from a blocked friend');
    await settle();
    expect(boPush.received()).toHaveLength(n);
  });

  it('drops a subscription the push service says is gone (410)', async () => {
    const di = await signUp(app);
    const withDi = await openChat(ann, di);
    const diPush = await subscribe(di);
    model.expireSubscription(diPush.hash);
    await sendByForm(ann, withDi, 'to an expired browser');
    await settle();
    const { rows } = await app.pool.query('SELECT 1 FROM push_subscriptions WHERE user_id = $1', [
      di.id,
    ]);
    expect(rows).toEqual([]);
  });

  it('accepts only push services as endpoints (no way to make the server call any address)', async () => {
    for (const endpoint of [
      'http://10.0.0.1/notify/x',
      'https://127.0.0.2/x',
      'https://fcm.googleapis.com.evil.example/x',
      'https://fcm.googleapis.com:8443/x',
      'file:///etc/passwd',
      'not a url',
    ]) {
      const res = await post(
        bo.agent,
        '/push/subscriptions',
        {
          endpoint,
          p256dh: 'B'.repeat(87),
          auth: 'a'.repeat(22),
        },
        '/account',
      );
      expect(res.status, endpoint).toBe(400);
    }
    const ok = await post(
      bo.agent,
      '/push/subscriptions',
      {
        endpoint: 'https://fcm.googleapis.com/fcm/send/abc',
        p256dh: 'B'.repeat(87),
        auth: 'a'.repeat(22),
      },
      '/account',
    );
    expect(ok.status).toBe(204);
    // A few browsers, not thousands: past ten the oldest subscription goes.
    for (let i = 0; i < 12; i++) {
      const more = await post(
        bo.agent,
        '/push/subscriptions',
        {
          endpoint: `https://fcm.googleapis.com/fcm/send/more-${i}`,
          p256dh: 'B'.repeat(87),
          auth: 'a'.repeat(22),
        },
        '/account',
      );
      expect(more.status).toBe(204);
    }
    const kept = await app.pool.query<{ endpoint: string }>(
      'SELECT endpoint FROM push_subscriptions WHERE user_id = $1 ORDER BY endpoint',
      [bo.id],
    );
    expect(kept.rows).toHaveLength(10);
    expect(kept.rows.map((r) => r.endpoint)).not.toContain(
      'https://fcm.googleapis.com/fcm/send/abc',
    );
    expect(kept.rows.map((r) => r.endpoint)).toContain(
      'https://fcm.googleapis.com/fcm/send/more-11',
    );
    // Never sent to: this test reaches no outside address.
    await app.pool.query(`DELETE FROM push_subscriptions WHERE endpoint LIKE 'https://%'`);
  });
});

describe('a subscription ends with its session', () => {
  it('after Log out the device is pushed nothing more, and its subscription is gone', async () => {
    const dee = await signUp(app, { displayName: 'Dee' });
    const made = await post(
      dee.agent,
      '/push/subscriptions',
      {
        endpoint: 'https://fcm.googleapis.com/fcm/send/dee-phone',
        p256dh: 'B'.repeat(87),
        auth: 'a'.repeat(22),
      },
      '/account',
    );
    expect(made.status).toBe(204);
    expect((await listSubscriptions(app.pool, [dee.id])).map((x) => x.endpoint)).toEqual([
      'https://fcm.googleapis.com/fcm/send/dee-phone',
    ]);
    expect((await post(dee.agent, '/logout', {}, '/account')).status).toBe(303);
    expect(await listSubscriptions(app.pool, [dee.id])).toEqual([]);
    const { rows } = await app.pool.query('SELECT 1 FROM push_subscriptions WHERE user_id = $1', [
      dee.id,
    ]);
    expect(rows).toHaveLength(0);
  });
});

describe("a group's notification levels", () => {
  const bodies = (p: { received(): Array<Record<string, unknown>> }) =>
    p.received().map((m) => m.body);
  /** Added by someone who is not a friend, a member first answers the invitation. */
  const accept = async (g: number, ...people: TestUser[]) => {
    for (const u of people)
      expect(
        (await post(u.agent, `/conversations/${g}/accept`, {}, `/conversations/${g}`)).status,
      ).toBe(303);
  };

  it('"All messages" gets every message, "Only @mentions" those naming them, "Nothing" none', async () => {
    const [ann, bo, cy, di] = [
      await signUp(app, { displayName: 'Ann' }),
      await signUp(app, { displayName: 'Bo' }),
      await signUp(app, { displayName: 'Cy' }),
      await signUp(app, { displayName: 'Di' }),
    ];
    const g = await createGroup(ann, 'Levels', [bo, cy, di]);
    await accept(g, bo, cy, di);
    const set = (u: TestUser, level: string) =>
      post(u.agent, `/conversations/${g}/notify-level`, { level }, `/conversations/${g}`);
    expect((await set(bo, 'all')).status).toBe(303);
    expect((await set(cy, 'mentions')).status).toBe(303);
    expect((await set(di, 'nothing')).status).toBe(303);
    // The page shows each one's choice.
    expect((await cy.agent.get(`/conversations/${g}`)).text).toMatch(
      /<input type="radio" name="level" value="mentions" checked> Only @mentions/,
    );
    const [boPush, cyPush, diPush] = [
      await subscribe(bo),
      await subscribe(cy),
      await subscribe(di),
    ];
    await sendByForm(ann, g, 'plain news');
    await sendByForm(ann, g, 'look @Cy');
    await sendByForm(ann, g, '@Di are you there');
    await sendByForm(ann, g, 'a note to @Cyril, not Cy');
    await sendByForm(ann, g, '@everyone lunch');
    await settle();
    expect(bodies(boPush)).toEqual([
      'plain news',
      'look @Cy',
      '@Di are you there',
      'a note to @Cyril, not Cy',
      '@everyone lunch',
    ]);
    expect(bodies(cyPush)).toEqual(['look @Cy', '@everyone lunch']);
    expect(bodies(diPush)).toEqual([]);
    // A tab asks the same rule (Notification API): Cy's hidden tab shows only the mention.
    const ids = await app.pool.query<{ id: number; body: string }>(
      'SELECT id, body FROM messages WHERE conversation_id = $1 AND kind <> $2 ORDER BY id',
      [g, 'system'],
    );
    const tab = async (u: TestUser, body: string) => {
      const id = ids.rows.find((r) => r.body === body)!.id;
      return ((await u.agent.get(`/notifications/${id}`)).body as { notify: boolean }).notify;
    };
    expect(await tab(cy, 'plain news')).toBe(false);
    expect(await tab(cy, 'look @Cy')).toBe(true);
    expect(await tab(di, '@Di are you there')).toBe(false);
    expect(await tab(bo, 'plain news')).toBe(true);
    // Mute still silences "All messages".
    await post(bo.agent, `/conversations/${g}/mute`, {}, `/conversations/${g}`);
    await sendByForm(ann, g, 'while Bo muted');
    await settle();
    expect(bodies(boPush)).not.toContain('while Bo muted');
  });

  it('in a group of more than 20, the default is "Only @mentions", and @everyone counts from admins only', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const ed = await signUp(app, { displayName: 'Ed' });
    const fay = await signUp(app, { displayName: 'Fay' });
    const crowd = await Promise.all(
      Array.from({ length: 19 }, (_, i) => signUp(app, { displayName: `Crowd ${i}` })),
    );
    const g = await createGroup(ann, 'Big group', [ed, fay, ...crowd]); // 22 members
    await accept(g, ed, fay);
    const edPage = (await ed.agent.get(`/conversations/${g}`)).text;
    expect(edPage).toMatch(
      /value="mentions" checked> Only @mentions[\s\S]*The default for a group of 22/,
    );
    const edPush = await subscribe(ed);
    await sendByForm(ann, g, 'news for all');
    await sendByForm(ann, g, 'thanks @Ed');
    await sendByForm(fay, g, '@everyone from a member');
    await sendByForm(ann, g, '@everyone from the owner');
    await settle();
    expect(bodies(edPush)).toEqual(['thanks @Ed', '@everyone from the owner']);
    // Choosing "All messages" overrides the default.
    await post(
      ed.agent,
      `/conversations/${g}/notify-level`,
      { level: 'all' },
      `/conversations/${g}`,
    );
    await sendByForm(ann, g, 'now everything');
    await settle();
    expect(bodies(edPush).at(-1)).toBe('now everything');
  });

  it('refuses a level that is not one of the three, in a conversation of two, or in a group not mine', async () => {
    const [ann, bo, cy] = [await signUp(app), await signUp(app), await signUp(app)];
    const g = await createGroup(ann, 'Mine', [bo]);
    await accept(g, bo);
    const chat = await openChat(ann, cy);
    const level = async (u: TestUser, id: number, form: Record<string, string>) =>
      (await post(u.agent, `/conversations/${id}/notify-level`, form, `/conversations/${g}`))
        .status;
    expect(await level(bo, g, { level: 'loud' })).toBe(400);
    expect(await level(bo, g, {})).toBe(400);
    expect(await level(bo, chat, { level: 'nothing' })).toBe(404); // not Bo's
    expect(await level(ann, chat, { level: 'nothing' })).toBe(400); // a conversation of two
    expect(await level(cy, g, { level: 'nothing' })).toBe(404);
    const { rows } = await app.pool.query(
      'SELECT notify_level FROM conversation_members WHERE notify_level IS NOT NULL AND conversation_id = ANY($1)',
      [[g, chat]],
    );
    expect(rows).toEqual([]);
  });
});

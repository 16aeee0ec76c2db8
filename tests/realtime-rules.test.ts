// Who may use a socket and what they may see: handshake, logout, membership,
// bad payloads and account deletion.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { post, signUp, startTestApp, type TestApp, type TestUser } from './support/app.js';
import {
  ask,
  askRaw,
  closeSockets,
  connect,
  connected,
  cookieOf,
  disconnection,
  emitRaw,
  logInAgain,
  openDirect,
  openSocket,
  openTabs,
  record,
  refusal,
  send,
  sleep,
  until,
  type ClientSocket,
} from './support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterEach(() => closeSockets());
afterAll(async () => {
  closeSockets();
  await app?.close();
});

async function pair(): Promise<{ ann: TestUser; bo: TestUser; conversationId: number }> {
  const ann = await signUp(app, { displayName: 'Ann' });
  const bo = await signUp(app, { displayName: 'Bo' });
  return { ann, bo, conversationId: await openDirect(ann, bo) };
}

const socketOf = async (user: TestUser) => openSocket(app.baseUrl, await cookieOf(user.agent));
const countMessages = async () =>
  (await app.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM messages')).rows[0]!.n;
const readMark = async (conversationId: number, userId: number) =>
  (
    await app.pool.query<{ mark: number }>(
      'SELECT last_read_message_id AS mark FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
      [conversationId, userId],
    )
  ).rows[0]!.mark;

describe('who may open a socket', () => {
  it('a socket without a logged-in session is refused at the handshake', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const real = await cookieOf(ann.agent);
    const visitor = request.agent(app.baseUrl);
    await visitor.get('/login'); // a session with a CSRF token but nobody logged in
    const visitorCookie = await cookieOf(visitor).catch(() => 'chat.sid=none');
    for (const cookie of [
      undefined,
      'chat.sid=made-up',
      'chat.sid=s%3AnotARealSessionId.c2lnbmF0dXJl',
      `${real.slice(0, real.lastIndexOf('.'))}.forgedSignature`,
      visitorCookie,
    ]) {
      const err = await refusal(app.baseUrl, cookie);
      expect(err.message, String(cookie)).toBe('unauthorized');
    }
    // The real cookie does connect, so the refusals above are about the cookie.
    expect((await openSocket(app.baseUrl, real)).connected).toBe(true);
  });

  it('a page on another site cannot open a socket with your cookie', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const cookie = await cookieOf(ann.agent);
    const evil = { origin: 'https://evil.example' };
    // The handshake itself says why: Engine.IO's "Forbidden", not a timeout or a crash.
    const handshake = (headers: Record<string, string>) =>
      request(app.baseUrl)
        .get('/socket.io/')
        .query({ EIO: '4', transport: 'polling' })
        .set({ cookie, ...headers })
        .timeout(3000);
    const refused = await handshake(evil);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text)).toEqual({ code: 4, message: 'Forbidden' });
    expect((await handshake({ origin: app.baseUrl })).status).toBe(200);
    // And a real client is refused at once with the transport's error, for that origin only.
    expect((await refusal(app.baseUrl, cookie, evil)).message).toBe('websocket error');
    const sameSite = await connected(connect(app.baseUrl, cookie, { origin: app.baseUrl }));
    expect(sameSite.connected).toBe(true);
  });

  it('logging out disconnects the sockets of that session only; another session of the same user stays connected', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const laptopCookie = await cookieOf(ann.agent);
    const [tab1, tab2] = (await openTabs(app, ann, 2)) as [ClientSocket, ClientSocket];
    const phone = await openSocket(app.baseUrl, (await logInAgain(app, ann)).cookie);
    let phoneDropped = false;
    phone.on('disconnect', () => (phoneDropped = true));
    const gone = Promise.all([disconnection(tab1), disconnection(tab2)]);

    const res = await post(ann.agent, '/logout', {}, '/');
    expect(res.status).toBe(303);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    await sleep(250);
    expect(phone.connected).toBe(true);
    expect(await ask(phone, 'inbox:sync', {})).toEqual({ ok: true, unread: [] });
    expect(phoneDropped).toBe(false);
    // The old cookie is dead for sockets too.
    expect((await refusal(app.baseUrl, laptopCookie)).message).toBe('unauthorized');
  });
});

describe('membership', () => {
  it('someone who is not a member gets the same not_found as for a missing conversation, and overhears nothing', async () => {
    const { ann, bo, conversationId } = await pair();
    const eve = await signUp(app, { displayName: 'Eve' });
    const [annTab, boTab, eveTab] = await Promise.all([socketOf(ann), socketOf(bo), socketOf(eve)]);
    const overheard = (['message:new', 'typing', 'conversation:read'] as const).map((e) =>
      record(eveTab, e),
    );
    const before = await countMessages();
    const first = await send(annTab, conversationId, 'just between us');
    // Bo is the control: from here on his tab should hear everything Eve must not.
    const heardByBo = (['message:new', 'typing', 'conversation:read'] as const).map((e) =>
      record(boTab, e),
    );

    const attempts = (id: number) =>
      Promise.all([
        askRaw(eveTab, 'message:send', {
          conversationId: id,
          body: 'let me in',
          clientId: crypto.randomUUID(),
        }),
        askRaw(eveTab, 'sync', { conversationId: id, after: 0 }),
        askRaw(eveTab, 'conversation:read', { conversationId: id, messageId: first.id }),
        askRaw(eveTab, 'typing', { conversationId: id, typing: true }),
      ]);
    const notMine = await attempts(conversationId);
    const missing = await attempts(999_999_999);
    expect(notMine).toEqual(missing);
    for (const r of notMine) {
      expect(r).toEqual({
        ok: false,
        error: { code: 'not_found', message: expect.any(String) as unknown },
      });
    }
    expect(await countMessages()).toBe(before + 1);
    expect(await readMark(conversationId, ann.id)).toBe(0);

    // What the members do meanwhile stays between them.
    await send(annTab, conversationId, 'still private');
    await ask(annTab, 'typing', { conversationId, typing: true });
    await ask(boTab, 'conversation:read', { conversationId, messageId: first.id });
    // Positive control: a member's tab hears all three, so silence at Eve's means something.
    await until('Bo to hear the message, the typing and the read mark', () =>
      heardByBo.every((l) => l.length > 0),
    );
    await sleep(300);
    expect(overheard).toEqual([[], [], []]);
  });
});

describe('malformed payloads', () => {
  it('garbage on every event is answered with invalid or not_found, stores nothing, and the socket keeps working', async () => {
    const { ann, bo, conversationId: c } = await pair();
    const annTab = await socketOf(ann);
    const boTab = await socketOf(bo);
    const boGot = record(boTab, 'message:new');
    const uuid = () => crypto.randomUUID();
    const nested = { conversationId: { id: c }, body: { text: 'hi' }, clientId: { uuid: uuid() } };
    const common: unknown[] = [
      undefined,
      null,
      42,
      'hello',
      true,
      {},
      [],
      [{ conversationId: c }],
      nested,
    ];
    const perEvent: Record<string, unknown[]> = {
      'message:send': [
        { conversationId: 'x' },
        { conversationId: 1, body: 42 },
        { conversationId: c, body: 'x'.repeat(5000), clientId: uuid() },
        { conversationId: c, body: '   ', clientId: uuid() },
        { conversationId: c, body: ' \n\t ', clientId: uuid() },
        { conversationId: c, body: 'hi', clientId: 'not-a-uuid' },
        { conversationId: c, body: 'hi' },
        { conversationId: c, body: ['hi'], clientId: uuid() },
        { conversationId: c, body: 'a\u0000b', clientId: uuid() },
        { conversationId: -1, body: 'hi', clientId: uuid() },
        { conversationId: 1.5, body: 'hi', clientId: uuid() },
        { conversationId: '99999999999999999999', body: 'hi', clientId: uuid() },
        { conversationId: 0, body: 'hi', clientId: uuid() },
      ],
      sync: [
        { conversationId: 'x', after: 0 },
        { conversationId: c },
        { conversationId: c, after: -1 },
        { conversationId: c, after: 1.5 },
        { conversationId: c, after: 'x' },
        { conversationId: c, after: null },
        { conversationId: c, after: 1e300 },
        { conversationId: c, after: { gt: 0 } },
      ],
      'conversation:read': [
        { conversationId: c },
        { conversationId: c, messageId: 0 },
        { conversationId: c, messageId: -5 },
        { conversationId: c, messageId: 'x' },
        { conversationId: c, messageId: { id: 1 } },
      ],
      typing: [
        { conversationId: c },
        { conversationId: c, typing: 'yes' },
        { conversationId: c, typing: 1 },
        { conversationId: 'x', typing: true },
      ],
    };
    const before = await countMessages();
    for (const [event, specific] of Object.entries(perEvent)) {
      for (const payload of [...common, ...specific]) {
        const res = await askRaw(annTab, event, payload);
        const label = `${event} ${JSON.stringify(payload)?.slice(0, 80)}`;
        expect(res, label).toEqual({
          ok: false,
          error: { code: expect.any(String) as unknown, message: expect.any(String) as unknown },
        });
        const { code, message } = (res as { error: { code: string; message: string } }).error;
        expect(['invalid', 'not_found'], label).toContain(code);
        expect(message.length, label).toBeGreaterThan(0);
      }
    }
    // inbox:sync takes no parameters: whatever comes along is ignored.
    for (const payload of [...common, { conversationId: c }]) {
      expect(await askRaw(annTab, 'inbox:sync', payload)).toEqual({
        ok: true,
        unread: expect.any(Array) as unknown,
      });
    }
    expect(await countMessages()).toBe(before);
    expect(await readMark(c, ann.id)).toBe(0);

    const good = await send(annTab, c, 'this one is fine');
    await until('Bo to get the good message', () => boGot.length > 0);
    expect(boGot).toEqual([good]);
  });

  it('the error says what is wrong with the message', async () => {
    const { ann, conversationId } = await pair();
    const annTab = await socketOf(ann);
    const res = await askRaw(annTab, 'message:send', {
      conversationId,
      body: 'x'.repeat(5000),
      clientId: crypto.randomUUID(),
    });
    expect(res).toEqual({
      ok: false,
      error: {
        code: 'invalid',
        message: 'Messages are at most 4,000 characters; this one has 5,000.',
      },
    });
  });

  it('ids sent as arrays or booleans are refused as invalid, not coerced into numbers', async () => {
    const { ann, bo, conversationId: c } = await pair();
    const annTab = await socketOf(ann);
    const m = await send(annTab, c, 'to be read');
    const boTab = await socketOf(bo);
    const before = await countMessages();
    const tries: Array<[string, unknown]> = [
      ['message:send', { conversationId: [c], body: 'sneaky', clientId: crypto.randomUUID() }],
      ['message:send', { conversationId: true, body: 'sneaky', clientId: crypto.randomUUID() }],
      ['sync', { conversationId: [c], after: 0 }],
      ['typing', { conversationId: [c], typing: true }],
      ['conversation:read', { conversationId: c, messageId: [m.id] }],
    ];
    const answers: Record<string, unknown> = {};
    for (const [event, payload] of tries) {
      const res = (await askRaw(
        event === 'conversation:read' ? boTab : annTab,
        event,
        payload,
      )) as {
        error?: { code: string };
      };
      answers[`${event} ${JSON.stringify(payload)}`] = res.error?.code ?? 'accepted';
    }
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((k) => [k, 'invalid'])));
    expect(await countMessages()).toBe(before);
    expect(await readMark(c, bo.id)).toBe(0);
  });

  it('events sent without an ack function do not crash the server, and a valid send is still stored and delivered', async () => {
    const { ann, bo, conversationId } = await pair();
    const annTab = await socketOf(ann);
    const boTab = await socketOf(bo);
    const boGot = record(boTab, 'message:new');
    for (const event of [
      'message:send',
      'sync',
      'conversation:read',
      'typing',
      'inbox:sync',
      'no-such-event',
    ]) {
      emitRaw(annTab, event);
      emitRaw(annTab, event, null);
      emitRaw(annTab, event, { conversationId, body: 42 });
      emitRaw(annTab, event, { conversationId }, 'not a function');
    }
    const clientId = crypto.randomUUID();
    emitRaw(annTab, 'message:send', { conversationId, body: 'sent without an ack', clientId });
    await until('Bo to get the ack-less message', () => boGot.length > 0);
    expect(boGot[0]).toMatchObject({ clientId, body: 'sent without an ack' });
    const next = await send(annTab, conversationId, 'and with one');
    expect(annTab.connected).toBe(true);
    expect(next.id).toBeGreaterThan(boGot[0]!.id);
  });

  it('an event sent with only an ack function (no payload) still gets an answer', async () => {
    const { ann } = await pair();
    const annTab = await socketOf(ann);
    const raw = annTab as unknown as {
      timeout(ms: number): { emitWithAck(ev: string): Promise<unknown> };
    };
    expect(await raw.timeout(2000).emitWithAck('inbox:sync')).toMatchObject({ ok: true });
    expect(await raw.timeout(2000).emitWithAck('message:send')).toMatchObject({
      ok: false,
      error: { code: 'invalid' },
    });
  });
});

describe('account deletion', () => {
  it('deleting an account disconnects all its sockets and leaves its messages to the others as from "Deleted user"', async () => {
    const { ann, bo, conversationId } = await pair();
    const annCookie = await cookieOf(ann.agent);
    const annTabs = await openTabs(app, ann, 2);
    const annPhone = await openSocket(app.baseUrl, (await logInAgain(app, ann)).cookie);
    const boTab = await socketOf(bo);
    const sent = [
      await send(annTabs[0]!, conversationId, 'remember me'),
      await send(annPhone, conversationId, 'bye'),
    ];
    const gone = Promise.all([...annTabs, annPhone].map((s) => disconnection(s)));

    const res = await post(
      ann.agent,
      '/account/delete',
      { deletePassword: ann.password },
      '/account',
    );
    expect(res.status).toBe(303);
    expect(await gone).toEqual([
      'io server disconnect',
      'io server disconnect',
      'io server disconnect',
    ]);
    expect((await refusal(app.baseUrl, annCookie)).message).toBe('unauthorized');

    const sync = await ask(boTab, 'sync', { conversationId, after: 0 });
    expect(sync).toEqual({
      ok: true,
      hasMore: false,
      messages: sent.map((m) => ({ ...m, senderId: null, senderName: 'Deleted user' })),
    });
    expect(boTab.connected).toBe(true);
  });
});

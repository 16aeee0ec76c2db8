// Attack suite: a socket must not outlive its session, and one account or
// address cannot open sockets without end.
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
  openDirect,
  openSocket,
  refusal,
  send,
  sleep,
  type ClientSocket,
} from './support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  // Each event checks its session without reusing an earlier answer; the sweep is tested apart.
  app = await startTestApp({ sessionCacheMs: 0 });
});
afterEach(() => closeSockets());
afterAll(async () => {
  closeSockets();
  await app?.close();
});

/** The socket was dropped by the server, hears no more messages, and cannot reconnect to send. */
async function expectCutOff(
  socket: ClientSocket,
  gone: Promise<string>,
  friend: TestUser,
  conversationId: number,
) {
  expect(await gone).toBe('io server disconnect');
  const heard: unknown[] = [];
  socket.on('message:new', (m) => heard.push(m));
  const friendSocket = await openSocket(app.baseUrl, await cookieOf(friend.agent));
  await send(friendSocket, conversationId, 'after the session ended');
  await sleep(200);
  expect(heard).toEqual([]);
  // Nor can it come back to send: the same socket, with the same cookie, is refused.
  socket.connect();
  await expect(connected(socket)).rejects.toThrow('unauthorized');
}

async function pair() {
  const u = await signUp(app, { displayName: 'Owner' });
  const friend = await signUp(app, { displayName: 'Friend' });
  const conversationId = await openDirect(u, friend);
  return { u, friend, conversationId };
}

describe('a socket ends with its session', () => {
  it('logging in again with the same cookie replaces the session: the old one’s socket is dropped and its cookie is nobody', async () => {
    const { u, friend, conversationId } = await pair();
    const oldCookie = await cookieOf(u.agent);
    const socket = await openSocket(app.baseUrl, oldCookie);
    const gone = disconnection(socket);
    const res = await post(u.agent, '/login', { email: u.email, password: u.password }, '/');
    expect(res.status).toBe(303);
    await expectCutOff(socket, gone, friend, conversationId);
    expect((await refusal(app.baseUrl, oldCookie)).message).toBe('unauthorized');
    // The browser that logged in has a new cookie that works.
    expect((await openSocket(app.baseUrl, await cookieOf(u.agent))).connected).toBe(true);
  });

  it('changing the password gives this browser a new session id: a copied old cookie and its sockets stop working', async () => {
    const { u, friend, conversationId } = await pair();
    const oldCookie = await cookieOf(u.agent);
    const socket = await openSocket(app.baseUrl, oldCookie);
    const gone = disconnection(socket);
    const res = await post(
      u.agent,
      '/account/password',
      { currentPassword: u.password, newPassword: 'a brand new password' },
      '/account',
    );
    expect(res.status).toBe(303);
    await expectCutOff(socket, gone, friend, conversationId);
    expect((await request(app.baseUrl).get('/account').set('Cookie', oldCookie)).status).toBe(303);
    expect((await refusal(app.baseUrl, oldCookie)).message).toBe('unauthorized');
    // This browser stays logged in, with its new cookie.
    const page = await u.agent.get('/account');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Your password was changed');
    const newCookie = await cookieOf(u.agent);
    expect(newCookie).not.toBe(oldCookie);
    expect((await openSocket(app.baseUrl, newCookie)).connected).toBe(true);
  });

  it('logging out drops the socket; it hears nothing more and cannot send', async () => {
    const { u, friend, conversationId } = await pair();
    const socket = await openSocket(app.baseUrl, await cookieOf(u.agent));
    const gone = disconnection(socket);
    expect((await post(u.agent, '/logout', {}, '/')).status).toBe(303);
    await expectCutOff(socket, gone, friend, conversationId);
  });

  it('a session row deleted by hand in SQL: the next event is refused with session_ended and the socket is dropped', async () => {
    const { u, friend, conversationId } = await pair();
    const socket = await openSocket(app.baseUrl, await cookieOf(u.agent));
    expect(await send(socket, conversationId, 'while the session stands')).toMatchObject({
      body: 'while the session stands',
    });
    await app.pool.query(`DELETE FROM session WHERE sess ->> 'userId' = $1`, [String(u.id)]);
    const gone = disconnection(socket);
    const ack = await ask(socket, 'message:send', {
      conversationId,
      body: 'after the row was deleted',
      clientId: crypto.randomUUID(),
    });
    expect(ack).toEqual({
      ok: false,
      error: { code: 'session_ended', message: 'Your session has ended. Log in again.' },
    });
    await expectCutOff(socket, gone, friend, conversationId);
    const stored = await app.pool.query('SELECT 1 FROM messages WHERE body = $1', [
      'after the row was deleted',
    ]);
    expect(stored.rowCount).toBe(0);
  });

  it('every kind of event is refused once the session has expired in the table', async () => {
    const { u, conversationId } = await pair();
    const events = [
      ['typing', { conversationId, typing: true }],
      ['conversation:read', { conversationId, messageId: 1 }],
      ['sync', { conversationId, after: 0 }],
      ['inbox:sync', {}],
    ] as const;
    for (const [event, payload] of events) {
      const socket = await openSocket(app.baseUrl, await cookieOf(u.agent));
      await app.pool.query(
        `UPDATE session SET expire = now() - interval '1 second' WHERE sess ->> 'userId' = $1`,
        [String(u.id)],
      );
      const ack = await askRaw(socket, event, payload);
      expect(ack, event).toMatchObject({ ok: false, error: { code: 'session_ended' } });
      await app.pool.query(
        `UPDATE session SET expire = now() + interval '1 day' WHERE sess ->> 'userId' = $1`,
        [String(u.id)],
      );
    }
  });
});

describe('the periodic sweep', () => {
  let swept: TestApp;
  beforeAll(async () => {
    swept = await startTestApp({ config: { sessionSweepMs: 200 } });
  });
  afterAll(async () => {
    await swept?.close();
  });

  it('a socket that sends nothing is dropped soon after its session row is deleted, and the others stay', async () => {
    const u = await signUp(swept);
    const other = await signUp(swept);
    const socket = await openSocket(swept.baseUrl, await cookieOf(u.agent));
    const bystander = await openSocket(swept.baseUrl, await cookieOf(other.agent));
    await sleep(500);
    expect(socket.connected).toBe(true);
    const gone = disconnection(socket, 3000);
    await swept.pool.query(`DELETE FROM session WHERE sess ->> 'userId' = $1`, [String(u.id)]);
    expect(await gone).toBe('io server disconnect');
    await sleep(500);
    expect(bystander.connected).toBe(true);
  });
});

describe('a cap on sockets', () => {
  it('a user may open 20 sockets; a burst of 30 at once gets exactly 20, the rest are refused with words for the page', async () => {
    const u = await signUp(app);
    const cookie = await cookieOf(u.agent);
    const sockets = Array.from({ length: 30 }, () => connect(app.baseUrl, cookie));
    const results = await Promise.allSettled(sockets.map((s) => connected(s)));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    expect(ok).toBe(20);
    expect(refused).toHaveLength(10);
    for (const err of refused) {
      expect(err.message).toBe('too_many_sockets');
      expect((err as Error & { data?: { message?: string } }).data?.message).toMatch(
        /20 tabs or devices connected already/,
      );
    }
    // Closing one frees its place.
    const open = sockets.filter((s) => s.connected);
    open[0]!.disconnect();
    await sleep(200);
    expect((await openSocket(app.baseUrl, cookie)).connected).toBe(true);
    expect((await refusal(app.baseUrl, cookie)).message).toBe('too_many_sockets');
  });

  it('one address is capped across accounts', async () => {
    const capped = await startTestApp({ config: { socketsPerAddress: 3 } });
    try {
      const users = [await signUp(capped), await signUp(capped)];
      const cookies = [await cookieOf(users[0]!.agent), await cookieOf(users[1]!.agent)];
      await openSocket(capped.baseUrl, cookies[0]!);
      await openSocket(capped.baseUrl, cookies[0]!);
      await openSocket(capped.baseUrl, cookies[1]!);
      const err = await refusal(capped.baseUrl, cookies[1]);
      expect(err.message).toBe('too_many_sockets');
      expect((err as Error & { data?: { message?: string } }).data?.message).toMatch(
        /Too many connections come from your network/,
      );
    } finally {
      closeSockets();
      await capped.close();
    }
  });

  it('a refused handshake is not counted (a user at the cap is still refused, not wedged)', async () => {
    const u = await signUp(app);
    const cookie = await cookieOf(u.agent);
    const first = await Promise.all(
      Array.from({ length: 20 }, () => openSocket(app.baseUrl, cookie)),
    );
    for (let i = 0; i < 5; i++) await refusal(app.baseUrl, cookie);
    for (const s of first) s.disconnect();
    await sleep(200);
    const again = await Promise.all(
      Array.from({ length: 20 }, () => openSocket(app.baseUrl, cookie)),
    );
    expect(again.every((s) => s.connected)).toBe(true);
  });
});

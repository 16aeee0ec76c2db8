// Every rate limit the app promises (SECURITY.md, "Abuse is slowed"), each tripped at its
// stated number and not one before. The per-user limiters' clock stands still, so a budget
// is exactly its burst; each HTTP row comes from its own address (one trusted proxy hop).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import {
  manualClock,
  signUp,
  startTestApp,
  tokenFor,
  uniqueEmail,
  type TestApp,
} from './support/app.js';
import { askRaw, closeSockets, cookieOf, openDirect, openSocket, send } from './support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    rateLimit: true,
    clock: manualClock().now,
    config: { trustProxy: 1 },
  });
});
afterAll(async () => {
  closeSockets();
  await app?.close();
});

/** 'ok', 'limited', or what else came back. */
type Outcome = string;
/** One attempt; `i` counts from 0. */
type Attempt = (i: number) => Promise<Outcome>;

let addresses = 0;
/** A client at an address of its own, so HTTP rows do not share a budget. */
function client() {
  const ip = `198.51.100.${++addresses}`;
  const agent = request.agent(app.baseUrl);
  return { ip, agent, token: () => tokenFor(agent, '/login') };
}

const httpOutcome = (okStatus: number) => (res: request.Response) =>
  res.status === okStatus ? 'ok' : res.status === 429 ? 'limited' : `status ${res.status}`;

async function wrongLogins(sameAccount: boolean): Promise<Attempt> {
  const { ip, agent, token } = client();
  const csrf = await token();
  const victim = sameAccount ? (await signUp(app)).email : '';
  return async (i) =>
    httpOutcome(401)(
      await agent
        .post('/login')
        .set('X-Forwarded-For', ip)
        .type('form')
        .send({ email: victim || uniqueEmail(`guess${i}-`), password: `wrong ${i}`, _csrf: csrf }),
    );
}

/** Each signup from a new browser (a signed-up one is logged in), all at one address. */
function signups(): Promise<Attempt> {
  const { ip } = client();
  return Promise.resolve(async (i) => {
    const agent = request.agent(app.baseUrl);
    const csrf = await tokenFor(agent, '/signup');
    const form = {
      email: uniqueEmail(`s${i}-`),
      displayName: `S ${i}`,
      password: 'long enough pw',
    };
    return httpOutcome(303)(
      await agent
        .post('/signup')
        .set('X-Forwarded-For', ip)
        .type('form')
        .send({ ...form, _csrf: csrf }),
    );
  });
}

/** A logged-in user with a socket, in a conversation with one message from someone else. */
async function socketUser() {
  const [me, friend] = [await signUp(app), await signUp(app)];
  const conversationId = await openDirect(me, friend);
  const friendTab = await openSocket(app.baseUrl, await cookieOf(friend.agent));
  const message = await send(friendTab, conversationId, 'hello');
  const tab = await openSocket(app.baseUrl, await cookieOf(me.agent));
  return { me, tab, conversationId, messageId: message.id };
}

function socketEvent(
  event: string,
  payload: (u: Awaited<ReturnType<typeof socketUser>>, i: number) => unknown,
) {
  return async (): Promise<Attempt> => {
    const u = await socketUser();
    return async (i) => {
      const ack = (await askRaw(u.tab, event, payload(u, i))) as {
        ok: boolean;
        error?: { code: string };
      };
      return ack.ok ? 'ok' : ack.error?.code === 'rate_limited' ? 'limited' : ack.error!.code;
    };
  };
}

/** Email lookups (search) by one account, from an address of its own. */
async function searches(): Promise<Attempt> {
  const { ip } = client();
  const me = await signUp(app);
  return async (i) =>
    httpOutcome(200)(
      await me.agent
        .get('/search')
        .set('X-Forwarded-For', ip)
        .query({ email: uniqueEmail(`look${i}-`) }),
    );
}

/** Email lookups by several accounts behind one address: the address has a budget of its own. */
async function searchesFromOneAddress(): Promise<Attempt> {
  const { ip } = client();
  // 15 each stays inside every account's own budget (20); the 61st comes from a fresh account.
  const users = await Promise.all([1, 2, 3, 4, 5].map(() => signUp(app)));
  return async (i) =>
    httpOutcome(200)(
      await users[Math.floor(i / 15)]!.agent.get('/search')
        .set('X-Forwarded-For', ip)
        .query({ email: uniqueEmail(`addr${i}-`) }),
    );
}

const LIMITS: Array<[string, number, () => Promise<Attempt>]> = [
  ['wrong logins to one account from one address', 5, () => wrongLogins(true)],
  ['wrong logins to many accounts from one address', 50, () => wrongLogins(false)],
  ['signups from one address', 20, signups],
  [
    'message:send per user',
    30,
    socketEvent('message:send', (u, i) => ({
      conversationId: u.conversationId,
      body: `m${i}`,
      clientId: crypto.randomUUID(),
    })),
  ],
  [
    'typing per user',
    10,
    socketEvent('typing', (u, i) => ({ conversationId: u.conversationId, typing: i % 2 === 0 })),
  ],
  [
    'sync per user (the read budget)',
    60,
    socketEvent('sync', (u) => ({ conversationId: u.conversationId, after: 0 })),
  ],
  ['inbox:sync per user (the read budget)', 60, socketEvent('inbox:sync', () => ({}))],
  [
    'conversation:read per user (the read budget)',
    60,
    socketEvent('conversation:read', (u) => ({
      conversationId: u.conversationId,
      messageId: u.messageId,
    })),
  ],
  ['email lookups (search, opening a chat) per user', 20, searches],
  ['email lookups per address, over several accounts', 60, searchesFromOneAddress],
];

describe('every rate limit trips at its stated number, not before', () => {
  it.each(LIMITS)('%s: %i allowed, the next one refused', async (_name, limit, setup) => {
    const attempt = await setup();
    const outcomes: Outcome[] = [];
    for (let i = 0; i <= limit; i++) outcomes.push(await attempt(i));
    expect(outcomes).toEqual([...Array<Outcome>(limit).fill('ok'), 'limited']);
  });

  it('sync, inbox:sync and read marks share one read budget', async () => {
    const u = await socketUser();
    const ask = (event: string, payload: unknown) =>
      askRaw(u.tab, event, payload) as Promise<{ ok: boolean }>;
    for (let i = 0; i < 20; i++) {
      expect((await ask('sync', { conversationId: u.conversationId, after: 0 })).ok).toBe(true);
      expect((await ask('inbox:sync', {})).ok).toBe(true);
      const read = { conversationId: u.conversationId, messageId: u.messageId };
      expect((await ask('conversation:read', read)).ok).toBe(true);
    }
    expect(await ask('inbox:sync', {})).toMatchObject({
      ok: false,
      error: { code: 'rate_limited' },
    });
  });
});

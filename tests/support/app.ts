import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { createContext, type AppContext } from '../../src/core/context.js';
import { createSession, type SessionSetup } from '../../src/core/http/session.js';
import type { Config } from '../../src/core/config.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { createPool, type Pool } from '../../src/core/db/pool.js';
import { Notify, type IoServer } from '../../src/core/realtime/notify.js';
import { createSocketServer } from '../../src/core/realtime/socket.js';
import type { SessionGuard } from '../../src/core/realtime/session-guard.js';
import { createTestDatabase } from './db.js';

export interface TestApp {
  app: ReturnType<typeof createApp>;
  ctx: AppContext;
  session: SessionSetup;
  pool: Pool;
  io: IoServer;
  guard: SessionGuard;
  server: http.Server;
  baseUrl: string;
  close(): Promise<void>;
}

type TestConfig = Pick<
  Config,
  | 'isProduction'
  | 'trustProxy'
  | 'rateLimit'
  | 'bcryptCost'
  | 'writerLanes'
  | 'writerInFlight'
  | 'socketsPerUser'
  | 'socketsPerAddress'
  | 'sessionSweepMs'
>;

export interface TestAppOptions {
  rateLimit?: boolean;
  /** Anything else of the config a test needs (production mode, say). */
  config?: Partial<TestConfig>;
  /** How long a socket event reuses its session's check (the app's default: 2 s). */
  sessionCacheMs?: number;
  /** A logger of the test's own (a sink to read what was logged). */
  logger?: Logger;
  /** The per-user rate limiters' clock; see manualClock. */
  clock?: () => number;
}

/** A clock that stands still until the test moves it: a budget refills only when told to. */
export function manualClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** The real app and Socket.IO on a random loopback port, with its own fresh database. */
export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  const logger = opts.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const pool = createPool(db.url, { max: 8, logger });
  const config: TestConfig = {
    isProduction: false,
    trustProxy: false,
    bcryptCost: 4,
    rateLimit: opts.rateLimit ?? false,
    socketsPerUser: 20,
    socketsPerAddress: 200,
    sessionSweepMs: 120_000,
    writerLanes: 1,
    writerInFlight: 1,
    ...opts.config,
  };
  const ctx = createContext({
    config,
    db: pool,
    logger,
    notify: new Notify(),
    presenceGraceMs: 50,
    clock: opts.clock,
  });
  const session = createSession({
    pool,
    secret: 'test-secret-that-is-at-least-32-characters',
    secure: config.isProduction,
    prune: false,
  });
  const built = { app: createApp(ctx, { config, session }), ctx, session };
  const server = http.createServer(built.app);
  const { io, guard } = createSocketServer(server, {
    ctx,
    sessionMiddleware: session.middleware,
    config,
    sessionCacheMs: opts.sessionCacheMs,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...built,
    pool,
    io,
    server,
    baseUrl: `http://127.0.0.1:${port}`,
    guard,
    async close() {
      guard.stop();
      await new Promise((r) => io.close(() => r(undefined)));
      await pool.end();
      await db.drop();
    },
  };
}

export type Agent = ReturnType<typeof request.agent>;

export function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error('no CSRF token on the page');
  return m[1];
}

/** GETs a page and returns its CSRF token, as a browser would before posting. */
export async function tokenFor(agent: Agent, path: string): Promise<string> {
  const res = await agent.get(path);
  return csrfFrom(res.text);
}

export async function post(agent: Agent, path: string, form: Record<string, string>, from = path) {
  const _csrf = await tokenFor(agent, from);
  return agent
    .post(path)
    .type('form')
    .send({ ...form, _csrf });
}

let counter = 0;
export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}${Date.now().toString(36)}${counter++}@example.com`;
}

export interface TestUser {
  agent: Agent;
  email: string;
  displayName: string;
  password: string;
  id: number;
}

export async function signUp(
  app: TestApp,
  over: Partial<Pick<TestUser, 'email' | 'displayName' | 'password'>> = {},
): Promise<TestUser> {
  const agent = request.agent(app.baseUrl);
  const email = over.email ?? uniqueEmail();
  const displayName = over.displayName ?? `User ${counter}`;
  const password = over.password ?? 'correct horse battery';
  const res = await post(agent, '/signup', { email, displayName, password });
  if (res.status !== 303) throw new Error(`signup failed: ${res.status} ${res.text.slice(0, 300)}`);
  const { rows } = await app.pool.query<{ id: number }>(
    'SELECT id FROM users WHERE lower(email) = lower($1)',
    [email],
  );
  return { agent, email, displayName, password, id: rows[0]!.id };
}

export function sessionCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const set = res.headers['set-cookie'] as string[] | undefined;
  return set?.find((c) => c.startsWith('chat.sid='))?.split(';')[0];
}

/**
 * Makes two people friends through the pages: "Add friend" on a search result, then
 * "Accept" on the Friends page. Between friends, chats work as they always did.
 */
export type Person = Pick<TestUser, 'agent' | 'email' | 'id'>;

export async function befriend(a: Person, b: Person): Promise<void> {
  const asked = await post(a.agent, '/friends/requests', { email: b.email }, '/search');
  if (asked.status !== 303) throw new Error(`friend request failed: ${asked.status}`);
  const accepted = await post(b.agent, `/friends/${a.id}/accept`, {}, '/friends');
  if (accepted.status === 303) return;
  // Nothing to accept: fine only if they already were friends.
  const page = await b.agent.get('/friends');
  const friends = page.text.split('<h2>Your friends</h2>')[1]?.split('</ul>')[0] ?? '';
  if (!friends.includes(a.email)) throw new Error(`accepting failed: ${accepted.status}`);
}

/**
 * Opens (or finds) the direct conversation by the other's email, as the search page's button
 * does. Given the other's whole account, the two become friends first, so the chat is an
 * ordinary one (live both ways, presence, typing); given only an email, a first message
 * to a stranger is a message request.
 */
export async function openChat(
  from: Person,
  to: Pick<TestUser, 'email'> | Person,
): Promise<number> {
  if ('agent' in to) await befriend(from, to);
  const res = await post(from.agent, '/conversations', { email: to.email }, '/search');
  if (res.status !== 303) throw new Error(`opening a chat failed: ${res.status}`);
  return Number(/\/conversations\/(\d+)/.exec(String(res.headers.location))![1]);
}

/** Sends a message by the no-JavaScript form; returns its id. */
export async function sendByForm(from: TestUser, id: number, body: string): Promise<number> {
  const res = await post(
    from.agent,
    `/conversations/${id}/messages`,
    { body },
    `/conversations/${id}`,
  );
  if (res.status !== 303) throw new Error(`sending failed: ${res.status}`);
  return Number(/#m(\d+)$/.exec(String(res.headers.location))![1]);
}

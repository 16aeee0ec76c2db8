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
import { createTestDatabase } from './db.js';

export interface TestApp {
  app: ReturnType<typeof createApp>;
  ctx: AppContext;
  session: SessionSetup;
  pool: Pool;
  io: IoServer;
  server: http.Server;
  baseUrl: string;
  close(): Promise<void>;
}

type TestConfig = Pick<Config, 'isProduction' | 'trustProxy' | 'rateLimit' | 'bcryptCost'>;

export interface TestAppOptions {
  rateLimit?: boolean;
  /** Anything else of the config a test needs (production mode, say). */
  config?: Partial<TestConfig>;
  /** A logger of the test's own (a sink to read what was logged). */
  logger?: Logger;
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
    ...opts.config,
  };
  const ctx = createContext({
    config,
    db: pool,
    logger,
    notify: new Notify(),
    presenceGraceMs: 50,
  });
  const session = createSession({
    pool,
    secret: 'test-secret-that-is-at-least-32-characters',
    secure: config.isProduction,
    prune: false,
  });
  const built = { app: createApp(ctx, { config, session }), ctx, session };
  const server = http.createServer(built.app);
  const io = createSocketServer(server, { ctx, sessionMiddleware: session.middleware });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...built,
    pool,
    io,
    server,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
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

import session from 'express-session';
import connectPgSimple from 'connect-pg-simple';
import type { RequestHandler } from 'express';
import type { Pool } from '../db/pool.js';

declare module 'express-session' {
  interface SessionData {
    userId?: number;
    flash?: string;
  }
}

export const SESSION_COOKIE = 'chat.sid';
const THIRTY_DAYS = 30 * 24 * 60 * 60 * 1000;

export interface SessionSetup {
  middleware: RequestHandler;
  store: session.Store & { close(): Promise<void> | void };
}

export function createSession(opts: {
  pool: Pool;
  secret: string;
  secure: boolean;
  prune?: boolean;
}): SessionSetup {
  const PgStore = connectPgSimple(session);
  const store = new PgStore({
    pool: opts.pool,
    tableName: 'session', // created by migrations/001, not by the store
    createTableIfMissing: false,
    pruneSessionInterval: opts.prune === false ? false : 15 * 60,
  });
  const middleware = session({
    name: SESSION_COOKIE,
    store,
    secret: opts.secret,
    resave: false,
    saveUninitialized: false,
    rolling: true, // each visit pushes the expiry out: a long, rolling lifetime
    proxy: undefined, // follows Express's 'trust proxy'
    cookie: { httpOnly: true, sameSite: 'lax', secure: opts.secure, maxAge: THIRTY_DAYS },
  });
  return { middleware, store };
}

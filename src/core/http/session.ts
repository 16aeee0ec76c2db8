import session from 'express-session';
import connectPgSimple from 'connect-pg-simple';
import type { RequestHandler } from 'express';
import type { Pool } from '../db/pool.js';

declare module 'express-session' {
  interface SessionData {
    userId?: number;
    flash?: string;
    /** Set at signup, cleared by the first home page: a new account is greeted "Welcome". */
    newAccount?: boolean;
    /** When the stored expiry was last pushed out (ms since epoch). */
    refreshedAt?: number;
  }
}

export const SESSION_COOKIE = 'chat.sid';
export const SESSION_LIFETIME = 30 * 24 * 60 * 60 * 1000;

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
    disableTouch: true,
    pruneSessionInterval: opts.prune === false ? false : 15 * 60,
    // No write per page view: the expiry is pushed out at most daily (refreshSession).
  });
  const middleware = session({
    name: SESSION_COOKIE,
    store,
    secret: opts.secret,
    resave: false,
    saveUninitialized: false,
    rolling: true, // each visit pushes the expiry out: a long, rolling lifetime
    proxy: undefined, // follows Express's 'trust proxy'
    cookie: { httpOnly: true, sameSite: 'lax', secure: opts.secure, maxAge: SESSION_LIFETIME },
  });
  return { middleware, store };
}

const DAY = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

/**
 * Keeps a logged-in session alive for 30 days after its last use, for at most
 * one database write a day (the cookie's own expiry rolls on every response).
 */
export const refreshSession: RequestHandler = (req, _res, next) => {
  const s = req.session;
  // A visitor's session (it only holds a form token) lives an hour, not a month.
  if (s && s.userId === undefined) s.cookie.maxAge = HOUR;
  if (s?.userId !== undefined && Date.now() - (s.refreshedAt ?? 0) > DAY)
    s.refreshedAt = Date.now();
  next();
};

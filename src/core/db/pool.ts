// The one door to PostgreSQL: every other module gets a `Db` from here.
import pg from 'pg';
import type { Logger } from '../logger.js';

// bigint columns come back as JS numbers: ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: the pool, or a client inside a transaction. */
export type Db = Pick<pg.Pool, 'query'> | pg.PoolClient;

export function createPool(url: string, opts: { max: number; logger: Logger }): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A statement that hangs (a lock, a dead server) must not hold a request forever.
    statement_timeout: 15_000,
    application_name: 'leos-chat',
  });
  // An idle client whose connection drops emits here; without a listener the process dies.
  pool.on('error', (err) => {
    if (!pool.ending) opts.logger.warn({ err }, 'idle database connection lost');
  });
  return pool;
}

export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/**
 * Whether a statement's error left its connection unusable (to be thrown away, not pooled):
 * any error that is not the server's (the socket's), or the server's FATAL or PANIC, after
 * which it closes the session (an administrator's shutdown, 57P01, say).
 */
export function connectionGone(err: Error): boolean {
  const severity = (err as { severity?: unknown }).severity;
  return severity === undefined || severity === 'FATAL' || severity === 'PANIC';
}

/** The database went away (restart, network): worth a retry, not a bug. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (!e) return false;
  if (typeof e.code === 'string' && /^(08|57P0|53300)/.test(e.code)) return true;
  if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'ETIMEDOUT') return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    e.message ?? '',
  );
}

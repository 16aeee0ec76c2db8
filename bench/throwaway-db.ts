// A throwaway database for the database-only benchmarks (bench/insert-cpu.ts,
// bench/search-pending.ts): made on DATABASE_URL's server (default this machine's), migrated,
// with users paired into direct conversations, and dropped when the benchmark ends.
import pg from 'pg';
import { migrate } from '../src/core/db/migrate.js';
import { cpuSecondsOf } from './proc.js';

const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The database's address on the same server. */
function at(db: string): string {
  const u = new URL(server);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * Runs `body` with the address of a fresh, migrated database holding `pairs` direct
 * conversations (conversation c's members are users 2c-1 and 2c), then drops it.
 */
export async function withThrowawayDb(
  prefix: string,
  pairs: number,
  body: (url: string) => Promise<void>,
): Promise<void> {
  const name = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const pool = new pg.Pool({ connectionString: at(name), max: 1 });
    await migrate(pool);
    const n = Math.trunc(pairs); // a number of the benchmark's own, into the SQL as it is
    await pool.query(`
      INSERT INTO users (email, display_name, password_hash)
        SELECT 'u' || i || '@bench', 'U' || i, 'x' FROM generate_series(1, ${2 * n}) i;
      INSERT INTO conversations (kind, direct_key)
        SELECT 'direct', (2 * i - 1) || ':' || (2 * i) FROM generate_series(1, ${n}) i;`);
    await pool.query(`INSERT INTO conversation_members (conversation_id, user_id, state)
      SELECT c.id, v.u, 'accepted' FROM conversations c, LATERAL (VALUES
        (split_part(c.direct_key, ':', 1)::bigint), (split_part(c.direct_key, ':', 2)::bigint)) v (u)`);
    await pool.end();
    await body(at(name));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** A backend's own CPU time so far, in ms (bench/proc.ts reads it; 0 once it is gone). */
export function cpuMs(pid: number): number {
  return (cpuSecondsOf(pid) ?? 0) * 1000;
}

// Forward-only migrations: .sql files, each in its own transaction, recorded
// in schema_migrations, under an advisory lock so instances that start together
// apply each file once. Names cannot collide between branches: new files start
// with a UTC timestamp (YYYYMMDDHHMMSS_what.sql); the first four keep their
// numbers (NNN_what.sql), which sort before every timestamp.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from './pool.js';

// src/core/db and dist/core/db are both three levels below the project root.
export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'migrations',
);
const LOCK_KEY = 7_240_001; // any constant shared by all instances

/** A refusal to start that the operator can act on; its message is printed as it is. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

const NAME = /^(\d{3}|\d{14})_[a-z0-9_]+\.sql$/;

/** The migration files in the order they apply; a file named against the rule stops the start. */
export async function migrationFiles(dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const misnamed = files.filter((f) => !NAME.test(f));
  if (misnamed.length) {
    throw new MigrationError(
      `migration file names must be YYYYMMDDHHMMSS_what.sql (UTC): rename ${misnamed.join(', ')}`,
    );
  }
  return files;
}

export async function migrate(pool: Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = await migrationFiles(dir);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    // A database migrated by newer code: this code does not know what it changed.
    const unknown = [...done].filter((v) => !files.includes(v)).sort();
    if (unknown.length) {
      throw new MigrationError(
        `the database has migrations this version of the app does not know (${unknown.join(', ')}): ` +
          'it was migrated by a newer version. Run that version, or restore a backup from before it.',
      );
    }
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(path.join(dir, file), 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(file);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
  return applied;
}

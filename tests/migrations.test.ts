// Migrations cannot collide or run backwards: names follow one rule, and a
// database migrated by newer code stops the start with words saying so.
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/core/db/pool.js';
import { createLogger } from '../src/core/logger.js';
import { migrate, migrationFiles, MIGRATIONS_DIR } from '../src/core/db/migrate.js';
import { createTestDatabase } from './support/db.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, { max: 2, logger: createLogger('silent') });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

it('every migration in the project follows the naming rule, the numbered ones before the timestamped', async () => {
  const files = await migrationFiles(MIGRATIONS_DIR);
  expect(files.slice(0, 4).map((f) => f.slice(0, 4))).toEqual(['001_', '002_', '003_', '004_']);
  expect(files.slice(4).every((f) => /^\d{14}_/.test(f))).toBe(true);
});

it('a migration file named against the rule stops the start and names the file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
  try {
    await writeFile(path.join(dir, '001_first.sql'), 'SELECT 1');
    await writeFile(path.join(dir, '5_my_feature.sql'), 'SELECT 1');
    await expect(migrate(pool, dir)).rejects.toThrow(/rename 5_my_feature\.sql/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('a database migrated by a newer version refuses to start, saying which migration it does not know', async () => {
  expect(await migrate(pool)).toEqual([]);
  await pool.query(
    "INSERT INTO schema_migrations (version) VALUES ('29991231235959_from_the_future.sql')",
  );
  await expect(migrate(pool)).rejects.toThrow(
    /does not know \(29991231235959_from_the_future\.sql\).*newer version/,
  );
});

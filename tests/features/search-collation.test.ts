// Full-text search goes through the trigram index by words the text must hold, read with
// ILIKE (search/tsquery.ts). That holds only where ILIKE lowers text as to_tsvector does:
// under an ICU default collation "ΟΔΟΣ" has the word 'οδοσ' but ILIKE reads "οδος", and
// "İstanbul" has 'istanbul' but ILIKE reads "i̇stanbul". search/db.ts asks the database
// (PREFILTER_AGREES) and goes without the index where it disagrees: shown here in an ICU
// database of the test's server, made from template0 (skipped where the server has no ICU).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect, inject, it } from 'vitest';
import { migrate } from '../../src/core/db/migrate.js';
import { withTransaction } from '../../src/core/db/pool.js';
import { findMessages, PREFILTER_AGREES, searchSql } from '../../src/features/search/db.js';
import { parseQuery } from '../../src/features/search/query.js';
import { createTestDatabase } from '../support/db.js';
import { withDatabase } from '../support/global-setup.js';

const adminUrl = inject('adminUrl');
const dropLater: string[] = [];
afterAll(async () => {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const name of dropLater) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
});

const TEXTS = ['ΟΔΟΣ ΟΔΟΣ', 'İstanbul trip', 'ISTANBUL TRIP', 'plain words'];

/** A migrated database holding Ann and Bo's conversation with TEXTS, and Ann's id. */
async function seeded(url: string): Promise<{ pool: pg.Pool; ann: number }> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await migrate(pool);
  const { rows } = await pool.query<{ ann: string }>(
    `WITH u AS (INSERT INTO users (email, display_name, password_hash)
       VALUES ('ann@example.org', 'Ann', 'x'), ('bo@example.org', 'Bo', 'x') RETURNING id),
     ids AS (SELECT min(id) a, max(id) b FROM u),
     c AS (INSERT INTO conversations (kind, direct_key)
       SELECT 'direct', a || ':' || b FROM ids RETURNING id),
     m AS (INSERT INTO conversation_members (conversation_id, user_id, state)
       SELECT c.id, v.u, 'accepted' FROM c, ids, LATERAL (VALUES (ids.a), (ids.b)) v (u))
     INSERT INTO messages (conversation_id, sender_id, client_id, body)
       SELECT c.id, ids.b, gen_random_uuid(), t FROM c, ids, unnest($1::text[]) t
     RETURNING (SELECT a FROM ids)::text AS ann`,
    [TEXTS],
  );
  return { pool, ann: Number(rows[0]!.ann) };
}

const found = (pool: pg.Pool, userId: number, q: string, smallScope: number) =>
  withTransaction(pool, async (tx) =>
    (
      await findMessages(tx, {
        userId,
        q: parseQuery(q),
        before: Number.MAX_SAFE_INTEGER,
        limit: 21,
        smallScope,
      })
    ).map((r) => r.body),
  );

/** The plain full-text match, without any index: what a search must never fall short of. */
const fullText = async (pool: pg.Pool, q: string) =>
  (
    await pool.query<{ body: string }>(
      `SELECT body FROM messages
       WHERE to_tsvector('simple', body) @@ websearch_to_tsquery('simple', $1)`,
      [q],
    )
  ).rows.map((r) => r.body);

const QUERIES = ['istanbul', 'İstanbul trip', 'ΟΔΟΣ', 'οδοσ', 'plain'];

/** Every query through both plans ('large' uses the index, 'small' reads the messages). */
async function expectAllFound(pool: pg.Pool, ann: number) {
  for (const q of QUERIES) {
    const want = await fullText(pool, q);
    for (const scope of [0, 2000])
      expect(await found(pool, ann, q, scope), q).toEqual(expect.arrayContaining(want));
  }
  // Both spellings of Istanbul hold the word istanbul, in any collation.
  expect((await found(pool, ann, 'istanbul', 0)).sort()).toEqual([
    'ISTANBUL TRIP',
    'İstanbul trip',
  ]);
}

it('in the test database ILIKE agrees with to_tsvector, and search finds every text through either plan', async () => {
  const db = await createTestDatabase();
  dropLater.push(db.name);
  const { pool, ann } = await seeded(db.url);
  try {
    const { rows } = await pool.query<{ agrees: boolean }>(`SELECT ${PREFILTER_AGREES} AS agrees`);
    expect(rows[0]!.agrees).toBe(true);
    await expectAllFound(pool, ann);
  } finally {
    await pool.end();
  }
});

it('in an ICU database the prefilter would drop matches; search sees it and finds them all the same', async (ctx) => {
  const name = `chat_test_${randomBytes(4).toString('hex')}_icu`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(
      `CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'
         LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
    );
  } catch (err) {
    ctx.skip(`no ICU database here: ${(err as Error).message}`);
  } finally {
    await admin.end();
  }
  dropLater.push(name);
  const { pool, ann } = await seeded(withDatabase(adminUrl, name));
  try {
    const { rows } = await pool.query<{ agrees: boolean }>(`SELECT ${PREFILTER_AGREES} AS agrees`);
    expect(rows[0]!.agrees).toBe(false);
    // What the prefilter would have answered: "İstanbul" is gone (ILIKE reads "i̇stanbul").
    const tsquery = (
      await pool.query<{ t: string }>(
        `SELECT websearch_to_tsquery('simple', 'istanbul')::text AS t`,
      )
    ).rows[0]!.t;
    const withPrefilter = searchSql(parseQuery('istanbul'), 'small', tsquery, true);
    const conversations = (
      await pool.query<{ ids: string[] }>('SELECT array_agg(id) AS ids FROM conversations')
    ).rows[0]!.ids;
    const narrowed = await pool.query<{ body: string }>(withPrefilter.sql, [
      ann,
      Number.MAX_SAFE_INTEGER,
      'istanbul',
      21,
      conversations,
      ...withPrefilter.params,
    ]);
    expect(narrowed.rows.map((r) => r.body)).toEqual(['ISTANBUL TRIP']);
    await expectAllFound(pool, ann);
  } finally {
    await pool.end();
  }
});

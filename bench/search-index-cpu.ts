// `npx tsx bench/search-index-cpu.ts [--batch 300] [--seconds 4] [--rounds 4] [--shapes a,b]`:
// what each shape of the search indexes costs the database per inserted message, the app's
// own insert (insert_messages_v6) and merger (search/pending.ts: gin_clean_pending_list
// every --every ms while rows come in) on their own connections. One database per shape,
// cloned from one template that holds --preload messages, so each index is as big as the
// others; the shapes take turns round by round. The figure is the writer's and the merger's
// backend CPU (/proc/<pid>/schedstat, ns) per message, which load on a shared machine
// disturbs less than rows/s. Needs a PostgreSQL on this machine (DATABASE_URL's server,
// default the local one); everything made is dropped at the end.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { migrate } from '../src/core/db/migrate.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const BATCH = Number(arg('batch', '300'));
const SECONDS = Number(arg('seconds', '4'));
const ROUNDS = Number(arg('rounds', '4'));
const EVERY_ROWS = Number(arg('merge-rows', '2000'));
const PRELOAD = Number(arg('preload', '200000'));
const PAIRS = 500;

/** Each shape: the SQL that turns the shipped indexes into it, and the indexes to merge. */
const SHAPES: Record<string, { sql: string; merge: string[] }> = {
  none: { sql: 'DROP INDEX messages_body_words_idx, messages_body_trgm_idx', merge: [] },
  // The two of migration 20261128233000 (full-text words, trigrams).
  two: { sql: '', merge: ['messages_body_words_idx', 'messages_body_trgm_idx'] },
  one: {
    sql: `DROP INDEX messages_body_words_idx, messages_body_trgm_idx;
      CREATE INDEX messages_body_search_idx ON messages
        USING gin (to_tsvector('simple', body), body gin_trgm_ops)`,
    merge: ['messages_body_search_idx'],
  },
  // The same with 32 MB pending lists, so a slower merger's rows are not merged by an insert.
  twobig: {
    sql: `ALTER INDEX messages_body_words_idx SET (gin_pending_list_limit = 32768);
      ALTER INDEX messages_body_trgm_idx SET (gin_pending_list_limit = 32768)`,
    merge: ['messages_body_words_idx', 'messages_body_trgm_idx'],
  },
  // Experiment: only the trigrams inside words (none with the padding blanks), as text[].
  inner: {
    sql: `DROP INDEX messages_body_trgm_idx;
      CREATE FUNCTION inner_trgm(text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT array(SELECT t FROM unnest(show_trgm($1)) t WHERE strpos(t, ' ') = 0) $$;
      CREATE INDEX messages_body_inner_idx ON messages USING gin (inner_trgm(body))`,
    merge: ['messages_body_words_idx', 'messages_body_inner_idx'],
  },
  words: { sql: 'DROP INDEX messages_body_trgm_idx', merge: ['messages_body_words_idx'] },
  // As shipped since 20261129101000: the trigrams alone.
  trgm: { sql: 'DROP INDEX messages_body_words_idx', merge: ['messages_body_trgm_idx'] },
};
// A shape may name its own merge cadence: two@8000 merges every 8,000 rows.
const shapes = arg('shapes', 'none,two,trgm').split(',');
const shapeOf = (s: string) => SHAPES[s.split('@')[0]!]!;
const mergeRowsOf = (s: string) => Number(s.split('@')[1] ?? EVERY_ROWS);
for (const s of shapes) if (!shapeOf(s)) throw new Error(`unknown shape ${s}`);

const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const at = (db: string) => {
  const u = new URL(server);
  u.pathname = `/${db}`;
  return u.toString();
};
/** A backend's time on a CPU so far, in µs (schedstat: ns, not 10 ms ticks). */
const cpuUs = (pid: number) =>
  Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
const BODY = 'Benchmark message: the quick brown fox jumps over the lazy dog. #'; // bench/load.ts

const tag = Math.random().toString(36).slice(2, 8);
const template = `chat_bench_sic_${tag}_t`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
const made: string[] = [];
try {
  await admin.query(`CREATE DATABASE ${template}`);
  made.push(template);
  {
    const pool = new pg.Pool({ connectionString: at(template), max: 1 });
    pool.on('error', () => undefined);
    await migrate(pool);
    await pool.query(`
      INSERT INTO users (email, display_name, password_hash)
        SELECT 'u' || i || '@bench', 'U' || i, 'x' FROM generate_series(1, ${2 * PAIRS}) i;
      INSERT INTO conversations (kind, direct_key)
        SELECT 'direct', (2 * i - 1) || ':' || (2 * i) FROM generate_series(1, ${PAIRS}) i;`);
    await pool.query(`INSERT INTO conversation_members (conversation_id, user_id, state)
      SELECT c.id, v.u, 'accepted' FROM conversations c, LATERAL (VALUES
        (split_part(c.direct_key, ':', 1)::bigint), (split_part(c.direct_key, ':', 2)::bigint)) v (u)`);
    // The preload goes in without the search indexes; each shape builds its own in bulk.
    await pool.query('DROP INDEX IF EXISTS messages_body_words_idx, messages_body_trgm_idx');
    await pool.query(
      `INSERT INTO messages (conversation_id, sender_id, client_id, body)
       SELECT 1 + g % ${PAIRS}, 2 * (1 + g % ${PAIRS}), gen_random_uuid(), $1 || g
       FROM generate_series(1, ${PRELOAD}) g`,
      [BODY],
    );
    await pool.query(`CREATE INDEX messages_body_words_idx ON messages USING gin (to_tsvector('simple', body));
      CREATE INDEX messages_body_trgm_idx ON messages USING gin (body gin_trgm_ops)`);
    await pool.query('VACUUM ANALYZE');
    await pool.end();
  }
  const dbs = new Map<string, { writer: pg.Client; merger: pg.Client; wp: number; mp: number }>();
  for (const s of shapes) {
    const name = `chat_bench_sic_${tag}_${s.replace('@', '_')}`;
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    made.push(name);
    const writer = new pg.Client({ connectionString: at(name) });
    const merger = new pg.Client({ connectionString: at(name) });
    await writer.connect();
    await merger.connect();
    if (shapeOf(s).sql) await writer.query(`SET maintenance_work_mem = '256MB'; ${shapeOf(s).sql}`);
    await writer.query('VACUUM ANALYZE messages');
    const pid = async (c: pg.Client) =>
      (await c.query<{ p: number }>('SELECT pg_backend_pid() p')).rows[0]!.p;
    dbs.set(s, { writer, merger, wp: await pid(writer), mp: await pid(merger) });
  }

  let k = PRELOAD;
  const results = new Map<string, Array<{ writer: number; merger: number; rate: number }>>(
    shapes.map((s) => [s, []]),
  );
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of r % 2 ? [...shapes].reverse() : shapes) {
      const { writer, merger, wp, mp } = dbs.get(s)!;
      const merge = shapeOf(s).merge;
      const merged = () =>
        merge.length
          ? merger.query('SELECT gin_clean_pending_list(i::regclass) FROM unnest($1::text[]) i', [
              merge,
            ])
          : undefined;
      let rows = 0;
      let pending = 0;
      const c0 = [cpuUs(wp), cpuUs(mp)];
      const t0 = performance.now();
      const end = Date.now() + SECONDS * 1000;
      while (Date.now() < end) {
        const cs = Array.from({ length: BATCH }, (_, i) => 1 + ((k + i * 7) % PAIRS));
        await writer.query(
          'SELECT count(*) FROM insert_messages_v6($1::bigint[], $2::bigint[], $3::uuid[], $4::text[], $5::bigint[])',
          [
            cs,
            cs.map((c) => 2 * c),
            cs.map(() => randomUUID()),
            cs.map((_, i) => `${BODY}${k + i}`),
            cs.map(() => null),
          ],
        );
        k += BATCH;
        rows += BATCH;
        pending += BATCH;
        // The app merges every 250 ms: at flat-out's ~8,000 messages/s, every ~2,000.
        if (pending >= mergeRowsOf(s)) {
          await merged();
          pending = 0;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      await merged(); // the rest of the round's pending entries, counted in this round
      results.get(s)!.push({
        writer: (cpuUs(wp) - c0[0]!) / rows,
        merger: (cpuUs(mp) - c0[1]!) / rows,
        rate: rows / seconds,
      });
      console.log(
        `round ${r + 1} ${s.padEnd(6)} writer ${((cpuUs(wp) - c0[0]!) / rows).toFixed(1)} µs/msg, merger ${((cpuUs(mp) - c0[1]!) / rows).toFixed(1)}, ${Math.round(rows / seconds)} rows/s`,
      );
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  console.log(
    `\nbatch ${BATCH}, merged every ${EVERY_ROWS} rows, ${PRELOAD} messages preloaded, load ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}`,
  );
  for (const s of shapes) {
    const rs = results.get(s)!;
    console.log(
      `${s.padEnd(6)} writer ${median(rs.map((x) => x.writer)).toFixed(1)} + merger ${median(rs.map((x) => x.merger)).toFixed(1)} = ${median(rs.map((x) => x.writer + x.merger)).toFixed(1)} µs/msg (rounds: ${rs.map((x) => (x.writer + x.merger).toFixed(1)).join(' ')})`,
    );
  }
  for (const { writer, merger } of dbs.values()) {
    await writer.end();
    await merger.end();
  }
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  for (const name of made.reverse())
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

// `npx tsx bench/search-pending.ts [seconds] [rounds]`: does merging the search indexes' GIN
// pending lists off the send path help the sender? With fastupdate (the default) a message's
// index entries go to a pending list, and the insert that finds the list over
// gin_pending_list_limit (4 MB) merges all of it inside its own transaction: one batch of
// senders waits for thousands of messages' index work. Here one connection inserts as the
// app's writer does (insert_messages_v6, batches of 20, one after the other), first alone
// and then with a second connection calling gin_clean_pending_list on both indexes every
// --every ms, round by round; it prints the writer's rows/s, batch p50/p99/max and the CPU
// of each backend (/proc/<pid>/stat). --no-index, --drop words|trgm, --no-fastupdate and
// --one-index (both in one two-column GIN index) run the same writer on other shapes. Needs a
// PostgreSQL on this machine: a throwaway database on DATABASE_URL's server (default the
// local one), dropped at the end.
//
// Measured on PostgreSQL 15, 6-8 s rounds, load 4-7 (rows/s swing with load; CPU per row less):
//   writer's CPU per row: both indexes 79-96 µs alone, 78-87 with the merger (which took
//   10-14 µs beside it); no search index 51-58; only words 74-79; only trigrams 72-77;
//   one two-column index 88-94 alone, 81-87 with the merger; fastupdate off 208-267.
//   slowest batch of 20: 90-330 ms alone, 34-170 with the merger.
// So the merger (search/pending.ts) takes 5-10 µs a message off the sender's transaction and
// most of the stalls; what is left of the indexes' cost, ~25-30 µs, is the appending itself.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { cpuMs, withThrowawayDb } from './throwaway-db.js';

const SECONDS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 3);
const everyArg = process.argv.indexOf('--every');
const EVERY = everyArg > 0 ? Number(process.argv[everyArg + 1]) : 250;
const BATCH = 20;
const WORDS =
  'kayak lake picnic saturday train station bring snacks blanket meeting tomorrow morning evening weekend recipe lemon chapter book club music concert tickets'.split(
    ' ',
  );

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

await withThrowawayDb('chat_bench_pending', 200, async (url) => {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  // Since migration 20261129101000 the migrations make the trigram index alone; this bench
  // measured the two of 20261128233000, so it makes the words index again first.
  await pool.query(
    `CREATE INDEX IF NOT EXISTS messages_body_words_idx ON messages USING gin (to_tsvector('simple', body))`,
  );
  // --no-index: the same without the two search indexes, for what they cost the writer at all.
  if (process.argv.includes('--no-index'))
    await pool.query('DROP INDEX messages_body_words_idx, messages_body_trgm_idx');
  // --no-fastupdate: entries go straight into the index, no pending list (nothing to merge).
  if (process.argv.includes('--no-fastupdate'))
    await pool.query(`ALTER INDEX messages_body_words_idx SET (fastupdate = off);
                      ALTER INDEX messages_body_trgm_idx SET (fastupdate = off)`);
  // --one-index: both in one two-column GIN index (one pending list, one insert per row).
  if (process.argv.includes('--one-index'))
    await pool.query(`DROP INDEX messages_body_words_idx, messages_body_trgm_idx;
      CREATE INDEX messages_body_words_idx ON messages USING gin (to_tsvector('simple', body), body gin_trgm_ops)`);
  const only = process.argv.indexOf('--drop');
  if (only > 0) await pool.query(`DROP INDEX messages_body_${process.argv[only + 1]}_idx`);
  const { rows: pairs } = await pool.query<{ c: number; u: number }>(
    'SELECT conversation_id AS c, user_id AS u FROM conversation_members',
  );
  await pool.end();

  const writer = new pg.Client({ connectionString: url });
  const cleaner = new pg.Client({ connectionString: url });
  await writer.connect();
  await cleaner.connect();
  const pidOf = async (c: pg.Client) =>
    (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const [writerPid, cleanerPid] = [await pidOf(writer), await pidOf(cleaner)];

  let k = 0;
  async function round(clean: boolean) {
    const batches: number[] = [];
    let rows = 0;
    let cleans = 0;
    let stop = false;
    const cpu0 = [cpuMs(writerPid), cpuMs(cleanerPid)];
    const cleaning = (async () => {
      while (clean && !stop) {
        await new Promise((r) => setTimeout(r, EVERY));
        await cleaner.query(
          `SELECT gin_clean_pending_list('messages_body_words_idx'::regclass),
                  gin_clean_pending_list(coalesce(to_regclass('messages_body_trgm_idx'), 'messages_body_words_idx'::regclass))`,
        );
        cleans++;
      }
    })();
    const t0 = performance.now();
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      const batch = Array.from({ length: BATCH }, () => pairs[(k++ * 7919) % pairs.length]!);
      const bodies = batch.map(
        (_, i) =>
          `${WORDS[(k * 31 + i) % WORDS.length]} ${WORDS[(k * 17 + i * 3) % WORDS.length]} at ${k}:${i} ${WORDS[(k + i) % WORDS.length]} see https://example.org/x/${k}-${i}`,
      );
      const t = performance.now();
      await writer.query(
        'SELECT count(*) FROM insert_messages_v6($1::bigint[], $2::bigint[], $3::uuid[], $4::text[], $5::bigint[])',
        [
          batch.map((p) => p.c),
          batch.map((p) => p.u),
          batch.map(() => randomUUID()),
          bodies,
          batch.map(() => null),
        ],
      );
      batches.push(performance.now() - t);
      rows += BATCH;
    }
    const seconds = (performance.now() - t0) / 1000;
    stop = true;
    await cleaning;
    const cpu = [cpuMs(writerPid) - cpu0[0]!, cpuMs(cleanerPid) - cpu0[1]!];
    batches.sort((a, b) => a - b);
    console.log(
      `${clean ? `cleaner every ${EVERY} ms` : 'writer alone          '}: ${Math.round(rows / seconds)} rows/s, ` +
        `batch p50 ${pct(batches, 0.5).toFixed(2)} p99 ${pct(batches, 0.99).toFixed(2)} max ${batches.at(-1)!.toFixed(1)} ms, ` +
        `CPU µs/row writer ${((cpu[0]! * 1000) / rows).toFixed(0)} cleaner ${((cpu[1]! * 1000) / rows).toFixed(0)}` +
        `${clean ? ` (${cleans} cleans)` : ''}`,
    );
  }
  for (let r = 0; r < ROUNDS; r++) {
    await round(false);
    if (!process.argv.includes('--no-index') && only < 0) await round(true);
  }
  await writer.end();
  await cleaner.end();
});

// `npm run bench:search`: message search and the cost of its indexes, on 1,000,000 messages.
//
// Makes a throwaway database (on DATABASE_URL's server, or an embedded PostgreSQL 17 in a
// temporary folder), migrates it, loads synthetic users, conversations and messages (made
// here, never checked in), then measures:
//   1. search: the app's own code (src/features/search/db.ts) for a mix of queries (common,
//      rare, two words, phrase, part of a word, part of a URL, part of an email, no match) as
//      users with few and with many conversations; p50/p95/max per kind and overall;
//   2. inserts flat-out: insert_messages_v5 batches of --batch rows from --clients connections
//      (each on its own conversations, as the writer's lanes are) for --seconds, once with the
//      search indexes and once without them. One run per mode, bounded in time. Besides rows/s
//      (which a shared machine swings), the CPU time the inserting backends spent per message
//      when the database runs on this machine (/proc), and the batches' p99.
// Prints a table and writes bench/results/search.json. Everything made is dropped at the end.
import { mkdtemp, mkdir, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID, randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../src/core/db/migrate.js';
import { startEmbeddedDatabase } from '../src/core/db/embedded.js';
import { prepareSearch, searchMessages } from '../src/features/search/db.js';
import { parseQuery } from '../src/features/search/query.js';
import { cpuSecondsOf } from './proc.js';
import { numberFlag as arg } from './args.js';

const MESSAGES = arg('messages', 1_000_000);
const USERS = arg('users', 5_000);
const CONVERSATIONS = arg('conversations', 20_000);
const SECONDS = arg('seconds', 15);
const CLIENTS = arg('clients', 4);
const BATCH = arg('batch', 20);
const REPEATS = arg('repeats', 3);
const log = (...a: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

const WORDS = `the a to and you i it is of that in we for on this my be have with are not just
so but what do at can if get was me all like your about now up out will go one know no how
time when think good see there would back day got some make today tomorrow tonight lunch dinner
coffee meeting train station weekend saturday sunday monday friday park lake river beach trip
kayak canoe bike hike camp tent rain sun snow cold warm film book game music song concert ticket
party birthday cake pizza pasta salad soup bread cheese wine beer tea juice water office project
report deadline client budget invoice email phone call message photo picture video link page
code bug test deploy server database release branch merge review issue ticket sprint team lead
mother father sister brother friend cousin aunt uncle grandma baby dog cat bird garden kitchen
car bus plane flight hotel airport passport holiday museum gallery market shop store price
cheap expensive fast slow early late happy sad tired busy free sorry thanks please great cool
nice awesome funny weird strange maybe sure yes okay fine later soon never always again still`
  .split(/\s+/)
  .filter(Boolean);

function pct(sorted: number[], p: number) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function database(): Promise<{ url: string; drop: () => Promise<void>; mode: string }> {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const name = `chat_bench_search_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    return {
      url: u.toString(),
      mode: `server (${new URL(serverUrl).host})`,
      drop: async () => {
        const a = new pg.Client({ connectionString: serverUrl });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await a.end();
      },
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-bench-search-'));
  await chmod(dir, 0o755);
  const embedded = await startEmbeddedDatabase({
    dataDir: dir,
    log: { info: () => undefined, warn: (m) => log(m) },
  });
  return {
    url: embedded.url,
    mode: 'embedded PostgreSQL 17 (temporary DATA_DIR)',
    drop: async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function load(db: pg.Pool) {
  const t0 = Date.now();
  log(`loading ${USERS} users, ${CONVERSATIONS} conversations, ${MESSAGES} messages…`);
  await db.query(
    `INSERT INTO users (email, display_name, password_hash)
    SELECT 'user' || i || '@example.com', 'User ' || i, 'x' FROM generate_series(1, $1) i`,
    [USERS],
  );
  // Direct conversations between random pairs; a quarter of them have one of the first 0.2%
  // of users ("busy": some 500 conversations each), the others two random users.
  await db.query(
    `INSERT INTO conversations (kind, direct_key, created_by)
     SELECT 'direct', i::text, 1 FROM generate_series(1, $1) i`,
    [CONVERSATIONS],
  );
  await db.query(
    `INSERT INTO conversation_members (conversation_id, user_id)
     SELECT c.id, u FROM conversations c,
       LATERAL (SELECT CASE WHEN c.id % 4 = 0 THEN 1 + (c.id / 4) % GREATEST(1, $1 / 500)
                            ELSE 1 + (hashint4(c.id::int) & 2147483647) % $1 END AS a,
                       1 + (hashint4(c.id::int + 7) & 2147483647) % $1 AS b) p,
       LATERAL (SELECT DISTINCT x FROM unnest(ARRAY[p.a, p.b]) x) m(u)`,
    [USERS],
  );
  // Messages: 3–14 words, Zipf-like over the word list, a long tail of rare tokens, some URLs
  // and email addresses. Loaded without the search index, which is then built in bulk.
  await db.query('DROP INDEX messages_body_trgm_idx');
  const words = WORDS;
  const chunk = 100_000;
  for (let done = 0; done < MESSAGES; done += chunk) {
    const n = Math.min(chunk, MESSAGES - done);
    await db.query(
      `INSERT INTO messages (conversation_id, sender_id, client_id, body, created_at)
       SELECT c, cm.user_id, gen_random_uuid(), body, now() - (($3 - g) || ' seconds')::interval
       FROM (
         SELECT g, 1 + (hashint4(g) & 2147483647) % $2 AS c,
           (SELECT string_agg(
              CASE WHEN random() < 0.04 THEN 'zx' || (random() * 200000)::int
                   ELSE ($4::text[])[1 + floor(power(random(), 2.2) * array_length($4::text[], 1))::int] END,
              ' ')
            FROM generate_series(1, 3 + (g % 12) + (random() * 0)::int))
           || CASE WHEN g % 50 = 0 THEN ' https://example.org/page/' || g || '/kayaking-guide'
                   WHEN g % 97 = 0 THEN ' write to person' || g || '@example.net'
                   ELSE '' END AS body
         FROM generate_series($1::int + 1, $1::int + $5::int) g
       ) x
       CROSS JOIN LATERAL (SELECT user_id FROM conversation_members WHERE conversation_id = x.c LIMIT 1) cm`,
      [done, CONVERSATIONS, MESSAGES, words, n],
    );
    log(`  ${done + n} messages`);
  }
  await db.query(`UPDATE conversations c SET last_message_id = x.m
    FROM (SELECT conversation_id, max(id) m FROM messages GROUP BY 1) x WHERE x.conversation_id = c.id`);
  const loaded = Date.now() - t0;
  const t2 = Date.now();
  // One statement string: SET and the build run on the same connection. The trigram index
  // alone since migration 20261129101000 (it serves the full-text match too).
  await db.query(
    `SET maintenance_work_mem = '256MB';
     CREATE INDEX messages_body_trgm_idx ON messages USING gin (body gin_trgm_ops)`,
  );
  const trgmIdx = Date.now() - t2;
  await db.query('VACUUM ANALYZE');
  const size = await db.query<{ t: string; g: string }>(
    `SELECT pg_size_pretty(pg_table_size('messages')) t,
            pg_size_pretty(pg_relation_size('messages_body_trgm_idx')) g`,
  );
  log(`loaded in ${(loaded / 1000).toFixed(0)} s; trigram index ${(trgmIdx / 1000).toFixed(0)} s`);
  return {
    loadSeconds: loaded / 1000,
    trgmIndexSeconds: trgmIdx / 1000,
    sizes: size.rows[0]!,
  };
}

const QUERIES: Array<[kind: string, q: string]> = [
  ['common word', 'coffee'],
  ['very common word', 'the'],
  ['two words', 'kayak weekend'],
  ['phrase', '"coffee tomorrow"'],
  ['rare token', 'zx123457'],
  ['part of a word', 'kayaki'],
  ['part of a URL', 'example.org/page/4200'],
  ['part of an email', 'person9797@exam'],
  ['exclusion', 'pizza -beer'],
  ['no match', 'xylophonist'],
];

async function searches(db: pg.Pool) {
  // Users with many conversations (the busy 1%) and ordinary ones.
  const busy = await db.query<{ id: number; n: number }>(
    `SELECT user_id AS id, count(*)::int n FROM conversation_members GROUP BY 1 ORDER BY 2 DESC LIMIT 10`,
  );
  const usual = await db.query<{ id: number; n: number }>(
    `SELECT user_id AS id, count(*)::int n FROM conversation_members GROUP BY 1 ORDER BY hashint8(user_id) LIMIT 10`,
  );
  const users = [...busy.rows, ...usual.rows];
  const readable = await db.query<{ n: number }>(
    `SELECT count(*)::int n FROM messages m JOIN conversation_members cm ON cm.conversation_id = m.conversation_id WHERE cm.user_id = $1`,
    [busy.rows[0]!.id],
  );
  log(
    `searching as ${users.length} users (busiest: ${busy.rows[0]!.n} conversations, ${readable.rows[0]!.n} readable messages; usual: ~${usual.rows[0]!.n})`,
  );
  const byKind = new Map<string, number[]>();
  const all: number[] = [];
  const client = await db.connect();
  try {
    // Warm the caches once, as a running server would be.
    for (const [, q] of QUERIES) {
      await searchMessages(db, users[0]!.id, parseQuery(q), Number.MAX_SAFE_INTEGER, 21);
    }
    const stopAt = Date.now() + 180_000; // bounded, whatever the machine does
    for (let r = 0; r < REPEATS && Date.now() < stopAt; r++) {
      for (const u of users) {
        for (const [kind, q] of QUERIES) {
          const t = performance.now();
          await searchMessages(db, u.id, parseQuery(q), Number.MAX_SAFE_INTEGER, 21);
          const ms = performance.now() - t;
          all.push(ms);
          for (const key of [
            kind,
            busy.rows.includes(u) ? 'busy users (all kinds)' : 'usual users (all kinds)',
          ]) {
            const list = byKind.get(key) ?? [];
            list.push(ms);
            byKind.set(key, list);
          }
        }
      }
    }
    await client.query('BEGIN');
    const search = await prepareSearch(client, {
      userId: busy.rows[0]!.id,
      q: parseQuery('kayaki'),
      before: Number.MAX_SAFE_INTEGER,
      limit: 21,
    });
    const plan = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${search!.sql}`,
      search!.values,
    );
    await client.query('COMMIT');
    const rows = [...byKind].map(([kind, ms]) => {
      ms.sort((a, b) => a - b);
      return { kind, p50: pct(ms, 50), p95: pct(ms, 95), max: ms[ms.length - 1]! };
    });
    all.sort((a, b) => a - b);
    return {
      rows,
      overall: {
        n: all.length,
        p50: pct(all, 50),
        p95: pct(all, 95),
        p99: pct(all, 99),
        max: all[all.length - 1]!,
      },
      plan: plan.rows.map((r) => r['QUERY PLAN']),
    };
  } finally {
    client.release();
  }
}

/** CPU time (ms) a local process has used; undefined when the database runs elsewhere. */
function cpuMs(pid: number): number | undefined {
  const seconds = cpuSecondsOf(pid);
  return seconds === undefined ? undefined : seconds * 1000;
}

interface InsertRun {
  perSecond: number;
  /** CPU µs per message of the inserting backends (the send path's share in the database). */
  cpuUsPerRow: number | undefined;
  batchP99Ms: number;
}

async function insertRate(db: pg.Pool, label: string): Promise<InsertRun> {
  await db.query('CHECKPOINT').catch(() => undefined); // the app role may not; then skip
  const lanes = Array.from({ length: CLIENTS }, (_, lane) => lane);
  const users = await db.query<{ c: number; u: number }>(
    `SELECT conversation_id c, min(user_id) u FROM conversation_members GROUP BY 1 ORDER BY 1 LIMIT 4000`,
  );
  const pairs = users.rows.map((r) => ({ c: Number(r.c), u: Number(r.u) }));
  const clients = await Promise.all(lanes.map(() => db.connect()));
  let rows = 0;
  const batches: number[] = [];
  try {
    const pids = await Promise.all(
      clients.map(
        async (c) => (await c.query<{ p: number }>('SELECT pg_backend_pid() p')).rows[0]!.p,
      ),
    );
    const before = pids.map(cpuMs);
    const end = Date.now() + SECONDS * 1000;
    await Promise.all(
      lanes.map(async (lane) => {
        const mine = pairs.filter((p) => p.c % CLIENTS === lane);
        const client = clients[lane]!;
        let k = 0;
        while (Date.now() < end) {
          const batch = Array.from({ length: BATCH }, () => mine[(k++ * 7919) % mine.length]!);
          const bodies = batch.map(
            (_, i) =>
              `${WORDS[(k * 31 + i) % WORDS.length]} ${WORDS[(k * 17 + i * 3) % WORDS.length]} see https://example.org/x/${k}-${i} ${WORDS[(k + i) % WORDS.length]}`,
          );
          const t = performance.now();
          await client.query(
            'SELECT count(*) FROM insert_messages_v5($1::bigint[], $2::bigint[], $3::uuid[], $4::text[], $5::bigint[])',
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
      }),
    );
    // Pending-list merges that ran in these backends are counted; what autovacuum merged is not.
    const spent = pids.reduce<number | undefined>((sum, pid, i) => {
      const now = cpuMs(pid);
      const was = before[i];
      return sum === undefined || now === undefined || was === undefined
        ? undefined
        : sum + now - was;
    }, 0);
    batches.sort((a, b) => a - b);
    const run: InsertRun = {
      perSecond: rows / SECONDS,
      cpuUsPerRow: spent === undefined ? undefined : (spent * 1000) / rows,
      batchP99Ms: pct(batches, 99),
    };
    log(
      `inserts ${label}: ${Math.round(run.perSecond)} rows/s (${CLIENTS} connections, batches of ${BATCH}, ${SECONDS} s)` +
        (run.cpuUsPerRow === undefined
          ? ''
          : `, ${run.cpuUsPerRow.toFixed(0)} µs backend CPU per message`) +
        `, batch p99 ${run.batchP99Ms.toFixed(1)} ms`,
    );
    return run;
  } finally {
    for (const c of clients) c.release();
  }
}

const KEEP = process.argv.includes('--keep');

/** `--reuse URL`: only the searches, on a database a `--keep` run left loaded. */
async function searchOnly(url: string) {
  const db = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const search = await searches(db);
    for (const r of search.rows)
      console.log(
        `${r.kind.padEnd(20)} p50 ${r.p50.toFixed(1)}  p95 ${r.p95.toFixed(1)}  max ${r.max.toFixed(1)}`,
      );
    console.log(`all p50 ${search.overall.p50.toFixed(1)} p95 ${search.overall.p95.toFixed(1)}`);
    console.log(search.plan.join('\n'));
  } finally {
    await db.end();
  }
}

async function main() {
  const reuse = process.argv.indexOf('--reuse');
  if (reuse > 0) return searchOnly(process.argv[reuse + 1]!);
  const started = Date.now();
  const target = await database();
  log(`database: ${target.mode}`);
  const db = new pg.Pool({ connectionString: target.url, max: CLIENTS + 2 });
  try {
    await migrate(db);
    const loaded = await load(db);
    const search = await searches(db);
    let withRun: InsertRun | undefined;
    let withoutRun: InsertRun | undefined;
    if (!process.argv.includes('--no-inserts')) {
      withRun = await insertRate(db, 'with the search index');
      await db.query('DROP INDEX messages_body_trgm_idx');
      withoutRun = await insertRate(db, 'without them');
    }
    const withIndexes = withRun?.perSecond ?? NaN;
    const withoutIndexes = withoutRun?.perSecond ?? NaN;
    const server = await db.query<{ v: string }>(`SELECT current_setting('server_version') v`);
    const result = {
      at: new Date().toISOString(),
      database: target.mode,
      postgres: server.rows[0]!.v,
      messages: MESSAGES,
      users: USERS,
      conversations: CONVERSATIONS,
      ...loaded,
      search,
      inserts: {
        withIndexes,
        withoutIndexes,
        cpuUsPerRow: { withIndexes: withRun?.cpuUsPerRow, withoutIndexes: withoutRun?.cpuUsPerRow },
        batchP99Ms: { withIndexes: withRun?.batchP99Ms, withoutIndexes: withoutRun?.batchP99Ms },
        lowerBy: 1 - withIndexes / withoutIndexes,
        seconds: SECONDS,
        clients: CLIENTS,
        batch: BATCH,
      },
      totalSeconds: (Date.now() - started) / 1000,
    };
    console.log('\nsearch (ms)            p50     p95     max');
    for (const r of search.rows)
      console.log(
        `${r.kind.padEnd(20)} ${r.p50.toFixed(1).padStart(7)} ${r.p95.toFixed(1).padStart(7)} ${r.max.toFixed(1).padStart(7)}`,
      );
    console.log(
      `${'all'.padEnd(20)} ${search.overall.p50.toFixed(1).padStart(7)} ${search.overall.p95.toFixed(1).padStart(7)} ${search.overall.max.toFixed(1).padStart(7)}  (${search.overall.n} searches)`,
    );
    console.log(
      `\ninserts: ${Math.round(withIndexes)} rows/s with the indexes, ${Math.round(withoutIndexes)} without: ${(100 * result.inserts.lowerBy).toFixed(1)} % lower` +
        (withRun?.cpuUsPerRow !== undefined && withoutRun?.cpuUsPerRow !== undefined
          ? `; backend CPU per message ${withRun.cpuUsPerRow.toFixed(0)} µs with, ${withoutRun.cpuUsPerRow.toFixed(0)} µs without`
          : ''),
    );
    console.log(`sizes: table ${loaded.sizes.t}, trigram index ${loaded.sizes.g}`);
    console.log(
      '\nplan of "kayaki" (part of a word) for the busiest user:\n  ' + search.plan.join('\n  '),
    );
    const out = path.join(path.dirname(new URL(import.meta.url).pathname), 'results');
    await mkdir(out, { recursive: true });
    await writeFile(path.join(out, 'search.json'), JSON.stringify(result, null, 2));
    log(`wrote bench/results/search.json (${result.totalSeconds.toFixed(0)} s in all)`);
  } finally {
    await db.end();
    if (KEEP && process.env.DATABASE_URL) log(`kept ${target.url} (--reuse it; drop it after)`);
    else await target.drop();
  }
}

await main();

// `DATABASE_URL=postgres://… npx tsx bench/search-flat-out.ts [--rounds 3] [--seconds 8]
// [--shapes none,two,trgm] [--mode flat-out|one-in-flight|rate] [--pairs 50]`: what the
// search indexes cost the app's flat-out rate (issue 16 allows 10 %). `npm run bench`'s
// flat-out scenario (its users, sockets, window and body, bench/load.ts) against one app and
// one throwaway database per shape, the shapes taking turns round by round: `none` (no search
// index), `two` (the words and trigram indexes of migration 20261128233000), `trgm` (the
// trigram index alone, as shipped since 20261129101000). Each database's indexes are made on
// its empty table and grow with the rounds' inserts, as in use (a freshly built GIN index
// splits pages on every insert at first, and would make "with" look dearer). Prints each
// round's msg/s and e2e p50/p99, the CPU of the app and of that database's backends per acked
// message, and the load average around it. Needs `npm run build` first and a PostgreSQL
// server; the databases are dropped at the end.
//
// The same A/B of two settings of the app: a shape `name:VAR=value+VAR2=value` runs the
// shipped schema with those environment variables, e.g. `--mode one-in-flight --shapes
// 'two:WRITER_IN_FLIGHT=2,one:WRITER_IN_FLIGHT=1'` (how the writer's one batch in flight
// was chosen); `--mode rate` is the steady 1,000 messages/s.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, sleep, startChild, waitHealthy, type Managed } from './children.js';
import { mapLimit, openDirect, signUp } from './http.js';
import { cpuSecondsOf, loadAverage } from './proc.js';
import { closeAllSockets, closeTabs, connectTabs, runScenario, type TabSpec } from './load.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const ROUNDS = Number(arg('rounds', '3'));
const SECONDS = Number(arg('seconds', '8'));
const USERS = Number(arg('users', '500'));
const SOCKETS = Number(arg('sockets', '1000'));
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const server = process.env.DATABASE_URL;
if (!server) throw new Error('DATABASE_URL: a PostgreSQL server to make throwaway databases on');
const log = (...a: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

/** From what the migrations made (the trigram index alone) to each shape, on an empty table. */
const SHAPES: Record<string, string> = {
  none: 'DROP INDEX messages_body_trgm_idx',
  two: `CREATE INDEX messages_body_words_idx ON messages USING gin (to_tsvector('simple', body))`,
  trgm: '',
};
const MODE = arg('mode', 'flat-out');
if (MODE !== 'flat-out' && MODE !== 'one-in-flight' && MODE !== 'rate')
  throw new Error(`unknown mode ${MODE}`);
const PAIRS = Number(arg('pairs', '50'));
/** Each shape's statement on the migrated database and environment for its app. */
const shapeOf = new Map(
  arg('shapes', 'none,two,trgm')
    .split(',')
    .map((spec): [string, { sql: string; env: Record<string, string> }] => {
      const [name, vars] = spec.split(':', 2) as [string, string | undefined];
      if (vars === undefined) {
        if (SHAPES[name] === undefined) throw new Error(`unknown shape ${name}`);
        return [name, { sql: SHAPES[name], env: {} }];
      }
      const env: Record<string, string> = {};
      for (const kv of vars.split('+')) {
        const [key, value = ''] = kv.split('=', 2);
        if (key) env[key] = value;
      }
      return [name, { sql: '', env }];
    }),
);
const shapes = [...shapeOf.keys()];

interface Target {
  shape: string;
  dbName: string;
  app: Managed;
  db: pg.Client;
  baseUrl: string;
  specs: TabSpec[];
}

const runId = randomBytes(4).toString('hex');
const admin = new pg.Client({ connectionString: server });
await admin.connect();
const targets: Target[] = [];

async function start(shape: string): Promise<Target> {
  const dbName = `chat_bench_flat_${runId}_${shape}`;
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const u = new URL(server!);
  u.pathname = `/${dbName}`;
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const app = startChild('app', process.execPath, ['--max-semi-space-size=32', 'dist/server.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '4',
      RATE_LIMIT: 'false',
      SOCKETS_PER_ADDRESS: '100000',
      DATABASE_URL: u.toString(),
      SESSION_SECRET: randomBytes(32).toString('hex'),
      ...shapeOf.get(shape)!.env,
    },
    fdLimit: SOCKETS + 500,
  });
  const db = new pg.Client({ connectionString: u.toString() });
  const target: Target = { shape, dbName, app, db, baseUrl, specs: [] };
  targets.push(target);
  await waitHealthy(`${baseUrl}/healthz`, app, 120_000);
  await db.connect();
  if (shapeOf.get(shape)!.sql) await db.query(shapeOf.get(shape)!.sql);
  const users = await mapLimit(
    Array.from({ length: USERS }, (_, i) => i),
    16,
    (i) => signUp(baseUrl, `${runId}${shape}`, i),
  );
  const conversations = await mapLimit(
    Array.from({ length: USERS / 2 }, (_, k) => k),
    16,
    (k) => openDirect(users[2 * k]!, users[2 * k + 1]!),
  );
  target.specs = Array.from({ length: SOCKETS }, (_, i) => {
    const user = i % USERS;
    return {
      user,
      peer: user ^ 1,
      conversationId: conversations[user >> 1]!,
      cookie: users[user]!.browser.cookie,
    };
  });
  const { rows } = await db.query<{ i: string }>(
    `SELECT string_agg(indexname, ', ') i FROM pg_indexes WHERE tablename = 'messages' AND indexdef ~ 'gin'`,
  );
  log(`${shape}: app pid ${app.pid}, search indexes: ${rows[0]!.i ?? 'none'}`);
  return target;
}

try {
  for (const s of shapes) await start(s);
  const rates = new Map(shapes.map((m) => [m, [] as number[]]));
  const dbCpu = new Map(shapes.map((m) => [m, [] as number[]]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) {
      // one-in-flight: one tab for each user of the first PAIRS conversations, as npm run bench.
      const tabs = await connectTabs(
        t.baseUrl,
        MODE === 'one-in-flight' ? t.specs.slice(0, 2 * PAIRS) : t.specs,
      );
      await sleep(1000);
      // The CPU of this database's client backends (the app's connections) and of the app, per
      // acked message: other work on the machine (other databases) is not in it. A connection
      // the pool opens during the round counts from 0.
      const backends = async () =>
        (
          await t.db.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
               AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
          )
        ).rows.map((x) => x.pid);
      const start = new Map((await backends()).map((p) => [p, cpuSecondsOf(p) ?? 0]));
      const before = loadAverage();
      const app0 = cpuSecondsOf(t.app.pid) ?? 0;
      const res = await runScenario(
        tabs,
        {
          name: `${MODE} ${t.shape}`,
          target: 'app',
          mode: MODE,
          seconds: SECONDS,
          warmupSeconds: 1,
          window: 4,
          rate: 1000,
          ackTimeoutMs: 10_000,
          statsSettleMs: 0,
        },
        { serverPid: t.app.pid },
      );
      const n = res.ackedOk;
      let dbSeconds = 0;
      for (const p of new Set([...start.keys(), ...(await backends())]))
        dbSeconds += (cpuSecondsOf(p) ?? start.get(p) ?? 0) - (start.get(p) ?? 0);
      const dbUs = (dbSeconds * 1e6) / n;
      const appUs = (((cpuSecondsOf(t.app.pid) ?? 0) - app0) * 1e6) / n;
      closeTabs(tabs);
      rates.get(t.shape)!.push(res.messagesPerSec);
      dbCpu.get(t.shape)!.push(dbUs);
      const errors = res.errors.nack + res.errors.timeout + res.errors.lost;
      log(
        `round ${r + 1} ${t.shape.padEnd(5)} ${Math.round(res.messagesPerSec)} msg/s, e2e p50 ${res.e2eMs.p50} p99 ${res.e2eMs.p99} ms; CPU % app ${res.cpu.serverPct}, ` +
          `postgres ${res.cpu.postgresPct}, load gen ${res.cpu.loadgenPct}, other ${res.cpu.otherPct}; ` +
          `CPU µs per acked message: database ${dbUs.toFixed(0)}, app ${appUs.toFixed(0)}; ` +
          `load average ${before} → ${loadAverage()}${errors ? `; ${errors} errors` : ''}`,
      );
      await sleep(1000);
    }
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const first = shapes[0]!;
  const base = rates.get(first);
  for (const s of shapes)
    log(
      `${s.padEnd(5)} ${rates.get(s)!.map(Math.round).join(', ')} msg/s` +
        (base && s !== first
          ? ` (${((1 - mean(rates.get(s)!) / mean(base)) * 100).toFixed(1)} % under ${first}, means)`
          : '') +
        `; database CPU per message ${dbCpu.get(s)!.map(Math.round).join(', ')} µs`,
    );
} finally {
  closeAllSockets();
  for (const t of targets) {
    await t.db.end().catch(() => undefined);
    await t.app.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${t.dbName}" WITH (FORCE)`);
  }
  await admin.end();
}

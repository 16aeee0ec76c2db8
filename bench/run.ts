// `npm run bench`: builds the app, starts it as a child process (embedded PostgreSQL in a
// temporary DATA_DIR, or a throwaway database on $DATABASE_URL's server), loads it from this
// process over HTTP and Socket.IO, compares it with a bare Socket.IO relay, and prints tables
// (also written as JSON). Every child is stopped and every temporary thing removed at the end,
// on error, on Ctrl-C and on the global timeout.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import * as prettier from 'prettier';
import { fillBusyInbox } from './busy-inbox.js';
import { parseArgs, type BenchOptions } from './args.js';
import {
  Cleanup,
  freePort,
  ProbeChannel,
  runCommand,
  sleep,
  startChild,
  stopOrphanPostgres,
  waitHealthy,
  within,
  type Managed,
} from './children.js';
import {
  mapLimit,
  openDirect,
  postMessage,
  postReaction,
  signUp,
  PageTimer,
  type BenchUser,
  type PageTiming,
} from './http.js';
import {
  closeAllSockets,
  closeTabs,
  connectTabs,
  runScenario,
  type DbCounters,
  type Probe,
  type ScenarioOptions,
  type ScenarioResult,
  type TabSpec,
} from './load.js';
import { machineCpu, openFileLimits, rssKb } from './proc.js';
import { summarise } from './profile-summary.js';
import { round, Samples, table, type Cell } from './stats.js';
import type { SpanSummary } from '../src/features/messages/trace.js';

/** Node flags `npm start` runs the app with (package.json "start"); read from there. */
const START_FLAGS: string[] = (
  (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts.start ?? ''
)
  .split(/\s+/)
  .filter((w) => w.startsWith('--'));

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const opts = parseArgs(process.argv.slice(2));
const cleanup = new Cleanup();
const log = (msg: string) => console.error(`bench: ${msg}`);

interface MemoryResult {
  target: 'app' | 'relay';
  sockets: number;
  idleRssKb: number | null;
  loadedRssKb: number | null;
  kbPerSocket: number | null;
  heapKbPerSocket: number | null;
  gc: boolean;
}

interface Results {
  meta: Record<string, unknown>;
  scenarios: ScenarioResult[];
  memory: MemoryResult[];
  pages: PageTiming[];
  notes: string[];
}

// ---------------------------------------------------------------- lifecycle

let exiting = false;
async function exit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    // If the cleanup itself hangs, leave anyway.
    setTimeout(() => {
      console.error('bench: cleanup did not finish in 90 s; exiting');
      process.exit(code || 1);
    }, 90_000).unref();
    await cleanup.run();
    process.exit(code);
  }
  return new Promise<never>(() => undefined);
}
process.on('SIGINT', () => {
  if (!exiting) log('interrupted; stopping the children and cleaning up');
  void exit(130);
});
process.on('SIGTERM', () => {
  if (!exiting) log('terminated; stopping the children and cleaning up');
  void exit(143);
});
const globalDeadline = Date.now() + opts.timeoutSeconds * 1000;
/** Optional waiting (quiet machine, retries) must leave this much of the global budget. */
const spareMs = () => globalDeadline - Date.now() - 150_000;
setTimeout(() => {
  log(`global timeout of ${opts.timeoutSeconds} s reached; stopping everything`);
  void exit(1);
}, opts.timeoutSeconds * 1000).unref();

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const t0 = Date.now();
  const notes: string[] = [];
  const runId = randomBytes(4).toString('hex');
  const warmupSeconds = Math.min(1, opts.seconds / 4);
  const ackTimeoutMs = opts.smoke ? 5_000 : 10_000;

  // File descriptors: each socket is one on each side; the server also has its pool and logs.
  const needFds = Math.max(opts.sockets, opts.memorySockets) + 500;
  const limits = openFileLimits();
  let childFdLimit: number | undefined;
  if (limits) {
    if (limits.soft < needFds) {
      throw new Error(
        `this process may open only ${limits.soft} files but ${needFds} are needed for ` +
          `${Math.max(opts.sockets, opts.memorySockets)} sockets. Run \`ulimit -n ${needFds}\` ` +
          `first (the hard limit is ${limits.hard}${limits.hard < needFds ? ', too low as well: ask for a higher one or use fewer --sockets' : ''}).`,
      );
    }
    if (limits.soft < needFds * 2 && limits.hard > limits.soft) {
      childFdLimit = Math.min(limits.hard, needFds * 2);
    }
    log(`open files: soft ${limits.soft}, hard ${limits.hard}; need ~${needFds} per side`);
  }

  const loadAtStart = os.loadavg().map((l) => round(l, 2));
  const busyBefore = await machineBusyPct(1_000);
  log(
    `machine busy before the start: ${busyBefore ?? '?'}% (of ${os.cpus().length * 100}); load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  if (busyBefore !== null && busyBefore > 30) {
    log(
      'warning: something else is using the CPU; the numbers will be lower and noisier (see "other %")',
    );
  }

  // 1. Build.
  let building: ChildProcess | undefined;
  cleanup.add('build', () => {
    if (building && building.exitCode === null) building.kill('SIGTERM');
  });
  if (opts.build) {
    log('npm run build');
    await runCommand('npm', ['run', 'build', '--silent'], ROOT, (c) => (building = c));
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'server.js'))) {
    throw new Error('dist/server.js is missing: run without --no-build');
  }

  // 2. A database of our own.
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'chat-bench-'));
  await fsp.chmod(dataDir, 0o755); // embedded PostgreSQL runs as the postgres user when we are root
  cleanup.add('temporary DATA_DIR', async () => {
    await stopOrphanPostgres(dataDir);
    if (opts.keep) log(`kept ${dataDir}`);
    else await fsp.rm(dataDir, { recursive: true, force: true });
  });
  const serverUrl = process.env.DATABASE_URL || undefined;
  let appDatabaseUrl: string | undefined;
  let dbName: string | undefined;
  if (serverUrl) {
    dbName = `chat_bench_${runId}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${dbName}"`);
    } finally {
      await admin.end();
    }
    const createdName = dbName;
    cleanup.add(`database ${createdName}`, async () => {
      if (opts.keep) return log(`kept database ${createdName}`);
      const a = new pg.Client({ connectionString: serverUrl });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS "${createdName}" WITH (FORCE)`);
        log(`dropped database ${createdName}`);
      } finally {
        await a.end();
      }
    });
    const u = new URL(serverUrl);
    u.pathname = `/${dbName}`;
    appDatabaseUrl = u.toString();
    log(`server mode: created database ${dbName} on ${u.host}`);
  } else {
    log(`embedded mode: DATA_DIR ${dataDir}`);
  }

  // 3. The app as a child process.
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const appProbe = new ProbeChannel();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    BCRYPT_COST: '4',
    RATE_LIMIT: 'false',
    // Every benchmark socket comes from 127.0.0.1: the per-address cap (issue 10, 200 by
    // default) would refuse the memory step's 2,000. The per-user cap stays as shipped.
    SOCKETS_PER_ADDRESS: '100000',
    DATA_DIR: dataDir,
    DATABASE_URL: appDatabaseUrl ?? '',
    SESSION_SECRET: randomBytes(32).toString('hex'),
    BENCH_PROBE: '1',
    BENCH_TRACE: opts.trace ? '1' : '',
  };
  const appStarted = Date.now();
  const app = startChild(
    'app',
    process.execPath,
    ['--expose-gc', ...START_FLAGS, '--import', './bench/server-probe.mjs', 'dist/server.js'],
    {
      env,
      cwd: ROOT,
      fdLimit: childFdLimit,
      onStdoutLine: (line) => appProbe.handleLine(line) || console.error(`[app] ${cut(line)}`),
    },
  );
  appProbe.attach(app);
  cleanup.add('app', async () => {
    await app.stop();
    const { code, signal } = await app.exited;
    log(`app stopped (${signal ?? `exit ${code}`})`);
  });
  await waitHealthy(`${baseUrl}/healthz`, app, 120_000);
  log(`app ready on ${baseUrl} (pid ${app.pid}) in ${Date.now() - appStarted} ms`);

  const db = await statsClient(dataDir, appDatabaseUrl);
  cleanup.add('stats connection', () => db.end());
  cleanup.add('sockets', () => {
    const n = closeAllSockets();
    if (n) log(`closed ${n} sockets left open`);
  });
  const dbCounters = () => readCounters(db);
  const pgVersion = (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v"))
    .rows[0]?.v;
  const pgSettings = (
    await db.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
       WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method', 'shared_buffers', 'max_connections')`,
    )
  ).rows;

  // 4. Users and conversations over HTTP.
  const pageUsers = 52; // the page user, its 50 friends, the busy inbox's user
  let t = Date.now();
  const users = await mapLimit(range(opts.users + pageUsers), 16, (i) => signUp(baseUrl, runId, i));
  const loadUsers = users.slice(0, opts.users);
  const signupMs = Date.now() - t;
  log(`signed up ${users.length} users in ${signupMs} ms`);
  t = Date.now();
  const conversations = await mapLimit(range(opts.users / 2), 16, (k) =>
    openDirect(loadUsers[2 * k]!, loadUsers[2 * k + 1]!),
  );
  log(`opened ${conversations.length} direct conversations in ${Date.now() - t} ms`);

  // The page user: 50 conversations (the inbox), one of them with 50 messages.
  const [pageUser, busyUser, ...friends] = users.slice(opts.users) as [
    BenchUser,
    BenchUser,
    ...BenchUser[],
  ];
  const pageConversations = await mapLimit(friends, 8, (f) => openDirect(pageUser, f));
  const bigConversation = pageConversations[0]!;
  // Formatted (issue 15): bold, code, a link, a list; every fourth with reactions, every
  // tenth a reply, so the page's time includes rendering and decorating them.
  const historyIds: number[] = [];
  for (let i = 0; i < 50; i++) {
    const body =
      i % 3 === 0
        ? `History message ${i + 1}:\n- **bold** and \`code\`\n- see https://example.com/${i}`
        : `History message ${i + 1} with _some_ **formatting**`;
    const replyTo: Record<string, string> =
      i % 10 === 9 ? { replyTo: String(historyIds[i - 1]) } : {};
    historyIds.push(
      await postMessage(i % 2 ? friends[0]! : pageUser, bigConversation, body, replyTo),
    );
    if (i % 4 === 0) {
      await postReaction(pageUser, bigConversation, historyIds[i]!, '👍');
      await postReaction(friends[0]!, bigConversation, historyIds[i]!, '❤️');
    }
  }
  await mapLimit(range(friends.length - 1), 8, (i) =>
    postMessage(friends[i + 1]!, pageConversations[i + 1]!, `Hello from friend ${i + 1}`),
  );
  log('page data ready (50 conversations; one with 50 formatted messages, reactions, replies)');
  // Issue 14's inbox: 200 conversations, 100 of them groups, 30 unread in each (bench/busy-inbox.ts).
  await fillBusyInbox(db, busyUser.id, `Bench user ${busyUser.index}`);
  log('busy inbox ready (200 conversations, 100 groups, 6,000 unread messages)');

  const tabSpecs = (count: number, relay: boolean): TabSpec[] =>
    range(count).map((i) => {
      const user = i % opts.users;
      const peer = user ^ 1;
      const conversationId = conversations[user >> 1]!;
      return relay
        ? { user, peer, conversationId, auth: { userId: user, peerId: peer, conversationId } }
        : { user, peer, conversationId, cookie: loadUsers[user]!.browser.cookie };
    });

  // 5. Memory per idle socket.
  const memory: MemoryResult[] = [];
  if (opts.memorySockets > 0) {
    log(`memory: app RSS at 0 and at ${opts.memorySockets} sockets`);
    await sleep(2_000);
    const idle = await gcAndMeasure(app.pid, appProbe);
    t = Date.now();
    const tabs = await connectTabs(baseUrl, tabSpecs(opts.memorySockets, false));
    log(`connected ${tabs.length} app sockets in ${Date.now() - t} ms`);
    await sleep(2_000);
    const loaded = await gcAndMeasure(app.pid, appProbe);
    closeTabs(tabs);
    memory.push(memoryRow('app', opts.memorySockets, idle, loaded));
    await sleep(2_000);
  }

  const scenarios: ScenarioResult[] = [];
  const profiles: string[] = [];
  const base: Omit<ScenarioOptions, 'name' | 'target' | 'mode'> = {
    seconds: opts.seconds,
    warmupSeconds,
    window: opts.window,
    rate: opts.rate,
    ackTimeoutMs,
    statsSettleMs: 11_000,
  };
  const rateName = `rate-${opts.rate}`;
  const oneName = `one-in-flight ${opts.pairs} pairs`;

  // 6. The relay baseline: same sockets, same pattern, no app, no database.
  const { relay, port: relayPort, relayProbe } = await startRelay(childFdLimit);
  const relayUrl = `http://127.0.0.1:${relayPort}`;
  const relayPid = relay.pid;
  {
    const measure = () => gcAndMeasure(relay.pid, relayProbe);
    await sleep(500);
    const idle = await measure();
    const tabs = await connectTabs(relayUrl, tabSpecs(opts.sockets, true));
    await sleep(2_000);
    memory.push(memoryRow('relay', tabs.length, idle, await measure()));
    for (const [name, mode] of [
      ['relay', 'flat-out'],
      [`relay ${rateName}`, 'rate'],
    ] as const) {
      const probe: Probe = { serverPid: relayPid, ...windowHooks(relayProbe, name, profiles) };
      scenarios.push(
        await measured(name, notes, () =>
          runScenario(tabs, { ...base, name, target: 'relay', mode }, probe),
        ),
      );
    }
    closeTabs(tabs);
  }

  // 7. The app.
  {
    t = Date.now();
    const tabs = await connectTabs(baseUrl, tabSpecs(opts.sockets, false));
    log(`connected ${tabs.length} app sockets in ${Date.now() - t} ms`);
    await sleep(1_000);
    for (const [name, mode] of [
      ['flat-out', 'flat-out'],
      [rateName, 'rate'],
    ] as const) {
      const probe: Probe = {
        serverPid: app.pid,
        db: opts.dbStats ? dbCounters : undefined,
        ...windowHooks(appProbe, name, profiles),
      };
      scenarios.push(
        await measured(name, notes, () =>
          runScenario(tabs, { ...base, name, target: 'app', mode }, probe),
        ),
      );
    }
    closeTabs(tabs);
    await sleep(1_000);
  }

  // 8. One in flight per sender, relay and app in turn (--rounds times): on a shared machine
  // the load of others drifts within seconds, so each app round has a relay round beside it.
  {
    const pairTabs = tabSpecs(2 * opts.pairs, false);
    const appTabs = await connectTabs(baseUrl, pairTabs);
    const relayTabs = await connectTabs(relayUrl, tabSpecs(2 * opts.pairs, true));
    await sleep(500);
    const turn = (round: number, tabs: typeof appTabs, relay: boolean) => {
      const name = `${relay ? 'relay ' : ''}${oneName}${opts.rounds > 1 ? ` #${round}` : ''}`;
      const probe: Probe = relay
        ? { serverPid: relayPid, ...windowHooks(relayProbe, name, profiles) }
        : { serverPid: app.pid, ...windowHooks(appProbe, name, profiles) };
      const o = { ...base, name, target: relay ? 'relay' : 'app', mode: 'one-in-flight' } as const;
      return measured(name, notes, () => runScenario(tabs, o, probe));
    };
    for (let i = 1; i <= opts.rounds; i++) {
      scenarios.push(await turn(i, relayTabs, true), await turn(i, appTabs, false));
    }
    closeTabs(appTabs);
    closeTabs(relayTabs);
    await relay.stop();
    notes.push(oneInFlightSummary(scenarios));
  }

  // 9. Page times, logged in as the page user: a warm-up, every page one request at a time
  // (with the database work per request when --db-stats), then each at concurrency 4.
  const timer = new PageTimer(baseUrl, pageUser.browser.cookie, 4);
  const busyTimer = new PageTimer(baseUrl, busyUser.browser.cookie, 4);
  const pageList = [
    { page: 'conversation (50 messages)', path: `/conversations/${bigConversation}`, timer },
    { page: 'inbox (50 conversations)', path: '/', timer },
    // The newest 50 of 200 and "Show more conversations", then all 200 (three presses).
    { page: 'inbox (200 conversations, 100 groups)', path: '/', timer: busyTimer },
    { page: 'inbox, all 200 shown', path: '/?show=200', timer: busyTimer },
  ];
  const pages: PageTiming[] = [];
  try {
    for (const p of pageList) await p.timer.sequential(p.path, 10); // JIT, pool connections
    const counters = opts.dbStats ? dbCounters : undefined;
    if (counters) await sleep(11_000); // let the warm-up's counters arrive first
    let before = counters && (await counters());
    for (const p of pageList) {
      await appProbe.requests(); // forget the warm-up's and the last page's
      const { samples, bytes } = await p.timer.sequential(p.path, opts.pageRequests);
      const inServer = await appProbe.requests();
      const server = inServer?.length ? Samples.of(inServer) : undefined;
      let db: PageTiming['db'] = null;
      if (counters && before) {
        // A backend's last counters appear after 10 s idle; the 2 are our own counter queries.
        await sleep(11_000);
        const after = await counters();
        const n = opts.pageRequests;
        db = {
          commitsPerRequest: round((after.commits - before.commits - 2) / n, 2),
          walSyncsPerRequest:
            after.walSyncs !== null && before.walSyncs !== null
              ? round((after.walSyncs - before.walSyncs) / n, 2)
              : null,
        };
        before = after;
      }
      pages.push({
        page: p.page,
        path: p.path,
        bytes,
        sequential: {
          requests: samples.count,
          p50: samples.p(0.5),
          p99: samples.p(0.99),
          mean: samples.mean(),
        },
        server: server ? { p50: server.p(0.5), p99: server.p(0.99) } : null,
        db,
        concurrent: {
          concurrency: 4,
          seconds: 0,
          requests: 0,
          perSecond: 0,
          p50: null,
          p99: null,
          errors: 0,
        },
      });
    }
    for (const [i, p] of pages.entries())
      p.concurrent = await pageList[i]!.timer.concurrent(p.path, opts.pageSeconds);
  } finally {
    timer.close();
    busyTimer.close();
  }

  // 10. Report.
  for (const sc of scenarios) {
    if (sc.db && sc.db.stored !== sc.ackedOk) {
      notes.push(`${sc.name}: ${sc.ackedOk} messages acked ok but ${sc.db.stored} rows stored.`);
    }
  }
  notes.push(
    'msgs/s: messages whose first recipient socket got message:new inside the measured window, per second.',
    'e2e: send -> first message:new at a recipient socket; ack: send -> ack; both measured in the load process.',
    'ratio vs relay: app msgs/s / the relay row of the same pattern (flat-out vs relay, rate vs relay rate, one-in-flight vs relay one-in-flight); p50 vs relay likewise for e2e p50.',
    'one-in-flight: one tab per user; in each of --pairs conversations one member sends its next message when the last is acked.',
    `CPU % is of one core; "machine" is all ${os.cpus().length} cores (max ${os.cpus().length * 100}); ` +
      '"other" = machine minus server, load generator and postgres (anything else running).',
    'postgres CPU sums every process named postgres on the machine.',
    'server loop lag: how much later than due a 5 ms timer fired in the server process (perf_hooks).',
    'db commits/s counts every transaction of the database, read-only ones too; a WAL sync is one durable commit of a batch.',
    'pages: app run with NODE_ENV=development (production needs https cookies); compiled views are cached all the same (src/app.ts sets "view cache" in every mode).',
  );
  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      mode: serverUrl ? 'server' : 'embedded',
      database: serverUrl
        ? `${dbName} on ${new URL(serverUrl).host}`
        : 'embedded (temporary DATA_DIR)',
      postgres: pgVersion,
      postgresSettings: Object.fromEntries(pgSettings.map((s) => [s.name, s.setting])),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      poolMax: process.env.PG_POOL_MAX ?? '10 (default)',
      socketAdapter: process.env.SOCKET_ADAPTER ?? (process.env.REDIS_URL ? 'redis' : 'none'),
      users: opts.users,
      sockets: opts.sockets,
      socketsPerUser: round(opts.sockets / opts.users, 2),
      seconds: opts.seconds,
      warmupSeconds,
      window: opts.window,
      rate: opts.rate,
      smoke: opts.smoke,
      signupMs,
      machineBusyBeforePct: busyBefore,
      loadAverageAtStart: loadAtStart,
      totalSeconds: 0,
    },
    scenarios,
    memory,
    pages,
    notes,
  };
  results.meta.totalSeconds = Math.round((Date.now() - t0) / 1000);
  let text = report(results, opts);
  if (profiles.length) {
    notes.push(
      '--cpu-prof: the V8 profiler ran in the server during each window; it costs some throughput.',
    );
    text = [
      report(results, opts),
      ...profiles.map(
        (f) =>
          `CPU profile of the server, ${path.basename(f)} (${path.relative(ROOT, f)})\n${summarise(f, 12)}`,
      ),
    ].join('\n\n');
  }
  console.log(`\n${text}\n`);
  const out = path.resolve(ROOT, opts.out);
  await fsp.mkdir(path.dirname(out), { recursive: true });
  // Formatted as the repository's Prettier would, so `npm run lint` stays green.
  const json = await prettier.format(JSON.stringify({ ...results, text }), { parser: 'json' });
  await fsp.writeFile(out, json);
  log(`wrote ${path.relative(ROOT, out)}`);
}

// ---------------------------------------------------------------- helpers

/** The bare Socket.IO relay as a child process; resolves once it prints its port. */
async function startRelay(
  fdLimit: number | undefined,
): Promise<{ relay: Managed; port: number; relayProbe: ProbeChannel }> {
  let announce: (port: number) => void = () => undefined;
  const announced = new Promise<number>((resolve) => (announce = resolve));
  const relayProbe = new ProbeChannel();
  const relay = startChild(
    'relay',
    process.execPath,
    [
      '--expose-gc',
      ...START_FLAGS, // the relay gets the same runtime, so the ratio compares like with like
      '--import',
      'tsx',
      '--import',
      './bench/server-probe.mjs',
      'bench/relay-server.ts',
    ],
    {
      env: { ...process.env, NODE_ENV: 'production', BENCH_PROBE: '1' },
      cwd: ROOT,
      fdLimit,
      onStdoutLine: (line) => {
        if (relayProbe.handleLine(line)) return;
        const port = /^\{"port":(\d+)\}$/.exec(line)?.[1];
        if (port) announce(Number(port));
        else console.error(`[relay] ${cut(line)}`);
      },
    },
  );
  relayProbe.attach(relay);
  cleanup.add('relay', () => relay.stop());
  const port = await within(30_000, 'relay start', () =>
    Promise.race([
      announced,
      relay.exited.then(({ code, signal }) => {
        throw new Error(`the relay exited at start (${signal ?? `exit ${code}`})`);
      }),
    ]),
  );
  return { relay, port, relayProbe };
}

/** The server's side of a measured window: event-loop lag, and a CPU profile with --cpu-prof. */
function windowHooks(
  channel: ProbeChannel,
  name: string,
  profiles: string[],
): Pick<Probe, 'windowStart' | 'windowEnd'> {
  const file = path.join(
    ROOT,
    'bench',
    'results',
    'profiles',
    `${name.replace(/[^\w.-]+/g, '-')}.cpuprofile`,
  );
  return {
    windowStart: async () => {
      await channel.ask('report');
      if (opts.cpuProf && !(await channel.profileStart()))
        log(`could not start profiling "${name}"`);
    },
    windowEnd: async () => {
      const r = await channel.ask('report');
      if (opts.cpuProf) {
        await fsp.mkdir(path.dirname(file), { recursive: true });
        if (await channel.profileStop(file)) {
          if (!profiles.includes(file)) profiles.push(file);
        } else log(`could not write the profile of "${name}"`);
      }
      return r;
    },
  };
}

/** Busy % of the whole machine over ms (100 per core), or null off Linux. */
async function machineBusyPct(ms: number): Promise<number | null> {
  const a = machineCpu();
  await sleep(ms);
  const b = machineCpu();
  if (!a || !b || b.total === a.total) return null;
  return Math.round(((b.busy - a.busy) / (b.total - a.total)) * 100 * os.cpus().length);
}

/**
 * Runs a scenario on a quiet machine if it can: waits for quiet first, and when other
 * processes took more than 40% of a core during it, runs it again (up to --busy-retries
 * more times) and keeps the least disturbed attempt.
 */
async function measured(
  name: string,
  notes: string[],
  run: () => Promise<ScenarioResult>,
): Promise<ScenarioResult> {
  let best: ScenarioResult | undefined;
  for (let attempt = 0; attempt <= opts.busyRetries; attempt++) {
    await waitQuiet(name, notes);
    log(
      `scenario ${name} (${opts.sockets} sockets, ${opts.seconds} s)${attempt ? `, attempt ${attempt + 1}` : ''}`,
    );
    const r = await run();
    await sleep(500);
    const other = r.cpu.otherPct ?? 0;
    if (!best || other < (best.cpu.otherPct ?? 0)) best = r;
    if (other <= 40 || spareMs() < 0) break;
    log(`other processes used ${other}% CPU during "${name}"`);
  }
  if ((best!.cpu.otherPct ?? 0) > 40) {
    notes.push(
      `"${name}" ran while other processes used ${best!.cpu.otherPct}% CPU: read it as a lower bound.`,
    );
  }
  return best!;
}

/**
 * Between scenarios our processes are idle, so the machine's load is someone else's: wait
 * (bounded by --quiet-wait) until it drops, and say so in the notes when it did not.
 */
async function waitQuiet(name: string, notes: string[]): Promise<void> {
  if (opts.quietWait <= 0) return;
  const deadline = Date.now() + Math.min(opts.quietWait * 1000, Math.max(0, spareMs()));
  let busy = await machineBusyPct(1_000);
  let waited = false;
  while (busy !== null && busy >= 25 && Date.now() < deadline) {
    if (!waited)
      log(`the machine is busy (${busy}%) before "${name}"; waiting up to ${opts.quietWait} s`);
    waited = true;
    busy = await machineBusyPct(1_000);
  }
  if (busy !== null && busy >= 25) {
    notes.push(`"${name}" started on a busy machine (${busy}% CPU used by other processes).`);
  }
}

/** Long child lines (a pino error holding a whole pg client) are cut: the report stays readable. */
function cut(line: string): string {
  return line.length > 600 ? `${line.slice(0, 600)}… (${line.length - 600} more characters)` : line;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A connection to the app's database for counters (commits, WAL syncs, stored messages). */
async function statsClient(dataDir: string, url: string | undefined): Promise<pg.Client> {
  let connectionString = url;
  if (!connectionString) {
    // Embedded: the cluster in our temporary DATA_DIR, with the password the app made there.
    const password = (await fsp.readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
    const pidLines = (await fsp.readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split(
      '\n',
    );
    const pgPort = Number(pidLines[3]);
    connectionString = `postgres://chat:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/chat`;
  }
  const client = new pg.Client({ connectionString, application_name: 'chat-bench-stats' });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function readCounters(db: pg.Client): Promise<DbCounters> {
  const commits = await db.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  let walSyncs: number | null = null;
  try {
    const w = await db.query<{ n: string }>('SELECT wal_sync AS n FROM pg_stat_wal');
    walSyncs = Number(w.rows[0]?.n);
  } catch {
    walSyncs = null; // PostgreSQL 18 moved it to pg_stat_io; older than 14 has no pg_stat_wal
  }
  const inserted = await db.query<{ n: string }>('SELECT count(*) AS n FROM messages');
  return {
    commits: Number(commits.rows[0]?.n),
    walSyncs,
    inserted: Number(inserted.rows[0]?.n),
  };
}

interface MemSample {
  rssKb: number | null;
  heapUsed: number | null;
  gc: boolean;
}

/** A full GC in the child (its probe), then its RSS from /proc and its heap. */
async function gcAndMeasure(pid: number, probe: ProbeChannel): Promise<MemSample> {
  const r = await probe.ask('gc');
  await sleep(300);
  return { rssKb: rssKb(pid) ?? null, heapUsed: r?.memory.heapUsed ?? null, gc: r?.gc ?? false };
}

function memoryRow(
  target: 'app' | 'relay',
  sockets: number,
  idle: MemSample,
  loaded: MemSample,
): MemoryResult {
  return {
    target,
    sockets,
    idleRssKb: idle.rssKb,
    loadedRssKb: loaded.rssKb,
    kbPerSocket:
      idle.rssKb !== null && loaded.rssKb !== null
        ? round((loaded.rssKb - idle.rssKb) / sockets, 1)
        : null,
    heapKbPerSocket:
      idle.heapUsed !== null && loaded.heapUsed !== null
        ? round((loaded.heapUsed - idle.heapUsed) / 1024 / sockets, 1)
        : null,
    gc: idle.gc && loaded.gc,
  };
}

/** The one-in-flight rounds in a line: app / relay rate and e2e p50, median over the rounds. */
function oneInFlightSummary(scenarios: ScenarioResult[]): string {
  const app = scenarios.filter((s) => s.target === 'app' && s.mode === 'one-in-flight');
  const relay = scenarios.filter((s) => s.target === 'relay' && s.mode === 'one-in-flight');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const rate = app.map((a, i) => a.messagesPerSec / (relay[i]?.messagesPerSec || Infinity));
  const p50 = app.map((a, i) => (a.e2eMs.p50 ?? Infinity) / (relay[i]?.e2eMs.p50 ?? 0));
  const list = (xs: number[]) => xs.map((x) => round(x, 2)).join(', ');
  return (
    `one-in-flight, app / relay of the same round: msgs/s ${list(rate)} (median ${round(median(rate), 2)}), ` +
    `e2e p50 ${list(p50)} (median ${round(median(p50), 2)}); the goal is msgs/s >= 0.5 and p50 <= 2.`
  );
}

function report(r: Results, o: BenchOptions): string {
  const relayOf = (s: ScenarioResult) =>
    r.scenarios.find((x) => x.target === 'relay' && x.name === `relay ${s.name}`) ??
    r.scenarios.find((x) => x.target === 'relay' && x.mode === s.mode);
  const m = r.meta;
  const head =
    `Leo's Chat room benchmark: ${String(m.mode)} PostgreSQL ${String(m.postgres)}, ` +
    `node ${String(m.node)}, ${String(m.cpus)} cores; ${o.users} users, ${o.sockets} sockets ` +
    `(${String(m.socketsPerUser)} per user), ${o.seconds} s per scenario (+${String(m.warmupSeconds)} s warm-up), ` +
    `window ${o.window}, PG_POOL_MAX ${String(m.poolMax)}`;
  const s1 = table(
    'Messages (stored + delivered)',
    [
      'scenario',
      'msgs/s',
      'ratio vs relay',
      'e2e p50 ms',
      'p50 vs relay',
      'e2e p95 ms',
      'e2e p99 ms',
      'ack p50 ms',
      'ack p99 ms',
      'errors',
      'lost',
    ],
    r.scenarios.map((s): Cell[] => {
      const relay = relayOf(s);
      return [
        s.name,
        s.messagesPerSec,
        s.target === 'app' && relay?.messagesPerSec
          ? round(s.messagesPerSec / relay.messagesPerSec, 2)
          : null,
        s.e2eMs.p50,
        s.target === 'app' && relay?.e2eMs.p50 && s.e2eMs.p50 !== null
          ? round(s.e2eMs.p50 / relay.e2eMs.p50, 2)
          : null,
        s.e2eMs.p95,
        s.e2eMs.p99,
        s.ackMs.p50,
        s.ackMs.p99,
        s.errors.nack + s.errors.timeout + s.errors.disconnected,
        s.errors.lost,
      ];
    }),
  );
  const s2 = table(
    'Where the time goes (during the measured window)',
    [
      'scenario',
      'server CPU %',
      'load gen CPU %',
      'postgres CPU %',
      'machine %',
      'other %',
      'server loop lag p50/p99 ms',
      'message:new/s',
      'db commits/s',
      'WAL syncs/s',
      'msgs per WAL sync',
    ],
    r.scenarios.map((s): Cell[] => [
      s.name,
      s.cpu.serverPct,
      s.cpu.loadgenPct,
      s.cpu.postgresPct,
      s.cpu.machinePct,
      s.cpu.otherPct,
      s.serverEventLoopMs ? `${s.serverEventLoopMs.p50} / ${s.serverEventLoopMs.p99}` : null,
      s.eventsPerSec,
      s.db?.commitsPerSec,
      s.db?.walSyncsPerSec,
      s.db?.messagesPerWalSync,
    ]),
  );
  const s3 = table(
    'Memory per idle socket (server RSS from /proc; heap after a full GC)',
    ['server', 'sockets', 'RSS idle MB', 'RSS loaded MB', 'KB/socket (RSS)', 'KB/socket (heap)'],
    r.memory.map((x): Cell[] => [
      x.target === 'app' ? 'app (logged-in sockets)' : 'relay (bare Socket.IO)',
      x.sockets,
      x.idleRssKb === null ? null : round(x.idleRssKb / 1024, 1),
      x.loadedRssKb === null ? null : round(x.loadedRssKb / 1024, 1),
      x.kbPerSocket,
      x.heapKbPerSocket,
    ]),
  );
  const s4 = table(
    'Pages (logged in; keep-alive HTTP from the load process)',
    [
      'page',
      'KB',
      'sequential n',
      'p50 ms',
      'p99 ms',
      'server p50 ms',
      'server p99 ms',
      `c=4 req/s`,
      'c=4 p50 ms',
      'c=4 p99 ms',
      'errors',
      'db commits/req',
      'WAL syncs/req',
    ],
    r.pages.map((p): Cell[] => [
      p.page,
      round(p.bytes / 1024, 1),
      p.sequential.requests,
      p.sequential.p50,
      p.sequential.p99,
      p.server?.p50,
      p.server?.p99,
      p.concurrent.perSecond,
      p.concurrent.p50,
      p.concurrent.p99,
      p.concurrent.errors,
      p.db?.commitsPerRequest,
      p.db?.walSyncsPerRequest,
    ]),
  );
  const traced = r.scenarios.filter((s) => s.trace);
  const span = (x: SpanSummary) => `${x.p50} / ${x.mean} / ${x.p99}`;
  const s5 = table(
    'Ack latency inside the app, ms p50 / mean / p99 (BENCH_TRACE=1; src/features/messages/trace.ts)',
    [
      'scenario',
      'checks',
      'queued for a batch',
      'SQL + commit',
      'commit -> ack (fan-out)',
      'batches/s',
      'msgs per batch',
    ],
    traced.map((s): Cell[] => [
      s.name,
      span(s.trace!.spans.checks),
      span(s.trace!.spans.queued),
      span(s.trace!.spans.stored),
      span(s.trace!.spans.fanout),
      Math.round(s.trace!.batches.n / s.measuredSeconds),
      s.trace!.batches.meanSize,
    ]),
  );
  const errs = r.scenarios
    .filter((s) => s.errors.codes.length)
    .map((s) => `${s.name}: error codes ${s.errors.codes.join(', ')}`);
  return [
    head,
    s1,
    s2,
    s3,
    s4,
    ...(traced.length ? [s5] : []),
    ...errs,
    ...r.notes.map((n) => `* ${n}`),
  ].join('\n\n');
}

main().then(
  () => exit(0),
  (err: unknown) => {
    console.error(
      `bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return exit(1);
  },
);

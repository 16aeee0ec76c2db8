// The group benchmark (issue 14): one group of --members people (default 200), each online
// with one tab, at --rate messages/s (default 20) from members in turn for --seconds; every
// member's receipt of every message is timed (send → message:new on that member's socket).
// Then the same shape against a bare Socket.IO room broadcast (bench/group-relay.ts), for the
// ratio. Server mode only: DATABASE_URL=postgres://… npx tsx bench/group.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { io } from 'socket.io-client';
import type { ClientSocket } from './load.js';
import { mapLimit, signUp, type BenchUser } from './http.js';
import { freePort } from './children.js';
import { Samples, round } from './stats.js';
import { numberFlag as arg } from './args.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MEMBERS = arg('members', 200);
const RATE = arg('rate', 20);
const SECONDS = arg('seconds', 10);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const children: ChildProcess[] = [];
function start(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return Promise.resolve({ child, out: () => out });
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Run {
  p50: number | null;
  p99: number | null;
  max: number | null;
  sent: number;
  expected: number;
  received: number;
  /** The worst member's p99. */
  worstMemberP99: number | null;
}

/** Sends at RATE from members in turn and times every member's receipt of every message. */
async function measure(sockets: ClientSocket[], conversationId: number): Promise<Run> {
  const sentAt = new Map<string, number>();
  const all = new Samples();
  const perMember = sockets.map(() => new Samples());
  let received = 0;
  sockets.forEach((s, i) =>
    s.on('message:new', (m) => {
      const t0 = sentAt.get(m.clientId);
      if (t0 === undefined) return;
      const ms = performance.now() - t0;
      all.add(ms);
      perMember[i]!.add(ms);
      received++;
    }),
  );
  const total = Math.round(RATE * SECONDS);
  const gap = 1000 / RATE;
  const begin = performance.now();
  for (let n = 0; n < total; n++) {
    const wait = begin + n * gap - performance.now();
    if (wait > 0) await sleep(wait);
    const clientId = randomUUID();
    sentAt.set(clientId, performance.now());
    sockets[n % sockets.length]!.emit(
      'message:send',
      { conversationId, body: `bench ${n}`, clientId },
      () => undefined,
    );
  }
  await waitFor('every receipt', () => received >= total * sockets.length, 10_000).catch(
    () => undefined,
  );
  const p99s = perMember.map((s) => s.p(0.99) ?? Infinity);
  return {
    p50: all.p(0.5),
    p99: all.p(0.99),
    max: all.p(1),
    sent: total,
    expected: total * sockets.length,
    received,
    worstMemberP99: round(Math.max(...p99s), 2),
  };
}

function connect(url: string, opts: { cookie?: string; auth?: object }): Promise<ClientSocket> {
  const socket: ClientSocket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    extraHeaders: opts.cookie ? { cookie: opts.cookie } : {},
    auth: opts.auth,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function main() {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl)
    throw new Error('set DATABASE_URL (a PostgreSQL server; a database is made and dropped)');
  const dbName = `chat_bench_group_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const u = new URL(serverUrl);
  u.pathname = `/${dbName}`;
  const results: Record<string, Run> = {};
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const app = await start(['--import', 'tsx', 'src/server.ts'], {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '4',
      RATE_LIMIT: 'false',
      DATABASE_URL: u.toString(),
      SESSION_SECRET: randomBytes(32).toString('hex'),
      SOCKETS_PER_ADDRESS: '100000',
    });
    await waitFor('the app', async () =>
      fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${app.out()}`);
    });
    const runId = randomBytes(3).toString('hex');
    const users: BenchUser[] = await mapLimit(
      Array.from({ length: MEMBERS }, (_, i) => i),
      8,
      (i) => signUp(base, runId, i),
    );
    // Everyone is the owner's friend: they join at once (the friends feature has its own tests).
    const db = new pg.Client({ connectionString: u.toString() });
    await db.connect();
    await db.query(
      `INSERT INTO friend_requests (from_id, to_id, state)
       SELECT $1, unnest($2::bigint[]), 'accepted'`,
      [users[0]!.id, users.slice(1).map((x) => x.id)],
    );
    await db.end();
    const owner = users[0]!;
    const made = await owner.browser.post(
      '/groups',
      {
        title: 'Bench group',
        members: users
          .slice(1)
          .map((x) => x.email)
          .join('\n'),
      },
      '/groups/new',
    );
    const conversationId = Number(/\/conversations\/(\d+)/.exec(made.location ?? '')?.[1]);
    if (made.status !== 303 || !conversationId) {
      throw new Error(`POST /groups answered ${made.status}: ${made.text.slice(0, 300)}`);
    }
    const sockets = await mapLimit(users, 20, (x) => connect(base, { cookie: x.browser.cookie }));
    await sleep(1000);
    // A short warm-up, then the measured run.
    await measure(sockets.slice(), conversationId);
    sockets.forEach((s) => s.removeAllListeners('message:new'));
    results.app = await measure(sockets, conversationId);
    sockets.forEach((s) => s.disconnect());
    app.child.kill('SIGTERM');

    const relay = await start(['--import', 'tsx', 'bench/group-relay.ts'], {
      PATH: process.env.PATH,
    });
    await waitFor('the relay', () => /"port"/.test(relay.out()));
    const relayPort = (JSON.parse(relay.out().split('\n')[0]!) as { port: number }).port;
    const relaySockets = await mapLimit(users, 20, (x) =>
      connect(`http://127.0.0.1:${relayPort}`, { auth: { userId: x.id } }),
    );
    await measure(relaySockets, conversationId);
    relaySockets.forEach((s) => s.removeAllListeners('message:new'));
    results.relay = await measure(relaySockets, conversationId);
    relaySockets.forEach((s) => s.disconnect());
    relay.child.kill('SIGTERM');
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await sleep(500);
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
  console.log(
    `group of ${MEMBERS}, one tab each, ${RATE} messages/s for ${SECONDS} s (send → each member's message:new, ms)`,
  );
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(6)} p50 ${r.p50}  p99 ${r.p99}  max ${r.max}  worst member p99 ${r.worstMemberP99}  ` +
        `received ${r.received}/${r.expected}`,
    );
  }
  if (results.app && results.relay && results.app.p99 && results.relay.p99) {
    console.log(`p99 app / relay: ${round(results.app.p99 / results.relay.p99, 2)}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    process.exit(1);
  },
);

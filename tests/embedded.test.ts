import { describe, it, expect } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '../src/core/db/migrate.js';
import {
  EmbeddedDatabaseError,
  startEmbeddedDatabase,
  type EmbeddedDatabase,
} from '../src/core/db/embedded.js';
import { sleep } from './support/wait.js';

const TIMEOUT = 60_000;
const isRoot = process.getuid?.() === 0;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function recordingLog() {
  const lines: string[] = [];
  return {
    lines,
    info: (msg: string) => void lines.push(msg),
    warn: (msg: string) => void lines.push(`warn: ${msg}`),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// PIDs of postmasters started on this folder (pgrep exits 1 when there are none).
function postgresServing(dataDir: string): number[] {
  const res = spawnSync('pgrep', ['-f', `bin/postgres -D ${path.join(dataDir, 'pg')}`], {
    encoding: 'utf8',
  });
  const pids = res.stdout.split('\n').filter(Boolean).map(Number);
  // A backend the postmaster has just forked shows the postmaster's command line until it
  // renames itself: count only processes whose parent is not one of the matches.
  return pids.filter((pid) => !pids.includes(parentOf(pid)));
}

function parentOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const LEAST = [
  {
    user: 'chat_app',
    rolsuper: false,
    rolcreatedb: false,
    rolcreaterole: false,
    rolbypassrls: false,
    owner: 'chat_app',
  },
];

/** What the connection's role may do, and who owns its database. */
function appRights(url: string) {
  return query(
    url,
    `SELECT current_user AS user, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls,
            pg_get_userbyid((SELECT datdba FROM pg_database WHERE datname = current_database())) AS owner
     FROM pg_roles WHERE rolname = current_user`,
  );
}

/** Tables, sequences and functions of the app's schema that the app role does not own. */
function foreignOwned(url: string) {
  return query(
    url,
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v') AND pg_get_userbyid(c.relowner) <> 'chat_app'
     UNION ALL
     SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'chat_app'
         -- an extension's own functions (pg_trgm, made as the bootstrap superuser) are not the app's
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`,
  );
}

interface Sandbox {
  dataDir: string;
  root: string;
  start(log?: ReturnType<typeof recordingLog>): Promise<EmbeddedDatabase>;
  onCleanup(fn: () => unknown): void;
}

// Each test gets its own folder; whatever it started is torn down even if an assertion fails.
async function inSandbox(fn: (sb: Sandbox) => Promise<void>): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'leos-chat-embedded-'));
  fs.chmodSync(root, 0o755);
  const cleanups: Array<() => unknown> = [];
  const sb: Sandbox = {
    root,
    dataDir: path.join(root, 'data'),
    onCleanup: (f) => void cleanups.push(f),
    async start(log = recordingLog()) {
      const db = await startEmbeddedDatabase({ dataDir: sb.dataDir, log });
      cleanups.push(() => db.stop());
      return db;
    },
  };
  try {
    await fn(sb);
  } finally {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch {
        // keep cleaning up
      }
    }
    // Last resort for a test that failed half-way: never leave a server behind.
    for (const pid of postgresServing(sb.dataDir)) {
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function startFails(sb: Sandbox): Promise<Error> {
  const outcome = await sb.start().then(
    () => null,
    (err: unknown) => err as Error,
  );
  expect(outcome, 'the start should have failed').not.toBeNull();
  return outcome!;
}

// Runs tests/fixtures/embedded-child.ts: a separate "app" holding the database.
function startChildApp(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tests/fixtures/embedded-child.ts', dataDir],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child app did not print a url in 30 s: ${err}`));
    }, 30_000);
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('postgres://'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, url: line.trim() });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child app exited with ${code}: ${err}`));
    });
  });
}

describe('embedded PostgreSQL', () => {
  it(
    'creates the database on first start with a private password file, and keeps data across a restart',
    { timeout: TIMEOUT },
    () =>
      inSandbox(async (sb) => {
        const firstLog = recordingLog();
        const first = await sb.start(firstLog);
        expect(first.dataDir).toBe(sb.dataDir);
        expect(first.url).toMatch(/^postgres:\/\/chat_app:[^@]+@127\.0\.0\.1:\d+\/chat$/);
        expect(fs.statSync(path.join(sb.dataDir, 'pg-app-password')).mode & 0o777).toBe(0o600);
        expect(fs.existsSync(path.join(sb.dataDir, 'pg', 'PG_VERSION'))).toBe(true);
        expect(fs.statSync(path.join(sb.dataDir, 'pg-password')).mode & 0o777).toBe(0o600);
        expect(fs.existsSync(path.join(sb.dataDir, 'app.lock'))).toBe(true);
        if (isRoot) expect(fs.statSync(path.join(sb.dataDir, 'pg')).uid).not.toBe(0);
        expect(firstLog.lines.join('\n')).toMatch(/ready .* in \d+ ms \(first start/);

        await query(first.url, 'CREATE TABLE notes (body text)');
        await query(first.url, 'INSERT INTO notes VALUES ($1)', ['héllo wörld']);
        await first.stop();
        expect(fs.existsSync(path.join(sb.dataDir, 'app.lock'))).toBe(false);

        const laterLog = recordingLog();
        const second = await sb.start(laterLog);
        expect(laterLog.lines.join('\n')).toMatch(/ready .* in \d+ ms \(existing cluster/);
        const rows = await query<{ body: string }>(
          second.url,
          'SELECT upper(body) AS body FROM notes',
        );
        expect(rows).toEqual([{ body: 'HÉLLO WÖRLD' }]);
      }),
  );

  it(
    'the app connects as a role that is not a superuser, owns the app’s database and tables, and can apply migrations',
    { timeout: TIMEOUT },
    () =>
      inSandbox(async (sb) => {
        const db = await sb.start();
        const pool = new pg.Pool({ connectionString: db.url, max: 2 });
        // A connection the server ends while the pool closes (57P01) is no test failure.
        pool.on('error', () => undefined);
        try {
          expect(await migrate(pool)).not.toEqual([]);
        } finally {
          await pool.end();
        }
        expect(await appRights(db.url)).toEqual(LEAST);
        expect(await foreignOwned(db.url)).toEqual([]);
        // What a superuser could do, the app cannot: read the server's files.
        await expect(query(db.url, "SELECT pg_read_file('postgresql.conf')")).rejects.toThrow(
          /permission denied/,
        );
      }),
  );

  it(
    'a folder made by the older version (the app was the superuser chat) is handed over to the app role at the next start, data intact',
    { timeout: TIMEOUT },
    () =>
      inSandbox(async (sb) => {
        // Make the old layout: everything migrated and owned by the superuser, no app role.
        const fresh = await sb.start();
        const old = new pg.Pool({ connectionString: fresh.adminUrl, max: 2 });
        // A connection the server ends while the pool closes (57P01) is no test failure.
        old.on('error', () => undefined);
        try {
          await migrate(old);
          await old.query(
            "INSERT INTO users (email, display_name, password_hash) VALUES ('old@example.com', 'Old', 'x')",
          );
          await old.query('ALTER SCHEMA public OWNER TO pg_database_owner');
          await old.query('REASSIGN OWNED BY chat_app TO chat');
          await old.query('DROP OWNED BY chat_app');
          await old.query('DROP ROLE chat_app');
        } finally {
          await old.end();
        }
        expect(await foreignOwned(fresh.adminUrl)).not.toEqual([]);
        await fresh.stop();
        fs.rmSync(path.join(sb.dataDir, 'pg-app-password'));

        const upgraded = await sb.start();
        expect(await appRights(upgraded.url)).toEqual(LEAST);
        expect(await foreignOwned(upgraded.url)).toEqual([]);
        expect(await query(upgraded.url, 'SELECT display_name AS name FROM users')).toEqual([
          { name: 'Old' },
        ]);
        // The app writes, calls the migrations' function, and can migrate further.
        const pool = new pg.Pool({ connectionString: upgraded.url, max: 2 });
        // A connection the server ends while the pool closes (57P01) is no test failure.
        pool.on('error', () => undefined);
        try {
          expect(await migrate(pool)).toEqual([]);
          await pool.query(
            "INSERT INTO users (email, display_name, password_hash) VALUES ('new@example.com', 'New', 'x')",
          );
          await pool.query('CREATE TABLE a_later_migration (id int)');
        } finally {
          await pool.end();
        }
      }),
  );

  it('leaves no PostgreSQL process running for the folder once stopped', { timeout: TIMEOUT }, () =>
    inSandbox(async (sb) => {
      const db = await sb.start();
      expect(postgresServing(sb.dataDir)).toHaveLength(1);
      await db.stop();
      expect(postgresServing(sb.dataDir)).toEqual([]);
      await expect(db.stop()).resolves.toBeUndefined();
    }),
  );

  it(
    'refuses a second start on a folder that is in use, and the running database keeps working',
    { timeout: TIMEOUT },
    () =>
      inSandbox(async (sb) => {
        const db = await sb.start();
        const err = await startFails(sb);
        expect(err).toBeInstanceOf(EmbeddedDatabaseError);
        expect(err.message).toMatch(/in use by another running app/);
        expect(await query(db.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
        expect(postgresServing(sb.dataDir)).toHaveLength(1);
      }),
  );

  it(
    'after the app was killed, the next start stops the orphaned PostgreSQL and the data is still there',
    { timeout: TIMEOUT },
    () =>
      inSandbox(async (sb) => {
        const { child, url } = await startChildApp(sb.dataDir);
        sb.onCleanup(() => child.kill('SIGKILL'));
        await query(url, 'CREATE TABLE notes (body text)');
        await query(url, "INSERT INTO notes VALUES ('written before the crash')");

        // While that app runs, the folder is its own.
        const err = await startFails(sb);
        expect(err).toBeInstanceOf(EmbeddedDatabaseError);
        expect(err.message).toContain(`in use by another running app (pid ${child.pid})`);

        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        const [orphan] = postgresServing(sb.dataDir);
        expect(orphan, 'postgres should outlive the killed app').toBeDefined();

        const log = recordingLog();
        const db = await sb.start(log);
        expect(log.lines.join('\n')).toContain(`orphaned PostgreSQL (pid ${orphan})`);
        // pgrep -f cannot see a zombie (empty cmdline), which is what a reaped-late orphan becomes.
        const now = postgresServing(sb.dataDir);
        expect(now).toHaveLength(1);
        expect(now).not.toContain(orphan);
        expect(await query(db.url, 'SELECT body FROM notes')).toEqual([
          { body: 'written before the crash' },
        ]);
      }),
  );

  it(
    'removes a stale postmaster.pid naming an unrelated live process, without signalling it',
    { timeout: TIMEOUT },
    () =>
      inSandbox(async (sb) => {
        await (await sb.start()).stop();
        const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
        sb.onCleanup(() => bystander.kill('SIGKILL'));
        const pidFile = path.join(sb.dataDir, 'pg', 'postmaster.pid');
        fs.writeFileSync(pidFile, `${bystander.pid}\n${path.join(sb.dataDir, 'pg')}\n0\n5432\n`);

        const log = recordingLog();
        const db = await sb.start(log);
        expect(log.lines.join('\n')).toMatch(/removing the stale .*an unrelated process/);
        expect(await query(db.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
        expect(bystander.exitCode).toBeNull();
        expect(bystander.signalCode).toBeNull();
        expect(isAlive(bystander.pid!)).toBe(true);
      }),
  );

  it(
    'takes over an app lock left by a process that is gone or whose PID now belongs to another program',
    { timeout: TIMEOUT },
    () =>
      inSandbox(async (sb) => {
        await (await sb.start()).stop();
        const lock = path.join(sb.dataDir, 'app.lock');

        const gone = spawnSync('true').pid;
        fs.writeFileSync(lock, JSON.stringify({ pid: gone, started: 'long ago' }));
        await (await sb.start()).stop();

        // Same PID, different start time: the PID was recycled after a crash or reboot.
        const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
        sb.onCleanup(() => bystander.kill('SIGKILL'));
        fs.writeFileSync(lock, JSON.stringify({ pid: bystander.pid, started: 'boot+1' }));
        const db = await sb.start();
        expect(await query(db.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
        expect(JSON.parse(fs.readFileSync(lock, 'utf8'))).toMatchObject({ pid: process.pid });
        expect(isAlive(bystander.pid!)).toBe(true);
      }),
  );

  it.skipIf(!isRoot)(
    'explains that user postgres cannot reach a data folder inside a private directory',
    { timeout: TIMEOUT },
    () =>
      inSandbox(async (sb) => {
        const privateDir = path.join(sb.root, 'private');
        fs.mkdirSync(privateDir, { mode: 0o700 });
        sb.dataDir = path.join(privateDir, 'data');
        const err = await startFails(sb);
        expect(err).toBeInstanceOf(EmbeddedDatabaseError);
        expect(err.message).toMatch(/user postgres cannot reach the data folder/);
        expect(err.message).toMatch(/DATA_DIR/);
        expect(fs.existsSync(path.join(sb.dataDir, 'pg'))).toBe(false);
      }),
  );
});

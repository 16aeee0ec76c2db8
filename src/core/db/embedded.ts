// Zero-setup mode: a private PostgreSQL 17 cluster under DATA_DIR, run as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  acquireAppLock,
  EmbeddedDatabaseError,
  exitPromise,
  findFreePort,
  inUse,
  isAlive,
  lastLines,
  postgresRunAs,
  processCommandLine,
  readFrom,
  releaseAppLock,
  resolveBinaries,
  runToCompletion,
  serverEnv,
  sleep,
  stopChild,
  userCanAccess,
  waitForPidExit,
  type Binaries,
  type RunAs,
} from './embedded-process.js';

import {
  APP_DATABASE,
  APP_ROLE,
  prepareAppDatabase,
  readOrCreateSecret,
  SUPERUSER,
} from './embedded-role.js';

export { EmbeddedDatabaseError };

export interface EmbeddedLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface EmbeddedDatabase {
  /** The app's connection: a role that owns the app's database and nothing more. */
  url: string;
  /** The superuser, for set-up and for tests that make databases of their own. */
  adminUrl: string;
  dataDir: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

// The app lock names this process, so a second start from the same process must be caught here.
const startedHere = new Set<string>();

interface EmbeddedSetup {
  dataDir: string;
  pgDir: string;
  logPath: string;
  binaries: Binaries;
  runAs: RunAs | undefined;
  log: EmbeddedLogger;
}

export async function startEmbeddedDatabase(opts: {
  dataDir: string;
  log: EmbeddedLogger;
  port?: number;
}): Promise<EmbeddedDatabase> {
  const t0 = performance.now();
  const { log } = opts;
  const dataDir = path.resolve(opts.dataDir);
  const binaries = await resolveBinaries();
  if (startedHere.has(dataDir)) throw inUse(dataDir, process.pid);
  await fsp.mkdir(dataDir, { recursive: true });

  const runAs = postgresRunAs(log);
  if (runAs && !userCanAccess(runAs, dataDir, 'x')) {
    throw new EmbeddedDatabaseError(
      `The system user postgres cannot reach the data folder ${dataDir} (it is probably under a private home such as /root). Set DATA_DIR to a folder it can reach, e.g. /var/lib/leos-chat.`,
    );
  }
  if (runAs && !userCanAccess(runAs, binaries.postgres, 'x')) {
    throw new EmbeddedDatabaseError(
      `The system user postgres cannot run ${binaries.postgres} (the app is probably installed under a private home such as /root). Install the app in a folder it can reach, or set DATABASE_URL to a PostgreSQL server.`,
    );
  }

  const lockPath = path.join(dataDir, 'app.lock');
  acquireAppLock(lockPath, dataDir);
  startedHere.add(dataDir);
  const ctx: EmbeddedSetup = {
    dataDir,
    pgDir: path.join(dataDir, 'pg'),
    logPath: path.join(dataDir, 'pg.log'),
    binaries,
    runAs,
    log,
  };
  let server: Server | undefined;
  try {
    const firstStart = !fs.existsSync(ctx.pgDir);
    const password = await readOrCreatePassword(dataDir, firstStart);
    if (firstStart) await initCluster(ctx, password);
    else await fixOwnership(ctx);
    await clearPostmasterPid(ctx);
    rotateLog(ctx.logPath);
    server = await launch(ctx, opts.port);
    // Made whenever missing: a folder from an older version has none yet.
    const appPassword = (await readOrCreateSecret(path.join(dataDir, 'pg-app-password'), true))!;
    await prepareAppDatabase({
      port: server.port,
      superPassword: password,
      appPassword,
      dataDir,
      pgDir: ctx.pgDir,
    });
    const ms = Math.round(performance.now() - t0);
    log.info(
      `embedded PostgreSQL ready on 127.0.0.1:${server.port} in ${ms} ms (${firstStart ? 'first start, cluster created' : 'existing cluster'}); log: ${ctx.logPath}`,
    );

    const { child, exited, port } = server;
    let stopping: Promise<void> | undefined;
    child.once('exit', (code, signal) => {
      if (!stopping) {
        log.warn(
          `the embedded PostgreSQL exited unexpectedly (${signal ?? `code ${code}`}); see ${ctx.logPath}`,
        );
      }
    });
    return {
      url: `postgres://${APP_ROLE}:${encodeURIComponent(appPassword)}@127.0.0.1:${port}/${APP_DATABASE}`,
      adminUrl: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${APP_DATABASE}`,
      dataDir,
      stop: () =>
        (stopping ??= (async () => {
          await stopChild(child, exited);
          releaseAppLock(lockPath);
          startedHere.delete(dataDir);
        })()),
    };
  } catch (err) {
    if (server) await stopChild(server.child, server.exited);
    releaseAppLock(lockPath);
    startedHere.delete(dataDir);
    throw err;
  }
}

async function readOrCreatePassword(dataDir: string, firstStart: boolean): Promise<string> {
  const file = path.join(dataDir, 'pg-password');
  const password = await readOrCreateSecret(file, firstStart);
  if (password) return password;
  throw new EmbeddedDatabaseError(
    `The database password file ${file} is missing or empty, so the cluster in ${path.join(dataDir, 'pg')} cannot be opened. Restore the file, or delete that folder to start over with an empty database.`,
  );
}

async function initCluster(ctx: EmbeddedSetup, password: string): Promise<void> {
  const t0 = performance.now();
  // initdb into a side folder and rename: a killed initdb must not leave a half-made 'pg'.
  const tmpDir = `${ctx.pgDir}.initdb`;
  await fsp.rm(tmpDir, { recursive: true, force: true });
  await fsp.mkdir(tmpDir, { mode: 0o700 });
  const pwFile = path.join(ctx.dataDir, `.initdb-pw-${randomBytes(6).toString('hex')}`);
  await fsp.writeFile(pwFile, `${password}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (ctx.runAs) {
      // The root-owned DATA_DIR is not writable for postgres, so we create its folders for it.
      await fsp.chown(tmpDir, ctx.runAs.uid, ctx.runAs.gid);
      await fsp.chown(pwFile, ctx.runAs.uid, ctx.runAs.gid);
    }
    // builtin C.UTF-8 (PG17): Unicode-aware upper/lower without depending on OS locales;
    // lc-messages=C keeps server log text parseable.
    const args = [
      `--pgdata=${tmpDir}`,
      '--auth=scram-sha-256',
      `--username=${SUPERUSER}`,
      `--pwfile=${pwFile}`,
      '--encoding=UTF8',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--locale=C',
      '--lc-messages=C',
    ];
    const out = await runToCompletion(ctx.binaries.initdb, args, {
      cwd: ctx.dataDir,
      runAs: ctx.runAs,
    });
    if (out.code !== 0) {
      throw new EmbeddedDatabaseError(
        `Creating the embedded PostgreSQL cluster failed (initdb ${out.code}):\n${lastLines(out.output)}`,
      );
    }
  } finally {
    await fsp.rm(pwFile, { force: true });
  }
  await fsp.rename(tmpDir, ctx.pgDir);
  ctx.log.info(
    `created the embedded PostgreSQL cluster in ${ctx.pgDir} (initdb ${Math.round(performance.now() - t0)} ms)`,
  );
}

// A cluster made by a non-root run of the app must become postgres's once the app runs as root.
async function fixOwnership(ctx: EmbeddedSetup): Promise<void> {
  if (!ctx.runAs || (await fsp.stat(ctx.pgDir)).uid === ctx.runAs.uid) return;
  ctx.log.info(`giving ${ctx.pgDir} to the system user postgres`);
  const { uid, gid } = ctx.runAs;
  const walk = async (p: string): Promise<void> => {
    await fsp.lchown(p, uid, gid);
    for (const e of await fsp.readdir(p, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(path.join(p, e.name));
      else await fsp.lchown(path.join(p, e.name), uid, gid);
    }
  };
  await walk(ctx.pgDir);
}

// Our app lock was stale, so a postgres still serving this folder is an orphan of a killed app.
async function clearPostmasterPid(ctx: EmbeddedSetup): Promise<void> {
  const pidFile = path.join(ctx.pgDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = (await fsp.readFile(pidFile, 'utf8')).split('\n');
  } catch {
    return;
  }
  // Negative in single-user mode.
  const pid = Math.abs(Number(lines[0]));
  const alive = Number.isInteger(pid) && pid > 0 && isAlive(pid);
  const args = alive ? (processCommandLine(pid) ?? []) : [];
  const dirs = [lines[1]?.trim(), ctx.pgDir].filter((d): d is string => !!d);
  const serves = (d: string) => args.some((a) => a === d || a.split(' ').includes(d));
  if (alive && args.join(' ').includes('postgres') && dirs.some(serves)) {
    ctx.log.warn(
      `found an orphaned PostgreSQL (pid ${pid}) still serving ${ctx.pgDir}, left by an app that did not shut down; stopping it`,
    );
    try {
      process.kill(pid, 'SIGINT');
      if (!(await waitForPidExit(pid, 10_000))) {
        ctx.log.warn(`the orphaned PostgreSQL (pid ${pid}) ignored a fast shutdown; killing it`);
        process.kill(pid, 'SIGKILL');
        await waitForPidExit(pid, 5_000);
      }
    } catch (err) {
      throw new EmbeddedDatabaseError(
        `An orphaned PostgreSQL (pid ${pid}) is serving ${ctx.pgDir} and could not be stopped: ${(err as Error).message}`,
      );
    }
    // After a SIGKILL, postmaster.pid is left for postgres itself: it uses it to detect
    // surviving backends still attached to the old shared memory.
    return;
  }
  ctx.log.info(
    `removing the stale ${pidFile} (pid ${pid} is ${alive ? 'an unrelated process' : 'not running'})`,
  );
  await fsp.rm(pidFile, { force: true });
}

function rotateLog(logPath: string): void {
  try {
    if (fs.statSync(logPath).size > LOG_ROTATE_BYTES) fs.renameSync(logPath, `${logPath}.1`);
  } catch {
    // no log yet
  }
}

interface Server {
  child: ChildProcess;
  exited: Promise<string>;
  port: number;
}

async function launch(ctx: EmbeddedSetup, fixedPort?: number): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await findFreePort());
    const logOffset = fs.existsSync(ctx.logPath) ? fs.statSync(ctx.logPath).size : 0;
    // A file rather than a pipe: an orphan that outlives the app keeps logging, and a slow
    // event loop can never stall postgres on a full pipe.
    const fd = fs.openSync(ctx.logPath, 'a', 0o600);
    const args = ['-D', ctx.pgDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'];
    args.push('-c', 'unix_socket_directories=');
    let child: ChildProcess;
    try {
      // detached: its own process group, so a terminal Ctrl-C reaches only the app, which drains
      // its pool before stopping postgres.
      child = spawn(ctx.binaries.postgres, args, {
        detached: true,
        stdio: ['ignore', fd, fd],
        cwd: ctx.dataDir,
        env: serverEnv(),
        ...ctx.runAs,
      });
    } finally {
      fs.closeSync(fd);
    }
    const exited = exitPromise(child);
    const failure = await waitReady(ctx, child, exited);
    if (!failure) return { child, exited, port };
    await stopChild(child, exited);
    const tail = lastLines(readFrom(ctx.logPath, logOffset));
    const portTaken = fixedPort === undefined && /could not bind|already in use/i.test(tail);
    // Backends of a SIGKILLed orphan may need a moment to detach from shared memory.
    const shmemBusy = /shared memory block .* is still in use/i.test(tail);
    if (attempt < 3 && (portTaken || shmemBusy)) {
      await sleep(1000);
      continue;
    }
    throw new EmbeddedDatabaseError(
      `The embedded PostgreSQL did not start (${failure}). Last lines of ${ctx.logPath}:\n${tail}`,
    );
  }
}

// postmaster.pid naming our child with status "ready" proves that *our* server owns the port;
// merely connecting could reach another server that grabbed the port first.
async function waitReady(ctx: EmbeddedSetup, child: ChildProcess, exited: Promise<string>) {
  let exitReason: string | null = null;
  void exited.then((r) => (exitReason = r));
  const pidFile = path.join(ctx.pgDir, 'postmaster.pid');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitReason) return exitReason;
    const lines = readFrom(pidFile, 0).split('\n');
    if (Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready') return null;
    await Promise.race([sleep(50), exited]);
  }
  return exitReason ?? `not ready after ${READY_TIMEOUT_MS / 1000} s`;
}

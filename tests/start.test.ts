// The app as people run it: its own process on the embedded PostgreSQL, stopped the way a
// terminal (Ctrl-C), a host (SIGTERM) or a crash (SIGKILL) stops it.
//
// The server is built once in beforeAll with `npm run build`; the tests then start
// `node dist/server.js` with cwd = the project root, which is exactly what `npm start` runs after
// its prestart build (that build costs seconds per start). One test runs the literal `npm start`.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './support/wait.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// A hang limit, not a speed limit: the literal `npm start` builds first, which takes 5 s on a
// quiet machine and over 30 s on a loaded one.
const HEALTHZ_WAIT_MS = 90_000;
const EXIT_WAIT_MS = 20_000;
const TEST_TIMEOUT = 180_000;

// Everything the app reads from its environment: none of it may leak in from the shell running
// the tests (a DATABASE_URL there would silently switch off embedded mode).
const APP_VARS = [
  'NODE_ENV',
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DATA_DIR',
  'SESSION_SECRET',
  'TRUST_PROXY',
  'LOG_LEVEL',
  'BCRYPT_COST',
  'PG_POOL_MAX',
  'REDIS_URL',
  'SOCKET_ADAPTER',
  'SOCKET_CHANNEL',
  'RATE_LIMIT',
];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface AppRun {
  child: ChildProcess;
  /** Also the process group id: spawned detached. */
  pid: number;
  port: number;
  url: string;
  startedAt: number;
  /** Resolves once the process exited and its output is fully read. */
  exit: Promise<Exit>;
  result: Exit | undefined;
  output(): string;
}

const runs: AppRun[] = [];
const dataDirs: string[] = [];

function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

function newDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leos-chat-start-'));
  // The embedded PostgreSQL runs as user postgres when the tests run as root: it must reach it.
  fs.chmodSync(dir, 0o755);
  dataDirs.push(dir);
  return dir;
}

/** Processes whose command line names the folder: a postmaster serving it shows `-D <dir>/pg`. */
function processesUsing(dir: string): Array<{ pid: number; cmd: string }> {
  const res = spawnSync('pgrep', ['-a', '-f', dir], { encoding: 'utf8' });
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pid, ...cmd] = line.split(' ');
      return { pid: Number(pid), cmd: cmd.join(' ') };
    });
}

/** Fields 3.. of /proc/PID/stat (state, ppid, ...); the command name before them may hold spaces. */
function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * The postmasters serving the folder. A child the postmaster has just forked (a backend, the
 * autovacuum launcher) shows the postmaster's command line until it renames itself: skip those.
 */
function postmastersOf(dir: string): number[] {
  const pids = processesUsing(dir).map((p) => p.pid);
  return pids.filter((pid) => !pids.includes(Number(statFields(pid)?.[1])));
}

/** Running, and not a zombie: an orphan reparented to a PID 1 that never reaps stays a zombie. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return statFields(pid)?.[0] !== 'Z';
}

function signalGroup(run: AppRun, signal: NodeJS.Signals): void {
  try {
    process.kill(-run.pid, signal);
  } catch {
    // the group is already gone
  }
}

/** Starts `node dist/server.js` (or `npm start`) on the folder, with a fresh free PORT. */
async function startApp(
  dataDir: string,
  opts: { npmStart?: boolean; env?: Record<string, string> } = {},
): Promise<AppRun> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of APP_VARS) delete env[key];
  Object.assign(env, {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    BCRYPT_COST: '4',
    NODE_ENV: 'development',
    ...opts.env,
  });
  const [command, args] = opts.npmStart
    ? ['npm', ['start']]
    : [process.execPath, ['dist/server.js']];
  const startedAt = performance.now();
  // detached: its own process group, so a test can signal it the way a terminal does.
  const child = spawn(command, args, {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const run: AppRun = {
    child,
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    startedAt,
    result: undefined,
    output: () => out,
    exit: new Promise<Exit>((resolve) => {
      const done = (result: Exit) => resolve((run.result ??= result));
      child.once('error', (err) => {
        out += `\n(could not run ${command}: ${err.message})`;
        done({ code: null, signal: null });
      });
      // 'close', not 'exit': all output has been read by then.
      child.once('close', (code, signal) => done({ code, signal }));
    }),
  };
  runs.push(run);
  return run;
}

/** Milliseconds from spawn until /healthz reports the database up. */
async function waitUntilUp(run: AppRun): Promise<number> {
  const deadline = run.startedAt + HEALTHZ_WAIT_MS;
  while (performance.now() < deadline) {
    if (run.result) {
      throw new Error(
        `the app exited (${JSON.stringify(run.result)}) before /healthz answered:\n${tail(run.output())}`,
      );
    }
    try {
      const res = await fetch(`${run.url}/healthz`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { database?: string };
      if (res.ok && body.database === 'up') return Math.round(performance.now() - run.startedAt);
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(
    `/healthz did not answer within ${HEALTHZ_WAIT_MS / 1000} s:\n${tail(run.output())}`,
  );
}

async function waitForExit(run: AppRun, ms = EXIT_WAIT_MS): Promise<Exit> {
  const timeout = sleep(ms).then(() => null);
  const result = await Promise.race([run.exit, timeout]);
  if (!result)
    throw new Error(`the app did not exit within ${ms / 1000} s:\n${tail(run.output())}`);
  return result;
}

async function stopApp(run: AppRun, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
  signalGroup(run, signal);
  return waitForExit(run);
}

// A user's browser: keeps cookies, does not follow redirects.
class Visitor {
  private cookies = new Map<string, string>();
  constructor(public baseUrl: string) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  async get(p: string) {
    const res = await fetch(this.baseUrl + p, {
      headers: { cookie: this.cookieHeader },
      redirect: 'manual',
    });
    this.keep(res);
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  /** Posts a form the way a browser does: the CSRF token comes from the page the form is on. */
  async submit(p: string, form: Record<string, string>) {
    const page = await this.get(p);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
    if (!token) throw new Error(`no CSRF token on ${p} (status ${page.status})`);
    const res = await fetch(this.baseUrl + p, {
      method: 'POST',
      headers: {
        cookie: this.cookieHeader,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ ...form, _csrf: token }).toString(),
      redirect: 'manual',
    });
    this.keep(res);
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }
}

function newAccount(name: string) {
  return {
    email: `${name.toLowerCase()}-${Date.now().toString(36)}@example.com`,
    displayName: name,
    password: 'correct horse battery',
  };
}

async function signUp(baseUrl: string, account: ReturnType<typeof newAccount>): Promise<Visitor> {
  const visitor = new Visitor(baseUrl);
  const res = await visitor.submit('/signup', account);
  expect(res.status, `signup failed: ${res.text.slice(0, 300)}`).toBe(303);
  expect((await visitor.get('/')).text).toContain(
    `Welcome, <bdi>${account.displayName}</bdi>!`, // a new account's first home
  );
  return visitor;
}

async function logIn(baseUrl: string, account: ReturnType<typeof newAccount>): Promise<Visitor> {
  const visitor = new Visitor(baseUrl);
  const res = await visitor.submit('/login', { email: account.email, password: account.password });
  expect(res.status, `login failed: ${res.text.slice(0, 300)}`).toBe(303);
  return visitor;
}

beforeAll(async () => {
  const build = spawn('npm', ['run', 'build'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  build.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  build.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => {
    build.once('error', () => resolve(null));
    build.once('close', resolve);
  });
  if (code !== 0) throw new Error(`npm run build failed (${code}):\n${tail(out, 40)}`);
}, 180_000);

// Runs even when a test failed half-way: no app, no PostgreSQL and no folder is left behind.
afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (!run.result) {
      signalGroup(run, 'SIGTERM');
      await Promise.race([run.exit, sleep(15_000)]);
    }
    if (!run.result) {
      signalGroup(run, 'SIGKILL');
      await Promise.race([run.exit, sleep(5_000)]);
    }
  }
  for (const dir of dataDirs.splice(0)) {
    // A fast shutdown of each postmaster ends its children too; then whatever is left.
    for (const pid of postmastersOf(dir)) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        continue;
      }
      for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
    }
    for (const { pid } of processesUsing(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

describe('starting and stopping the app (embedded PostgreSQL)', { timeout: TEST_TIMEOUT }, () => {
  it('prints its address, answers /healthz, and a user who signed up is still there and still logged in after a SIGTERM and a restart', async () => {
    const dataDir = newDataDir();
    const first = await startApp(dataDir);
    const firstMs = await waitUntilUp(first);
    expect(first.output()).toContain(`ready on http://localhost:${first.port}`);
    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, database: 'up' });

    const ada = newAccount('Ada');
    const browser = await signUp(first.url, ada);
    const secretFile = path.join(dataDir, 'session-secret');
    expect(fs.statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = fs.readFileSync(secretFile, 'utf8');

    expect(await stopApp(first, 'SIGTERM')).toEqual({ code: 0, signal: null });

    const second = await startApp(dataDir);
    const laterMs = await waitUntilUp(second);
    console.log(
      `[start.test] node dist/server.js -> /healthz up: first start (new cluster) ${firstMs} ms, later start ${laterMs} ms`,
    );
    expect(second.output()).toContain(`ready on http://localhost:${second.port}`);
    expect(fs.readFileSync(secretFile, 'utf8')).toBe(secret);

    // The same browser, same cookie: the session lived in the database, signed with the kept secret.
    browser.baseUrl = second.url;
    const home = await browser.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain(`Welcome back, <bdi>${ada.displayName}</bdi>!`);

    // And the account itself is there: a new browser can log in with it.
    const other = await logIn(second.url, ada);
    expect((await other.get('/')).text).toContain(`Welcome back, <bdi>${ada.displayName}</bdi>!`);
  });

  it('after the app is killed with SIGKILL, the next start stops the orphaned PostgreSQL and the data is still there', async () => {
    const dataDir = newDataDir();
    const first = await startApp(dataDir);
    await waitUntilUp(first);
    const bob = newAccount('Bob');
    const browser = await signUp(first.url, bob);

    // Only the node process, as the OOM killer would: its PostgreSQL is left running.
    process.kill(first.pid, 'SIGKILL');
    expect(await waitForExit(first)).toEqual({ code: null, signal: 'SIGKILL' });
    const orphans = postmastersOf(dataDir);
    expect(orphans, 'PostgreSQL should outlive the killed app').toHaveLength(1);

    const second = await startApp(dataDir);
    const ms = await waitUntilUp(second);
    console.log(`[start.test] start after SIGKILL (orphan stopped first) -> /healthz up: ${ms} ms`);
    expect(second.output()).toContain(`orphaned PostgreSQL (pid ${orphans[0]})`);
    const now = postmastersOf(dataDir);
    expect(now).toHaveLength(1);
    expect(now).not.toContain(orphans[0]);

    browser.baseUrl = second.url;
    expect((await browser.get('/')).text).toContain(`Welcome back, <bdi>${bob.displayName}</bdi>!`);
    const other = await logIn(second.url, bob);
    expect((await other.get('/')).text).toContain(`Welcome back, <bdi>${bob.displayName}</bdi>!`);

    expect(await stopApp(second)).toEqual({ code: 0, signal: null });
    expect(processesUsing(dataDir)).toEqual([]);
  });

  it('a second app on the same data folder stops at once saying the folder is "in use", and the first keeps serving', async () => {
    const dataDir = newDataDir();
    const first = await startApp(dataDir);
    await waitUntilUp(first);
    const serving = postmastersOf(dataDir);

    const second = await startApp(dataDir);
    const exit = await waitForExit(second, 15_000);
    const ms = Math.round(performance.now() - second.startedAt);
    console.log(`[start.test] a second app on a folder in use gave up after ${ms} ms`);
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(second.output()).toContain('in use');
    expect(second.output()).toContain(`pid ${first.pid}`);
    expect(ms).toBeLessThan(10_000);

    expect(first.result).toBeUndefined();
    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ database: 'up' });
    expect(postmastersOf(dataDir)).toEqual(serving);
    await signUp(first.url, newAccount('Cleo'));

    expect(await stopApp(first)).toEqual({ code: 0, signal: null });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s stops the app with exit code 0 and leaves no PostgreSQL serving its data folder',
    async (signal) => {
      const dataDir = newDataDir();
      const app = await startApp(dataDir);
      await waitUntilUp(app);
      expect(postmastersOf(dataDir)).toHaveLength(1);

      expect(await stopApp(app, signal)).toEqual({ code: 0, signal: null });
      expect(app.output()).toContain(`${signal}: shutting down`);
      expect(processesUsing(dataDir)).toEqual([]);
      expect(fs.existsSync(path.join(dataDir, 'app.lock'))).toBe(false);
    },
  );

  it('a SIGTERM that arrives while the database is still starting stops it too, leaving nothing running', async () => {
    const dataDir = newDataDir();
    const app = await startApp(dataDir);
    // Wait until the app says it is starting the database, then stop it mid-start.
    const deadline = Date.now() + 20_000;
    while (!app.output().includes('embedded PostgreSQL') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    signalGroup(app, 'SIGTERM');
    expect(await waitForExit(app), app.output()).toEqual({ code: 0, signal: null });
    expect(app.output()).toContain('SIGTERM: shutting down');
    expect(processesUsing(dataDir)).toEqual([]);
  });

  it('the literal `npm start` builds, comes up on a fresh data folder, and Ctrl-C stops it with nothing left running', async () => {
    const dataDir = newDataDir();
    const app = await startApp(dataDir, { npmStart: true });
    const ms = await waitUntilUp(app);
    console.log(`[start.test] npm start (prestart build included) -> /healthz up: ${ms} ms`);
    expect(app.output()).toContain(`ready on http://localhost:${app.port}`);

    // A terminal's Ctrl-C reaches npm, its shell and the app: the whole process group.
    // npm waits for the app, then ends itself the conventional way for a Ctrl-C: by SIGINT.
    const exit = await stopApp(app, 'SIGINT');
    expect(exit.code === 0 || exit.signal === 'SIGINT', JSON.stringify(exit)).toBe(true);
    expect(app.output()).toContain('SIGINT: shutting down');
    expect(app.output()).toMatch(/"msg":"stopped"/);
    expect(processesUsing(dataDir)).toEqual([]);
  });

  it('a PORT that is not a number stops the start with exit code 1 and a message naming PORT', async () => {
    const dataDir = newDataDir();
    const app = await startApp(dataDir, { env: { PORT: 'abc' } });
    expect(await waitForExit(app, 15_000)).toEqual({ code: 1, signal: null });
    expect(app.output()).toMatch(/PORT: /);
    expect(fs.readdirSync(dataDir)).toEqual([]);
    expect(processesUsing(dataDir)).toEqual([]);
  });

  it('production without SESSION_SECRET and DATABASE_URL stops the start with exit code 1 and a message naming both', async () => {
    const dataDir = newDataDir();
    const app = await startApp(dataDir, { env: { NODE_ENV: 'production' } });
    expect(await waitForExit(app, 15_000)).toEqual({ code: 1, signal: null });
    expect(app.output()).toMatch(/SESSION_SECRET: .*required in production/);
    expect(app.output()).toMatch(/DATABASE_URL: .*required in production/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
    expect(processesUsing(dataDir)).toEqual([]);
  });
});

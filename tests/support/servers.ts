// Real server processes for the fault and multi-instance tests: the app as a
// child process that can be stopped and started again on the same port, and
// people signed up on it over HTTP. Every wait here is bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import request from 'supertest';
import { openChat, post, sessionCookie, uniqueEmail, type Agent } from './app.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { sleep } from './wait.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// ——— the real server, as a child process ———

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  alive(): boolean;
  /** Sends the signal and waits for the exit (SIGKILL after timeoutMs). */
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: string | null; ms: number }>;
}

const running = new Set<ServerProcess>();

export async function healthz(url: string, timeoutMs = 3000): Promise<number | 'no answer'> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 'no answer';
  }
}

/** `node --import tsx src/server.ts` on a fixed port; resolves once /healthz answers 200. */
export async function spawnServer(
  port: number,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '4',
      RATE_LIMIT: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const proc: ServerProcess = {
    child,
    url,
    port,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop(signal = 'SIGTERM', limit = 20_000) {
      const t0 = Date.now();
      if (proc.alive()) {
        child.kill(signal);
        const killer = setTimeout(() => child.kill('SIGKILL'), limit);
        try {
          await exited;
        } finally {
          clearTimeout(killer);
        }
      }
      running.delete(proc);
      const { code, signal: sig } = await exited;
      return { code, signal: sig, ms: Date.now() - t0 };
    },
  };
  running.add(proc);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.alive()) throw new Error(`the server exited while starting:\n${out}`);
    if ((await healthz(url, 1000)) === 200) return proc;
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`the server did not answer /healthz in ${timeoutMs} ms:\n${out}`);
    }
    await sleep(100);
  }
}

/** Kills whatever spawnServer started and is still running (afterEach / finally). */
export async function reapServers(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL', 5000)));
  running.clear();
}

/** Signs up over HTTP on a running server; returns the agent, the user id and the cookie. */
export async function signUpAt(
  url: string,
  name: string,
): Promise<{ agent: Agent; id: number; cookie: string; email: string }> {
  const agent = request.agent(url);
  const email = uniqueEmail(name.toLowerCase());
  const res = await post(agent, '/signup', {
    email,
    displayName: name,
    password: 'correct horse battery',
  });
  if (res.status !== 303) throw new Error(`signup failed: ${res.status}`);
  const home = await agent.get('/');
  const id = Number(/data-me="(\d+)"/.exec(home.text)?.[1]);
  const cookie = sessionCookie(home);
  if (!id || !cookie) throw new Error('signup gave no user id or cookie');
  return { agent, id, cookie, email };
}

export type PersonAt = Awaited<ReturnType<typeof signUpAt>>;

export interface TwoInstances {
  db: TestDatabase;
  one: ServerProcess;
  two: ServerProcess;
  /** Signed up on instance one. */
  ann: PersonAt;
  /** Signed up on instance two. */
  bo: PersonAt;
  /** Ann and Bo's direct conversation. */
  conversationId: number;
  /** Kills both instances (if still running) and drops the database. */
  close(): Promise<void>;
}

/**
 * Two app processes on one fresh database, fanning out through the adapter
 * `adapterEnv` names, with Ann on one, Bo on two, and their conversation.
 */
export async function startTwoInstances(adapterEnv: Record<string, string>): Promise<TwoInstances> {
  const db = await createTestDatabase();
  const close = async () => {
    await reapServers();
    await db.drop();
  };
  try {
    const env = {
      ...adapterEnv,
      DATABASE_URL: db.url,
      SESSION_SECRET: randomBytes(24).toString('hex'),
      // Each run its own channel: parallel runs sharing a Redis must not hear each other.
      SOCKET_CHANNEL: `test-${randomBytes(4).toString('hex')}`,
    };
    const [one, two] = await Promise.all([
      freePort().then((port) => spawnServer(port, env)),
      freePort().then((port) => spawnServer(port, env)),
    ]);
    const ann = await signUpAt(one.url, 'Ann');
    const bo = await signUpAt(two.url, 'Bo');
    const conversationId = await openChat(ann, bo);
    return { db, one, two, ann, bo, conversationId, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// Child processes of the benchmark (the app, the relay, the build) and the cleanup that
// always runs: on success, on error, on Ctrl-C and on the global timeout.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { TraceSummary } from '../src/features/messages/trace.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves with fn's value, or rejects after ms. */
export async function within<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Cleanup steps, run once in reverse order of registration; each one bounded. */
export class Cleanup {
  private steps: Array<{ name: string; fn: () => Promise<void> | void }> = [];
  private running: Promise<void> | undefined;

  add(name: string, fn: () => Promise<void> | void): void {
    this.steps.push({ name, fn });
  }

  run(): Promise<void> {
    return (this.running ??= (async () => {
      while (this.steps.length) {
        const step = this.steps.pop()!;
        try {
          await within(30_000, `cleanup "${step.name}"`, () => Promise.resolve(step.fn()));
        } catch (err) {
          console.error(`bench: cleanup "${step.name}" failed: ${(err as Error).message}`);
        }
      }
    })());
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface Managed {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns a process whose stdout/stderr lines are shown with a prefix. stdin stays an open
 * pipe: the relay and the server probe exit when it closes, i.e. when this process dies.
 * With fdLimit, the child runs under `ulimit -n fdLimit` (raising the soft limit only).
 */
export function startChild(
  label: string,
  command: string,
  args: string[],
  opts: {
    env: NodeJS.ProcessEnv;
    cwd: string;
    fdLimit?: number;
    onStdoutLine?: (line: string) => void;
  },
): Managed {
  const [cmd, argv] =
    opts.fdLimit !== undefined
      ? [
          '/bin/sh',
          ['-c', `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, command, ...args] as string[],
        ]
      : [command, args];
  const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${label} (${command})`);
  const pid = child.pid;
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      console.error(`bench: ${label}: ${err.message}`);
      done = true;
      resolve({ code: null, signal: null });
    });
  });
  child.stdin?.on('error', () => undefined);
  const show = (stream: NodeJS.ReadableStream | null, sink: (line: string) => void) => {
    if (!stream) return;
    readline.createInterface({ input: stream }).on('line', sink);
  };
  // Long lines (a pino error with a whole pg client in it) are cut: the report stays readable.
  const print = (line: string) =>
    console.error(
      `[${label}] ${line.length > 600 ? `${line.slice(0, 600)}… (${line.length - 600} more characters)` : line}`,
    );
  show(child.stdout, (line) => {
    if (opts.onStdoutLine) opts.onStdoutLine(line);
    else print(line);
  });
  show(child.stderr, print);
  return {
    child,
    pid,
    exited,
    hasExited: () => done,
    async stop(graceMs = 20_000) {
      if (done) return;
      child.kill('SIGTERM');
      const t = sleep(graceMs).then(() => 'timeout' as const);
      if ((await Promise.race([exited, t])) === 'timeout' && !done) {
        console.error(`bench: ${label} ignored SIGTERM for ${graceMs} ms; killing it`);
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(5_000)]);
      }
      child.stdin?.destroy();
    },
  };
}

/** Runs a command to completion with inherited output; rejects on a non-zero exit. */
export function runCommand(
  command: string,
  args: string[],
  cwd: string,
  register: (c: ChildProcess) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    register(child);
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

/**
 * After a SIGKILLed app, its embedded PostgreSQL (its own process group) may survive.
 * It lives in our temporary DATA_DIR, so it is ours to stop.
 */
export async function stopOrphanPostgres(dataDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(
      fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  let cmdline = '';
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes(path.join(dataDir, 'pg'))) return;
  console.error(`bench: stopping the embedded PostgreSQL (pid ${pid}) left by the app`);
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls GET url until it answers 200; fails early if the child exits. */
export async function waitHealthy(url: string, child: Managed, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.hasExited()) {
      const { code, signal } = await child.exited;
      throw new Error(`the app exited before it was ready (${signal ?? `exit ${code}`})`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`the app was not healthy within ${timeoutMs} ms (${last})`);
}

export interface ProbeReport {
  seq: number;
  gc: boolean;
  memory: NodeJS.MemoryUsage;
  eventLoop: { p50: number; p99: number; max: number };
  /** The app's ack-latency spans since the last report, when it runs with BENCH_TRACE=1. */
  trace?: TraceSummary;
}

/** Talks to bench/server-probe.mjs in a child: a command on its stdin, an "@@probe" line back. */
export class ProbeChannel {
  private seq = 0;
  private waiters = new Map<number, (r: unknown) => void>();
  private child: Managed | undefined;

  attach(child: Managed): void {
    this.child = child;
  }

  /** For startChild's onStdoutLine: true when the line was a probe answer. */
  handleLine(line: string): boolean {
    if (!line.startsWith('@@probe ')) return false;
    try {
      const r = JSON.parse(line.slice(8)) as { seq: number };
      this.waiters.get(r.seq)?.(r);
      this.waiters.delete(r.seq);
    } catch {
      // a cut line: the waiter times out
    }
    return true;
  }

  /** "report": numbers since the last ask; "gc": a full GC first. Undefined if no answer. */
  ask(cmd: 'report' | 'gc'): Promise<ProbeReport | undefined> {
    return this.send(cmd, [], 5_000) as Promise<ProbeReport | undefined>;
  }

  /** The HTTP requests' durations inside the child since the last ask, in ms. */
  async requests(): Promise<number[] | undefined> {
    const r = (await this.send('requests', [], 5_000)) as { requestMs?: number[] } | undefined;
    return r?.requestMs;
  }

  /** Starts the V8 CPU profiler in the child. */
  async profileStart(): Promise<boolean> {
    const r = (await this.send('prof-start', [], 5_000)) as { ok?: boolean } | undefined;
    return r?.ok === true;
  }

  /** Stops it and has the child write the .cpuprofile to `file`. */
  async profileStop(file: string): Promise<boolean> {
    const r = (await this.send('prof-stop', [encodeURIComponent(file)], 60_000)) as
      { ok?: boolean } | undefined;
    return r?.ok === true;
  }

  private async send(cmd: string, args: string[], timeoutMs: number): Promise<unknown> {
    const stdin = this.child?.child.stdin;
    if (!stdin || this.child?.hasExited()) return undefined;
    const seq = ++this.seq;
    const answer = new Promise<unknown>((resolve) => this.waiters.set(seq, resolve));
    stdin.write(`${[cmd, seq, ...args].join(' ')}\n`);
    try {
      return await within(timeoutMs, `probe ${cmd}`, () => answer);
    } catch {
      this.waiters.delete(seq);
      return undefined;
    }
  }
}

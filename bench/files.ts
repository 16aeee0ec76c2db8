// `npm run bench:files`: the figures issue 15 asks for about pictures and files, on the built
// app as a child process (embedded PostgreSQL in a temporary DATA_DIR, or a throwaway
// database on $DATABASE_URL's server):
//   1. ten 10 MB uploads at once: how much the server's memory (VmRSS) grows, and the
//      send → ack latency of chat at a steady rate while they run (and without them);
//   2. a 10 MB download: MB/s from the database to this process.
// Usage: npm run bench:files [-- --rate 1000 --uploads 10 --mb 10 --downloads 10 --curl --cpu-prof DIR]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../src/shared/protocol.js';
import {
  Cleanup,
  freePort,
  ProbeChannel,
  runCommand,
  sleep,
  startChild,
  waitHealthy,
  type ProbeReport,
} from './children.js';
import { csrfFrom, openDirect, signUp, type BenchUser } from './http.js';
import { cpuSecondsOf, descendantsCpu, loadAverage, postgresCpuDelta, rssKb } from './proc.js';
import { round, Samples } from './stats.js';
import { numberFlag as arg } from './args.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RATE = arg('rate', 1000);
const UPLOADS = arg('uploads', 10);
const MB = arg('mb', 10);
const PAIRS = arg('pairs', 20);
const DOWNLOADS = arg('downloads', 10);

type Tab = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The app's side of a chat window: event-loop lag and the ack's spans, p99 ms. */
function inApp(r: ProbeReport | undefined): string {
  if (!r) return '';
  const spans = r.trace
    ? Object.entries(r.trace.spans)
        .map(([k, v]) => `${k} ${round(v.p99)}`)
        .join(', ')
    : '';
  return `\n      in the app, p99: event-loop lag ${r.eventLoop.p99} ms (max ${r.eventLoop.max}); ${spans}`;
}

async function main() {
  const cleanup = new Cleanup();
  process.on('SIGINT', () => void cleanup.run().then(() => process.exit(130)));
  try {
    await runCommand('node', ['scripts/build-if-changed.mjs'], ROOT, () => undefined);
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '4',
      RATE_LIMIT: 'false',
      NODE_ENV: 'development', // as bench/run.ts: no Secure cookies over plain HTTP
      SESSION_SECRET: randomBytes(24).toString('hex'),
      ATTACHMENT_MAX_BYTES: String(MB * 1024 * 1024 + 1024),
    };
    let admin: pg.Client | undefined;
    let dbName: string | undefined;
    if (process.env.DATABASE_URL) {
      admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      dbName = `chat_bench_files_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${dbName}`);
      const url = new URL(process.env.DATABASE_URL);
      url.pathname = `/${dbName}`;
      env.DATABASE_URL = url.toString();
      cleanup.add('database', async () => {
        await admin!.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin!.end();
      });
    } else {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'chat-bench-files-'));
      await fsp.chmod(dir, 0o755); // embedded PostgreSQL runs as the postgres user when we are root
      env.DATA_DIR = dir;
      delete env.DATABASE_URL;
      cleanup.add('data dir', () => fsp.rm(dir, { recursive: true, force: true }));
    }
    // --cpu-prof DIR: a V8 profile of the app's whole run, written when it stops
    // (summarise with bench/profile-summary.ts; --downloads 40 makes the download dominate).
    const profDir = process.argv[process.argv.indexOf('--cpu-prof') + 1];
    const nodeArgs = process.argv.includes('--cpu-prof')
      ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`]
      : [];
    // The probe reports the app's event-loop lag, and (BENCH_TRACE) where each ack's time went.
    env.BENCH_PROBE = '1';
    env.BENCH_TRACE = '1';
    const probe = new ProbeChannel();
    const app = startChild(
      'app',
      process.execPath,
      [...nodeArgs, '--import', './bench/server-probe.mjs', 'dist/server.js'],
      {
        env,
        cwd: ROOT,
        onStdoutLine: (line) => {
          if (!probe.handleLine(line)) console.error(`[app] ${line}`);
        },
      },
    );
    probe.attach(app);
    cleanup.add('app', () => app.stop());
    await waitHealthy(`${baseUrl}/healthz`, app, 120_000);
    const database = process.env.DATABASE_URL ? 'PostgreSQL server' : 'embedded PostgreSQL';
    console.log(`app ready (${database}), pid ${app.pid}`);

    const runId = randomBytes(3).toString('hex');
    const users: BenchUser[] = [];
    for (let i = 0; i < PAIRS * 2; i++) users.push(await signUp(baseUrl, runId, i));
    const chats: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const [a, b] = [users[2 * i]!, users[2 * i + 1]!];
      // Friends, so every message is delivered (a stranger's fourth waits for acceptance).
      await a.browser.post('/friends/requests', { email: b.email }, '/search');
      await b.browser.post(`/friends/${a.id}/accept`, {}, '/friends');
      chats.push(await openDirect(a, b));
    }
    const uploader = users[0]!;
    const page = await uploader.browser.get(`/conversations/${chats[0]}`);
    const token = csrfFrom(page.text);

    const tabs: Tab[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const t: Tab = io(baseUrl, {
        transports: ['websocket'],
        extraHeaders: { cookie: users[2 * i]!.browser.cookie },
        reconnection: false,
      });
      await new Promise<void>((resolve, reject) => {
        t.once('connect', resolve);
        t.once('connect_error', reject);
      });
      tabs.push(t);
    }
    cleanup.add('sockets', () => tabs.forEach((t) => t.disconnect()));

    /** Chat at RATE messages/s over the tabs for `ms`, and on until `until` settles: ack latency samples. */
    async function chat(ms: number, until?: Promise<unknown>): Promise<Samples> {
      let more = !!until;
      void until?.finally(() => (more = false));
      const samples = new Samples();
      const interval = 1000 / RATE;
      const start = performance.now();
      let n = 0;
      const waits: Promise<void>[] = [];
      while (performance.now() - start < ms || more) {
        const due = start + n * interval;
        const now = performance.now();
        if (due > now) await sleep(Math.max(0, due - now));
        const tab = tabs[n % tabs.length]!;
        const conversationId = chats[n % chats.length]!;
        const sent = performance.now();
        waits.push(
          tab
            .timeout(10_000)
            .emitWithAck('message:send', {
              conversationId,
              body: `m${n}`,
              clientId: randomUUID(),
            })
            .then(() => samples.add(performance.now() - sent))
            .catch(() => undefined),
        );
        n++;
      }
      await Promise.all(waits);
      return samples;
    }

    /** One streamed upload of `bytes` random bytes (nothing held here but a 64 KB piece). */
    function uploadOnce(bytes: number): Promise<{ status: number; id?: string }> {
      const boundary = `bench${randomBytes(8).toString('hex')}`;
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      return new Promise((resolve, reject) => {
        const req = http.request(`${baseUrl}/conversations/${chats[0]}/attachments`, {
          method: 'POST',
          headers: {
            cookie: uploader.browser.cookie,
            'x-csrf-token': token,
            accept: 'application/json',
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': String(head.length + bytes + tail.length),
          },
        });
        req.on('response', (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            const body = JSON.parse(Buffer.concat(parts).toString() || '{}') as {
              attachment?: { id: string };
            };
            if (res.statusCode !== 201)
              console.error(`upload: ${res.statusCode} ${JSON.stringify(body)}`);
            resolve({ status: res.statusCode ?? 0, id: body.attachment?.id });
          });
        });
        req.on('error', reject);
        req.write(head);
        const piece = randomBytes(64 * 1024);
        let left = bytes;
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, piece.length);
            left -= n;
            if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) {
              req.once('drain', pump);
              return;
            }
          }
          req.end(tail);
        };
        pump();
      });
    }

    // ——— 1. memory and chat latency while ten uploads run ———
    await probe.ask('report');
    const quiet = await chat(3000);
    const quietProbe = await probe.ask('report');
    await sleep(1000);
    const rssBefore = rssKb(app.pid)!;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssKb(app.pid) ?? 0);
    }, 20);
    const started = performance.now();
    const upAppCpu0 = cpuSecondsOf(app.pid) ?? 0;
    const upDbCpu0 = descendantsCpu(app.pid);
    let uploadSeconds = 0;
    const uploads = Promise.all(
      Array.from({ length: UPLOADS }, () => uploadOnce(MB * 1024 * 1024)),
    ).finally(() => (uploadSeconds = (performance.now() - started) / 1000));
    // For as long as the uploads run (at least 3 s), so paced uploads are measured to the end.
    const [busy, results] = await Promise.all([chat(3000, uploads), uploads]);
    const busyProbe = await probe.ask('report');
    // Chat's own CPU is in these too: run with --rate 1 to see the uploads' alone.
    const upAppMs = ((cpuSecondsOf(app.pid) ?? 0) - upAppCpu0) * 1000;
    const upDbMs = postgresCpuDelta(upDbCpu0, descendantsCpu(app.pid)) * 1000;
    clearInterval(sampler);
    const ok = results.filter((r) => r.status === 201).length;

    // ——— 2. a 10 MB download ———
    const id = results.find((r) => r.id)?.id;
    const speeds: number[] = [];
    // CPU per MB, which the machine's other load does not move as it moves MB/s: the app's,
    // and the embedded PostgreSQL's (its processes run under the app; a server's are not ours).
    const appCpu0 = cpuSecondsOf(app.pid) ?? 0;
    const dbCpu0 = descendantsCpu(app.pid);
    let downloaded = 0;
    for (let i = 0; i < DOWNLOADS && id; i++) {
      const t0 = performance.now();
      const got = await new Promise<number>((resolve, reject) => {
        http
          .get(
            `${baseUrl}/attachments/${id}`,
            { headers: { cookie: uploader.browser.cookie } },
            (res) => {
              let n = 0;
              res.on('data', (c: Buffer) => (n += c.length));
              res.on('end', () => resolve(n));
            },
          )
          .on('error', reject);
      });
      speeds.push(got / (1024 * 1024) / ((performance.now() - t0) / 1000));
      downloaded += got / (1024 * 1024);
    }
    const appCpuMs = ((cpuSecondsOf(app.pid) ?? 0) - appCpu0) * 1000;
    const dbCpuMs = postgresCpuDelta(dbCpu0, descendantsCpu(app.pid)) * 1000;
    speeds.sort((a, b) => a - b);
    // --curl: the same download read by curl into /dev/null, to show this process's reading
    // is not what limits the figure above.
    const curlSpeeds: number[] = [];
    for (let i = 0; i < DOWNLOADS && id && process.argv.includes('--curl'); i++) {
      const { stdout } = await run('curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{speed_download}',
        '-H',
        `cookie: ${uploader.browser.cookie}`,
        `${baseUrl}/attachments/${id}`,
      ]);
      curlSpeeds.push(Number(stdout) / (1024 * 1024));
    }
    curlSpeeds.sort((a, b) => a - b);

    const q = (s: Samples) => `p50 ${s.p(0.5)} ms, p99 ${s.p(0.99)} ms (${s.count} msgs)`;
    console.log(
      `\nPictures and files (${database}, ${os.cpus().length} cores, Node ${process.version})`,
    );
    console.log(
      `  ${UPLOADS} × ${MB} MB uploads at once: ${ok}/${UPLOADS} stored in ${round(uploadSeconds)} s`,
    );
    const upMb = UPLOADS * MB;
    console.log(
      `  CPU per MB uploaded, with chat's: app ${round(upAppMs / upMb, 2)} ms` +
        (process.env.DATABASE_URL ? '' : `, embedded PostgreSQL ${round(upDbMs / upMb, 2)} ms`),
    );
    console.log(
      `  server RSS: ${round(rssBefore / 1024)} MB before, peak ${round(rssPeak / 1024)} MB: +${round((rssPeak - rssBefore) / 1024)} MB`,
    );
    console.log(`  chat at ${RATE} msg/s without uploads: ${q(quiet)}${inApp(quietProbe)}`);
    console.log(`  chat at ${RATE} msg/s during uploads:  ${q(busy)}${inApp(busyProbe)}`);
    console.log(
      `  ${MB} MB download: median ${round(speeds[Math.floor(speeds.length / 2)] ?? 0)} MB/s, best ${round(speeds.at(-1) ?? 0)} MB/s (${speeds.length} runs)`,
    );
    if (curlSpeeds.length)
      console.log(
        `  the same by curl: median ${round(curlSpeeds[Math.floor(curlSpeeds.length / 2)]!)} MB/s, best ${round(curlSpeeds.at(-1)!)} MB/s`,
      );
    const perMb = (ms: number) => round(ms / Math.max(downloaded, 1), 2);
    console.log(
      `  download CPU per MB: app ${perMb(appCpuMs)} ms` +
        (process.env.DATABASE_URL ? '' : `, embedded PostgreSQL ${perMb(dbCpuMs)} ms`),
    );
    console.log(`  load average: ${loadAverage()}`);
  } finally {
    await cleanup.run();
  }
}

await main();

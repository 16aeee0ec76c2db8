// Fault: the database goes away under a running app and comes back. A
// throwaway PostgreSQL 17 (src/core/db/embedded.ts) on a fixed port, so its URL
// stays the same across the restart; the real server (tsx) in front of it.
// While the database is down the app stays up, says so on /healthz, answers
// sends with a clear retryable error (not silence), pages with 503 (not 500);
// once it is back, the clients' retries (same clientIds) land once each.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterEach, expect, it } from 'vitest';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/core/db/embedded.js';
import { ask } from './support/sockets.js';
import {
  BrowserLikeClient,
  countSent,
  freePort,
  healthz,
  makeGroupIn,
  reapServers,
  reconcile,
  signUpAt,
  sleep,
  spawnServer,
  storedRows,
  until,
  type Outgoing,
  type ServerProcess,
} from './support/fault.js';

const BEFORE = 20; // per sender, database up
const DURING = 10; // per sender, database down
const AFTER = 5; // per sender, database back
const ACK_WITHIN_MS = 10_000;

const clients: BrowserLikeClient[] = [];
let database: EmbeddedDatabase | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await reapServers();
  await database?.stop().catch(() => undefined);
  database = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

const pgLog: string[] = [];
const log = { info: (m: string) => void pgLog.push(m), warn: (m: string) => void pgLog.push(m) };

function tally(kinds: string[]): Record<string, number> {
  return kinds.reduce<Record<string, number>>((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {});
}

it('a database restart: the app stays up, says 503, answers sends with a retryable error, and the retries land once', async () => {
  const t0 = Date.now();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'chat-fault-pg-'));
  await chmod(dataDir, 0o755); // as root the cluster runs as the system user postgres
  const pgPort = await freePort();
  database = await startEmbeddedDatabase({ dataDir, log, port: pgPort });
  const dbUrl = database.url;
  let server: ServerProcess;
  try {
    // The app applies the migrations itself on start.
    server = await spawnServer(await freePort(), {
      DATABASE_URL: dbUrl,
      SESSION_SECRET: randomBytes(24).toString('hex'),
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\nembedded log:\n${pgLog.join('\n')}`);
  }
  const url = server.url;

  const [ann, bo, cy] = await Promise.all(['Ann', 'Bo', 'Cy'].map((n) => signUpAt(url, n)));
  const group = await makeGroupIn(dbUrl, 'outage', [ann!.id, bo!.id, cy!.id]);
  // A conversation nobody has used yet: the app has not cached its members.
  const cold = await makeGroupIn(dbUrl, 'cold', [ann!.id, cy!.id]);
  const senders = [ann!, bo!].map((p) => new BrowserLikeClient(url, p.cookie, group));
  const reader = new BrowserLikeClient(url, cy!.cookie, group);
  clients.push(...senders, reader);
  await until('all connected', () => clients.every((c) => c.connected), 10_000);

  // 1. Database up: traffic as usual.
  for (let i = 1; i <= BEFORE; i++) {
    senders.forEach((s, k) => s.submit(`before ${k + 1}.${i}`));
    await sleep(20);
  }
  await until(
    'everything before the outage confirmed',
    () => senders.every((s) => !s.outbox.size),
    10_000,
  );

  // 2. The database stops.
  const stopT = Date.now();
  await database.stop();
  const stopMs = Date.now() - stopT;

  let health: { status: number | 'no answer'; body: unknown } = { status: 'no answer', body: null };
  const healthMs = await until(
    '/healthz to say 503',
    async () => {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) }).catch(
        () => undefined,
      );
      health = {
        status: res?.status ?? 'no answer',
        body: res ? await res.json().catch(() => null) : null,
      };
      return health.status === 503;
    },
    10_000,
    100,
  );
  expect(health.body).toEqual({ ok: false, database: 'down' });

  const answersBefore = senders.map((s) => s.answers.length);
  const during: Outgoing[] = [];
  for (let i = 1; i <= DURING; i++) {
    during.push(...senders.map((s, k) => s.submit(`during ${k + 1}.${i}`)));
    await sleep(100);
  }
  // The cold conversation and a sync, asked while the database is down.
  const coldClientId = randomUUID();
  const coldT = Date.now();
  const coldAck = await ask(
    senders[0]!.socket,
    'message:send',
    { conversationId: cold, body: 'cold during', clientId: coldClientId },
    ACK_WITHIN_MS + 1000,
  ).catch((err: Error) => ({
    ok: false as const,
    error: { code: 'timeout', message: err.message },
  }));
  const coldMs = Date.now() - coldT;
  const syncT = Date.now();
  const syncAck = await ask(
    reader.socket,
    'sync',
    { conversationId: group, after: 0 },
    ACK_WITHIN_MS + 1000,
  ).catch((err: Error) => ({
    ok: false as const,
    error: { code: 'timeout', message: err.message },
  }));
  const syncMs = Date.now() - syncT;

  // Every send during the outage got its answer within ACK_WITHIN_MS (or timed out at 10 s).
  await until(
    'an answer to every send during the outage',
    () => during.every((item) => item.failures.length > 0 || item.message),
    ACK_WITHIN_MS + 2000,
  );
  const outageAnswers = senders.flatMap((s, k) => s.answers.slice(answersBefore[k]));

  // Pages: logged in they need the database (session, user): 503, never 500.
  const pages: Record<string, number> = {};
  for (const p of ['/', `/conversations/${group}`, '/search', '/account'])
    pages[`${p} (logged in)`] = (await ann!.agent.get(p).timeout(15_000)).status;
  const anon = request.agent(url);
  for (const p of ['/', '/login', '/signup'])
    pages[`${p} (anonymous)`] = (await anon.get(p).timeout(15_000)).status;
  const appAliveDuringOutage = server.alive();
  const socketsStayed = clients.every((c) => c.connected);
  const outageMs = Date.now() - stopT;

  // 3. The database comes back, same folder, same port, same URL.
  const startT = Date.now();
  database = await startEmbeddedDatabase({ dataDir, log, port: pgPort });
  const pgStartMs = Date.now() - startT;
  expect(database.url).toBe(dbUrl);
  const healthyMs = await until(
    '/healthz 200 again',
    async () => (await healthz(url)) === 200,
    15_000,
    100,
  );

  // Nothing resends by itself: the sockets never dropped, so the page shows "Not sent — … Retry".
  const attemptsBefore = during.reduce((n, i) => n + i.attempts, 0);
  await sleep(1000);
  const autoRetried = during.reduce((n, i) => n + i.attempts, 0) - attemptsBefore;
  // The user clicks "Retry" on each (again after a second, should one fail again).
  let clicks = 0;
  await until(
    'every retry confirmed',
    () => {
      clicks += senders.reduce((n, s) => n + s.retryFailed(), 0);
      return senders.every((s) => !s.outbox.size);
    },
    15_000,
    1000,
  );
  const coldRetry = await ask(senders[0]!.socket, 'message:send', {
    conversationId: cold,
    body: 'cold during',
    clientId: coldClientId,
  });

  // 4. Traffic as usual again.
  for (let i = 1; i <= AFTER; i++) {
    senders.forEach((s, k) => s.submit(`after ${k + 1}.${i}`));
    await sleep(20);
  }
  await until(
    'everything after the outage confirmed',
    () => senders.every((s) => !s.outbox.size),
    10_000,
  );
  const total = senders.length * (BEFORE + DURING + AFTER);
  await until('the reader to have everything', () => reader.known.size >= total, 10_000).catch(
    () => undefined,
  );
  await sleep(300);

  const rows = await storedRows(dbUrl, group);
  const coldRows = await storedRows(dbUrl, cold);
  const counts = senders.map((s) => countSent(s.sent));
  const sum = (k: keyof (typeof counts)[number]) => counts.reduce((n, c) => n + c[k], 0);
  const appLog = server.output();
  const levels = tally(
    appLog
      .split('\n')
      .map((l) => /"level":(\d+)/.exec(l)?.[1])
      .filter((l): l is string => !!l)
      .map((l) => ({ '40': 'warn', '50': 'error', '60': 'fatal' })[l] ?? l),
  );
  // What the app logged as errors (bugs, by its own rules), in short.
  const errorLines = tally(
    appLog
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l))
      .map((l) => {
        const e = JSON.parse(l) as { msg?: string; event?: string; err?: { message?: string } };
        return `${e.msg ?? ''}${e.event ? ` [${e.event}]` : ''}: ${e.err?.message ?? ''}`;
      }),
  );
  console.log(
    [
      `database restart under a running app:`,
      `  database stop ${stopMs} ms; /healthz 503 after ${healthMs} ms (${JSON.stringify(health.body)}); outage ${outageMs} ms; database start ${pgStartMs} ms; /healthz 200 ${healthyMs} ms after it`,
      `  sends during the outage: ${during.length}; first answers ${JSON.stringify(tally(outageAnswers.map((a) => a.kind)))}, slowest ${Math.max(...outageAnswers.map((a) => a.ms))} ms`,
      `  cold conversation send: ${JSON.stringify(coldAck.ok ? 'ok' : coldAck.error.code)} in ${coldMs} ms; sync: ${JSON.stringify(syncAck.ok ? 'ok' : syncAck.error.code)} in ${syncMs} ms`,
      `  pages during the outage: ${JSON.stringify(pages)}`,
      `  app alive during the outage: ${appAliveDuringOutage}; sockets stayed connected: ${socketsStayed}`,
      `  after recovery: resent by themselves ${autoRetried}; Retry clicks ${clicks}; cold retry ${coldRetry.ok ? 'ok' : coldRetry.error.code}`,
      `  acked first time: ${sum('ackedFirstTime')}; retried: ${sum('retried')} (max attempts ${Math.max(...counts.map((c) => c.maxAttempts))}); unconfirmed ${sum('unconfirmed')}; refused ${sum('refused')}`,
      `  total stored: ${rows.length} + ${coldRows.length} in the cold conversation; reader knows ${reader.known.size}`,
      `  app log lines by level: ${JSON.stringify(levels)}; errors: ${JSON.stringify(errorLines)}`,
      `  run time ${Date.now() - t0} ms`,
    ].join('\n'),
  );

  expect(healthMs).toBeLessThan(5000);
  expect(appAliveDuringOutage).toBe(true);
  expect(server.alive()).toBe(true);
  // A clear retryable error well within the browser's 10 s ack timeout: no silence.
  expect(outageAnswers).toHaveLength(during.length);
  expect(outageAnswers.filter((a) => a.kind === 'timeout')).toEqual([]);
  expect(outageAnswers.every((a) => a.kind === 'unavailable')).toBe(true);
  expect(Math.max(...outageAnswers.map((a) => a.ms))).toBeLessThan(ACK_WITHIN_MS);
  // A sync during the outage is answered too, with the same retryable error, not silence.
  expect(syncAck.ok ? 'ok' : syncAck.error.code, 'sync during the outage').toBe('unavailable');
  expect(syncMs).toBeLessThan(ACK_WITHIN_MS);
  // The sockets rode out the outage, and nothing was resent until the user asked.
  expect(socketsStayed).toBe(true);
  expect(autoRetried).toBe(0);
  for (const [page, status] of Object.entries(pages)) expect(status, page).not.toBe(500);
  for (const [page, status] of Object.entries(pages))
    if (page.endsWith('(logged in)')) expect(status, page).toBe(503);
  // Every message, before, during and after, stored once; the reader has each once.
  expect(reconcile(rows, senders, reader)).toEqual([]);
  expect(rows).toHaveLength(total);
  expect(sum('retried')).toBeGreaterThanOrEqual(during.length);
  expect(coldRetry.ok).toBe(true);
  expect(coldRows.map((r) => r.clientId)).toEqual([coldClientId]);
  // A send the app cannot save is the same retryable "unavailable" whichever step met the
  // outage: the membership lookup of a conversation not cached yet, or the insert.
  expect
    .soft(coldAck.ok ? 'ok' : coldAck.error.code, 'cold conversation send during the outage')
    .toBe('unavailable');
  expect(coldMs).toBeLessThan(ACK_WITHIN_MS);
}, 120_000);

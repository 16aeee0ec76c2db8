// Fault: the server restarts (SIGTERM, then started again on the same port)
// while three people send messages continuously and a fourth reads. Each
// client behaves as the browser script does: a message not confirmed is sent
// again with the same clientId after the reconnect, until confirmed. At the
// end every message is stored exactly once and the reader has each exactly once.
import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { createTestDatabase } from './support/db.js';
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
  type ServerProcess,
} from './support/fault.js';

const SENDERS = 3;
const PER_SENDER = 150;
const EVERY_MS = 20;
const RESTART_AFTER = 60; // messages per sender before the SIGTERM

const clients: BrowserLikeClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await reapServers();
});

it('a server restart under traffic loses nothing and stores nothing twice', async () => {
  const t0 = Date.now();
  const db = await createTestDatabase();
  let server: ServerProcess | undefined;
  try {
    const port = await freePort();
    const env = { DATABASE_URL: db.url, SESSION_SECRET: randomBytes(24).toString('hex') };
    server = await spawnServer(port, env);
    const url = server.url;

    const people = await Promise.all(['Ann', 'Bo', 'Cy', 'Di'].map((name) => signUpAt(url, name)));
    const conversationId = await makeGroupIn(
      db.url,
      'restart crew',
      people.map((p) => p.id),
    );
    const senders = people
      .slice(0, SENDERS)
      .map((p) => new BrowserLikeClient(url, p.cookie, conversationId));
    const reader = new BrowserLikeClient(url, people[3]!.cookie, conversationId);
    clients.push(...senders, reader);
    await until('all four connected', () => clients.every((c) => c.connected), 10_000);

    // Each sender writes PER_SENDER messages, one every EVERY_MS, whatever the connection does.
    const typing = senders.map(async (s, k) => {
      for (let i = 1; i <= PER_SENDER; i++) {
        s.submit(`sender ${k + 1} message ${i}`);
        await sleep(EVERY_MS);
      }
    });

    // Midway: SIGTERM, wait for the exit, start again on the same port.
    await until(
      'senders midway',
      () => senders.every((s) => s.sent.length >= RESTART_AFTER),
      20_000,
      5,
    );
    const restartAt = Date.now();
    const stopped = await server.stop('SIGTERM');
    const stoppedOutput = server.output();
    expect(await healthz(url, 500)).toBe('no answer');
    server = await spawnServer(port, env);
    const downMs = Date.now() - restartAt;
    await Promise.all(typing);

    // Everything confirmed, without anyone clicking "Retry": reconnects alone do it.
    const drainMs = await until(
      'every sender outbox empty',
      () => senders.every((s) => s.outbox.size === 0),
      30_000,
    ).catch((err: Error) => {
      const stuck = senders.flatMap((s) => [...s.outbox.values()]);
      throw new Error(
        `${err.message}; ${stuck.length} unconfirmed, e.g. ${JSON.stringify(stuck.slice(0, 3))}`,
      );
    });
    const total = SENDERS * PER_SENDER;
    await until('the reader to know every message', () => reader.known.size >= total, 15_000).catch(
      () => undefined, // reconcile below says exactly what is missing
    );
    await sleep(300); // anything late (a duplicate) would show up now

    const rows = await storedRows(db.url, conversationId);
    const counts = senders.map((s) => countSent(s.sent));
    const sum = (k: keyof (typeof counts)[number]) => counts.reduce((n, c) => n + c[k], 0);
    const answers = senders.flatMap((s) => s.answers);
    const kinds = answers.reduce<Record<string, number>>(
      (m, a) => ((m[a.kind] = (m[a.kind] ?? 0) + 1), m),
      {},
    );
    console.log(
      [
        `server restart under traffic (${SENDERS} senders × ${PER_SENDER}, every ${EVERY_MS} ms):`,
        `  SIGTERM → exit ${stopped.code ?? stopped.signal} in ${stopped.ms} ms; down (SIGTERM → healthy again) ${downMs} ms; outboxes empty ${drainMs} ms after the last message was typed`,
        `  acked first time: ${sum('ackedFirstTime')}; retried: ${sum('retried')} (max attempts ${Math.max(...counts.map((c) => c.maxAttempts))}); waited for the connection: ${sum('waitedForConnection')}`,
        `  confirmed by ack ${sum('confirmedByAck')}, by own message:new ${sum('confirmedByLive')}, by sync ${sum('confirmedBySync')}; unconfirmed ${sum('unconfirmed')}; refused ${sum('refused')}`,
        `  ack answers: ${JSON.stringify(kinds)}`,
        `  total stored: ${rows.length} (distinct clientIds ${new Set(rows.map((r) => r.clientId)).size}); reader knows ${reader.known.size}, live ${reader.liveCount.size}, via sync ${reader.syncCount.size}; reader connects ${reader.connects}, disconnects ${JSON.stringify(reader.disconnects)}`,
      ].join('\n'),
    );

    expect(stopped.code, `the SIGTERM shutdown was not clean:\n${stoppedOutput}`).toBe(0);
    expect(sum('submitted')).toBe(total);
    expect(reconcile(rows, senders, reader)).toEqual([]);
    expect(rows).toHaveLength(total);
    expect(sum('unconfirmed')).toBe(0);
    // The fault really happened: some messages were caught by the restart.
    expect(sum('retried') + sum('waitedForConnection')).toBeGreaterThan(0);
    expect(reader.connects).toBeGreaterThanOrEqual(2);
    console.log(`  run time ${Date.now() - t0} ms`);
  } finally {
    for (const c of clients.splice(0)) c.close();
    await reapServers();
    await db.drop();
  }
}, 120_000);

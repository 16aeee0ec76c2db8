// The search index's pending entries are merged off the send path (search/pending.ts): after
// messages are written, a pool connection merges the GIN pending lists, so no sender's insert
// finds 4 MB to merge. gin_clean_pending_list answers how many pending pages it merged: 0
// once the merger has been there, more while nobody has (the control, so the check can fail).
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { signUp, startTestApp, type TestApp } from '../support/app.js';
import { closeSockets, cookieOf, openDirect, openSocket, send } from '../support/sockets.js';
import { startMergingSearchIndexes } from '../../src/features/search/pending.js';
import { sleep, until } from '../support/wait.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  closeSockets();
  await app?.close();
});

const pendingPagesMerged = async () =>
  (
    await app.pool.query<{ n: number }>(
      `SELECT gin_clean_pending_list('messages_body_trgm_idx'::regclass) AS n`,
    )
  ).rows[0]!.n; // bigints come back as numbers here (core/db/pool.ts)

async function write(n: number) {
  const ann = await signUp(app);
  const bo = await signUp(app);
  const chat = await openDirect(ann, bo);
  const socket = await openSocket(app.baseUrl, await cookieOf(ann.agent));
  for (let i = 0; i < n; i++)
    await send(socket, chat, `kayak trip number ${i}, see https://example.org/lake/${i}`);
  socket.close();
}

it('leaves written messages in the pending lists when nobody merges (the control)', async () => {
  await pendingPagesMerged(); // start from empty lists
  await write(60);
  expect(await pendingPagesMerged()).toBeGreaterThan(0);
});

it('merges the pending lists soon after messages are written, and only then', async () => {
  await pendingPagesMerged();
  const stop = startMergingSearchIndexes(app.ctx, 50);
  const query = vi.spyOn(app.ctx.db, 'query');
  const merges = () =>
    query.mock.calls.filter((c) => String(c[0]).includes('gin_clean_pending_list(to_regclass'))
      .length;
  try {
    const before = app.ctx.writer.stored;
    await write(60);
    expect(app.ctx.writer.stored - before).toBe(60);
    await until('a merge after the writes', () => merges() > 0);
    await sleep(250); // five ticks: the last merge saw the last write and has finished
    const merged = merges();
    // The merger did it: nothing is left for this call to merge.
    expect(await pendingPagesMerged()).toBe(0);
    // Idle, it asks nothing of the database: no merge while nothing is written.
    await sleep(300);
    expect(merges()).toBe(merged);
    await write(5);
    await until('a merge after the next writes', () => merges() > merged);
  } finally {
    query.mockRestore();
    stop();
  }
});

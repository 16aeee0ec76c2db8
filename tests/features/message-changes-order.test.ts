// "Changes after N" never skips one: many people react at once, over several pool
// connections (transactions in flight together), while a reader keeps syncing by change
// number as an offline tab would. Each message gets exactly one change, so a change the
// reader skipped would stay missing: it is never overwritten by a later one.
// (Without the conversation row's lock, a change number taken by one transaction could
// commit after a higher one a reader already passed: the trap in ../shared/DESIGN.md.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUp, startTestApp, type TestApp, type TestUser } from '../support/app.js';
import {
  ask,
  closeSockets,
  cookieOf,
  makeGroup,
  openSocket,
  type ClientSocket,
} from '../support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  closeSockets();
  await app?.close();
});

const MESSAGES = 300;
const EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

it(
  `${MESSAGES} reactions from four people at once: a reader syncing by change number the whole time misses none`,
  { timeout: 120_000 },
  async () => {
    const people: TestUser[] = [];
    for (let i = 0; i < 5; i++) people.push(await signUp(app, { displayName: `P${i}` }));
    const group = await makeGroup(app, 'Busy', people);
    app.ctx.members.invalidate(group);
    const { rows } = await app.pool.query<{ id: number }>(
      `INSERT INTO messages (conversation_id, sender_id, client_id, body)
       SELECT $1, $2, gen_random_uuid(), 'message ' || n FROM generate_series(1, $3) n
       RETURNING id`,
      [group, people[0]!.id, MESSAGES],
    );
    const ids = rows.map((r) => r.id);
    const writers: ClientSocket[] = [];
    for (const p of people.slice(1))
      for (let t = 0; t < 2; t++)
        writers.push(await openSocket(app.baseUrl, await cookieOf(p.agent)));
    const reader = await openSocket(app.baseUrl, await cookieOf(people[0]!.agent));

    const seen = new Set<number>();
    let mark = 0;
    let syncs = 0;
    const syncOnce = async () => {
      // Generous timeouts: the whole suite on two busy cores is slow, not wrong.
      const res = await ask(
        reader,
        'sync',
        { conversationId: group, after: ids.at(-1)!, changesAfter: mark },
        30_000,
      );
      if (!res.ok) throw new Error(res.error.message);
      syncs++;
      for (const c of res.changes ?? []) {
        seen.add(c.id);
        mark = Math.max(mark, c.changeSeq); // moved by sync answers only
      }
      return res.changesHaveMore ?? false;
    };

    let writing = true;
    const readerLoop = (async () => {
      while (writing) await syncOnce();
    })();
    // Each writer socket takes every eighth message, in waves of five toggles in flight at
    // once: eight sockets, forty changes in flight, for long enough that the reader reads
    // throughout.
    await Promise.all(
      writers.map(async (w, k) => {
        const mineToReact = ids.filter((_, i) => i % writers.length === k);
        for (let start = 0; start < mineToReact.length; start += 5)
          await Promise.all(
            mineToReact.slice(start, start + 5).map(async (messageId, i) => {
              const res = await ask(
                w,
                'reaction:toggle',
                { conversationId: group, messageId, emoji: EMOJI[(start + i) % EMOJI.length]! },
                30_000,
              );
              if (!res.ok) throw new Error(res.error.message);
            }),
          );
      }),
    );
    writing = false;
    await readerLoop;
    while (await syncOnce()); // what is left after the last write, page by page

    const missed = ids.filter((id) => !seen.has(id));
    expect(missed).toEqual([]);
    const { rows: seq } = await app.pool.query<{ seq: number }>(
      'SELECT change_seq AS seq FROM conversations WHERE id = $1',
      [group],
    );
    expect(mark).toBe(seq[0]!.seq);
    expect(mark).toBe(MESSAGES);
    expect(syncs).toBeGreaterThan(3); // the reader really read while the writers wrote
  },
);

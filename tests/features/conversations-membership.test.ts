// Members can change (groups will add and remove them): on two instances, a
// member removed from a conversation hears of no message committed after the
// removal, and loses access on both instances, whichever instance sends.
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { reapServers, startTwoInstances } from '../support/servers.js';
import { ask, closeSockets, openSocket, record, send, waitFor } from '../support/sockets.js';
import { sleep, until } from '../support/wait.js';

afterEach(async () => {
  closeSockets();
  await reapServers();
});

it('after a member is removed, no message committed afterwards reaches them on either instance, and neither instance lets them read on', async () => {
  const pair = await startTwoInstances({ SOCKET_ADAPTER: 'postgres' });
  const { one, two, ann, bo, conversationId } = pair;
  const sql = new pg.Pool({ connectionString: pair.db.url, max: 1 });
  try {
    const annOnOne = await openSocket(one.url, ann.cookie);
    const annOnTwo = await openSocket(two.url, ann.cookie);
    const boOnOne = await openSocket(one.url, bo.cookie);
    const boOnTwo = await openSocket(two.url, bo.cookie);

    // Before: Bo hears Ann's messages from either instance on both of his sockets,
    // and both instances now hold the member list in their caches.
    for (const [from, body] of [
      [annOnOne, 'before, from one'],
      [annOnTwo, 'before, from two'],
    ] as const) {
      const heard = [boOnOne, boOnTwo].map((s) =>
        waitFor(s, 'message:new', (m) => m.body === body),
      );
      await send(from, conversationId, body);
      await Promise.all(heard);
    }
    for (const s of [boOnOne, boOnTwo]) {
      expect((await ask(s, 'sync', { conversationId, after: 0 })).ok).toBe(true);
    }

    const heardByBo = [record(boOnOne, 'message:new'), record(boOnTwo, 'message:new')];
    const heardByAnn = record(annOnOne, 'message:new');
    // The removal, straight in the database, as an operator (or a later groups feature) would.
    await sql.query(
      'DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
      [conversationId, bo.id],
    );

    // At once, before any instance could have heard of it: Ann writes from both instances.
    const after = [
      await send(annOnOne, conversationId, 'after, from one'),
      await send(annOnTwo, conversationId, 'after, from two'),
    ];
    await until('Ann to hear her own messages', () => heardByAnn.length === 2);
    // Bo's sockets would have had them by now (Ann's own tab on instance one did).
    await sleep(500);
    expect(heardByBo.flat().filter((m) => after.some((a) => a.id === m.id))).toEqual([]);

    // And neither instance lets Bo read the conversation any more.
    for (const s of [boOnOne, boOnTwo]) {
      let res = await ask(s, 'sync', { conversationId, after: 0 });
      const deadline = Date.now() + 3000;
      while (res.ok && Date.now() < deadline) {
        await sleep(50);
        res = await ask(s, 'sync', { conversationId, after: 0 });
      }
      expect(res.ok ? 'still allowed' : res.error.code).toBe('not_found');
    }
  } finally {
    closeSockets();
    await sql.end();
    await pair.close();
  }
}, 120_000); // two server processes start: a hang limit, generous for a loaded machine

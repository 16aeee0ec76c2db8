// The group-commit writer (src/features/messages/writer.ts): several connections at once,
// yet each conversation's messages stored in the order they came, once each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageWriter } from '../src/features/messages/writer.js';
import { insertMessages, type StoredMessage } from '../src/features/messages/db.js';
import { signUp, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { openDirect } from './support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

async function conversations(n: number): Promise<{ ann: TestUser; ids: number[] }> {
  const ann = await signUp(app, { displayName: 'Ann' });
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(await openDirect(ann, await signUp(app, { displayName: `Friend ${i}` })));
  }
  return { ann, ids };
}

const bodiesOf = async (conversationId: number) =>
  (
    await app.pool.query<{ body: string }>(
      'SELECT body FROM messages WHERE conversation_id = $1 ORDER BY id',
      [conversationId],
    )
  ).rows.map((r) => r.body);

describe('the message writer', () => {
  it('stores messages of many conversations sent all at once in each conversation’s order, each once', async () => {
    const { ann, ids } = await conversations(6);
    const writer = new MessageWriter(app.pool, app.ctx.logger);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      for (const id of ids) {
        const msg = { conversationId: id, senderId: ann.id, body: `${id}:${i}` };
        writes.push(writer.write({ ...msg, clientId: crypto.randomUUID() }));
      }
    }
    await Promise.all(writes);
    await writer.close();
    for (const id of ids) {
      expect(await bodiesOf(id)).toEqual(Array.from({ length: 40 }, (_, i) => `${id}:${i}`));
    }
  });

  it('keeps one batch in flight: what arrives while it is stored goes in the next, all together', async () => {
    const { ann, ids } = await conversations(2);
    const [held, next] = ids as [number, number];
    const writer = new MessageWriter(app.pool, app.ctx.logger);
    const locker = await app.pool.connect();
    const msg = (conversationId: number, body: string) => ({
      conversationId,
      senderId: ann.id,
      clientId: crypto.randomUUID(),
      body,
    });
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [held]);
      const first = writer.write(msg(held, 'first'));
      const rest = Array.from({ length: 5 }, (_, i) => writer.write(msg(next, `later ${i}`)));
      await new Promise((r) => setTimeout(r, 100)); // the first batch waits on the lock
      await locker.query('COMMIT');
      await Promise.all([first, ...rest]);
      // One transaction stored the five (a second batch in flight would have taken the first
      // of them alone, as soon as it came).
      const { rows } = await app.pool.query<{ tx: string; n: number }>(
        'SELECT xmin::text AS tx, count(*)::int AS n FROM messages WHERE conversation_id = $1 GROUP BY 1',
        [next],
      );
      expect(rows).toEqual([{ tx: expect.any(String) as string, n: 5 }]);
      expect(await bodiesOf(next)).toEqual(Array.from({ length: 5 }, (_, i) => `later ${i}`));
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await writer.close();
    }
  });

  it('stores a message of one conversation while another conversation’s batch waits on a lock', async () => {
    const { ann, ids } = await conversations(2);
    const [stuck, free] = ids as [number, number]; // consecutive ids: two lanes apart
    const writer = new MessageWriter(app.pool, app.ctx.logger, { lanes: 2 });
    const locker = await app.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [stuck]);
      const msg = (conversationId: number, body: string) => ({
        conversationId,
        senderId: ann.id,
        clientId: crypto.randomUUID(),
        body,
      });
      let stuckDone = false;
      const waiting = writer.write(msg(stuck, 'waits')).then(() => (stuckDone = true));
      // One lane would queue this behind the blocked batch until the lock goes.
      const stored = (await writer.write(msg(free, 'goes ahead'))) as StoredMessage;
      expect(stored.created).toBe(true);
      expect(stuckDone).toBe(false);
      await locker.query('COMMIT');
      await waiting;
      expect(await bodiesOf(stuck)).toEqual(['waits']);
      expect(await bodiesOf(free)).toEqual(['goes ahead']);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await writer.close();
    }
  });

  it('answers a retry with the row stored before, a new id with a new row, a doubled id once (the repeat is not new)', async () => {
    const { ann, ids } = await conversations(2);
    const [one, two] = ids as [number, number];
    const msg = (conversationId: number, clientId: string, body: string) => ({
      conversationId,
      senderId: ann.id,
      clientId,
      body,
    });
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const [first] = (await insertMessages(app.pool, [msg(one, a, 'a')])) as StoredMessage[];
    expect(first).toMatchObject({ created: true, row: { body: 'a' } });
    expect(first!.memberIds).toHaveLength(2);
    const again = (await insertMessages(app.pool, [
      msg(one, a, 'a, sent again'),
      msg(two, b, 'b'),
      msg(two, c, 'c'),
      msg(two, c, 'c, doubled in the batch'),
    ])) as StoredMessage[];
    expect(again.map((r) => [r.row.body, r.created])).toEqual([
      ['a', false],
      ['b', true],
      ['c', true],
      ['c', false],
    ]);
    expect(again[0]!.row.id).toBe(first!.row.id);
    expect(again[3]!.row.id).toBe(again[2]!.row.id);
    expect(await bodiesOf(one)).toEqual(['a']);
    expect(await bodiesOf(two)).toEqual(['b', 'c']);
  });
});

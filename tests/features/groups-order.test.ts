// Order and nothing skipped hold in a group (issue 14): members send at once while the owner
// adds, removes and renames (system lines from other connections, under the same row lock),
// and a reader syncing from its watermark all along ends with every row, once, in id order.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  befriend,
  post,
  signUp,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/app.js';
import { createGroup } from '../support/groups.js';
import { ask, closeSockets, cookieOf, openSocket, send } from '../support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  closeSockets();
  await app?.close();
});

it('a reader syncing while five members send and the owner changes the group misses nothing and gets nothing twice', async () => {
  const ann = await signUp(app, { displayName: 'Ann' });
  const people: TestUser[] = [];
  for (let i = 0; i < 8; i++) {
    const p = await signUp(app, { displayName: `P${i}` });
    await befriend(ann, p);
    people.push(p);
  }
  const [reader, leaver, late, ...senders] = people as [
    TestUser,
    TestUser,
    TestUser,
    ...TestUser[],
  ];
  const id = await createGroup(ann, 'Busy', [reader, leaver, ...senders]);
  const readerSocket = await openSocket(app.baseUrl, await cookieOf(reader.agent));
  const sockets = await Promise.all(
    senders.map(async (s) => openSocket(app.baseUrl, await cookieOf(s.agent))),
  );

  const lastId = async () =>
    (
      await app.pool.query<{ id: number }>(
        'SELECT last_message_id AS id FROM conversations WHERE id = $1',
        [id],
      )
    ).rows[0]!.id;
  const got: number[] = [];
  let after = 0;
  let sending = true;
  const syncing = (async () => {
    while (sending || after < (await lastId())) {
      const res = await ask(readerSocket, 'sync', { conversationId: id, after });
      if (!res.ok) throw new Error(res.error.message);
      for (const m of res.messages) got.push(m.id);
      after = res.messages.at(-1)?.id ?? after;
    }
  })();
  const changes = (async () => {
    const act = (path: string, form: Record<string, string> = {}) =>
      post(ann.agent, `/conversations/${id}/${path}`, form, `/conversations/${id}/members`);
    expect((await act('members', { email: late.email })).status).toBe(303);
    expect((await act(`members/${leaver.id}/remove`)).status).toBe(303);
    expect((await act('rename', { title: 'Busier' })).status).toBe(303);
  })();
  await Promise.all([
    ...sockets.map(async (s, i) => {
      for (let n = 0; n < 15; n++) await send(s, id, `from ${i}: ${n}`);
    }),
    changes,
  ]);
  sending = false;
  await syncing;

  const { rows } = await app.pool.query<{ id: number }>(
    'SELECT id FROM messages WHERE conversation_id = $1 ORDER BY id',
    [id],
  );
  expect(got).toEqual(rows.map((r) => r.id));
  expect(rows.length).toBe(2 + 5 * 15 + 3); // created, added; the messages; added, removed, renamed
});

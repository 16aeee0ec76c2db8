// Live delivery over real sockets: fan-out to every tab, retries, catching up after
// a reconnect, id order under concurrent senders, typing, read marks and presence.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageDto } from '../../src/shared/protocol.js';
import { insertMessages, type StoredMessage } from '../../src/features/messages/db.js';
import { MessageWriter } from '../../src/features/messages/writer.js';
import { signUp, startTestApp, type TestApp, type TestUser } from '../support/app.js';
import {
  ask,
  closeSockets,
  cookieOf,
  expectNone,
  logInAgain,
  makeGroup,
  openDirect,
  openSocket,
  openTabs,
  record,
  send,
  sleep,
  until,
  waitFor,
  type ClientSocket,
} from '../support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterEach(() => {
  vi.restoreAllMocks();
  closeSockets();
});
afterAll(async () => {
  closeSockets();
  await app?.close();
});

async function pair(): Promise<{ ann: TestUser; bo: TestUser; conversationId: number }> {
  const ann = await signUp(app, { displayName: 'Ann' });
  const bo = await signUp(app, { displayName: 'Bo' });
  return { ann, bo, conversationId: await openDirect(ann, bo) };
}

const socketOf = async (user: TestUser) => openSocket(app.baseUrl, await cookieOf(user.agent));
const readMark = async (conversationId: number, userId: number) =>
  (
    await app.pool.query<{ mark: number }>(
      'SELECT last_read_message_id AS mark FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
      [conversationId, userId],
    )
  ).rows[0]!.mark;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function rowsOf(conversationId: number) {
  const { rows } = await app.pool.query<{ id: number; body: string; clientId: string }>(
    'SELECT id, body, client_id AS "clientId" FROM messages WHERE conversation_id = $1 ORDER BY id',
    [conversationId],
  );
  return rows;
}

describe('delivery', () => {
  it('a message reaches the other person and every tab and device of the sender, each exactly once', async () => {
    const { ann, bo, conversationId } = await pair();
    const [annTab1, annTab2] = (await openTabs(app, ann, 2)) as [ClientSocket, ClientSocket];
    const annPhone = await openSocket(app.baseUrl, (await logInAgain(app, ann)).cookie);
    const boTab = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    const sockets = { annTab1, annTab2, annPhone, boTab };
    const received = Object.fromEntries(
      Object.entries(sockets).map(([k, s]) => [k, record(s, 'message:new')]),
    );

    const clientId = crypto.randomUUID();
    const ack = await ask(annTab1, 'message:send', { conversationId, body: 'Hello Bo!', clientId });
    // Stored before the ack: the row is there the moment the sender hears "ok".
    const stored = await rowsOf(conversationId);
    expect(ack).toEqual({ ok: true, message: expect.objectContaining({ clientId }) as unknown });
    if (!ack.ok) return;
    expect(stored).toEqual([{ id: ack.message.id, body: 'Hello Bo!', clientId }]);
    expect(ack.message).toEqual({
      id: stored[0]!.id,
      conversationId,
      senderId: ann.id,
      senderName: 'Ann',
      clientId,
      body: 'Hello Bo!',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
      html: '<p>Hello Bo!</p>',
      editedAt: null,
      deleted: false,
      replyTo: null,
      reactions: [],
      changeSeq: 0,
    });

    await until('every socket to get the message', () =>
      Object.values(received).every((l) => l.length > 0),
    );
    await sleep(250); // room for a duplicate to show up
    for (const [name, list] of Object.entries(received)) {
      expect(list, name).toEqual([ack.message]);
    }
  });

  it('one send notifies once, addressed to exactly the two members', async () => {
    const { ann, bo, conversationId } = await pair();
    const spy = vi.spyOn(app.ctx.notify, 'messageNew');
    const annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const message = await send(annTab, conversationId, 'counted once');
    expect(spy).toHaveBeenCalledTimes(1);
    const [members, dto] = spy.mock.calls[0]!;
    expect([...members].sort((a, b) => a - b)).toEqual([ann.id, bo.id].sort((a, b) => a - b));
    expect(dto).toEqual(message);
  });

  it('retrying a send with the same clientId, even all at once, stores one message and delivers it once', async () => {
    const { ann, bo, conversationId } = await pair();
    const [annTab1, annTab2] = (await openTabs(app, ann, 2)) as [ClientSocket, ClientSocket];
    const boTab = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    const boGot = record(boTab, 'message:new');
    const payload = { conversationId, body: 'only once please', clientId: crypto.randomUUID() };

    // Three at once (two from one tab, one from another tab of the same session), then three one by one.
    const acks = await Promise.all([
      ask(annTab1, 'message:send', payload),
      ask(annTab1, 'message:send', payload),
      ask(annTab2, 'message:send', payload),
    ]);
    for (let i = 0; i < 3; i++) acks.push(await ask(annTab1, 'message:send', payload));

    const ids = acks.map((a) => (a.ok ? a.message.id : a.error.code));
    expect(new Set(ids).size).toBe(1);
    expect(typeof ids[0]).toBe('number');
    expect(await rowsOf(conversationId)).toEqual([
      { id: ids[0], body: payload.body, clientId: payload.clientId },
    ]);
    await until('Bo to get the message', () => boGot.length > 0);
    await sleep(250);
    expect(boGot.map((m) => m.id)).toEqual([ids[0]]);
  });

  it('four sends with one clientId that land in one batch of the writer store one row, get one id and reach the other person once', async () => {
    const { ann, bo, conversationId } = await pair();
    const annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const boTab = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    const boGot = record(boTab, 'message:new');
    const retry = { conversationId, body: 'sent four times', clientId: crypto.randomUUID() };
    // The writer has one batch in flight: the first message takes it, so "second" and the
    // four retries queue behind it and go to the database together, in one statement.
    const acks = await Promise.all([
      ask(annTab, 'message:send', { ...retry, body: 'first', clientId: crypto.randomUUID() }),
      ask(annTab, 'message:send', { ...retry, body: 'second', clientId: crypto.randomUUID() }),
      ...Array.from({ length: 4 }, () => ask(annTab, 'message:send', retry)),
    ]);
    const ids = acks.map((a) => (a.ok ? a.message.id : a.error.code));
    expect(new Set(ids.slice(2)).size).toBe(1);
    const rows = await rowsOf(conversationId);
    expect(rows.map((r) => r.body)).toEqual(['first', 'second', 'sent four times']);
    expect(ids).toEqual([rows[0]!.id, rows[1]!.id, ...Array<number>(4).fill(rows[2]!.id)]);
    await until('Bo to get all three messages', () => boGot.length >= 3);
    await sleep(250); // room for a duplicate to show up
    expect(boGot.map((m) => m.body)).toEqual(['first', 'second', 'sent four times']);
  });

  it('the writer marks only the first of repeats within one batch as new', async () => {
    const { ann, conversationId } = await pair();
    const clientId = crypto.randomUUID();
    const msg = (body: string, id = crypto.randomUUID()) => ({
      conversationId,
      senderId: ann.id,
      clientId: id,
      body,
    });
    const results = (await insertMessages(app.pool, [
      msg('other'),
      msg('repeat', clientId),
      msg('repeat', clientId),
      msg('repeat', clientId),
    ])) as StoredMessage[];
    expect(results.map((r) => r.created)).toEqual([true, true, false, false]);
    expect(new Set(results.slice(1).map((r) => r.row.id)).size).toBe(1);
  });

  it('after a disconnect, sync from the last id seen returns everything missed, in order, once', async () => {
    const { ann, bo, conversationId } = await pair();
    const annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const boCookie = await cookieOf(bo.agent);
    let boTab = await openSocket(app.baseUrl, boCookie);
    const seen = waitFor(boTab, 'message:new');
    const first = await send(annTab, conversationId, 'before the tunnel');
    const lastSeen = (await seen).id;
    expect(lastSeen).toBe(first.id);

    boTab.disconnect();
    const sent: MessageDto[] = [];
    for (let i = 1; i <= 20; i++) sent.push(await send(annTab, conversationId, `missed ${i}`));

    boTab = await openSocket(app.baseUrl, boCookie);
    const res = await ask(boTab, 'sync', { conversationId, after: lastSeen });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.hasMore).toBe(false);
    expect(res.messages.map((m) => m.body)).toEqual(
      Array.from({ length: 20 }, (_, i) => `missed ${i + 1}`),
    );
    expect(res.messages).toEqual(sent);
    const ids = res.messages.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids[0]!).toBeGreaterThan(lastSeen);
    // Nothing after the newest one.
    const after = await ask(boTab, 'sync', { conversationId, after: ids.at(-1)! });
    expect(after).toEqual({ ok: true, messages: [], hasMore: false });
  });
});

/** A reader that syncs from its watermark until `done()`, checking every id is past the watermark. */
function readWhile(readerTab: ClientSocket, conversationId: number, sending: () => boolean) {
  const collected: MessageDto[] = [];
  let watermark = 0;
  let rounds = 0;
  const pull = async () => {
    for (;;) {
      const res = await ask(readerTab, 'sync', { conversationId, after: watermark });
      if (!res.ok) throw new Error(res.error.message);
      rounds++;
      for (const m of res.messages) {
        // Never an id at or below what was already seen: a late commit with a smaller id would be a gap.
        expect(m.id).toBeGreaterThan(watermark);
        watermark = m.id;
        collected.push(m);
      }
      if (!res.hasMore) return;
    }
  };
  return {
    collected,
    rounds: () => rounds,
    run: async () => {
      while (sending()) await pull();
    },
    finish: pull, // whatever was committed after the last round
  };
}

describe('ordering under concurrency', () => {
  it('with several server instances writing to one conversation at once, sync still never skips a message', async () => {
    // Each MessageWriter is what one more server process would run: its own transactions, in parallel.
    const people = await Promise.all(
      [1, 2, 3, 4].map((n) => signUp(app, { displayName: `Writer ${n}` })),
    );
    const reader = await signUp(app, { displayName: 'Reader' });
    const conversationId = await makeGroup(app, 'many instances', [...people, reader]);
    const readerTab = await openSocket(app.baseUrl, await cookieOf(reader.agent));
    const socketSender = await openSocket(app.baseUrl, await cookieOf(people[0]!.agent));
    const instances = people.slice(1).map(() => new MessageWriter(app.pool, app.ctx.logger));

    let sending = true;
    const socketSends = Promise.all(
      Array.from({ length: 50 }, (_, i) => send(socketSender, conversationId, `socket ${i}`)),
    );
    const writes = Promise.all([
      socketSends,
      ...instances.map(async (writer, n) => {
        for (let i = 0; i < 50; i++) {
          const who = people[n + 1]!.id;
          await writer.write({
            conversationId,
            senderId: who,
            clientId: crypto.randomUUID(),
            body: `i${n} ${i}`,
          });
        }
      }),
    ]).finally(() => (sending = false));
    const r = readWhile(readerTab, conversationId, () => sending);
    await r.run();
    await writes;
    const socketAcks = await socketSends;
    await r.finish();
    await Promise.all(instances.map((w) => w.close()));

    const db = await rowsOf(conversationId);
    expect(db).toHaveLength(200);
    expect(r.collected.map((m) => m.id)).toEqual(db.map((row) => row.id));
    expect(r.collected.map((m) => m.body)).toEqual(db.map((row) => row.body));
    expect(new Set(r.collected.map((m) => m.body)).size).toBe(200);
    const socketRows = db.filter((row) => row.body.startsWith('socket '));
    expect(new Set(socketAcks.map((m) => m.id))).toEqual(new Set(socketRows.map((row) => row.id)));
    expect(r.rounds()).toBeGreaterThan(1); // the reader really ran while the writers were writing
  });
});

describe('typing and read marks', () => {
  it('typing reaches the other members only, not the typer’s own tabs', async () => {
    const { ann, bo, conversationId } = await pair();
    const [annTab1, annTab2] = (await openTabs(app, ann, 2)) as [ClientSocket, ClientSocket];
    const annPhone = await openSocket(app.baseUrl, (await logInAgain(app, ann)).cookie);
    const boTab = await socketOf(bo);
    const boGot = record(boTab, 'typing');

    expect(await ask(annTab1, 'typing', { conversationId, typing: true })).toEqual({ ok: true });
    await until('Bo to see Ann typing', () => boGot.length > 0);
    expect(await ask(annTab1, 'typing', { conversationId, typing: false })).toEqual({ ok: true });
    await until('Bo to see Ann stop', () => boGot.length > 1);
    const base = { conversationId, userId: ann.id, name: 'Ann' };
    expect(boGot).toEqual([
      { ...base, typing: true },
      { ...base, typing: false },
    ]);
    await Promise.all([annTab1, annTab2, annPhone].map((s) => expectNone(s, 'typing', 250)));
  });

  it('reading moves the read mark forward only, never past the last message, and every tab of both people hears of it', async () => {
    const { ann, bo, conversationId } = await pair();
    const annTabs = await openTabs(app, ann, 2);
    const boTabs = await openTabs(app, bo, 2);
    const all = [...annTabs, ...boTabs];
    const [m1, m2, m3] = [
      await send(annTabs[0]!, conversationId, 'one'),
      await send(annTabs[0]!, conversationId, 'two'),
      await send(annTabs[0]!, conversationId, 'three'),
    ];
    const heard = all.map((s) => record(s, 'conversation:read'));
    const read = (messageId: number) =>
      ask(boTabs[0]!, 'conversation:read', { conversationId, messageId });
    const unread = async () => {
      const res = await ask(boTabs[1]!, 'inbox:sync', {});
      return res.ok
        ? res.unread.find((u) => u.conversationId === conversationId)?.unread
        : res.error.code;
    };

    expect(await read(m2.id)).toMatchObject({ ok: true });
    await until('every tab to hear of the read', () => heard.every((h) => h.length === 1));
    for (const h of heard) expect(h).toEqual([{ conversationId, userId: bo.id, messageId: m2.id }]);
    expect(await readMark(conversationId, bo.id)).toBe(m2.id);
    expect(await unread()).toBe(1);

    // Backwards, or the same again: no change and nothing announced.
    expect(await read(m1.id)).toMatchObject({ ok: true });
    expect(await read(m2.id)).toMatchObject({ ok: true });
    await sleep(250);
    expect(await readMark(conversationId, bo.id)).toBe(m2.id);
    expect(heard.map((h) => h.length)).toEqual([1, 1, 1, 1]);

    // Past the end: stops at the last message.
    expect(await read(999_999_999)).toMatchObject({ ok: true });
    await until('every tab to hear of the second read', () => heard.every((h) => h.length === 2));
    for (const h of heard)
      expect(h[1]).toEqual({ conversationId, userId: bo.id, messageId: m3.id });
    expect(await readMark(conversationId, bo.id)).toBe(m3.id);
    expect(await unread()).toBe(0);
    expect(await readMark(conversationId, ann.id)).toBe(0);
  });
});

describe('presence', () => {
  it('people who share a conversation see you come online and go offline with your last tab; others see nothing', async () => {
    const { ann, bo } = await pair();
    const carl = await signUp(app, { displayName: 'Carl' });
    await openDirect(carl, ann); // Carl knows Ann, not Bo
    const annTab = await socketOf(ann);
    const carlTab = await socketOf(carl);
    const annSaw = record(annTab, 'presence');
    const carlSaw = record(carlTab, 'presence');
    const aboutBo = () => annSaw.filter((p) => p.userId === bo.id);

    const boCookie = await cookieOf(bo.agent);
    const boTab1 = await openSocket(app.baseUrl, boCookie);
    await until('Ann to see Bo online', () => aboutBo().length === 1);
    expect(aboutBo()[0]).toEqual({
      userId: bo.id,
      online: true,
      lastSeenAt: expect.stringMatching(ISO) as unknown,
    });

    // A second tab, and closing one of two, change nothing for Ann.
    const boTab2 = await openSocket(app.baseUrl, boCookie);
    await sleep(200);
    boTab1.disconnect();
    await sleep(250);
    expect(aboutBo()).toHaveLength(1);

    boTab2.disconnect();
    await until('Ann to see Bo offline', () => aboutBo().length === 2);
    const offline = aboutBo()[1]!;
    expect(offline).toEqual({
      userId: bo.id,
      online: false,
      lastSeenAt: expect.stringMatching(ISO) as unknown,
    });
    const { rows } = await app.pool.query<{ t: Date }>(
      'SELECT last_seen_at AS t FROM users WHERE id = $1',
      [bo.id],
    );
    expect(rows[0]!.t.toISOString()).toBe(offline.lastSeenAt);
    expect(carlSaw.filter((p) => p.userId === bo.id)).toEqual([]);
  });
});

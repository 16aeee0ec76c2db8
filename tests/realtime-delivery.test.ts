// Live delivery over real sockets: fan-out to every tab, retries, catching up after
// a reconnect, and id order under concurrent senders.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MessageDto } from '../src/realtime/protocol.js';
import { signUp, startTestApp, type TestApp, type TestUser } from './support/app.js';
import {
  ask,
  closeSockets,
  cookieOf,
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
} from './support/sockets.js';

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
    const received = Object.fromEntries(Object.entries(sockets).map(([k, s]) => [k, record(s, 'message:new')]));

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
    });

    await until('every socket to get the message', () => Object.values(received).every((l) => l.length > 0));
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
    expect(await rowsOf(conversationId)).toEqual([{ id: ids[0], body: payload.body, clientId: payload.clientId }]);
    await until('Bo to get the message', () => boGot.length > 0);
    await sleep(250);
    expect(boGot.map((m) => m.id)).toEqual([ids[0]]);
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
    expect(res.messages.map((m) => m.body)).toEqual(Array.from({ length: 20 }, (_, i) => `missed ${i + 1}`));
    expect(res.messages).toEqual(sent);
    const ids = res.messages.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids[0]!).toBeGreaterThan(lastSeen);
    // Nothing after the newest one.
    const after = await ask(boTab, 'sync', { conversationId, after: ids.at(-1)! });
    expect(after).toEqual({ ok: true, messages: [], hasMore: false });
  });
});

describe('ordering under concurrency', () => {
  it('a reader syncing from its watermark while 5 people send 200 messages at once gets all of them, in id order, with no gap', async () => {
    const senders = await Promise.all([1, 2, 3, 4, 5].map((n) => signUp(app, { displayName: `Sender ${n}` })));
    const reader = await signUp(app, { displayName: 'Reader' });
    const conversationId = await makeGroup(app, 'busy group', [...senders, reader]);
    const sockets = await Promise.all(senders.map(async (u) => openSocket(app.baseUrl, await cookieOf(u.agent))));
    const readerTab = await openSocket(app.baseUrl, await cookieOf(reader.agent));

    const PER_SENDER = 40;
    let sending = true;
    const sendAll = Promise.all(
      sockets.flatMap((s, n) =>
        Array.from({ length: PER_SENDER }, (_, i) => send(s, conversationId, `sender ${n + 1} message ${i + 1}`)),
      ),
    ).finally(() => {
      sending = false;
    });

    const collected: MessageDto[] = [];
    let watermark = 0;
    let syncs = 0;
    const pull = async () => {
      for (;;) {
        const res = await ask(readerTab, 'sync', { conversationId, after: watermark });
        if (!res.ok) throw new Error(res.error.message);
        syncs++;
        for (const m of res.messages) {
          // Never an id at or below what was already seen: a late commit with a smaller id would be a gap.
          expect(m.id).toBeGreaterThan(watermark);
          watermark = m.id;
          collected.push(m);
        }
        if (!res.hasMore) return;
      }
    };
    while (sending) await pull();
    const acks = await sendAll;
    await pull(); // whatever was committed after the last round

    const db = await rowsOf(conversationId);
    expect(db).toHaveLength(senders.length * PER_SENDER);
    expect(collected.map((m) => m.id)).toEqual(db.map((r) => r.id));
    expect(collected.map((m) => m.body)).toEqual(db.map((r) => r.body));
    expect(new Set(collected.map((m) => m.body)).size).toBe(200);
    expect(new Set(acks.map((m) => m.id))).toEqual(new Set(db.map((r) => r.id)));
    expect(syncs).toBeGreaterThan(1); // the reader really ran while the senders were sending
  });
});

// A send racing its sender's removal (review of issue 14): the service's membership check
// runs before the insert, so a member removed in between used to have their message stored
// and told to the group. insert_messages_v6 decides again under the conversation's lock.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { befriend, signUp, startTestApp, type TestApp, type TestUser } from '../support/app.js';
import {
  ask,
  closeSockets,
  cookieOf,
  expectNone,
  openDirect,
  openSocket,
  send,
} from '../support/sockets.js';
import { until } from '../support/wait.js';
import { createGroup } from '../support/groups.js';
import { listenForMemberChanges } from '../../src/features/conversations/member-events.js';
import { NOT_A_MEMBER } from '../../src/features/conversations/access.js';
import { insertMessages, type StoredMessage } from '../../src/features/messages/db.js';
import * as groups from '../../src/features/groups/db.js';

let app: TestApp;
let stopListening: () => Promise<void>;
let ann: TestUser, bo: TestUser, cy: TestUser;

beforeAll(async () => {
  app = await startTestApp();
  stopListening = listenForMemberChanges(app.pool, app.ctx.members, app.ctx.logger);
  ann = await signUp(app, { displayName: 'Ann' });
  bo = await signUp(app, { displayName: 'Bo' });
  cy = await signUp(app, { displayName: 'Cy' });
  await befriend(ann, bo);
  await befriend(ann, cy);
});
afterEach(() => closeSockets());
afterAll(async () => {
  closeSockets();
  await stopListening?.();
  await app?.close();
});

const bodies = async (conversationId: number) =>
  (
    await app.pool.query<{ body: string }>(
      'SELECT body FROM messages WHERE conversation_id = $1 ORDER BY id',
      [conversationId],
    )
  ).rows.map((r) => r.body);

/** Removes `who` as removeMember does (the group's lock, the line, the end), left uncommitted. */
async function removalInFlight(conversationId: number, who: TestUser) {
  const tx = await app.pool.connect();
  await tx.query('BEGIN');
  await groups.lockGroup(tx, conversationId);
  const line = await groups.insertSystemLine(
    tx,
    conversationId,
    ann.id,
    `Ann removed ${who.displayName}`,
  );
  await groups.endMembership(tx, conversationId, who.id, line.id);
  let open = true;
  const end = async (sql: string) => {
    if (!open) return;
    open = false;
    await tx.query(sql).catch(() => undefined);
    tx.release();
  };
  return { commit: () => end('COMMIT'), abandon: () => end('ROLLBACK') };
}

/** True once some statement calling the insert function waits on a lock. */
const insertWaits = async () =>
  (
    await app.pool.query(
      `SELECT 1 FROM pg_stat_activity
       WHERE wait_event_type = 'Lock' AND query LIKE '%insert_messages_v%'`,
    )
  ).rowCount === 1;

describe('a send racing its sender’s removal', () => {
  it('is refused with the words a former member gets, stored nowhere and told to no one', async () => {
    const id = await createGroup(ann, 'Race', [bo, cy]);
    const boS = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    const cyS = await openSocket(app.baseUrl, await cookieOf(cy.agent));
    await send(boS, id, 'while a member'); // the member cache now holds Bo as a member

    const removal = await removalInFlight(id, bo);
    try {
      // Bo's check passes (the removal is not committed); the insert waits for the lock.
      const sending = ask(boS, 'message:send', {
        conversationId: id,
        body: 'slipped in',
        clientId: crypto.randomUUID(),
      });
      await until('the insert to wait for the lock', insertWaits, 5000);
      const cyHearsNothing = expectNone(cyS, 'message:new', 500, (m) => m.body === 'slipped in');
      await removal.commit();
      const ack = await sending;
      expect(ack.ok ? 'stored' : ack.error).toEqual({ code: 'forbidden', message: NOT_A_MEMBER });
      await cyHearsNothing;
    } finally {
      await removal.abandon();
    }
    expect(await bodies(id)).not.toContain('slipped in');
    // And the next send is refused by the check before the insert, with the same words.
    const again = await ask(boS, 'message:send', {
      conversationId: id,
      body: 'once more',
      clientId: crypto.randomUUID(),
    });
    expect(again.ok ? 'stored' : again.error).toEqual({ code: 'forbidden', message: NOT_A_MEMBER });
  });

  it('refuses only that row of a batch: the other conversations’ messages are stored, a retry of an earlier message is answered', async () => {
    const id = await createGroup(ann, 'Batch', [bo]);
    const direct = await openDirect(ann, cy);
    const earlier = crypto.randomUUID();
    const row = (
      conversationId: number,
      senderId: number,
      body: string,
      clientId = crypto.randomUUID(),
    ) => ({
      conversationId,
      senderId,
      clientId,
      body,
    });
    const [before] = (await insertMessages(app.pool, [
      row(id, bo.id, 'before', earlier),
    ])) as StoredMessage[];
    const removal = await removalInFlight(id, bo);
    await removal.commit();
    const dee = await signUp(app, { displayName: 'Dee' }); // never in the group
    const results = await insertMessages(app.pool, [
      row(direct, ann.id, 'to Cy'),
      row(id, bo.id, 'after removal'),
      row(id, ann.id, 'from Ann'),
      row(id, dee.id, 'from a stranger'),
      row(id, bo.id, 'before, sent again', earlier),
    ]);
    expect(results.map((r) => (r.refused ? r.refused : r.created ? 'new' : 'retry'))).toEqual([
      'new',
      'former',
      'new',
      'absent',
      'retry',
    ]);
    expect((results[4] as StoredMessage).row.id).toBe(before!.row.id);
    expect(await bodies(direct)).toEqual(['to Cy']);
    expect(await bodies(id)).toEqual([
      'Ann created the group',
      'Ann added Bo',
      'before',
      'Ann removed Bo',
      'from Ann',
    ]);
  });
});

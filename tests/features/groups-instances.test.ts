// A removed member hears nothing more, on any instance (issue 14): two app processes on one
// database, the group's owner on instance one, the removed member's socket on instance two.
import { afterEach, expect, it } from 'vitest';
import { befriend, post } from '../support/app.js';
import { createGroup } from '../support/groups.js';
import { reapServers, signUpAt, startTwoInstances } from '../support/servers.js';
import { ask, closeSockets, expectNone, openSocket, send, waitFor } from '../support/sockets.js';
import { sleep } from '../support/wait.js';

afterEach(async () => {
  closeSockets();
  await reapServers();
});

it('a member removed on instance one gets the notice on instance two, then no message, typing or read mark from either instance, and sync gives nothing after', async () => {
  const pair = await startTwoInstances({ SOCKET_ADAPTER: 'postgres' });
  const { one, two, ann, bo } = pair;
  try {
    const cy = await signUpAt(two.url, 'Cy');
    await befriend(ann, cy);
    const id = await createGroup(ann, 'Two places', [bo, cy]);

    const annOnOne = await openSocket(one.url, ann.cookie);
    const boOnTwo = await openSocket(two.url, bo.cookie);
    const cyOnTwo = await openSocket(two.url, cy.cookie);
    const cyOnOne = await openSocket(one.url, cy.cookie);

    // Before: Cy hears Ann (from one) and Bo (from two) on both sockets; both caches are filled.
    for (const [from, body] of [
      [annOnOne, 'before, from one'],
      [boOnTwo, 'before, from two'],
    ] as const) {
      const heard = [cyOnTwo, cyOnOne].map((s) =>
        waitFor(s, 'message:new', (m) => m.body === body),
      );
      await send(from, id, body);
      await Promise.all(heard);
    }
    const typed = waitFor(cyOnTwo, 'typing', (t) => t.userId === bo.id && t.typing);
    await ask(boOnTwo, 'typing', { conversationId: id, typing: true });
    await typed;

    // Ann removes Cy on instance one; Cy's sockets on both instances hear it at once.
    const notices = [cyOnTwo, cyOnOne].map((s) =>
      waitFor(s, 'group:left', (p) => p.conversationId === id),
    );
    const removed = await post(
      ann.agent,
      `/conversations/${id}/members/${cy.id}/remove`,
      {},
      `/conversations/${id}/members`,
    );
    expect(removed.status).toBe(303);
    await Promise.all(notices);
    await sleep(100); // the other instance's member cache hears of the change by NOTIFY

    const quiet = [cyOnTwo, cyOnOne].flatMap((s) => [
      expectNone(s, 'message:new', 600),
      expectNone(s, 'typing', 600),
      expectNone(s, 'conversation:read', 600),
    ]);
    const fromOne = await send(annOnOne, id, 'after, from one');
    const fromTwo = await send(boOnTwo, id, 'after, from two');
    await ask(boOnTwo, 'typing', { conversationId: id, typing: true });
    await ask(annOnOne, 'conversation:read', { conversationId: id, messageId: fromTwo.id });
    await Promise.all(quiet);

    for (const s of [cyOnTwo, cyOnOne]) {
      const synced = await ask(s, 'sync', { conversationId: id, after: 0 });
      if (!synced.ok) throw new Error(synced.error.message);
      const ids = synced.messages.map((m) => m.id);
      expect(ids).not.toContain(fromOne.id);
      expect(ids).not.toContain(fromTwo.id);
      expect(synced.messages.at(-1)!.body).toBe('Ann removed Cy');
      const wrote = await ask(s, 'message:send', {
        conversationId: id,
        body: 'am I still here?',
        clientId: crypto.randomUUID(),
      });
      expect(wrote.ok ? 'ok' : wrote.error.code).toBe('forbidden');
    }
  } finally {
    closeSockets();
    await pair.close();
  }
}, 90_000);

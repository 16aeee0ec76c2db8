// What a former member sees (review of issue 14): each message as it was when they left. An
// edit or a reaction made after is not theirs to see, on the page, "Load older", sync, a
// reply's quote, the versions page, search or "Download my data"; a delete is (deleted
// means gone for everyone, migrations/20261128232500_message_changes.sql).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  befriend,
  post,
  signUp,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/app.js';
import {
  ask,
  closeSockets,
  cookieOf,
  openSocket,
  send,
  type ClientSocket,
} from '../support/sockets.js';
import { createGroup } from '../support/groups.js';
import { downloadExport, unzip } from '../support/zip.js';
import { listenForMemberChanges } from '../../src/features/conversations/member-events.js';
import { findInScope, SCOPES } from '../support/search.js';

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

async function ok<T extends { ok: boolean }>(
  answer: Promise<T>,
): Promise<Extract<T, { ok: true }>> {
  const a = await answer;
  if (!a.ok) throw new Error(JSON.stringify(a));
  return a as Extract<T, { ok: true }>;
}
const edit = (s: ClientSocket, conversationId: number, messageId: number, body: string) =>
  ok(ask(s, 'message:edit', { conversationId, messageId, body }));
const react = (s: ClientSocket, conversationId: number, messageId: number, emoji: '👍' | '❤️') =>
  ok(ask(s, 'reaction:toggle', { conversationId, messageId, emoji }));

describe('a former member sees each message as it was when they left', () => {
  let id: number;
  let first: number, second: number, third: number;

  beforeAll(async () => {
    id = await createGroup(ann, 'Edits', [bo, cy]);
    const annS = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const boS = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    first = (await send(annS, id, 'pelican draft one')).id;
    second = (await send(annS, id, 'pelican keep me')).id;
    third = (await send(annS, id, 'pelican gone later')).id;
    await ok(
      ask(boS, 'message:send', {
        conversationId: id,
        body: 'a reply',
        clientId: crypto.randomUUID(),
        replyTo: second,
      }),
    );
    await edit(annS, id, first, 'pelican draft two');
    await react(boS, id, first, '👍');
    // Cy leaves; then everything below happens without Cy.
    expect(
      (await post(cy.agent, `/conversations/${id}/leave`, {}, `/conversations/${id}/members`))
        .status,
    ).toBe(303);
    await edit(annS, id, first, 'pelican secret three');
    await edit(annS, id, second, 'pelican secret edit');
    await react(boS, id, first, '❤️');
    await ok(ask(annS, 'message:delete', { conversationId: id, messageId: third }));
    closeSockets();
  });

  it('on the page and "Load older": the text and "(edited)" of then, reactions of then, a delete as deleted', async () => {
    const page = (await cy.agent.get(`/conversations/${id}`)).text;
    for (const html of [
      page,
      (await cy.agent.get(`/conversations/${id}/older?before=${third + 100}`)).text,
    ]) {
      expect(html).toContain('pelican draft two');
      expect(html).toContain('pelican keep me');
      expect(html).not.toContain('secret');
      expect(html).toContain('This message was deleted');
      expect(html).toContain('aria-label="👍 1: Bo"');
      expect(html).not.toContain('❤️ 1');
    }
    const firstHtml = page.split(`id="m${first}"`)[1]!.split('</li>')[0]!;
    expect(firstHtml).toContain('(edited)');
    const secondHtml = page.split(`id="m${second}"`)[1]!.split('</li>')[0]!;
    expect(secondHtml).not.toContain('(edited)');
    // A current member sees what happened since: the test changed what it says it changed.
    const boPage = (await bo.agent.get(`/conversations/${id}`)).text;
    expect(boPage).toContain('pelican secret three');
    expect(boPage).toContain('❤️ 1');
  });

  it('in sync and in a reply’s quote', async () => {
    const cyS = await openSocket(app.baseUrl, await cookieOf(cy.agent));
    const synced = await ok(ask(cyS, 'sync', { conversationId: id, after: 0, changesAfter: 0 }));
    const byId = new Map(synced.messages.map((m) => [m.id, m]));
    expect(byId.get(first)).toMatchObject({
      body: 'pelican draft two',
      reactions: [{ emoji: '👍' }],
    });
    expect(byId.get(first)!.editedAt).not.toBeNull();
    expect(byId.get(second)).toMatchObject({ body: 'pelican keep me', editedAt: null });
    expect(byId.get(third)).toMatchObject({ deleted: true, body: '' });
    const reply = synced.messages.find((m) => m.body === 'a reply')!;
    expect(reply.replyTo).toMatchObject({ state: 'shown', excerpt: 'pelican keep me' });
    expect(JSON.stringify(synced)).not.toContain('secret');
  });

  it('on the versions page: the versions before they left, not those after', async () => {
    const html = (await cy.agent.get(`/conversations/${id}/messages/${first}/versions`)).text;
    expect(html).toContain('pelican draft one');
    expect(html).toContain('pelican draft two');
    expect(html).not.toContain('secret');
    const mine = (await cy.agent.get(`/conversations/${id}/messages/${second}/versions`)).text;
    expect(mine).toContain('pelican keep me');
    expect(mine).not.toContain('secret');
  });

  it('in search: found by the text they saw, not by an edit made since', async () => {
    const search = async (q: string) =>
      (await cy.agent.get(`/messages/search?q=${encodeURIComponent(q)}`)).text;
    expect(await search('secret')).not.toContain('pelican');
    const hits = await search('pelican');
    expect(hits).toContain('draft two');
    expect(hits).toContain('keep me');
    expect(hits).not.toContain('secret');
    // The same through the text indexes, the SQL for someone in many conversations.
    for (const smallScope of [SCOPES.small, SCOPES.large]) {
      const find = (q: string) => findInScope(app.pool, cy.id, q, smallScope);
      expect(await find('secret')).toEqual([]);
      const bodies = (await find('pelican')).map((r) => r.body).join('\n');
      expect(bodies).toContain('draft two');
      expect(bodies).toContain('keep me');
      expect(bodies).not.toContain('secret');
    }
    // A search result opened: the window around it is the page's rule too.
    const around = (await cy.agent.get(`/conversations/${id}?around=${second}`)).text;
    expect(around).toContain('pelican keep me');
    expect(around).not.toContain('secret');
  });

  it('in "Download my data"', async () => {
    const res = await downloadExport(cy);
    expect(res.status).toBe(200);
    // Every entry of the zip: messages.json and the pages to read offline alike.
    const text = (await unzip(res.body as Buffer)).map((e) => e.data.toString('utf8')).join('\n');
    expect(text).toContain('pelican draft two');
    expect(text).toContain('pelican keep me');
    expect(text).not.toContain('secret');
  });
});

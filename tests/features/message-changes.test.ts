// Edit, delete, react and reply over real sockets and the no-JavaScript forms: who may do
// what, what every tab hears, what the database keeps (and really forgets), and what a tab
// that was offline gets when it syncs.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MessageDto } from '../../src/shared/protocol.js';
import { post, signUp, startTestApp, type TestApp, type TestUser } from '../support/app.js';
import {
  ask,
  askRaw,
  closeSockets,
  cookieOf,
  expectNone,
  makeGroup,
  openDirect,
  openSocket,
  send,
  waitFor,
  type ClientSocket,
} from '../support/sockets.js';
import { problemsIn } from '../support/html.js';
import { HOSTILE_MARKDOWN } from '../fixtures/hostile.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterEach(() => closeSockets());
afterAll(async () => {
  closeSockets();
  await app?.close();
});

const socketOf = async (user: TestUser) => openSocket(app.baseUrl, await cookieOf(user.agent));

async function pair() {
  const ann = await signUp(app, { displayName: 'Ann' });
  const bo = await signUp(app, { displayName: 'Bo' });
  const conversationId = await openDirect(ann, bo);
  return { ann, bo, conversationId, a: await socketOf(ann), b: await socketOf(bo) };
}

async function edit(s: ClientSocket, conversationId: number, messageId: number, body: string) {
  return ask(s, 'message:edit', { conversationId, messageId, body });
}
async function remove(s: ClientSocket, conversationId: number, messageId: number) {
  return ask(s, 'message:delete', { conversationId, messageId });
}
async function react(
  s: ClientSocket,
  conversationId: number,
  messageId: number,
  emoji: '👍' | '❤️' | '😂' | '😮' | '😢' | '🙏' = '👍',
) {
  return ask(s, 'reaction:toggle', { conversationId, messageId, emoji });
}
const ok = <T extends { ok: boolean }>(ack: T) => {
  if (!ack.ok) throw new Error(`refused: ${JSON.stringify(ack)}`);
  return ack as Extract<T, { ok: true }>;
};
const codeOf = (ack: { ok: boolean; error?: { code: string } }) =>
  ack.ok ? 'ok' : ack.error!.code;
const row = async (id: number) =>
  (
    await app.pool.query<{ body: string; deleted: boolean; edited: boolean }>(
      `SELECT body, deleted_at IS NOT NULL AS deleted, edited_at IS NOT NULL AS edited
       FROM messages WHERE id = $1`,
      [id],
    )
  ).rows[0]!;
const versionsOf = async (id: number) =>
  (
    await app.pool.query<{ body: string }>(
      'SELECT body FROM message_versions WHERE message_id = $1 ORDER BY id',
      [id],
    )
  ).rows.map((r) => r.body);

describe('editing', () => {
  it('an edit reaches both people live, shows "(edited)", and the earlier text is kept as a version members can read', async () => {
    const { ann, bo, conversationId, a, b } = await pair();
    const annOtherTab = await socketOf(ann);
    const m = await send(a, conversationId, 'see you at **noon**');
    expect(m.html).toBe('<p>see you at <strong>noon</strong></p>');
    const heard = waitFor(b, 'message:updated', (u) => u.id === m.id);
    const heardByOtherTab = waitFor(annOtherTab, 'message:updated', (u) => u.id === m.id);
    const acked = ok(await edit(a, conversationId, m.id, 'see you at **one**'));
    expect(acked.message.body).toBe('see you at **one**');
    expect(acked.message.editedAt).not.toBeNull();
    for (const u of [await heard, await heardByOtherTab]) {
      expect(u.body).toBe('see you at **one**');
      expect(u.html).toBe('<p>see you at <strong>one</strong></p>');
      expect(u.changeSeq).toBeGreaterThan(0);
    }
    expect(await row(m.id)).toMatchObject({ body: 'see you at **one**', edited: true });
    expect(await versionsOf(m.id)).toEqual(['see you at **noon**']);

    const page = await bo.agent.get(`/conversations/${conversationId}`);
    expect(page.text).toMatch(/<a class="edited" href="[^"]+\/versions">\(edited\)<\/a>/);
    const versions = await bo.agent.get(
      `/conversations/${conversationId}/messages/${m.id}/versions`,
    );
    expect(versions.status).toBe(200);
    expect(versions.text).toContain('<strong>noon</strong>');
    expect(versions.text).toContain('<strong>one</strong>');
  });

  it('the same text again changes nothing: no version, no event', async () => {
    const { conversationId, a, b } = await pair();
    const m = await send(a, conversationId, 'same');
    ok(await edit(a, conversationId, m.id, 'same'));
    await expectNone(b, 'message:updated', 200);
    expect(await versionsOf(m.id)).toEqual([]);
  });

  it('is refused for someone else’s message, another conversation’s, after 24 hours, once deleted, and for a bad text; nothing changes', async () => {
    const { ann, conversationId, a, b } = await pair();
    const mine = await send(a, conversationId, 'mine');
    const theirs = await send(b, conversationId, 'theirs');
    const cy = await signUp(app, { displayName: 'Cy' });
    const other = await openDirect(ann, cy);
    const elsewhere = await send(a, other, 'elsewhere');
    expect(codeOf(await edit(a, conversationId, theirs.id, 'hijack'))).toBe('not_found');
    expect(codeOf(await edit(a, conversationId, elsewhere.id, 'moved'))).toBe('not_found');
    expect(codeOf(await edit(a, conversationId, 9_999_999, 'nothing'))).toBe('not_found');
    expect(codeOf(await edit(a, conversationId, mine.id, '   '))).toBe('invalid');
    expect(codeOf(await edit(a, conversationId, mine.id, 'x'.repeat(4001)))).toBe('invalid');
    expect(
      codeOf(
        (await askRaw(a, 'message:edit', {
          conversationId,
          messageId: mine.id,
          body: 'a\u0000b',
        })) as { ok: boolean },
      ),
    ).toBe('invalid');
    await app.pool.query(
      `UPDATE messages SET created_at = now() - interval '24 hours 1 minute' WHERE id = $1`,
      [mine.id],
    );
    const late = await edit(a, conversationId, mine.id, 'too late');
    expect(late.ok ? '' : late.error.message).toMatch(/24 hours/);
    const fresh = await send(a, conversationId, 'fresh');
    ok(await remove(a, conversationId, fresh.id));
    expect(codeOf(await edit(a, conversationId, fresh.id, 'back from the dead'))).toBe('conflict');
    expect(await row(mine.id)).toMatchObject({ body: 'mine', edited: false });
    expect(await row(theirs.id)).toMatchObject({ body: 'theirs', edited: false });
    expect(await row(elsewhere.id)).toMatchObject({ body: 'elsewhere', edited: false });
  });
});

describe('deleting', () => {
  it('removes the text and every earlier version from the database, for everyone, live; the log and the inbox say "This message was deleted"', async () => {
    const { bo, conversationId, a, b } = await pair();
    const m = await send(a, conversationId, 'my secret is 1234');
    ok(await edit(a, conversationId, m.id, 'my secret is 5678'));
    ok(await react(b, conversationId, m.id, '😮'));
    const heard = waitFor(b, 'message:updated', (u) => u.id === m.id && u.deleted);
    const acked = ok(await remove(a, conversationId, m.id));
    expect(acked.message).toMatchObject({ deleted: true, body: '', html: '', reactions: [] });
    expect((await heard).body).toBe('');
    expect(await row(m.id)).toMatchObject({ body: '', deleted: true });
    expect(await versionsOf(m.id)).toEqual([]);
    const { rows } = await app.pool.query(
      `SELECT 1 FROM messages WHERE body LIKE '%secret%'
       UNION ALL SELECT 1 FROM message_versions WHERE body LIKE '%secret%'`,
    );
    expect(rows).toEqual([]);
    const page = await bo.agent.get(`/conversations/${conversationId}`);
    expect(page.text).toContain('This message was deleted');
    expect(page.text).not.toContain('secret');
    const home = await bo.agent.get('/');
    expect(home.text).toContain('This message was deleted');
    // Deleting again is the same answer, and tells no one anything new.
    ok(await remove(a, conversationId, m.id));
  });

  it('someone else’s message cannot be deleted (the same "not found" as none at all)', async () => {
    const { conversationId, a, b } = await pair();
    const theirs = await send(b, conversationId, 'keep me');
    expect(codeOf(await remove(a, conversationId, theirs.id))).toBe('not_found');
    expect(await row(theirs.id)).toMatchObject({ body: 'keep me', deleted: false });
  });

  it('the inbox’s last line follows an edit', async () => {
    const { bo, conversationId, a } = await pair();
    const m = await send(a, conversationId, 'first wording');
    ok(await edit(a, conversationId, m.id, 'second wording'));
    const home = await bo.agent.get('/');
    expect(home.text).toContain('second wording');
    expect(home.text).not.toContain('first wording');
  });
});

describe('reactions', () => {
  it('a press adds one, a second press removes it; counts and who reacted reach everyone live', async () => {
    const { conversationId, a, b } = await pair();
    const m = await send(a, conversationId, 'lunch?');
    const heard = waitFor(a, 'message:updated', (u) => u.id === m.id);
    const first = ok(await react(b, conversationId, m.id, '👍'));
    expect(first.message.reactions).toEqual([
      { emoji: '👍', userIds: [expect.any(Number)], names: ['Bo'] },
    ]);
    expect((await heard).reactions[0]!.names).toEqual(['Bo']);
    ok(await react(a, conversationId, m.id, '👍'));
    const both = ok(await react(a, conversationId, m.id, '🙏'));
    expect(both.message.reactions.map((r) => [r.emoji, r.names])).toEqual([
      ['👍', ['Bo', 'Ann']],
      ['🙏', ['Ann']],
    ]);
    const undone = ok(await react(b, conversationId, m.id, '👍'));
    expect(undone.message.reactions.map((r) => [r.emoji, r.userIds.length])).toEqual([
      ['👍', 1],
      ['🙏', 1],
    ]);
  });

  it('only the six emoji; not on a deleted message; not in a conversation one is not in', async () => {
    const { conversationId, a, b } = await pair();
    const m = await send(a, conversationId, 'hi');
    for (const emoji of ['💩', '👍🏽', '', 'like', '<b>', '👍👍'])
      expect(
        codeOf(
          (await askRaw(b, 'reaction:toggle', { conversationId, messageId: m.id, emoji })) as {
            ok: boolean;
          },
        ),
        emoji,
      ).toBe('invalid');
    const stranger = await signUp(app, { displayName: 'Stranger' });
    const s = await socketOf(stranger);
    expect(codeOf(await react(s, conversationId, m.id))).toBe('not_found');
    expect(codeOf(await edit(s, conversationId, m.id, 'mine now'))).toBe('not_found');
    expect(codeOf(await remove(s, conversationId, m.id))).toBe('not_found');
    ok(await remove(a, conversationId, m.id));
    expect(codeOf(await react(b, conversationId, m.id))).toBe('conflict');
    const { rows } = await app.pool.query('SELECT 1 FROM message_reactions WHERE message_id = $1', [
      m.id,
    ]);
    expect(rows).toEqual([]);
  });
});

describe('a former member and a member who joined later', () => {
  it('someone who left keeps reading but can no longer edit, delete or react, and hears no changes', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const bo = await signUp(app, { displayName: 'Bo' });
    const cy = await signUp(app, { displayName: 'Cy' });
    const group = await makeGroup(app, 'Book club', [ann, bo, cy]);
    app.ctx.members.invalidate(group);
    const [a, c] = [await socketOf(ann), await socketOf(cy)];
    const annMsg = await send(a, group, 'by ann');
    const cyMsg = await send(c, group, 'by cy');
    await app.pool.query(
      `UPDATE conversation_members SET history_to = $3 WHERE conversation_id = $1 AND user_id = $2`,
      [group, cy.id, cyMsg.id],
    );
    app.ctx.members.invalidate(group);
    expect(codeOf(await edit(c, group, cyMsg.id, 'changed after leaving'))).toBe('not_found');
    expect(codeOf(await remove(c, group, cyMsg.id))).toBe('not_found');
    expect(codeOf(await react(c, group, annMsg.id))).toBe('not_found');
    const silence = expectNone(c, 'message:updated', 300);
    ok(await edit(a, group, annMsg.id, 'by ann, edited'));
    await silence;
    expect(await row(cyMsg.id)).toMatchObject({ body: 'by cy', deleted: false });
  });

  it('a member whose history starts later cannot react to, reply to or sync changes of earlier messages, and is not told of them', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const bo = await signUp(app, { displayName: 'Bo' });
    const dee = await signUp(app, { displayName: 'Dee' });
    const group = await makeGroup(app, 'Later', [ann, bo, dee]);
    app.ctx.members.invalidate(group);
    const a = await socketOf(ann);
    const before = await send(a, group, 'before Dee came');
    await app.pool.query(
      `UPDATE conversation_members SET history_from = $3 WHERE conversation_id = $1 AND user_id = $2`,
      [group, dee.id, before.id],
    );
    const d = await socketOf(dee);
    expect(codeOf(await react(d, group, before.id))).toBe('not_found');
    const reply = await ask(d, 'message:send', {
      conversationId: group,
      body: 'answering the past',
      clientId: crypto.randomUUID(),
      replyTo: before.id,
    });
    expect(codeOf(reply)).toBe('not_found');
    const silence = expectNone(d, 'message:updated', 300);
    ok(await edit(a, group, before.id, 'before Dee came (edited)'));
    await silence;
    // Ann answers the old message: Dee gets the reply with the quote's text hidden.
    const heard = waitFor(d, 'message:new', (m) => m.body === 'yes, that');
    const annReply = await ask(a, 'message:send', {
      conversationId: group,
      body: 'yes, that',
      clientId: crypto.randomUUID(),
      replyTo: before.id,
    });
    expect(ok(annReply).message.replyTo).toMatchObject({
      state: 'shown',
      excerpt: 'before Dee came (edited)',
    });
    expect((await heard).replyTo).toEqual({
      id: before.id,
      state: 'hidden',
      senderId: null,
      senderName: '',
      excerpt: '',
    });
    const synced = await ask(d, 'sync', { conversationId: group, after: 0, changesAfter: 0 });
    expect(ok(synced).changes).toEqual([]);
    // On Dee's page the quote names no one and shows no text.
    const page = await dee.agent.get(`/conversations/${group}`);
    const quote = /<a class="quote hidden"[^]*?<\/a>/.exec(page.text)?.[0] ?? '';
    expect(quote).toContain('An earlier message');
    expect(quote).not.toContain('before Dee came');
  });
});

describe('someone the reader blocked', () => {
  it('in a group, the changes to a blocked person’s message follow the message: it arrives folded, its changes (a third person’s reaction included) not live but in sync beside it', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const bo = await signUp(app, { displayName: 'Bo' });
    const cy = await signUp(app, { displayName: 'Cy' });
    const group = await makeGroup(app, 'Blocked', [ann, bo, cy]);
    // Bo asked Ann to be friends (one blocks someone one knows), then blocks her.
    await post(bo.agent, '/friends/requests', { email: ann.email }, '/search');
    expect((await post(bo.agent, `/friends/${ann.id}/block`, {}, '/friends')).status).toBe(303);
    app.ctx.members.invalidate(group); // as the database's notification of the block does
    const [a, b, c] = [await socketOf(ann), await socketOf(bo), await socketOf(cy)];

    // The message itself reaches Bo marked, and his page folds it (issue 14).
    const toBo = waitFor(b, 'message:new', (m) => m.body === 'Ann writes');
    const annMsg = await send(a, group, 'Ann writes');
    expect((await toBo).blocked).toBe(true);
    const cyMsg = await send(c, group, 'Cy writes');

    // Cy reacts to Ann's message, Ann edits it: Ann and Cy hear of it, Bo does not.
    const silence = expectNone(b, 'message:updated', 500, (m) => m.id === annMsg.id);
    const annHears = waitFor(a, 'message:updated', (m) => m.id === annMsg.id);
    ok(await react(c, group, annMsg.id, '😂'));
    await annHears;
    ok(await edit(a, group, annMsg.id, 'Ann writes again'));
    await silence;
    // Cy's own message is no secret from Bo: his reaction to it reaches Bo live.
    const boHears = waitFor(b, 'message:updated', (m) => m.id === cyMsg.id);
    ok(await react(c, group, cyMsg.id, '👍'));
    await boHears;

    // In sync the message comes (folded by the page) and so does its latest state.
    const synced = ok(await ask(b, 'sync', { conversationId: group, after: 0, changesAfter: 0 }));
    expect(synced.messages.map((m) => m.id)).toContain(annMsg.id);
    const changed = synced.changes!.find((m) => m.id === annMsg.id);
    expect(changed).toMatchObject({ body: 'Ann writes again' });
    expect(changed!.reactions?.map((r) => r.emoji)).toEqual(['😂']);
    await post(bo.agent, `/friends/${ann.id}/unblock`, {}, '/account');
  });
});

describe('replies', () => {
  it('a reply quotes the sender and first line and links to the original; a deleted original shows as deleted', async () => {
    const { bo, conversationId, a, b } = await pair();
    const original = await send(a, conversationId, 'Dinner at 8?\nOr 9, if you are late.');
    const heard = waitFor(a, 'message:new', (m) => m.body === 'Eight is fine');
    const reply = ok(
      await ask(b, 'message:send', {
        conversationId,
        body: 'Eight is fine',
        clientId: crypto.randomUUID(),
        replyTo: original.id,
      }),
    ).message;
    expect(reply.replyTo).toEqual({
      id: original.id,
      state: 'shown',
      senderId: original.senderId,
      senderName: 'Ann',
      excerpt: 'Dinner at 8?',
    });
    expect((await heard).replyTo?.excerpt).toBe('Dinner at 8?');
    const page = await bo.agent.get(`/conversations/${conversationId}`);
    expect(page.text).toContain(`data-reply-to="${original.id}"`);
    expect(page.text).toContain(`#m${original.id}`);
    ok(await remove(a, conversationId, original.id));
    const after = await bo.agent.get(`/conversations/${conversationId}`);
    const quote = /<a class="quote deleted"[^]*?<\/a>/.exec(after.text)?.[0] ?? '';
    expect(quote).toContain('This message was deleted');
    expect(after.text).not.toContain('Dinner at 8?');
  });

  it('a reply to another conversation’s message is refused and nothing is stored', async () => {
    const { ann, conversationId, a } = await pair();
    const cy = await signUp(app, { displayName: 'Cy' });
    const other = await openDirect(ann, cy);
    const elsewhere = await send(a, other, 'elsewhere');
    const clientId = crypto.randomUUID();
    const res = await ask(a, 'message:send', {
      conversationId,
      body: 'cross-reply',
      clientId,
      replyTo: elsewhere.id,
    });
    expect(codeOf(res)).toBe('not_found');
    const { rows } = await app.pool.query('SELECT 1 FROM messages WHERE client_id = $1', [
      clientId,
    ]);
    expect(rows).toEqual([]);
  });
});

describe('catching up on changes', () => {
  it('a tab that was offline while a message was edited, another deleted and a third reacted to gets all three from sync, each as it is now', async () => {
    const { bo, conversationId, a, b } = await pair();
    const [m1, m2, m3] = [
      await send(a, conversationId, 'one'),
      await send(a, conversationId, 'two'),
      await send(a, conversationId, 'three'),
    ];
    // Bo's tab saw everything up to here, then went offline.
    const start = ok(await ask(b, 'sync', { conversationId, after: m3.id, changesAfter: 0 }));
    const mark = Math.max(0, ...(start.changes ?? []).map((c) => c.changeSeq));
    b.disconnect();
    ok(await edit(a, conversationId, m1.id, 'one (edited)'));
    ok(await remove(a, conversationId, m2.id));
    ok(await react(a, conversationId, m3.id, '❤️'));
    ok(await react(a, conversationId, m1.id, '😂'));
    const again = await socketOf(bo);
    const caught = ok(
      await ask(again, 'sync', { conversationId, after: m3.id, changesAfter: mark }),
    );
    expect(caught.messages).toEqual([]);
    const byId = new Map((caught.changes ?? []).map((c) => [c.id, c] as const));
    expect([...byId.keys()].sort()).toEqual([m1.id, m2.id, m3.id].sort());
    expect(byId.get(m1.id)).toMatchObject({ body: 'one (edited)', reactions: [{ emoji: '😂' }] });
    expect(byId.get(m2.id)).toMatchObject({ deleted: true, body: '' });
    expect(byId.get(m3.id)!.reactions.map((r) => r.emoji)).toEqual(['❤️']);
    // In change order, each once; and nothing more after the last one.
    const seqs = (caught.changes ?? []).map((c) => c.changeSeq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    const last = Math.max(...seqs);
    const none = ok(await ask(again, 'sync', { conversationId, after: m3.id, changesAfter: last }));
    expect(none.changes).toEqual([]);
  });

  it('hostile message text comes back from the socket and the page as safe HTML, stored exactly as typed', async () => {
    const { bo, conversationId, a } = await pair();
    const sent: MessageDto[] = [];
    for (const body of HOSTILE_MARKDOWN.filter((t) => t.trim() && [...t].length <= 4000))
      sent.push(await send(a, conversationId, body));
    for (const m of sent) {
      expect(problemsIn(m.html), m.body.slice(0, 40)).toEqual([]);
      expect((await row(m.id)).body).toBe(m.body);
    }
    const page = await bo.agent.get(`/conversations/${conversationId}`);
    const log = page.text.split('id="messages"')[1]!.split('</ol>')[0]!;
    expect(log).not.toMatch(/<(script|img|iframe|svg|style|meta|form action="https)/i);
    expect(log).not.toMatch(/href="(javascript|vbscript|data):/i);
  });
});

describe('without JavaScript', () => {
  it('Edit, Delete, React and Reply work as forms that post and come back to the message', async () => {
    const { ann, bo, conversationId, a } = await pair();
    const m = await send(a, conversationId, 'typo hre');
    const page = `/conversations/${conversationId}`;
    const editPage = await ann.agent.get(`${page}/messages/${m.id}/edit`);
    expect(editPage.status).toBe(200);
    expect(editPage.text).toContain('typo hre</textarea>');
    const saved = await post(
      ann.agent,
      `${page}/messages/${m.id}/edit`,
      { body: 'typo here' },
      page,
    );
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe(`${page}#m${m.id}`);
    expect((await row(m.id)).body).toBe('typo here');
    const empty = await post(ann.agent, `${page}/messages/${m.id}/edit`, { body: ' ' }, page);
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('Write a message first');
    // Bo may not even open the edit page of Ann's message.
    expect((await bo.agent.get(`${page}/messages/${m.id}/edit`)).status).toBe(404);

    // "React" and "Delete" are links to small pages with the buttons.
    const reactPage = await bo.agent.get(`${page}/messages/${m.id}/react`);
    expect(reactPage.status).toBe(200);
    for (const e of ['👍', '❤️', '😂', '😮', '😢', '🙏'])
      expect(reactPage.text).toContain(`aria-label="React ${e}"`);
    expect((await bo.agent.get(`${page}/messages/${m.id}/delete`)).status).toBe(404);
    const deletePage = await ann.agent.get(`${page}/messages/${m.id}/delete`);
    expect(deletePage.text).toContain('Delete this message for everyone?');
    const reacted = await post(
      bo.agent,
      `${page}/messages/${m.id}/reactions`,
      { emoji: '🙏' },
      page,
    );
    expect(reacted.status).toBe(303);
    expect((await bo.agent.get(page)).text).toContain('aria-label="🙏 1: You"');
    const bad = await post(bo.agent, `${page}/messages/${m.id}/reactions`, { emoji: '💩' }, page);
    expect(bad.status).toBe(400);

    const replyPage = await bo.agent.get(`${page}?reply=${m.id}`);
    expect(replyPage.text).toMatch(/name="replyTo" id="reply-to" value="\d+">/);
    expect(replyPage.text).toContain('Replying to');
    const replied = await post(
      bo.agent,
      `${page}/messages`,
      { body: 'got it', replyTo: String(m.id) },
      page,
    );
    expect(replied.status).toBe(303);
    const { rows } = await app.pool.query<{ reply: number }>(
      `SELECT reply_to_id AS reply FROM messages WHERE body = 'got it' AND conversation_id = $1`,
      [conversationId],
    );
    expect(rows[0]!.reply).toBe(m.id);

    const notMine = await post(bo.agent, `${page}/messages/${m.id}/delete`, {}, page);
    expect(notMine.status).toBe(404);
    const deleted = await post(ann.agent, `${page}/messages/${m.id}/delete`, {}, page);
    expect(deleted.status).toBe(303);
    expect(await row(m.id)).toMatchObject({ body: '', deleted: true });
  });
});

describe('edits have an end', () => {
  it('a message keeps at most 50 earlier versions: the 51st edit is refused with words', async () => {
    const { a, conversationId } = await pair();
    const sent = await ask(a, 'message:send', {
      conversationId,
      body: 'version 0',
      clientId: crypto.randomUUID(),
    });
    if (!sent.ok) throw new Error(sent.error.message);
    const id = sent.message.id;
    for (let i = 1; i <= 50; i++) {
      const res = await edit(a, conversationId, id, `version ${i}`);
      expect(res.ok, `edit ${i}`).toBe(true);
    }
    const refused = await edit(a, conversationId, id, 'version 51');
    expect(refused).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const { rows } = await app.pool.query<{ n: number; body: string }>(
      `SELECT (SELECT count(*)::int FROM message_versions WHERE message_id = $1) AS n,
              (SELECT body FROM messages WHERE id = $1) AS body`,
      [id],
    );
    expect(rows[0]).toEqual({ n: 50, body: 'version 50' });
  });
});

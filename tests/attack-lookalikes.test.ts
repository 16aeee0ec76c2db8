// Attack suite: passing for someone else. Names lose their invisible formatting
// characters, user text is isolated wherever it is shown, the inbox says who
// wrote the last message outside the message's text, and a person you have not
// talked with is shown with their email.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import {
  openChat,
  post,
  sendByForm,
  signUp,
  startTestApp,
  uniqueEmail,
  type TestApp,
} from './support/app.js';
import { escapeHtml } from './support/attack.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

/** One conversation's entry in the inbox HTML. */
function inboxItem(html: string, id: number): string {
  const m = new RegExp(
    `<li class="inbox-item[^"]*" data-conversation-id="${id}"[\\s\\S]*?</li>`,
  ).exec(html);
  if (!m) throw new Error(`conversation ${id} is not in the inbox`);
  return m[0];
}

describe('names that pass for others', () => {
  it('bidi controls and invisible characters are dropped from a display name at signup', async () => {
    const u = await signUp(app, { displayName: '\u2066Ali\u200Bce\u202E\uFEFF\u200F' });
    const { rows } = await app.pool.query<{ name: string }>(
      'SELECT display_name AS name FROM users WHERE id = $1',
      [u.id],
    );
    expect(rows[0]!.name).toBe('Alice');
  });

  it('a name made of nothing but invisible characters is refused with words, and no account is made', async () => {
    const agent = request.agent(app.baseUrl);
    const email = uniqueEmail('ghost');
    const res = await post(agent, '/signup', {
      email,
      displayName: ' \u202E\u200B\u2069 ',
      password: 'correct horse battery',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Enter a display name. Invisible characters do not count.');
    const { rows } = await app.pool.query('SELECT 1 FROM users WHERE email = $1', [email]);
    expect(rows).toEqual([]);
  });

  it('the inbox marks one’s own last message with a label outside the text, so a message starting "You:" does not look like one’s own', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const bo = await signUp(app, { displayName: 'Bo' });
    const cy = await signUp(app, { displayName: 'Cy' });
    const withBo = await openChat(ann, bo);
    await sendByForm(ann, withBo, 'see you at noon');
    const withCy = await openChat(cy, ann);
    await sendByForm(cy, withCy, 'You: see you at noon');

    const inbox = (await ann.agent.get('/')).text;
    const mine = inboxItem(inbox, withBo);
    const theirs = inboxItem(inbox, withCy);
    expect(mine).toContain(
      '<span class="preview-who">You:</span> <bdi class="preview-text">see you at noon</bdi>',
    );
    expect(theirs).toContain('<bdi class="preview-text">You: see you at noon</bdi>');
    expect(theirs).not.toContain('preview-who');
    // Names in the list are isolated from what is around them.
    expect(theirs).toContain('<span class="who"><bdi>Cy</bdi></span>');
  });

  it('a namesake is told apart by the email: in search results, and in a conversation’s heading until both have written', async () => {
    const alice = await signUp(app, { displayName: 'Alice' });
    const fake = await signUp(app, { displayName: 'Alice', email: uniqueEmail('alice.fake') });
    const bo = await signUp(app, { displayName: 'Bo' });

    const found = await bo.agent.get('/search').query({ email: fake.email });
    expect(found.text).toContain('<p class="result-name"><bdi>Alice</bdi></p>');
    expect(found.text).toContain(`<p class="result-email">${escapeHtml(fake.email)}</p>`);

    // The fake writes first: Bo sees who it really is.
    const id = await openChat(fake, bo);
    await sendByForm(fake, id, 'Hi Bo, it is Alice! New account.');
    const first = (await bo.agent.get(`/conversations/${id}`)).text;
    expect(first).toContain('<h1><bdi>Alice</bdi></h1>');
    expect(first).toContain(`<span class="who-email">· ${escapeHtml(fake.email)}</span>`);
    // The fake, not answered yet, sees Bo's email beside his name too.
    expect((await fake.agent.get(`/conversations/${id}`)).text).toContain(escapeHtml(bo.email));

    // Once both have written, they have talked: the heading is the name alone.
    await sendByForm(bo, id, 'Which Alice?');
    expect((await bo.agent.get(`/conversations/${id}`)).text).not.toContain('who-email');

    // A conversation Bo opens with the real Alice, before anyone writes, shows her email too.
    const real = await openChat(bo, alice);
    expect((await bo.agent.get(`/conversations/${real}`)).text).toContain(
      `<span class="who-email">· ${escapeHtml(alice.email)}</span>`,
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { HISTORY_SQL } from '../../src/features/messages/db.js';
import {
  csrfFrom,
  openChat,
  post,
  signUp,
  startTestApp,
  tokenFor,
  type TestApp,
  type TestUser,
} from '../support/app.js';

let app: TestApp;
let ann: TestUser;
let bo: TestUser;
beforeAll(async () => {
  app = await startTestApp();
  ann = await signUp(app, { displayName: 'Ann' });
  bo = await signUp(app, { displayName: 'Bo' });
});
afterAll(async () => {
  await app?.close();
});

describe('search', () => {
  it('a known email in another case with spaces shows the name and a Message button', async () => {
    const res = await ann.agent.get('/search').query({ email: `  ${bo.email.toUpperCase()}  ` });
    expect(res.status).toBe(200);
    expect(res.text).toContain('<p class="result-name"><bdi>Bo</bdi></p>');
    expect(res.text).toContain('>Message</button>');
  });

  it('text that is not an email is a 400 that says what is wrong', async () => {
    const res = await ann.agent.get('/search').query({ email: 'not an email' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Enter an email address like name@example.com.');
  });

  it('an email nobody uses says so on a normal page', async () => {
    const res = await ann.agent.get('/search').query({ email: 'nobody-here@example.com' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('No account uses that email');
  });

  it('your own email says that it is yours', async () => {
    const res = await ann.agent.get('/search').query({ email: ann.email });
    expect(res.status).toBe(200);
    expect(res.text).toContain('That is your own email');
  });

  it('odd search input (arrays, huge strings, markup) never gives a 500', async () => {
    for (const q of [
      'email[]=a&email[]=b',
      `email=${'a'.repeat(5000)}@x.com`,
      'email=%3Cscript%3E@x.com',
      'email=%00',
    ]) {
      const res = await ann.agent.get(`/search?${q}`);
      expect(res.status).toBeLessThan(500);
      expect(res.text).not.toContain('<script>@');
    }
  });

  it('search needs a login', async () => {
    const res = await request(app.baseUrl).get('/search?email=a@b.co');
    expect(res.status).toBe(303);
  });
});

describe('direct conversations over plain HTTP', () => {
  it('both people get the same single conversation, even when they start it at the same moment', async () => {
    const cy = await signUp(app, { displayName: 'Cy' });
    const di = await signUp(app, { displayName: 'Di' });
    // Each browser has its form loaded; then both press "Message" at the same instant.
    const [tc, td] = [await tokenFor(cy.agent, '/search'), await tokenFor(di.agent, '/search')];
    const press = async (u: TestUser, token: string, other: TestUser) => {
      const res = await u.agent
        .post('/conversations')
        .type('form')
        .send({ email: other.email, _csrf: token });
      expect(res.status).toBe(303);
      return Number(/\/conversations\/(\d+)/.exec(res.headers.location as string)![1]);
    };
    const ids = await Promise.all([
      press(cy, tc, di),
      press(di, td, cy),
      press(cy, tc, di),
      press(di, td, cy),
    ]);
    expect(new Set(ids).size).toBe(1);
    const { rows } = await app.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM conversation_members WHERE conversation_id = $1',
      [ids[0]],
    );
    expect(rows[0]!.n).toBe(2);
  });

  it('messaging yourself is refused with words', async () => {
    const res = await post(ann.agent, '/conversations', { email: ann.email }, '/search');
    expect(res.status).toBe(400);
    expect(res.text).toContain('That is you');
  });

  it('a message sent without JavaScript is stored, shown to both, and the inbox counts it as unread', async () => {
    const id = await openChat(ann, bo);
    const sent = await post(
      ann.agent,
      `/conversations/${id}/messages`,
      { body: 'Hi Bo!\nSecond line' },
      `/conversations/${id}`,
    );
    expect(sent.status).toBe(303);
    expect(sent.headers.location).toMatch(new RegExp(`^/conversations/${id}#m\\d+$`));

    const inbox = await bo.agent.get('/');
    expect(inbox.text).toContain('<span class="who"><bdi>Ann</bdi></span>');
    expect(inbox.text).toContain('Hi Bo!');
    expect(inbox.text).not.toContain('Second line');
    expect(inbox.text).toMatch(/class="badge" aria-label="1 unread">1</);

    const page = await bo.agent.get(`/conversations/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('role="log"');
    expect(page.text).toContain('Hi Bo!<br>\nSecond line'); // the renderer's line break
    expect(page.text).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+Z">/);
    // Loading the page (which another site can make a browser do) leaves it unread;
    // the page offers a button to mark it read, and that clears the count.
    expect((await bo.agent.get('/')).text).toMatch(/class="badge" aria-label="1 unread">1</);
    expect(page.text).toContain('>Mark as read</button>');
    const messageId = /name="messageId" value="(\d+)"/.exec(page.text)![1]!;
    const marked = await post(
      bo.agent,
      `/conversations/${id}/read`,
      { messageId },
      `/conversations/${id}`,
    );
    expect(marked.status).toBe(303);
    expect((await bo.agent.get('/')).text).not.toContain('class="badge"');
    expect((await bo.agent.get(`/conversations/${id}`)).text).not.toContain('Mark as read');
  });

  it('a conversation opened from another site stays unread, and a reply without JavaScript marks it read', async () => {
    const id = await openChat(ann, bo);
    await post(
      ann.agent,
      `/conversations/${id}/messages`,
      { body: 'Still there?' },
      `/conversations/${id}`,
    );
    const unread = /class="badge" aria-label="(\d+) unread"/;
    const before = unread.exec((await bo.agent.get('/')).text)?.[1];
    expect(Number(before)).toBeGreaterThan(0);
    const page = await bo.agent.get(`/conversations/${id}`).set('Sec-Fetch-Site', 'cross-site');
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-from-elsewhere="true"');
    expect(unread.exec((await bo.agent.get('/')).text)?.[1]).toBe(before);
    await post(bo.agent, `/conversations/${id}/messages`, { body: 'Yes!' }, `/conversations/${id}`);
    expect((await bo.agent.get('/')).text).not.toContain('class="badge"');
  });

  it('"Mark as read" with a message id that is not a number is a 400, and changes nothing', async () => {
    const id = await openChat(ann, bo);
    const res = await post(
      bo.agent,
      `/conversations/${id}/read`,
      { messageId: 'soon' },
      `/conversations/${id}`,
    );
    expect(res.status).toBe(400);
  });

  it('empty, blank and too-long messages are refused with a clear message and nothing is stored', async () => {
    const id = await openChat(ann, bo);
    const count = async () =>
      (await app.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM messages')).rows[0]!.n;
    const before = await count();
    for (const [body, words] of [
      ['', 'Write a message first'],
      ['   \n\t ', 'Write a message first'],
      ['x'.repeat(4001), 'at most 4,000 characters; this one has 4,001'],
    ] as const) {
      const res = await post(
        ann.agent,
        `/conversations/${id}/messages`,
        { body },
        `/conversations/${id}`,
      );
      expect(res.status).toBe(400);
      expect(res.text).toContain(words);
    }
    expect(await count()).toBe(before);
    // Exactly 4,000 characters, emoji included, is fine.
    const ok = await post(
      ann.agent,
      `/conversations/${id}/messages`,
      { body: '😀'.repeat(4000) },
      `/conversations/${id}`,
    );
    expect(ok.status).toBe(303);
  });

  it('markup in a message or a name is shown as text, never run', async () => {
    const evil = await signUp(app, { displayName: '<script>alert(1)</script>' });
    const id = await openChat(evil, ann);
    await post(
      evil.agent,
      `/conversations/${id}/messages`,
      { body: '"><img src=x onerror=alert(1)><script>alert(2)</script>' },
      `/conversations/${id}`,
    );
    const page = await ann.agent.get(`/conversations/${id}`);
    expect(page.text).not.toContain('<script>alert');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const inbox = await ann.agent.get('/');
    expect(inbox.text).not.toContain('<script>alert');
  });

  it('someone who is not a member gets the same 404 as for a conversation that does not exist', async () => {
    const id = await openChat(ann, bo);
    const eve = await signUp(app, { displayName: 'Eve' });
    const missing = await eve.agent.get('/conversations/999999999');
    const notMine = await eve.agent.get(`/conversations/${id}`);
    expect(notMine.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(notMine.text).toBe(missing.text.replace('999999999', String(id)));
    const older = await eve.agent.get(`/conversations/${id}/older?before=100`);
    expect(older.status).toBe(404);
    const send = await post(eve.agent, `/conversations/${id}/messages`, { body: 'let me in' }, '/');
    expect(send.status).toBe(404);
    expect(
      (await app.pool.query('SELECT 1 FROM messages WHERE body = $1', ['let me in'])).rowCount,
    ).toBe(0);
    for (const bad of ['abc', '-1', '1.5', '99999999999999999999']) {
      expect((await eve.agent.get(`/conversations/${bad}`)).status).toBe(404);
    }
  });

  it('a stranger gets the same 404 on every route that reads a conversation, empty or not, and sees nothing of it', async () => {
    const [cy, dee, eve] = [
      await signUp(app, { displayName: 'Cy' }),
      await signUp(app, { displayName: 'Dee' }),
      await signUp(app, { displayName: 'Eve' }),
    ];
    const empty = await openChat(cy, dee);
    const busy = await openChat(ann, cy);
    const secret = 'the secret plan';
    await post(
      ann.agent,
      `/conversations/${busy}/messages`,
      { body: secret },
      `/conversations/${busy}`,
    );
    const rowsBefore = (await app.pool.query('SELECT id FROM messages')).rowCount;
    // Each way in: a page, a page of history, the script's fragment, and a form post whose
    // refusal (an empty or too-long text) would show the conversation again.
    const routes: Array<[string, (id: number) => Promise<request.Response>]> = [
      ['the page', (id) => eve.agent.get(`/conversations/${id}`)],
      ['an older page', (id) => eve.agent.get(`/conversations/${id}?before=999999999`)],
      ['the older fragment', (id) => eve.agent.get(`/conversations/${id}/older?before=999999999`)],
      ['a send', (id) => post(eve.agent, `/conversations/${id}/messages`, { body: 'hi' }, '/')],
      [
        'an empty send',
        (id) => post(eve.agent, `/conversations/${id}/messages`, { body: ' ' }, '/'),
      ],
      [
        'a too-long send',
        (id) => post(eve.agent, `/conversations/${id}/messages`, { body: 'x'.repeat(4001) }, '/'),
      ],
    ];
    const leaks: string[] = [];
    for (const [name, open] of routes) {
      const missing = await open(999999999);
      expect(missing.status, name).toBe(404);
      for (const id of [empty, busy]) {
        const res = await open(id);
        const same =
          res.status === 404 && res.text === missing.text.replaceAll('999999999', `${id}`);
        const shown = [secret, 'Cy', 'Dee', 'role="log"'].filter((w) => res.text.includes(w));
        if (!same || shown.length)
          leaks.push(`${name} of #${id}: ${res.status} ${shown.join(', ')}`);
      }
    }
    expect(leaks).toEqual([]);
    expect((await app.pool.query('SELECT id FROM messages')).rowCount).toBe(rowsBefore);
  });

  it('the same no-JavaScript form posted twice (a double click, a resubmit) stores one message', async () => {
    const id = await openChat(ann, bo);
    const page = await ann.agent.get(`/conversations/${id}`);
    const clientId = /name="clientId" value="([^"]+)"/.exec(page.text)?.[1];
    expect(clientId, 'the form carries a client id').toMatch(/^[0-9a-f-]{36}$/);
    const form = { body: 'pressed twice', clientId: clientId!, _csrf: csrfFrom(page.text) };
    const first = await ann.agent.post(`/conversations/${id}/messages`).type('form').send(form);
    const second = await ann.agent.post(`/conversations/${id}/messages`).type('form').send(form);
    expect(first.status).toBe(303);
    expect(second.status).toBe(303);
    expect(second.headers.location).toBe(first.headers.location);
    const { rows } = await app.pool.query<{ client_id: string }>(
      'SELECT client_id FROM messages WHERE body = $1',
      ['pressed twice'],
    );
    expect(rows).toEqual([{ client_id: clientId }]);
  });

  it('the newest 50 are shown and "Load older" pages back by message id', async () => {
    const fy = await signUp(app, { displayName: 'Fy' });
    const id = await openChat(ann, fy);
    for (let i = 1; i <= 60; i++) {
      await app.ctx.writer.write({
        conversationId: id,
        senderId: ann.id,
        clientId: crypto.randomUUID(),
        body: `message number ${i}`,
      });
    }
    const page = await fy.agent.get(`/conversations/${id}`);
    expect(page.text).toContain('message number 60<');
    expect(page.text).toContain('message number 11<');
    expect(page.text).not.toContain('message number 10<');
    const older = /href="(\/conversations\/\d+\?before=\d+)"/.exec(page.text)![1]!;
    const olderPage = await fy.agent.get(older);
    expect(olderPage.text).toContain('message number 10<');
    expect(olderPage.text).toContain('message number 1<');
    expect(olderPage.text).not.toContain('message number 11<');
    expect(olderPage.text).not.toContain('Load older messages');
    expect((await fy.agent.get(`/conversations/${id}?before=abc`)).status).toBe(400);
  });

  it('the history query uses the (conversation_id, id) index', async () => {
    // A realistic table: 20 conversations of 1,000 messages, so the planner has a real choice.
    const sender = ann.id;
    await app.pool.query(
      `WITH c AS (INSERT INTO conversations (kind, title) SELECT 'group', 'bulk ' || g FROM generate_series(1, 20) g RETURNING id)
       INSERT INTO messages (conversation_id, sender_id, client_id, body)
       SELECT c.id, $1, gen_random_uuid(), 'bulk ' || n FROM c, generate_series(1, 1000) n`,
      [sender],
    );
    await app.pool.query('ANALYZE messages');
    const { rows } = await app.pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN ${HISTORY_SQL.replace('$1', '1').replace('$2', '1000000').replace('$3', '51').replace('$4', '0')}`,
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain('messages_conversation_id_idx');
  });

  it('a deleted account leaves its messages to the other person, from "Deleted user"', async () => {
    const gus = await signUp(app, { displayName: 'Gus' });
    const id = await openChat(gus, ann);
    await post(
      gus.agent,
      `/conversations/${id}/messages`,
      { body: 'remember me' },
      `/conversations/${id}`,
    );
    await post(gus.agent, '/account/delete', { deletePassword: gus.password }, '/account');
    const page = await ann.agent.get(`/conversations/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('remember me');
    expect(page.text).toContain('Deleted user');
    expect((await ann.agent.get('/')).text).toContain('Deleted user');
  });
});

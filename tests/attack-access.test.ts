// Attack suite: what someone gets when they ask for a conversation, a message
// or a person that is not theirs. The answer must be the one for something that
// does not exist, nothing may change, and nothing may be overheard.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Response } from 'supertest';
import {
  post,
  signUp,
  startTestApp,
  tokenFor,
  type Agent,
  type TestApp,
  type TestUser,
} from './support/app.js';
import {
  ask,
  askRaw,
  closeSockets,
  cookieOf,
  makeGroup,
  openDirect,
  openSocket,
  record,
  send,
  sleep,
  until,
  waitFor,
} from './support/sockets.js';
import { closeRawSockets, outcome, rawSocket, snapshot, withoutId } from './support/attack.js';

let app: TestApp;
let ann: TestUser; // Ann and Cy talk privately, directly and in a group
let cy: TestUser;
let bo: TestUser; // the attacker, with a conversation of his own with Di
let di: TestUser;
let direct: number;
let group: number;
let own: number;
let secretIds: number[]; // messages in Ann and Cy's conversations
const MISSING = 987_654_321;
const SECRETS = ['first secret', 'second secret', 'third secret', 'group secret'];

beforeAll(async () => {
  app = await startTestApp();
  // Distinctive ids, so "the page modulo the id" cannot touch anything else on the page.
  await app.pool.query(`ALTER TABLE users ALTER COLUMN id RESTART WITH 5100001;
    ALTER TABLE conversations ALTER COLUMN id RESTART WITH 7300001;
    ALTER TABLE messages ALTER COLUMN id RESTART WITH 8200001`);
  ann = await signUp(app, { displayName: 'Ann Private' });
  cy = await signUp(app, { displayName: 'Cy Private' });
  bo = await signUp(app, { displayName: 'Bo Attacker' });
  di = await signUp(app, { displayName: 'Di Friend' });
  direct = await openDirect(ann, cy);
  group = await makeGroup(app, 'Secret plans', [ann, cy]);
  own = await openDirect(bo, di);
  const annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
  secretIds = [];
  for (const body of SECRETS.slice(0, 3)) secretIds.push((await send(annTab, direct, body)).id);
  secretIds.push((await send(annTab, group, SECRETS[3]!)).id);
  await send(await openSocket(app.baseUrl, await cookieOf(bo.agent)), own, 'hello Di');
  closeSockets();
});
afterEach(() => {
  closeSockets();
  closeRawSockets();
});
afterAll(async () => {
  closeSockets();
  closeRawSockets();
  await app?.close();
});

const socketOf = async (user: TestUser) => openSocket(app.baseUrl, await cookieOf(user.agent));
const uuid = () => crypto.randomUUID();

function expectNoSecrets(text: string, label: string, allowed: string[] = []) {
  const secrets = [...SECRETS, 'Ann Private', 'Cy Private', 'Secret plans'];
  for (const s of secrets.filter((x) => !allowed.includes(x))) {
    expect(text, `${label} reveals "${s}"`).not.toContain(s);
  }
}

/** Every HTTP route that names a conversation, for the conversation `id`. */
function conversationRoutes(id: number | string, messageId: number) {
  const get = (route: string, path: string) => ({ route, path, run: (a: Agent) => a.get(path) });
  const sendPath = `/conversations/${id}/messages`;
  return [
    get('GET /conversations/:id', `/conversations/${id}`),
    get('GET /conversations/:id?before=', `/conversations/${id}?before=${messageId + 1}`),
    get('GET /conversations/:id/older', `/conversations/${id}/older`),
    get(
      'GET /conversations/:id/older?before=',
      `/conversations/${id}/older?before=${messageId + 1}`,
    ),
    {
      route: 'POST /conversations/:id/messages',
      path: sendPath,
      run: (a: Agent, token?: string) =>
        a
          .post(sendPath)
          .type('form')
          .send({ body: 'let me in', clientId: uuid(), ...(token ? { _csrf: token } : {}) }),
    },
  ];
}

describe('a logged-in stranger over HTTP', () => {
  it('gets exactly the "does not exist" page for every conversation address that is not theirs, and nothing changes', async () => {
    // The routes work for members, so the refusals below are about membership.
    const annToken = await tokenFor(ann.agent, '/');
    for (const { route, run } of conversationRoutes(direct, secretIds[2]!)) {
      const res = await run(ann.agent, annToken);
      expect(res.status, `Ann: ${route}`).toBe(route.startsWith('POST') ? 303 : 200);
    }

    const token = await tokenFor(bo.agent, '/');
    const before = await snapshot(app.pool);
    const targets: Array<[string, number | string, number]> = [
      ['their direct conversation', direct, secretIds[2]!],
      ['their group', group, secretIds[3]!],
      ['their direct conversation, written with a leading zero', `0${direct}`, secretIds[2]!],
    ];
    let tried = 0;
    for (const [what, id, messageId] of targets) {
      const missingId = typeof id === 'string' ? `0${MISSING}` : MISSING;
      const notMine = conversationRoutes(id, messageId);
      const missing = conversationRoutes(missingId, messageId);
      for (let i = 0; i < notMine.length; i++) {
        const label = `${notMine[i]!.route} on ${what}`;
        const a: Response = await notMine[i]!.run(bo.agent, token);
        const b: Response = await missing[i]!.run(bo.agent, token);
        expect(a.status, label).toBe(404);
        expect(b.status, label).toBe(404);
        expect(a.headers['content-type'], label).toBe(b.headers['content-type']);
        expect(withoutId(a.text, id), label).toBe(withoutId(b.text, missingId));
        expectNoSecrets(a.text, label);
        tried++;
      }
    }
    expect(tried).toBe(15);
    expect(await snapshot(app.pool)).toEqual(before);
  });

  it('cannot use "start a conversation" to get into someone else’s conversation; a missing or deleted person gets one same answer', async () => {
    const gone = await signUp(app, { displayName: 'Gone Soon' });
    expect(
      (await post(gone.agent, '/account/delete', { deletePassword: gone.password }, '/account'))
        .status,
    ).toBe(303);
    const eve = await signUp(app, { displayName: 'Eve Attacker' });
    const before = await snapshot(app.pool);
    const token = await tokenFor(eve.agent, '/search');
    const start = (form: Record<string, string> | string) =>
      eve.agent
        .post('/conversations')
        .type('form')
        .send(typeof form === 'string' ? `${form}&_csrf=${token}` : { ...form, _csrf: token });

    const deleted = await start({ email: gone.email });
    const missing = await start({ email: `missing${MISSING}@example.com` });
    expect(deleted.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(withoutId(deleted.text, gone.id)).toBe(withoutId(missing.text, MISSING));

    // Lists, conversation ids and ids of two people are refused, never joined.
    for (const form of [
      // Ids are not a way in at all: only an email opens a conversation.
      `userId=${cy.id}`,
      `email=${encodeURIComponent(ann.email)}&email=${encodeURIComponent(cy.email)}`,
      `email[]=${encodeURIComponent(cy.email)}`,
      `email=${encodeURIComponent(`${ann.email},${cy.email}`)}`,
      `conversationId=${direct}`,
      `email=${encodeURIComponent(eve.email)}`,
    ]) {
      const res = await start(form);
      expect([400, 404], form).toContain(res.status);
      expectNoSecrets(res.text, form);
    }
    expect(await snapshot(app.pool)).toEqual(before);

    // Starting one with Cy makes Eve's own conversation with Cy: Ann and Cy's stays theirs.
    const res = await start({ email: cy.email });
    expect(res.status).toBe(303);
    const made = Number(/\/conversations\/(\d+)$/.exec(String(res.headers.location))?.[1]);
    expect([direct, group]).not.toContain(made);
    const members = async (id: number) =>
      (
        await app.pool.query<{ id: number }>(
          'SELECT user_id AS id FROM conversation_members WHERE conversation_id = $1 ORDER BY 1',
          [id],
        )
      ).rows.map((r) => r.id);
    expect(await members(made)).toEqual([eve.id, cy.id].sort((x, y) => x - y));
    expect(await members(direct)).toEqual([ann.id, cy.id].sort((x, y) => x - y));
    expect(await members(group)).toEqual([ann.id, cy.id].sort((x, y) => x - y));
    const page = await eve.agent.get(`/conversations/${made}`);
    expect(page.status).toBe(200);
    expectNoSecrets(page.text, 'Eve’s new conversation with Cy', ['Cy Private']);
    expect((await eve.agent.get(`/conversations/${direct}`)).status).toBe(404);
  });

  it('never sees Ann and Cy’s conversations in their own inbox (home page, inbox fragment, inbox:sync)', async () => {
    // Ann's inbox does list them, so the absence below means something.
    const annHome = await ann.agent.get('/');
    expect(annHome.text).toContain(`href="/conversations/${direct}"`);
    expect(annHome.text).toContain(`href="/conversations/${group}"`);

    for (const path of ['/', '/inbox']) {
      const res = await bo.agent.get(path);
      expect(res.status, path).toBe(200);
      expect(res.text, path).toContain(`href="/conversations/${own}"`);
      for (const id of [direct, group]) {
        expect(res.text, path).not.toContain(`href="/conversations/${id}"`);
        expect(res.text, path).not.toContain(`data-conversation-id="${id}"`);
      }
      expectNoSecrets(res.text, path);
    }
    const boTab = await socketOf(bo);
    const counts = await ask(boTab, 'inbox:sync', {});
    if (!counts.ok) throw new Error('inbox:sync failed');
    expect(counts.unread.map((u) => u.conversationId)).toEqual([own]);
  });
});

describe('a visitor who is not logged in', () => {
  it('is sent to the login page for every conversation address, refused on every post, and nothing changes', async () => {
    const before = await snapshot(app.pool);
    const anonymous = request.agent(app.baseUrl); // no cookie at all
    const visitor = request.agent(app.baseUrl); // a session with a CSRF token, nobody logged in
    const visitorToken = await tokenFor(visitor, '/login');
    let tried = 0;
    for (const id of [direct, group, MISSING]) {
      for (const { route, path, run } of conversationRoutes(id, secretIds[2]!)) {
        for (const [who, agent, token] of [
          ['anonymous', anonymous, undefined],
          ['visitor', visitor, visitorToken],
        ] as const) {
          const label = `${who} ${route} on ${id}`;
          const res = await run(agent, token);
          if (route.startsWith('GET')) {
            expect(res.status, label).toBe(303);
            expect(res.headers.location, label).toBe(`/login?next=${encodeURIComponent(path)}`);
          } else if (token) {
            expect(res.status, label).toBe(401);
            expect(res.text, label).toContain('Please log in first.');
          } else {
            expect(res.status, label).toBe(403);
          }
          expectNoSecrets(res.text, label);
          tried++;
        }
      }
    }
    for (const [who, agent, token] of [
      ['anonymous', anonymous, undefined],
      ['visitor', visitor, visitorToken],
    ] as const) {
      const res = await agent
        .post('/conversations')
        .type('form')
        .send({ email: cy.email, ...(token ? { _csrf: token } : {}) });
      expect(res.status, `${who} POST /conversations`).toBe(token ? 401 : 403);
      const inbox = await agent.get('/inbox');
      expect(inbox.status).toBe(303);
      expect(inbox.headers.location).toBe('/login?next=%2Finbox');
      const home = await agent.get('/');
      expect(home.status).toBe(200);
      expectNoSecrets(home.text, `${who} GET /`);
      tried += 3;
    }
    expect(tried).toBe(36);
    expect(await snapshot(app.pool)).toEqual(before);
  });

  it('cannot open a socket by claiming a user id in the handshake, or with a session id that lacks its signature', async () => {
    const annCookie = await cookieOf(ann.agent);
    const signed = decodeURIComponent(annCookie.slice('chat.sid='.length)); // "s:<sid>.<signature>"
    const sid = signed.slice(2, signed.lastIndexOf('.'));
    expect(
      (await app.pool.query('SELECT 1 FROM session WHERE sid = $1', [sid])).rowCount,
      'the session id was read correctly',
    ).toBe(1);
    const tries = [
      rawSocket(app.baseUrl, { auth: { userId: ann.id } }),
      rawSocket(app.baseUrl, { query: { userId: String(ann.id) } }),
      rawSocket(app.baseUrl, { cookie: `chat.sid=${sid}` }),
      rawSocket(app.baseUrl, { cookie: `chat.sid=${encodeURIComponent(`s:${sid}`)}` }),
      rawSocket(app.baseUrl, { cookie: `chat.sid=${encodeURIComponent(`s:${sid}.`)}` }),
      rawSocket(app.baseUrl, { transports: ['polling'], auth: { userId: ann.id } }),
    ];
    expect(await Promise.all(tries.map((s) => outcome(s)))).toEqual(
      tries.map(() => 'unauthorized'),
    );
    // Over HTTP the bare session id is nobody either.
    const res = await request(app.baseUrl).get('/account').set('Cookie', `chat.sid=${sid}`);
    expect(res.status).toBe(303);
    // The full cookie does work: the refusals are about what was missing.
    expect(await outcome(rawSocket(app.baseUrl, { cookie: annCookie }))).toBe('connected');
  });
});

describe('a logged-in stranger over the socket', () => {
  it('gets the same error as for a missing conversation on every event, with ids as numbers or digit strings, changes nothing and overhears nothing', async () => {
    const [annTab, cyTab] = [await socketOf(ann), await socketOf(cy)];
    const boTabs = [await socketOf(bo), await socketOf(bo)];
    const heard = boTabs.flatMap((t) => [
      record(t, 'message:new'),
      record(t, 'typing'),
      record(t, 'conversation:read'),
    ]);
    const presence = boTabs.map((t) => record(t, 'presence'));

    // Members warm the member cache first: the stranger must not ride on it.
    await ask(cyTab, 'sync', { conversationId: direct, after: 0 });
    await ask(cyTab, 'sync', { conversationId: group, after: 0 });

    const attempts = (id: number | string, messageId: number) =>
      Promise.all([
        askRaw(boTabs[0]!, 'message:send', { conversationId: id, body: 'psst', clientId: uuid() }),
        askRaw(boTabs[0]!, 'sync', { conversationId: id, after: 0 }),
        askRaw(boTabs[1]!, 'conversation:read', { conversationId: id, messageId }),
        askRaw(boTabs[1]!, 'typing', { conversationId: id, typing: true }),
      ]);
    const before = await snapshot(app.pool);
    const notFound = {
      ok: false,
      error: { code: 'not_found', message: 'That conversation does not exist.' },
    };
    let tried = 0;
    for (const [id, missingId, messageId] of [
      [direct, MISSING, secretIds[0]!],
      [group, MISSING, secretIds[3]!],
      [String(direct), String(MISSING), secretIds[2]!],
      [String(group), String(MISSING), secretIds[3]!],
    ] as const) {
      const notMine = await attempts(id, messageId);
      const missing = await attempts(missingId, messageId);
      expect(notMine, `conversation ${id}`).toEqual(missing);
      expect(notMine, `conversation ${id}`).toEqual([notFound, notFound, notFound, notFound]);
      tried += 4;
    }
    expect(tried).toBe(16);
    expect(await snapshot(app.pool)).toEqual(before);

    // Meanwhile and afterwards the members talk, type, read and come and go: Bo hears none of it.
    const cyGot = waitFor(cyTab, 'message:new', (m) => m.body === 'still between us');
    await send(annTab, direct, 'still between us');
    await send(annTab, group, 'group still private');
    await ask(annTab, 'typing', { conversationId: direct, typing: true });
    await ask(annTab, 'typing', { conversationId: group, typing: true });
    const last = await cyGot;
    await ask(cyTab, 'conversation:read', { conversationId: direct, messageId: last.id });
    const annAgain = await socketOf(ann); // Ann's presence does not change (she has a tab)
    annAgain.disconnect();
    annTab.disconnect(); // Ann goes offline: only Cy may hear it
    await waitFor(cyTab, 'presence', (p) => p.userId === ann.id && !p.online);
    await sleep(300);
    expect(heard).toEqual([[], [], [], [], [], []]);
    for (const got of presence) {
      expect(got.filter((p) => p.userId === ann.id || p.userId === cy.id)).toEqual([]);
    }
    expect(boTabs.every((t) => t.connected)).toBe(true);
  });
});

describe('read marks and names belong to their owner', () => {
  const marks = async (id: number) =>
    Object.fromEntries(
      (
        await app.pool.query<{ user_id: number; mark: number }>(
          'SELECT user_id, last_read_message_id AS mark FROM conversation_members WHERE conversation_id = $1',
          [id],
        )
      ).rows.map((r) => [r.user_id, r.mark]),
    ) as Record<number, number>;

  it('a read mark cannot be moved for another user, by a member or by a stranger', async () => {
    await app.pool.query(
      'UPDATE conversation_members SET last_read_message_id = 0 WHERE conversation_id = $1',
      [direct],
    );
    const lastId = (
      await app.pool.query<{ id: number }>(
        'SELECT last_message_id AS id FROM conversations WHERE id = $1',
        [direct],
      )
    ).rows[0]!.id;
    const [annTab, cyTab, boTab] = [await socketOf(ann), await socketOf(cy), await socketOf(bo)];
    const annHeard = record(annTab, 'conversation:read');

    // A stranger naming Ann: refused, nothing moves.
    const forged = { conversationId: direct, messageId: lastId, userId: ann.id };
    expect(await askRaw(boTab, 'conversation:read', forged)).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    expect((await bo.agent.get(`/conversations/${direct}`)).status).toBe(404);
    expect(await marks(direct)).toEqual({ [ann.id]: 0, [cy.id]: 0 });

    // Cy naming Ann moves Cy's own mark only, and says so to everyone.
    expect(await askRaw(cyTab, 'conversation:read', forged)).toEqual({ ok: true });
    await until('Ann to hear of the read', () => annHeard.length > 0);
    expect(annHeard).toEqual([{ conversationId: direct, userId: cy.id, messageId: lastId }]);
    expect(await marks(direct)).toEqual({ [ann.id]: 0, [cy.id]: lastId });

    // Cy reading the page moves Cy's mark, not Ann's.
    await cy.agent.get(`/conversations/${direct}`);
    expect((await marks(direct))[ann.id]).toBe(0);
  });

  it('a member cannot send or type in another member’s name', async () => {
    const [annTab, cyTab] = [await socketOf(ann), await socketOf(cy)];
    const annGot = waitFor(annTab, 'message:new', (m) => m.body === 'signed by Ann?');
    const annTyping = waitFor(annTab, 'typing');
    const ack = await askRaw(cyTab, 'message:send', {
      conversationId: direct,
      body: 'signed by Ann?',
      clientId: uuid(),
      senderId: ann.id,
      senderName: 'Ann Private',
      userId: ann.id,
    });
    expect(ack).toMatchObject({ ok: true, message: { senderId: cy.id, senderName: 'Cy Private' } });
    expect(await annGot).toMatchObject({ senderId: cy.id, senderName: 'Cy Private' });
    await askRaw(cyTab, 'typing', {
      conversationId: direct,
      typing: true,
      userId: ann.id,
      name: 'Ann Private',
    });
    expect(await annTyping).toEqual({
      conversationId: direct,
      userId: cy.id,
      name: 'Cy Private',
      typing: true,
    });
    // The no-JavaScript form ignores such fields too.
    const res = await post(
      cy.agent,
      `/conversations/${direct}/messages`,
      { body: 'form signed by Ann?', senderId: String(ann.id), userId: String(ann.id) },
      `/conversations/${direct}`,
    );
    expect(res.status).toBe(303);
    const { rows } = await app.pool.query<{ sender_id: number }>(
      'SELECT sender_id FROM messages WHERE body = ANY($1) ORDER BY id',
      [['signed by Ann?', 'form signed by Ann?']],
    );
    expect(rows).toEqual([{ sender_id: cy.id }, { sender_id: cy.id }]);
  });
});

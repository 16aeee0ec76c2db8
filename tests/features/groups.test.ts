// Group chats over HTTP and sockets (issue 14, and issue 13's group parts): making a group,
// who sees what (history from joining; a former member keeps what they saw and hears
// nothing more), the roles and what each may do, invitations from non-friends as requests.
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
  expectNone,
  openSocket,
  send,
  waitFor,
} from '../support/sockets.js';
import { until } from '../support/wait.js';
import { createGroup } from '../support/groups.js';
import { listenForMemberChanges } from '../../src/features/conversations/member-events.js';

let app: TestApp;
let stopListening: () => Promise<void>;
let ann: TestUser, bo: TestUser, cy: TestUser, di: TestUser, eve: TestUser;

beforeAll(async () => {
  app = await startTestApp();
  // As server.ts does: every change of members (and blocks among them) reaches the cache.
  stopListening = listenForMemberChanges(app.pool, app.ctx.members, app.ctx.logger);
  ann = await signUp(app, { displayName: 'Ann' });
  bo = await signUp(app, { displayName: 'Bo' });
  cy = await signUp(app, { displayName: 'Cy' });
  di = await signUp(app, { displayName: 'Di' });
  eve = await signUp(app, { displayName: 'Eve' });
  await befriend(ann, bo);
  await befriend(ann, cy);
});
afterEach(() => closeSockets());
afterAll(async () => {
  closeSockets();
  await stopListening?.();
  await app?.close();
});

const page = (u: TestUser, id: number) => u.agent.get(`/conversations/${id}`);
const membersPath = (id: number) => `/conversations/${id}/members`;
const act = (u: TestUser, id: number, path: string, form: Record<string, string> = {}) =>
  post(u.agent, `/conversations/${id}/${path}`, form, membersPath(id));
const roleOf = async (id: number, u: TestUser) =>
  (
    await app.pool.query<{ role: string }>(
      'SELECT role FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
      [id, u.id],
    )
  ).rows[0]?.role;

describe('making a group', () => {
  it('lands on the group page with its name and the lines in words; friends have it in their inbox at once, a stranger gets a request', async () => {
    const id = await createGroup(ann, 'Book club', [bo, cy, di]);
    const own = await page(ann, id);
    expect(own.status).toBe(200);
    expect(own.text).toMatch(/<h1><bdi>Book club<\/bdi><\/h1>/);
    expect(own.text).toContain('Ann created the group');
    expect(own.text).toContain('Ann added Bo, Cy and Di');
    expect(own.text).toContain('4 members');

    // Bo, a friend: in his inbox before anyone writes, with the last line.
    const home = await bo.agent.get('/');
    const inbox = home.text.split('id="inbox"')[1]!.split('</ul>')[0]!;
    expect(inbox).toContain('Book club');
    expect(inbox).toContain('Ann added Bo, Cy and Di');

    // Di, not Ann's friend: a request, not in her conversations.
    const diHome = await di.agent.get('/');
    expect(diHome.text.split('id="inbox"')[1]!.split('</ul>')[0]).not.toContain('Book club');
    expect(diHome.text.split('<h2>Requests</h2>')[1]).toContain('Book club');
    const diPage = await page(di, id);
    expect(diPage.text).toContain('added you to this group');
    expect(diPage.text).toMatch(/<button type="submit">Accept<\/button>/);
    expect(
      (await post(di.agent, `/conversations/${id}/accept`, {}, `/conversations/${id}`)).status,
    ).toBe(303);
    const after = await di.agent.get('/');
    expect(after.text.split('id="inbox"')[1]!.split('</ul>')[0]).toContain('Book club');
  });

  it('refuses a missing or too long name and an unknown email, in words, with a 400 and what was typed', async () => {
    const empty = await post(
      ann.agent,
      '/groups',
      { title: '  ', members: bo.email },
      '/groups/new',
    );
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('Give the group a name.');
    const long = await post(
      ann.agent,
      '/groups',
      { title: 'x'.repeat(81), members: '' },
      '/groups/new',
    );
    expect(long.status).toBe(400);
    expect(long.text).toContain('at most 80 characters');
    const unknown = await post(
      ann.agent,
      '/groups',
      { title: 'Nobody', members: `${bo.email}, nobody-here@example.com` },
      '/groups/new',
    );
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('No account uses nobody-here@example.com.');
    expect(unknown.text).toContain('Nobody'); // the name typed stays
  });

  it('never delivers the invitation of someone the person blocked: the same answer as no account', async () => {
    // Eve blocks Ann (after Ann asked to be friends).
    await post(ann.agent, '/friends/requests', { email: eve.email }, '/search');
    expect((await post(eve.agent, `/friends/${ann.id}/block`, {}, '/friends')).status).toBe(303);
    const res = await post(
      ann.agent,
      '/groups',
      { title: 'Sneaky', members: eve.email },
      '/groups/new',
    );
    expect(res.status).toBe(400);
    expect(res.text).toContain(`No account uses ${eve.email}.`);
    const { rows } = await app.pool.query(
      `SELECT 1 FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
       WHERE m.user_id = $1 AND c.kind = 'group'`,
      [eve.id],
    );
    expect(rows).toEqual([]);
  });

  it('"Block" on a group invitation declines it and blocks its sender, whose next invitation never arrives', async () => {
    const jo = await signUp(app, { displayName: 'Jo' });
    const id = await createGroup(ann, 'Unwanted', [bo, jo]);
    const joPage = await page(jo, id);
    expect(joPage.text).toMatch(/<button type="submit" class="danger">Block<\/button>/);
    expect(
      (await post(jo.agent, `/conversations/${id}/block`, {}, `/conversations/${id}`)).status,
    ).toBe(303);
    const { rows } = await app.pool.query(
      'SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2',
      [jo.id, ann.id],
    );
    expect(rows).toHaveLength(1);
    expect((await page(jo, id)).status).toBe(404);
    expect((await jo.agent.get('/')).text).not.toContain('Unwanted');
    const again = await post(
      ann.agent,
      '/groups',
      { title: 'Again', members: jo.email },
      '/groups/new',
    );
    expect(again.status).toBe(400);
    expect(again.text).toContain(`No account uses ${jo.email}.`);
  });

  it('holds at most the configured number of members, and says so', async () => {
    const before = app.ctx.groupMaxMembers;
    app.ctx.groupMaxMembers = 3;
    try {
      const id = await createGroup(ann, 'Small', [bo, cy]);
      const res = await act(ann, id, 'members', { email: di.email });
      expect(res.status).toBe(409);
      expect(res.text).toContain('at most 3 members');
    } finally {
      app.ctx.groupMaxMembers = before;
    }
  });
});

describe('what each member sees', () => {
  it('a member added later does not see what was said before; sync, older pages and the unread count agree', async () => {
    const fay = await signUp(app, { displayName: 'Fay' });
    await befriend(ann, fay);
    const id = await createGroup(ann, 'Earlier', [bo]);
    const annSocket = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    await send(annSocket, id, 'said before Fay came');
    expect((await act(ann, id, 'members', { email: fay.email })).status).toBe(303);
    await send(annSocket, id, 'said after Fay came');

    const fayPage = await page(fay, id);
    expect(fayPage.status).toBe(200);
    expect(fayPage.text).not.toContain('said before Fay came');
    expect(fayPage.text).toContain('Ann added Fay');
    expect(fayPage.text).toContain('said after Fay came');

    const faySocket = await openSocket(app.baseUrl, await cookieOf(fay.agent));
    const synced = await ask(faySocket, 'sync', { conversationId: id, after: 0 });
    if (!synced.ok) throw new Error(synced.error.message);
    expect(synced.messages.map((m) => m.body)).toEqual(['Ann added Fay', 'said after Fay came']);
    expect(synced.messages[0]!.kind).toBe('system');

    const older = await fay.agent.get(
      `/conversations/${id}/older?before=${synced.messages[0]!.id}`,
    );
    expect(older.text).not.toContain('said before Fay came');

    const counts = await ask(faySocket, 'inbox:sync', {});
    if (!counts.ok) throw new Error(counts.error.message);
    expect(counts.unread.find((c) => c.conversationId === id)?.unread).toBe(1);
  });

  it('in a group, the messages of someone you blocked are folded behind "Message from a blocked person"', async () => {
    const id = await createGroup(ann, 'Folded', [bo, cy]);
    // Bo asked Cy to be friends, then blocks him.
    await post(bo.agent, '/friends/requests', { email: cy.email }, '/search');
    expect((await post(bo.agent, `/friends/${cy.id}/block`, {}, '/friends')).status).toBe(303);
    const cySocket = await openSocket(app.baseUrl, await cookieOf(cy.agent));
    await send(cySocket, id, 'Cy says hi');
    // The block reaches the member cache by the database's notification.
    await until('the fold', async () =>
      (await page(bo, id)).text.includes('Message from a blocked person'),
    );
    const boPage = await page(bo, id);
    expect(boPage.text).toMatch(/<details class="blocked-message">/);
    // Older pages too (the script's "Load older").
    const older = await bo.agent.get(`/conversations/${id}/older?before=999999999`);
    expect(older.text).toContain('Message from a blocked person');
    const annPage = await page(ann, id);
    expect(annPage.text).toContain('Cy says hi');
    expect(annPage.text).not.toContain('Message from a blocked person');
    // Live and in sync, Bo's tabs get Cy's messages marked to be folded; Ann's are not marked.
    const boSocket = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    const annSocket = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const toBo = waitFor(boSocket, 'message:new', (m) => m.body === 'Cy again');
    const toAnn = waitFor(annSocket, 'message:new', (m) => m.body === 'Cy again');
    await send(cySocket, id, 'Cy again');
    expect((await toBo).blocked).toBe(true);
    expect((await toAnn).blocked).toBeUndefined();
    const synced = await ask(boSocket, 'sync', { conversationId: id, after: 0 });
    if (!synced.ok) throw new Error(synced.error.message);
    expect(
      synced.messages.filter((m) => m.senderId === cy.id).map((m) => [m.body, m.blocked]),
    ).toEqual([
      ['Cy says hi', true],
      ['Cy again', true],
    ]);
    await post(bo.agent, `/friends/${cy.id}/unblock`, {}, '/account');
  });
});

describe('roles: every action checked on the server', () => {
  it('a member cannot rename, remove, make admins or make invite links', async () => {
    const id = await createGroup(ann, 'Ranks', [bo, cy]);
    const rename = await act(bo, id, 'rename', { title: 'Mine now' });
    expect(rename.status).toBe(403);
    expect(rename.text).toContain('Only admins can rename the group.');
    expect((await act(bo, id, `members/${cy.id}/remove`)).status).toBe(403);
    expect((await act(bo, id, `members/${cy.id}/admin`)).status).toBe(403);
    expect((await act(bo, id, 'invites', { expires: '1d', maxUses: '' })).status).toBe(403);
    expect(await roleOf(id, cy)).toBe('member');
    const title = await app.pool.query<{ title: string }>(
      'SELECT title FROM conversations WHERE id = $1',
      [id],
    );
    expect(title.rows[0]!.title).toBe('Ranks');
  });

  it('the owner makes admins; an admin removes members but not the owner nor another admin', async () => {
    const id = await createGroup(ann, 'Admins', [bo, cy]);
    const dan = await signUp(app, { displayName: 'Dan' });
    await befriend(ann, dan);
    await act(ann, id, 'members', { email: dan.email });
    expect((await act(ann, id, `members/${bo.id}/admin`)).status).toBe(303);
    expect((await act(ann, id, `members/${cy.id}/admin`)).status).toBe(303);
    expect((await page(ann, id)).text).toContain('Ann made Bo an admin');
    // Bo, an admin, may not make admins, remove the owner, or remove Cy (an admin too).
    expect((await act(bo, id, `members/${dan.id}/admin`)).status).toBe(403);
    const owner = await act(bo, id, `members/${ann.id}/remove`);
    expect(owner.status).toBe(403);
    expect(owner.text).toContain('Nobody can remove the owner');
    const equal = await act(bo, id, `members/${cy.id}/remove`);
    expect(equal.status).toBe(403);
    expect(equal.text).toContain('Only the owner can remove an admin.');
    expect(await roleOf(id, ann)).toBe('owner');
    // But Bo may remove Dan, a member, and rename.
    expect((await act(bo, id, `members/${dan.id}/remove`)).status).toBe(303);
    expect((await act(bo, id, 'rename', { title: 'Book club' })).status).toBe(303);
    const text = (await page(ann, id)).text;
    expect(text).toContain('Bo removed Dan');
    expect(text).toContain('Bo renamed the group to Book club');
    // The owner removes an admin's role.
    expect((await act(ann, id, `members/${cy.id}/unadmin`)).status).toBe(303);
    expect(await roleOf(id, cy)).toBe('member');
    // And hands the group over: one owner, the old one an admin.
    expect((await act(bo, id, `members/${cy.id}/owner`)).status).toBe(403);
    expect((await act(ann, id, `members/${bo.id}/owner`)).status).toBe(303);
    expect(await roleOf(id, bo)).toBe('owner');
    expect(await roleOf(id, ann)).toBe('admin');
    expect((await page(cy, id)).text).toContain('Ann made Bo the owner');
  });

  it('an outsider cannot see the member list or change anything: "not found", as for no group', async () => {
    const id = await createGroup(ann, 'Private', [bo]);
    expect((await eve.agent.get(membersPath(id))).status).toBe(404);
    expect((await post(eve.agent, membersPath(id), { email: eve.email }, '/')).status).toBe(404);
    expect((await post(eve.agent, `/conversations/${id}/rename`, { title: 'x' }, '/')).status).toBe(
      404,
    );
    expect((await post(eve.agent, `/conversations/${id}/leave`, {}, '/')).status).toBe(404);
    expect(
      (await post(eve.agent, `/conversations/${id}/invites`, { expires: '1d' }, '/')).status,
    ).toBe(404);
    expect((await page(eve, id)).status).toBe(404);
    const socket = await openSocket(app.baseUrl, await cookieOf(eve.agent));
    const res = await ask(socket, 'sync', { conversationId: id, after: 0 });
    expect(res.ok ? 'ok' : res.error.code).toBe('not_found');
  });

  it('an owner who leaves hands the group to the longest-standing admin', async () => {
    const id = await createGroup(ann, 'Heirs', [bo, cy]);
    await act(ann, id, `members/${cy.id}/admin`);
    expect((await act(ann, id, 'leave')).status).toBe(303);
    expect(await roleOf(id, cy)).toBe('owner');
    expect(await roleOf(id, ann)).toBe('member');
    const text = (await page(bo, id)).text;
    expect(text).toContain('Cy is now the owner');
    expect(text).toContain('Ann left');
    // Ann reads what she saw, cannot write, and sees why.
    const annPage = await page(ann, id);
    expect(annPage.status).toBe(200);
    expect(annPage.text).toContain('You left this group.');
    const wrote = await post(
      ann.agent,
      `/conversations/${id}/messages`,
      { body: 'still here?' },
      `/conversations/${id}`,
    );
    expect(wrote.status).toBe(403);
  });
});

describe('an owner who deletes their account', () => {
  it('hands the group to the longest-standing admin, as leaving does', async () => {
    const kim = await signUp(app, { displayName: 'Kim' });
    await befriend(kim, bo);
    await befriend(kim, cy);
    const id = await createGroup(kim, 'Orphan', [bo, cy]);
    await act(kim, id, `members/${cy.id}/admin`);
    const gone = await post(
      kim.agent,
      '/account/delete',
      { deletePassword: kim.password },
      '/account',
    );
    expect(gone.status).toBe(303);
    expect(await roleOf(id, cy)).toBe('owner');
    expect((await act(cy, id, `members/${bo.id}/admin`)).status).toBe(303);
  });
});

describe('a former member hears nothing more', () => {
  it('a removed member keeps, read-only, what they saw; their live socket gets the notice and then no message, typing, read mark or sync', async () => {
    const id = await createGroup(ann, 'Removal', [bo, cy]);
    const annS = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const boS = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    const cyS = await openSocket(app.baseUrl, await cookieOf(cy.agent));
    const heard = waitFor(cyS, 'message:new', (m) => m.body === 'before the removal');
    await send(annS, id, 'before the removal');
    await heard;

    const notice = waitFor(cyS, 'group:left', (p) => p.conversationId === id);
    const line = waitFor(cyS, 'message:new', (m) => m.body === 'Ann removed Cy');
    expect((await act(ann, id, `members/${cy.id}/remove`)).status).toBe(303);
    expect(await notice).toEqual({ conversationId: id, removed: true });
    await line; // the line that says so is the last thing they hear

    const quiet = Promise.all([
      expectNone(cyS, 'message:new', 400),
      expectNone(cyS, 'typing', 400),
      expectNone(cyS, 'conversation:read', 400),
    ]);
    const after = await send(annS, id, 'after the removal');
    await ask(boS, 'typing', { conversationId: id, typing: true });
    await ask(boS, 'conversation:read', { conversationId: id, messageId: after.id });
    await quiet;

    const synced = await ask(cyS, 'sync', { conversationId: id, after: 0 });
    if (!synced.ok) throw new Error(synced.error.message);
    expect(synced.messages.map((m) => m.body)).toContain('before the removal');
    expect(synced.messages.at(-1)!.body).toBe('Ann removed Cy');
    const sent = await ask(cyS, 'message:send', {
      conversationId: id,
      body: 'let me back',
      clientId: crypto.randomUUID(),
    });
    expect(sent.ok ? 'ok' : sent.error.code).toBe('forbidden');
    const typing = await ask(cyS, 'typing', { conversationId: id, typing: true });
    expect(typing.ok ? 'ok' : typing.error.code).toBe('forbidden');

    const cyPage = await page(cy, id);
    expect(cyPage.status).toBe(200);
    expect(cyPage.text).toContain('You were removed from this group.');
    expect(cyPage.text).not.toContain('after the removal');
    expect(cyPage.text).toMatch(/<form class="composer" id="composer" hidden/);
    const home = await cy.agent.get('/');
    expect(home.text).toContain('Ann removed Cy');
    expect(home.text).not.toContain('after the removal');
    // The member list is for members.
    expect((await cy.agent.get(membersPath(id))).status).toBe(403);
  });

  it("a removed member is told of nobody's presence through the group any more", async () => {
    const gil = await signUp(app, { displayName: 'Gil' });
    const ike = await signUp(app, { displayName: 'Ike' });
    await befriend(ann, gil);
    await befriend(ann, ike);
    const id = await createGroup(ann, 'Presence', [gil, ike]);
    const gilS = await openSocket(app.baseUrl, await cookieOf(gil.agent));
    // While both are members, Gil sees Ike come online (so the test below can fail).
    const online = waitFor(gilS, 'presence', (p) => p.userId === ike.id && p.online);
    const ikeS = await openSocket(app.baseUrl, await cookieOf(ike.agent));
    await online;
    const offline = waitFor(gilS, 'presence', (p) => p.userId === ike.id && !p.online);
    ikeS.disconnect();
    await offline;

    await act(ann, id, `members/${gil.id}/remove`);
    const none = expectNone(gilS, 'presence', 500, (p) => p.userId === ike.id);
    await openSocket(app.baseUrl, await cookieOf(ike.agent));
    await none;
  });
});

describe('invite links', () => {
  const linkFrom = (html: string) => {
    const m = /id="invite-link" type="text" readonly value="([^"]+)"/.exec(html);
    if (!m) throw new Error('no invite link on the page');
    return new URL(m[1]!).pathname;
  };

  it('an admin makes a link shown once; a logged-out visitor sees the group, signs up, comes back and joins', async () => {
    const id = await createGroup(ann, 'Open house', [bo]);
    const made = await act(ann, id, 'invites', { expires: '1d', maxUses: '1' });
    expect(made.status).toBe(201);
    const path = linkFrom(made.text);
    const token = path.split('/').pop()!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Stored hashed: the table holds its SHA-256, never the token.
    const stored = await app.pool.query<{ n: number; raw: number }>(
      `SELECT count(*) FILTER (WHERE token_hash = sha256(convert_to($1, 'UTF8')))::int AS n,
              count(*) FILTER (WHERE position(convert_to($1, 'UTF8') IN token_hash) > 0)::int AS raw
       FROM group_invites`,
      [token],
    );
    expect(stored.rows[0]).toEqual({ n: 1, raw: 0 });

    const { default: request } = await import('supertest');
    const visitor = request.agent(app.baseUrl);
    const preview = await visitor.get(path);
    expect(preview.status).toBe(200);
    expect(preview.text).toContain('Open house');
    expect(preview.text).toContain('2 members');
    expect(preview.text).toContain(`/signup?next=${encodeURIComponent(path)}`);
    expect(preview.text).toContain(`/login?next=${encodeURIComponent(path)}`);
    const signupPage = await visitor.get(`/signup?next=${encodeURIComponent(path)}`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(signupPage.text)![1]!;
    const signed = await visitor
      .post('/signup')
      .type('form')
      .send({
        _csrf: csrf,
        next: path,
        email: `hal${Date.now()}@example.com`,
        displayName: 'Hal',
        password: 'correct horse battery',
      });
    expect(signed.status).toBe(303);
    expect(signed.headers.location).toBe(path);
    const joinPage = await visitor.get(path);
    expect(joinPage.text).toMatch(/<button type="submit">Join group<\/button>/);
    const joinCsrf = /name="_csrf" value="([^"]+)"/.exec(joinPage.text)![1]!;
    const joined = await visitor.post(path).type('form').send({ _csrf: joinCsrf });
    expect(joined.status).toBe(303);
    expect(joined.headers.location).toBe(`/conversations/${id}`);
    expect((await visitor.get(`/conversations/${id}`)).text).toContain(
      'Hal joined with an invite link',
    );

    // Used up (max 1): the next visitor gets the same answer as for no link at all.
    expect((await eve.agent.get(path)).status).toBe(404);
  });

  it("a revoked, expired or forged link answers like a missing one, and one group's link joins only that group", async () => {
    const id = await createGroup(ann, 'Links', [bo]);
    const other = await createGroup(ann, 'Other', [bo]);
    const path1 = linkFrom((await act(ann, id, 'invites', { expires: 'never', maxUses: '' })).text);
    const path2 = linkFrom((await act(ann, id, 'invites', { expires: '1h', maxUses: '' })).text);
    const { rows } = await app.pool.query<{ id: number }>(
      'SELECT id FROM group_invites WHERE conversation_id = $1 ORDER BY id',
      [id],
    );
    expect((await act(ann, id, `invites/${rows[0]!.id}/revoke`)).status).toBe(303);
    expect((await eve.agent.get(path1)).status).toBe(404);
    expect((await post(eve.agent, path1, {}, '/')).status).toBe(404);
    await app.pool.query(
      `UPDATE group_invites SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [rows[1]!.id],
    );
    const expired = await eve.agent.get(path2);
    expect(expired.status).toBe(404);
    expect(expired.text).toContain('does not work');
    expect((await eve.agent.get(`/join/${'A'.repeat(43)}`)).status).toBe(404);
    expect((await eve.agent.get('/join/short')).status).toBe(404);
    // Another group's admin cannot revoke this group's link through their own group.
    expect((await act(ann, other, `invites/${rows[1]!.id}/revoke`)).status).toBe(404);
    const { rows: members } = await app.pool.query(
      'SELECT 1 FROM conversation_members WHERE user_id = $1 AND conversation_id = ANY($2::bigint[])',
      [eve.id, [id, other]],
    );
    expect(members).toEqual([]);
  });

  it('a removed member cannot come back by an old link; one who left can', async () => {
    const id = await createGroup(ann, 'No way back', [bo, cy]);
    const path = linkFrom((await act(ann, id, 'invites', { expires: 'never', maxUses: '' })).text);
    expect((await act(ann, id, `members/${cy.id}/remove`)).status).toBe(303);
    const back = await post(cy.agent, path, {}, path);
    expect(back.status).toBe(403);
    expect(back.text).toContain('You were removed from this group');
    const cyRow = await app.pool.query<{ history_to: number | null }>(
      'SELECT history_to FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
      [id, cy.id],
    );
    expect(cyRow.rows[0]!.history_to).not.toBeNull(); // still former: nothing changed
    expect((await post(bo.agent, `/conversations/${id}/leave`, {}, '/')).status).toBe(303);
    expect((await post(bo.agent, path, {}, path)).status).toBe(303);
  });

  it('the join page is rate-limited like every lookup', async () => {
    const limited = await startTestApp({ rateLimit: true });
    try {
      const { default: request } = await import('supertest');
      const visitor = request.agent(limited.baseUrl);
      const codes: number[] = [];
      for (let i = 0; i < 70; i++)
        codes.push((await visitor.get(`/join/${'B'.repeat(43)}`)).status);
      expect(codes.slice(0, 10).every((c) => c === 404)).toBe(true);
      expect(codes).toContain(429);
    } finally {
      await limited.close();
    }
  });
});

describe('the inbox and someone you blocked', () => {
  it('shows their last line folded, and their messages neither unread nor mentions', async () => {
    const id = await createGroup(ann, 'Blocked in the list', [bo, cy]);
    await post(bo.agent, `/friends/${ann.id}/block`, {}, '/friends');
    const annSocket = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    await send(annSocket, id, 'Ann writes to @Bo a secret');
    const row = async () => {
      const home = await bo.agent.get('/');
      expect(home.status).toBe(200);
      return new RegExp(`<li [^>]*data-conversation-id="${id}"[^]*?</li>`).exec(home.text)![0];
    };
    const blocked = await row();
    expect(blocked).not.toContain('secret');
    expect(blocked).toContain('Message from a blocked person');
    expect(blocked).toContain('data-unread="0"');
    expect(blocked).not.toMatch(/class="badge/);
    // Someone else's line in the same group is shown and counted as before.
    const cySocket = await openSocket(app.baseUrl, await cookieOf(cy.agent));
    await send(cySocket, id, 'Cy writes to @Bo');
    const other = await row();
    expect(other).toContain('Cy writes to @Bo');
    expect(other).toContain('data-unread="1"');
    expect(other).toMatch(/class="badge mention"/);
    await post(bo.agent, `/friends/${ann.id}/unblock`, {}, '/account');
    await befriend(ann, bo);
  });
});

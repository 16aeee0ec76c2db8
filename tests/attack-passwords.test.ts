// Attack suite: guessing passwords, and looking for password hashes, passwords
// and session cookies anywhere they could leak: pages, socket payloads, the
// session store and the logs.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import request from 'supertest';
import {
  post,
  signUp,
  startTestApp,
  tokenFor,
  uniqueEmail,
  type TestApp,
  type TestUser,
} from './support/app.js';
import {
  ask,
  closeSockets,
  cookieOf,
  openDirect,
  openSocket,
  record,
  send,
  sleep,
  until,
} from './support/sockets.js';
import { capturingLogger } from './support/attack.js';

afterEach(() => {
  closeSockets();
  vi.useRealTimers();
});

const HASH = /\$2[aby]\$\d\d\$/;

describe('guessing one account’s password', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ rateLimit: true });
  });
  afterAll(async () => {
    await app?.close();
  });

  const tryLogin = async (
    email: string,
    password: string,
    headers: Record<string, string> = {},
  ) => {
    const agent = request.agent(app.baseUrl);
    const token = await tokenFor(agent, '/login');
    return agent.post('/login').set(headers).type('form').send({ email, password, _csrf: token });
  };

  it('the sixth fast wrong password gets a 429 that says when to come back (at most 15 minutes), and after that window the owner logs in again', async () => {
    const u = await signUp(app);
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await tryLogin(u.email, `guess number ${i}`);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const retryAfter = Number(last!.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    const reset = Number(/\bt=(\d+)/.exec(String(last!.headers.ratelimit))?.[1]);
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(15 * 60);
    expect(String(last!.headers['ratelimit-policy'])).toMatch(/q=5\b.*w=900\b/);
    expect(last!.text).toContain('Too many attempts. Wait a few minutes, then try again.');

    // During the window even the right password waits; the hash is never compared.
    expect((await tryLogin(u.email, u.password)).status).toBe(429);

    // The limiter reads the clock through Date: move it past the window.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 15 * 60 * 1000 + 1000);
    const back = await tryLogin(u.email, u.password);
    expect(back.status).toBe(303);
    expect(back.headers.location).toBe('/');
  });

  it('an unknown email is slowed the same way, so the 429 does not tell which accounts exist', async () => {
    const u = await signUp(app);
    const nobody = uniqueEmail('nobody');
    const known: number[] = [];
    const unknown: number[] = [];
    let knownLast: request.Response | undefined;
    let unknownLast: request.Response | undefined;
    for (let i = 0; i < 6; i++) {
      knownLast = await tryLogin(u.email, `guess ${i}`);
      unknownLast = await tryLogin(nobody, `guess ${i}`);
      known.push(knownLast.status);
      unknown.push(unknownLast.status);
    }
    expect(unknown).toEqual(known);
    expect(unknownLast!.text).toBe(knownLast!.text);
  });

  it('changing the email’s case and spacing, or claiming another address in X-Forwarded-For, does not buy more guesses', async () => {
    const u = await signUp(app);
    const variants = [
      u.email,
      u.email.toUpperCase(),
      `  ${u.email}  `,
      u.email.replace(/^./, (c) => c.toUpperCase()),
      `\t${u.email}`,
      u.email,
    ];
    const statuses: number[] = [];
    for (const [i, email] of variants.entries()) {
      statuses.push(
        (await tryLogin(email, `guess ${i}`, { 'X-Forwarded-For': `203.0.113.${i + 1}` })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('spelling the email with a dotted capital I (tİm@ for tim@) shares the same five tries', async () => {
    const u = await signUp(app, { email: uniqueEmail('tim') });
    const dotted = u.email.replace('i', '\u0130');
    expect(dotted).not.toBe(u.email);
    // The dotted spelling reaches the account: with the right password it would log in.
    const statuses: number[] = [];
    for (const [i, email] of [u.email, dotted, u.email, dotted, dotted].entries()) {
      statuses.push((await tryLogin(email, `guess ${i}`)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // The sixth try, by either spelling and even with the right password, waits.
    expect((await tryLogin(dotted, u.password)).status).toBe(429);
    expect((await tryLogin(u.email.toUpperCase(), u.password)).status).toBe(429);
  });
});

describe('the password hash and the password never leave the server', () => {
  let app: TestApp;
  let ann: TestUser;
  let bo: TestUser;
  let conversationId: number;
  let hashes: string[];
  beforeAll(async () => {
    app = await startTestApp();
    ann = await signUp(app, { displayName: 'Ann', password: 'ann secret password' });
    bo = await signUp(app, { displayName: 'Bo', password: 'bo secret password' });
    conversationId = await openDirect(ann, bo);
    const { rows } = await app.pool.query<{ h: string }>(
      'SELECT password_hash AS h FROM users WHERE id = ANY($1)',
      [[ann.id, bo.id]],
    );
    hashes = rows.map((r) => r.h);
    expect(hashes).toHaveLength(2);
    expect(hashes.every((h) => HASH.test(h))).toBe(true);
  });
  afterAll(async () => {
    closeSockets();
    await app?.close();
  });

  function expectClean(text: string, where: string) {
    expect(text, where).not.toMatch(HASH);
    for (const h of hashes) expect(text, where).not.toContain(h.slice(7)); // the salt and hash part
    for (const p of [ann.password, bo.password, 'a wrong guess', 'new secret password'])
      expect(text, `${where} contains a password`).not.toContain(p);
  }

  it('no page shows it: home, inbox, account, search result, conversation, older messages, and forms sent back with errors', async () => {
    await post(ann.agent, `/conversations/${conversationId}/messages`, { body: 'hello' }, '/');
    const pages: Array<[string, request.Response]> = [
      ['home', await bo.agent.get('/')],
      ['inbox', await bo.agent.get('/inbox')],
      ['account', await bo.agent.get('/account')],
      ['search result', await bo.agent.get('/search').query({ email: ann.email })],
      ['conversation', await bo.agent.get(`/conversations/${conversationId}`)],
      ['older', await bo.agent.get(`/conversations/${conversationId}/older`)],
    ];
    // Forms that failed come back without the password that was typed.
    const visitor = request.agent(app.baseUrl);
    pages.push([
      'wrong login',
      await post(visitor, '/login', { email: ann.email, password: 'a wrong guess' }),
    ]);
    pages.push([
      'signup refused',
      await post(visitor, '/signup', {
        email: ann.email,
        displayName: 'Copy',
        password: 'new secret password',
      }),
    ]);
    pages.push([
      'password change refused',
      await post(
        bo.agent,
        '/account/password',
        { currentPassword: 'a wrong guess', newPassword: 'new secret password' },
        '/account',
      ),
    ]);
    pages.push([
      'password change too short',
      await post(
        bo.agent,
        '/account/password',
        { currentPassword: bo.password, newPassword: 'short' },
        '/account',
      ),
    ]);
    pages.push([
      'delete refused',
      await post(bo.agent, '/account/delete', { deletePassword: 'a wrong guess' }, '/account'),
    ]);
    expect(pages.map(([, r]) => r.status)).toEqual([
      200, 200, 200, 200, 200, 200, 401, 400, 400, 400, 400,
    ]);
    for (const [where, res] of pages) {
      expectClean(res.text, where);
      expectClean(JSON.stringify(res.headers), `${where} headers`);
    }
    expect(pages[3]![1].text).toContain('<p class="result-name"><bdi>Ann</bdi></p>');
  });

  it('no socket payload carries it: acks, message:new, sync, presence, typing, read receipts, inbox counts', async () => {
    const received: unknown[] = [];
    const annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const boTab = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    const recorders = [
      ...(['message:new', 'presence', 'typing', 'conversation:read'] as const).map((e) =>
        record(boTab, e),
      ),
      ...(['message:new', 'presence', 'typing', 'conversation:read'] as const).map((e) =>
        record(annTab, e),
      ),
    ];
    const annPhone = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    annPhone.disconnect();
    const m = await send(annTab, conversationId, 'over the socket');
    received.push(m);
    received.push(await ask(annTab, 'typing', { conversationId, typing: true }));
    received.push(await ask(boTab, 'sync', { conversationId, after: 0 }));
    received.push(await ask(boTab, 'conversation:read', { conversationId, messageId: m.id }));
    received.push(await ask(boTab, 'inbox:sync', {}));
    received.push(await ask(annTab, 'inbox:sync', {}));
    annTab.disconnect(); // Ann goes offline: Bo hears presence
    await until('Bo to hear Ann leave', () =>
      (recorders[1] as Array<{ userId: number; online: boolean }>).some(
        (p) => p.userId === ann.id && !p.online,
      ),
    );
    await sleep(100);
    received.push(...recorders);
    const all = JSON.stringify(received);
    expect(all).toContain('over the socket'); // the recorders did record
    expect(recorders[0]!.length).toBeGreaterThan(0);
    expectClean(all, 'socket payloads');
  });

  it('the session store holds the user id, never the password or its hash', async () => {
    const { rows } = await app.pool.query<{ sess: unknown }>('SELECT sess FROM session');
    expect(rows.length).toBeGreaterThan(0);
    expectClean(JSON.stringify(rows), 'session table');
  });
});

describe('the logs', () => {
  let app: TestApp;
  let lines: string[];
  beforeAll(async () => {
    const captured = capturingLogger('trace');
    lines = captured.lines;
    app = await startTestApp({ logger: captured.logger });
  });
  afterAll(async () => {
    closeSockets();
    await app?.close();
  });

  it('at level trace, signup, a failed login, login, password change, an unexpected error and deletion log no password, no hash and no session cookie', async () => {
    const first = 'first secret pw 1';
    const second = 'second secret pw 2';
    const wrong = 'wrong secret pw 3';
    const u = await signUp(app, { password: first, displayName: 'Logged' });
    const friend = await signUp(app, { displayName: 'Friend' });
    const cookies = [await cookieOf(u.agent)];
    const tokens = [await tokenFor(u.agent, '/account')];

    const visitor = request.agent(app.baseUrl);
    expect((await post(visitor, '/login', { email: u.email, password: wrong })).status).toBe(401);
    expect((await post(visitor, '/login', { email: u.email, password: first })).status).toBe(303);
    cookies.push(await cookieOf(visitor));
    // Something unexpected (a NUL reaching the database) must not log the form either.
    const t = await tokenFor(request.agent(app.baseUrl), '/login');
    await request(app.baseUrl)
      .post('/login')
      .type('form')
      .send(`email=a%00b&password=${encodeURIComponent(first)}&_csrf=${t}`);
    // A socket, a message, a socket error.
    const id = await openDirect(u, friend);
    const tab = await openSocket(app.baseUrl, cookies[0]!);
    await send(tab, id, 'logged message');
    await ask(tab, 'message:send', { conversationId: id, body: '', clientId: 'x' });
    const res = await post(
      u.agent,
      '/account/password',
      { currentPassword: first, newPassword: second },
      '/account',
    );
    expect(res.status).toBe(303);
    cookies.push(await cookieOf(u.agent));
    tokens.push(await tokenFor(u.agent, '/account'));
    const hash = (
      await app.pool.query<{ h: string }>('SELECT password_hash AS h FROM users WHERE id = $1', [
        u.id,
      ])
    ).rows[0]!.h;
    expect(
      (await post(u.agent, '/account/delete', { deletePassword: second }, '/account')).status,
    ).toBe(303);
    await sleep(50);

    const log = lines.join('');
    // The capture works: the requests above are in it.
    expect(log).toContain('"url":"/login"');
    expect(log).toContain('"url":"/account/password"');
    expect(log).toContain('"url":"/account/delete"');
    expect(log).not.toMatch(HASH);
    expect(log).not.toContain(hash.slice(7));
    for (const secret of [first, second, wrong]) {
      expect(log, 'a password is in the log').not.toContain(secret);
      expect(log, 'a password is in the log').not.toContain(encodeURIComponent(secret));
    }
    for (const cookie of cookies) {
      const value = cookie.slice(cookie.indexOf('=') + 1);
      const sid = decodeURIComponent(value).slice(2).split('.')[0]!;
      expect(log, 'a session cookie is in the log').not.toContain(value);
      expect(log, 'a session id is in the log').not.toContain(sid);
    }
    for (const token of tokens) expect(log, 'a CSRF token is in the log').not.toContain(token);
  });
});

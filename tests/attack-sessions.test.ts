// Attack suite: forged forms, planted and stolen sessions, cookies and transport.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import {
  csrfFrom,
  post,
  sessionCookie,
  signUp,
  startTestApp,
  tokenFor,
  uniqueEmail,
  type Agent,
  type TestApp,
} from './support/app.js';
import {
  ask,
  closeSockets,
  cookieOf,
  disconnection,
  logInAgain,
  openDirect,
  openSocket,
  refusal,
  sleep,
  type ClientSocket,
} from './support/sockets.js';
import { setCookies, snapshot, startCustomApp, type CustomApp } from './support/attack.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterEach(() => closeSockets());
afterAll(async () => {
  closeSockets();
  await app?.close();
});

/** Everything a forged form could change: accounts, their sessions, conversations and messages. */
async function state() {
  const users = await app.pool.query(
    'SELECT id, email, display_name, password_hash FROM users ORDER BY id',
  );
  const sessions = await app.pool.query(
    `SELECT sid, sess ->> 'userId' AS user_id FROM session WHERE sess ->> 'userId' IS NOT NULL ORDER BY sid`,
  );
  return { users: users.rows, sessions: sessions.rows, ...(await snapshot(app.pool)) };
}

const loggedIn = async (agent: Agent) => (await agent.get('/account')).status === 200;

describe('forms without their own session’s CSRF token', () => {
  it('every state-changing form is refused with 403 without the token, with a made-up one, another session’s, or one in the address, and nothing changes', async () => {
    const u = await signUp(app, { displayName: 'Target' });
    const friend = await signUp(app, { displayName: 'Friend' });
    const conversationId = await openDirect(u, friend);
    const visitor = request.agent(app.baseUrl);
    const visitorToken = await tokenFor(visitor, '/login');
    const mallory = await signUp(app, { displayName: 'Mallory' });
    const malloryToken = await tokenFor(mallory.agent, '/');
    const ownToken = await tokenFor(u.agent, '/');

    const routes: Array<{ path: string; agent: Agent; form: Record<string, string> }> = [
      {
        path: '/signup',
        agent: visitor,
        form: { email: uniqueEmail('forged'), displayName: 'Forged', password: 'long enough pw' },
      },
      { path: '/login', agent: visitor, form: { email: u.email, password: u.password } },
      { path: '/logout', agent: u.agent, form: {} },
      {
        path: '/account/password',
        agent: u.agent,
        form: { currentPassword: u.password, newPassword: 'chosen by the attacker' },
      },
      { path: '/account/delete', agent: u.agent, form: { deletePassword: u.password } },
      { path: '/conversations', agent: u.agent, form: { email: mallory.email } },
      {
        path: `/conversations/${conversationId}/messages`,
        agent: u.agent,
        form: { body: 'sent by a forged form' },
      },
    ];
    const variants: Array<[string, (r: (typeof routes)[number]) => Promise<request.Response>]> = [
      ['no token', (r) => r.agent.post(r.path).type('form').send(r.form)],
      [
        'an empty token',
        (r) =>
          r.agent
            .post(r.path)
            .type('form')
            .send({ ...r.form, _csrf: '' }),
      ],
      [
        'a made-up token',
        (r) =>
          r.agent
            .post(r.path)
            .type('form')
            .send({ ...r.form, _csrf: randomBytes(128).toString('hex') }),
      ],
      [
        'another user’s token',
        (r) =>
          r.agent
            .post(r.path)
            .type('form')
            .send({ ...r.form, _csrf: malloryToken }),
      ],
      [
        'a token of the other kind of session (visitor or user)',
        (r) =>
          r.agent
            .post(r.path)
            .type('form')
            .send({ ...r.form, _csrf: r.agent === visitor ? ownToken : visitorToken }),
      ],
      [
        'another user’s token in the header',
        (r) => r.agent.post(r.path).type('form').set('X-CSRF-Token', malloryToken).send(r.form),
      ],
      [
        'its own token in the address instead of the body',
        (r) =>
          r.agent
            .post(`${r.path}?_csrf=${r.agent === visitor ? visitorToken : ownToken}`)
            .type('form')
            .send(r.form),
      ],
      [
        'its own token in a text/plain body (what a cross-site form can send)',
        (r) =>
          r.agent
            .post(r.path)
            .set('Content-Type', 'text/plain')
            .send(
              new URLSearchParams({
                ...r.form,
                _csrf: r.agent === visitor ? visitorToken : ownToken,
              }).toString(),
            ),
      ],
    ];

    const before = await state();
    let tried = 0;
    for (const route of routes) {
      for (const [what, run] of variants) {
        const res = await run(route);
        expect(res.status, `POST ${route.path} with ${what}`).toBe(403);
        expect(res.text, `POST ${route.path} with ${what}`).toContain('This form has expired');
        tried++;
      }
    }
    expect(tried).toBe(56);
    expect(await state()).toEqual(before);
    expect(await loggedIn(u.agent)).toBe(true);
    expect(await loggedIn(visitor)).toBe(false);

    // The same forms with the right token do work, so the refusals were about the token.
    const ok = await u.agent
      .post(`/conversations/${conversationId}/messages`)
      .type('form')
      .send({ body: 'with the right token', _csrf: ownToken });
    expect(ok.status).toBe(303);
  });

  it('a token taken before logging in stops working once logged in', async () => {
    const u = await signUp(app);
    await post(u.agent, '/logout', {}, '/');
    const before = await tokenFor(u.agent, '/login');
    const res = await u.agent
      .post('/login')
      .type('form')
      .send({ email: u.email, password: u.password, _csrf: before });
    expect(res.status).toBe(303);
    const stale = await u.agent.post('/logout').type('form').send({ _csrf: before });
    expect(stale.status).toBe(403);
    expect(await loggedIn(u.agent)).toBe(true);
  });

  it('a link cannot log you out or delete anything (GET does not change state)', async () => {
    const u = await signUp(app);
    for (const path of ['/logout', '/account/delete', '/account/password']) {
      const res = await u.agent.get(path);
      expect(res.status, path).toBe(404);
    }
    expect(await loggedIn(u.agent)).toBe(true);
    expect((await app.pool.query('SELECT 1 FROM users WHERE id = $1', [u.id])).rowCount).toBe(1);
  });
});

describe('session ids', () => {
  async function plantedThenUsed(kind: 'signup' | 'login') {
    const existing = kind === 'login' ? await signUp(app) : undefined;
    // The attacker gets a session of their own and plants its cookie in the victim's browser.
    const page = await request(app.baseUrl).get(kind === 'signup' ? '/signup' : '/login');
    const planted = sessionCookie(page);
    expect(planted, 'a cookie to plant').toBeDefined();
    const form =
      kind === 'signup'
        ? { email: uniqueEmail('victim'), displayName: 'Victim', password: 'victim password' }
        : { email: existing!.email, password: existing!.password };
    // The victim's browser sends the planted cookie with its login.
    const res = await request(app.baseUrl)
      .post(`/${kind}`)
      .set('Cookie', planted!)
      .type('form')
      .send({ ...form, _csrf: csrfFrom(page.text) });
    expect(res.status).toBe(303);
    const fresh = sessionCookie(res);
    expect(fresh, 'a new cookie at login').toBeDefined();
    expect(fresh).not.toBe(planted);
    expect((await request(app.baseUrl).get('/account').set('Cookie', fresh!)).status).toBe(200);
    // The attacker's planted cookie is nobody, over HTTP and for sockets.
    const attacker = await request(app.baseUrl).get('/account').set('Cookie', planted!);
    expect(attacker.status).toBe(303);
    expect((await refusal(app.baseUrl, planted)).message).toBe('unauthorized');
  }

  it('signing up gives a new session id: a cookie planted before is not logged in', async () => {
    await plantedThenUsed('signup');
  });

  it('logging in gives a new session id: a cookie planted before is not logged in', async () => {
    await plantedThenUsed('login');
  });
});

describe('ending sessions', () => {
  it('after logging out, the old cookie is dead over HTTP and for sockets, and its open sockets were closed', async () => {
    const u = await signUp(app);
    const cookie = await cookieOf(u.agent);
    const token = await tokenFor(u.agent, '/');
    const tab = await openSocket(app.baseUrl, cookie);
    const gone = disconnection(tab);
    expect((await u.agent.post('/logout').type('form').send({ _csrf: token })).status).toBe(303);
    expect(await gone).toBe('io server disconnect');

    const replay = request.agent(app.baseUrl);
    const page = await replay.get('/account').set('Cookie', cookie);
    expect(page.status).toBe(303);
    const forged = await request(app.baseUrl)
      .post(`/conversations`)
      .set('Cookie', cookie)
      .type('form')
      .send({ email: 'someone@example.com', _csrf: token });
    expect(forged.status).toBe(403);
    expect((await refusal(app.baseUrl, cookie)).message).toBe('unauthorized');
    expect(
      (await app.pool.query(`SELECT 1 FROM session WHERE sess ->> 'userId' = $1`, [String(u.id)]))
        .rowCount,
    ).toBe(0);
  });

  it('changing the password disconnects the other sessions’ sockets and kills their cookies; the session that changed it keeps its sockets', async () => {
    const u = await signUp(app, { displayName: 'Changer' });
    const bystander = await signUp(app, { displayName: 'Bystander' });
    const laptopTabs = [
      await openSocket(app.baseUrl, await cookieOf(u.agent)),
      await openSocket(app.baseUrl, await cookieOf(u.agent)),
    ];
    const phone = await logInAgain(app, u);
    const phoneTabs = [
      await openSocket(app.baseUrl, phone.cookie),
      await openSocket(app.baseUrl, phone.cookie),
    ];
    const bystanderTab = await openSocket(app.baseUrl, await cookieOf(bystander.agent));
    const dropped = new Set<ClientSocket>();
    for (const s of [...laptopTabs, bystanderTab]) s.on('disconnect', () => dropped.add(s));
    const gone = Promise.all(phoneTabs.map((s) => disconnection(s)));

    const res = await post(
      u.agent,
      '/account/password',
      { currentPassword: u.password, newPassword: 'a fresh new password' },
      '/account',
    );
    expect(res.status).toBe(303);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    await sleep(300);
    expect(dropped.size).toBe(0);
    for (const s of [...laptopTabs, bystanderTab]) {
      expect(s.connected).toBe(true);
      expect(await ask(s, 'inbox:sync', {})).toMatchObject({ ok: true });
    }
    expect((await u.agent.get('/account')).text).toContain('Your password was changed');
    expect((await request(app.baseUrl).get('/account').set('Cookie', phone.cookie)).status).toBe(
      303,
    );
    expect((await refusal(app.baseUrl, phone.cookie)).message).toBe('unauthorized');
    // The laptop's cookie still opens sockets.
    expect((await openSocket(app.baseUrl, await cookieOf(u.agent))).connected).toBe(true);
  });
});

describe('cookies', () => {
  it('the session cookie is HttpOnly, SameSite=Lax, host-only on path /, whenever it is set', async () => {
    const visitor = request.agent(app.baseUrl);
    const page = await visitor.get('/signup');
    const email = uniqueEmail('cookie');
    const signup = await visitor
      .post('/signup')
      .type('form')
      .send({
        email,
        displayName: 'Cookie',
        password: 'cookie password',
        _csrf: csrfFrom(page.text),
      });
    const rolling = await visitor.get('/');
    const other = request.agent(app.baseUrl);
    const loginPage = await other.get('/login');
    const login = await other
      .post('/login')
      .type('form')
      .send({ email, password: 'cookie password', _csrf: csrfFrom(loginPage.text) });
    let checked = 0;
    for (const [label, res] of [
      ['GET /signup', page],
      ['POST /signup', signup],
      ['GET / (rolling)', rolling],
      ['GET /login', loginPage],
      ['POST /login', login],
    ] as const) {
      const cookie = setCookies(res).find((c) => c.startsWith('chat.sid='));
      expect(cookie, label).toBeDefined();
      const attrs = cookie!.split(';').map((a) => a.trim().toLowerCase());
      expect(attrs, label).toContain('httponly');
      expect(attrs, label).toContain('samesite=lax');
      expect(attrs, label).toContain('path=/');
      expect(
        attrs.some((a) => a.startsWith('domain=')),
        label,
      ).toBe(false);
      checked++;
    }
    expect(checked).toBe(5);
  });
});

describe('in production behind a TLS proxy', () => {
  let prod: CustomApp;
  beforeAll(async () => {
    prod = await startCustomApp({ config: { isProduction: true, trustProxy: 1 } });
  });
  afterAll(async () => {
    await prod?.close();
  });

  const https = (r: request.Test) => r.set('X-Forwarded-Proto', 'https');
  const cookieLine = (res: request.Response) =>
    setCookies(res).find((c) => c.startsWith('chat.sid='));

  it('the session cookie is Secure and HSTS is sent; over plain HTTP no session cookie is handed out', async () => {
    const page = await https(request(prod.baseUrl).get('/signup'));
    expect(page.status).toBe(200);
    const hsts = String(page.headers['strict-transport-security']);
    const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(180 * 24 * 3600);
    expect(String(page.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
    const first = cookieLine(page);
    expect(first).toBeDefined();
    expect(first!.split(';').map((a) => a.trim().toLowerCase())).toEqual(
      expect.arrayContaining(['secure', 'httponly', 'samesite=lax']),
    );

    // Sign up and log in over "https": every cookie handed out is Secure.
    const email = uniqueEmail('prod');
    const jar = first!.split(';')[0]!;
    const signup = await https(request(prod.baseUrl).post('/signup'))
      .set('Cookie', jar)
      .type('form')
      .send({ email, displayName: 'Prod', password: 'production pw', _csrf: csrfFrom(page.text) });
    expect(signup.status).toBe(303);
    const loggedInCookie = cookieLine(signup);
    expect(loggedInCookie).toMatch(/;\s*Secure/i);
    const home = await https(request(prod.baseUrl).get('/')).set(
      'Cookie',
      loggedInCookie!.split(';')[0]!,
    );
    expect(home.text).toContain('Welcome back, <bdi>Prod</bdi>!');
    expect(cookieLine(home)).toMatch(/;\s*Secure/i);

    // Without the proxy's word that the browser used TLS, the cookie is never sent out.
    const plain = await request(prod.baseUrl).get('/signup');
    expect(plain.status).toBe(200);
    expect(cookieLine(plain)).toBeUndefined();
  });

  it('in development there is no HSTS (it would stick to localhost)', async () => {
    const res = await request(app.baseUrl).get('/login');
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});

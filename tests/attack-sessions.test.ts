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
import { setCookies, snapshot } from './support/attack.js';

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
    // A visitor has no session to plant (see below): the attacker plants one of their own account.
    const attacker = await signUp(app, { displayName: 'Attacker' });
    const planted = await cookieOf(attacker.agent);
    const token = await tokenFor(attacker.agent, '/');
    const attackerTab = await openSocket(app.baseUrl, planted);
    const gone = disconnection(attackerTab);
    const form =
      kind === 'signup'
        ? { email: uniqueEmail('victim'), displayName: 'Victim', password: 'victim password' }
        : { email: existing!.email, password: existing!.password };
    // The victim's browser sends the planted cookie with its login.
    const res = await request(app.baseUrl)
      .post(`/${kind}`)
      .set('Cookie', planted)
      .type('form')
      .send({ ...form, _csrf: token });
    expect(res.status).toBe(303);
    const fresh = sessionCookie(res);
    expect(fresh, 'a new cookie at login').toBeDefined();
    expect(fresh).not.toBe(planted);
    expect((await request(app.baseUrl).get('/account').set('Cookie', fresh!)).status).toBe(200);
    // The attacker's planted cookie is nobody, over HTTP and for sockets, and its socket was dropped.
    const attackerPage = await request(app.baseUrl).get('/account').set('Cookie', planted);
    expect(attackerPage.status).toBe(303);
    expect((await refusal(app.baseUrl, planted)).message).toBe('unauthorized');
    expect(await gone).toBe('io server disconnect');
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

  it('changing the password disconnects every session’s sockets and kills the old cookies; the browser that changed it is still logged in with a new cookie', async () => {
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
    bystanderTab.on('disconnect', () => dropped.add(bystanderTab));
    const gone = Promise.all([...phoneTabs, ...laptopTabs].map((s) => disconnection(s)));
    const laptopCookie = await cookieOf(u.agent);

    const res = await post(
      u.agent,
      '/account/password',
      { currentPassword: u.password, newPassword: 'a fresh new password' },
      '/account',
    );
    expect(res.status).toBe(303);
    // The laptop's session got a new id too (a copy of its cookie must not keep working):
    // its tabs are dropped and reconnect with the new cookie the browser now holds.
    expect(await gone).toEqual(Array(4).fill('io server disconnect'));
    await sleep(300);
    expect(dropped.size).toBe(0);
    expect(await ask(bystanderTab, 'inbox:sync', {})).toMatchObject({ ok: true });
    expect((await u.agent.get('/account')).text).toContain('Your password was changed');
    for (const old of [phone.cookie, laptopCookie]) {
      expect((await request(app.baseUrl).get('/account').set('Cookie', old)).status).toBe(303);
      expect((await refusal(app.baseUrl, old)).message).toBe('unauthorized');
    }
    const reconnected = await openSocket(app.baseUrl, await cookieOf(u.agent));
    expect(await ask(reconnected, 'inbox:sync', {})).toMatchObject({ ok: true });
  });
});

describe('cookies', () => {
  it('the session and form-token cookies are HttpOnly, SameSite=Lax, host-only on path /, whenever they are set', async () => {
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
    // A visitor gets only the form-token cookie; the session cookie comes with the login.
    for (const [label, res, name] of [
      ['GET /signup', page, 'chat.csrf'],
      ['POST /signup', signup, 'chat.sid'],
      ['GET / (rolling)', rolling, 'chat.sid'],
      ['GET /login', loginPage, 'chat.csrf'],
      ['POST /login', login, 'chat.sid'],
    ] as const) {
      const cookie = setCookies(res).find((c) => c.startsWith(`${name}=`));
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

describe('visitors', () => {
  const sessionRows = async () =>
    (await app.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM session')).rows[0]!.n;

  it('3,000 anonymous visits to the form pages store no session at all', async () => {
    const before = await sessionRows();
    const paths = ['/login', '/signup', '/', '/login?next=%2Faccount', '/nowhere'];
    let done = 0;
    await Promise.all(
      Array.from({ length: 25 }, async (_, worker) => {
        for (let i = worker; i < 3000; i += 25) {
          const res = await request(app.baseUrl).get(paths[i % paths.length]!);
          expect(sessionCookie(res)).toBeUndefined();
          done++;
        }
      }),
    );
    expect(done).toBe(3000);
    expect(await sessionRows()).toBe(before);
  }, 120_000);

  it('a first-time visitor without JavaScript signs up and logs in through the plain forms', async () => {
    const email = uniqueEmail('first');
    const browser = request.agent(app.baseUrl);
    const signupPage = await browser.get('/signup');
    const signup = await browser
      .post('/signup')
      .type('form')
      .send({
        email,
        displayName: 'First',
        password: 'first visit pw',
        _csrf: csrfFrom(signupPage.text),
      });
    expect(signup.status).toBe(303);
    expect((await browser.get('/')).text).toContain('First');

    const other = request.agent(app.baseUrl);
    const loginPage = await other.get('/login');
    const bad = await other
      .post('/login')
      .type('form')
      .send({ email, password: 'wrong password', _csrf: csrfFrom(loginPage.text) });
    expect(bad.status).toBe(401);
    // The page shown again after a failure carries a token that works.
    const login = await other
      .post('/login')
      .type('form')
      .send({ email, password: 'first visit pw', _csrf: csrfFrom(bad.text) });
    expect(login.status).toBe(303);
    expect(await loggedIn(other)).toBe(true);
  });

  it('a visitor’s form token works only with its own cookie: not alone, not with another visitor’s cookie', async () => {
    const u = await signUp(app);
    const victim = request.agent(app.baseUrl);
    await victim.get('/login'); // the victim's browser has a token cookie of its own
    const attacker = await request(app.baseUrl).get('/login');
    const attackerToken = csrfFrom(attacker.text);
    const form = { email: u.email, password: u.password, _csrf: attackerToken };
    const alone = await request(app.baseUrl).post('/login').type('form').send(form);
    const withVictims = await victim.post('/login').type('form').send(form);
    for (const res of [alone, withVictims]) {
      expect(res.status).toBe(403);
      expect(sessionCookie(res)).toBeUndefined();
    }
  });
});

describe('in production behind a TLS proxy', () => {
  let prod: TestApp;
  beforeAll(async () => {
    prod = await startTestApp({ config: { isProduction: true, trustProxy: 1 } });
  });
  afterAll(async () => {
    await prod?.close();
  });

  const https = (r: request.Test) => r.set('X-Forwarded-Proto', 'https');
  const cookieLine = (res: request.Response) =>
    setCookies(res).find((c) => c.startsWith('chat.sid='));

  it('the session and form-token cookies are Secure and HSTS is sent; over plain HTTP no session cookie is handed out', async () => {
    const page = await https(request(prod.baseUrl).get('/signup'));
    expect(page.status).toBe(200);
    expect(cookieLine(page), 'a visitor gets no session').toBeUndefined();
    const hsts = String(page.headers['strict-transport-security']);
    const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(180 * 24 * 3600);
    expect(String(page.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
    const first = setCookies(page).find((c) => c.startsWith('chat.csrf='));
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
    expect(home.text).toContain('Welcome, <bdi>Prod</bdi>!'); // the new account's first home
    expect(cookieLine(home)).toMatch(/;\s*Secure/i);

    // Without the proxy's word that the browser used TLS, the session cookie is never sent out.
    const plain = await request(prod.baseUrl)
      .post('/login')
      .set('Cookie', jar)
      .type('form')
      .send({ email, password: 'production pw', _csrf: csrfFrom(page.text) });
    expect(plain.status).toBe(303);
    expect(cookieLine(plain)).toBeUndefined();
  });

  it('in development there is no HSTS (it would stick to localhost)', async () => {
    const res = await request(app.baseUrl).get('/login');
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { migrate } from '../../src/core/db/migrate.js';
import {
  post,
  sessionCookie,
  signUp,
  startTestApp,
  tokenFor,
  uniqueEmail,
  type TestApp,
} from '../support/app.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

const countUsers = async () =>
  Number((await app.pool.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0]!.n);

describe('accounts', () => {
  it('a new user signs up, is greeted by name, logs out and logs in again', async () => {
    const u = await signUp(app, { displayName: 'Leo' });
    const home = await u.agent.get('/');
    expect(home.status).toBe(200);
    // A new account is greeted as new once; every later visit is a return.
    expect(home.text).toContain('<h1>Welcome, <bdi>Leo</bdi>!</h1>');
    expect(home.text).toContain('Log out');
    expect((await u.agent.get('/')).text).toContain('Welcome back, <bdi>Leo</bdi>!');

    const out = await post(u.agent, '/logout', {}, '/');
    expect(out.status).toBe(303);
    const after = await u.agent.get('/');
    expect(after.text).not.toMatch(/<h1>Welcome(?: back)?, /);
    expect(after.text).toContain('Log in');

    const login = await post(u.agent, '/login', { email: u.email, password: u.password });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    expect((await u.agent.get('/')).text).toContain('Welcome back, <bdi>Leo</bdi>!');
  });

  it('an email already used, typed in another case and with spaces, is refused and nothing is stored', async () => {
    const u = await signUp(app);
    const before = await countUsers();
    const agent = request.agent(app.baseUrl);
    const res = await post(agent, '/signup', {
      email: `  ${u.email.toUpperCase()} `,
      displayName: 'Copycat',
      password: 'another password',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('An account already uses that email');
    expect(res.text).toContain('value="Copycat"'); // what was typed is kept
    expect(res.text).not.toContain('another password');
    expect(await countUsers()).toBe(before);
  });

  const invalidCases: Array<[string, Record<string, string>, string]> = [
    ['an address that is not an email', { email: 'foo.bar' }, 'Enter an email address like'],
    ['an email with no domain dot', { email: 'foo@bar' }, 'Enter an email address like'],
    ['an empty display name', { displayName: '   ' }, 'Enter a display name.'],
    ['a display name over 50 characters', { displayName: 'x'.repeat(51) }, 'at most 50 characters'],
    ['a password under 8 characters', { password: 'short' }, 'at least 8 characters'],
    ['a password over 72 bytes', { password: 'é'.repeat(37) }, 'at most 72 bytes'],
    ['a display name with a NUL byte', { displayName: 'a\u0000b' }, 'cannot be stored'],
  ];
  for (const [what, override, message] of invalidCases) {
    it(`signing up with ${what} gives 400 with a message next to the field and stores nothing`, async () => {
      const before = await countUsers();
      const agent = request.agent(app.baseUrl);
      const res = await post(agent, '/signup', {
        email: uniqueEmail(),
        displayName: 'Someone',
        password: 'long enough password',
        ...override,
      });
      expect(res.status).toBe(400);
      expect(res.text).toContain(message);
      expect(res.text).toContain('class="error"');
      expect(await countUsers()).toBe(before);
    });
  }

  it('a 50-character display name with emoji is fine (characters, not bytes, are counted)', async () => {
    const u = await signUp(app, { displayName: '🙂'.repeat(50) });
    expect((await u.agent.get('/')).text).toContain('🙂'.repeat(50));
  });

  it('a wrong password and an unknown email get the same answer', async () => {
    const u = await signUp(app);
    const a = await post(request.agent(app.baseUrl), '/login', {
      email: u.email,
      password: 'wrong password!',
    });
    const b = await post(request.agent(app.baseUrl), '/login', {
      email: uniqueEmail('nobody'),
      password: 'wrong password!',
    });
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    const msg = (t: string) => /<p class="error-box" role="alert">([^<]*)<\/p>/.exec(t)?.[1];
    expect(msg(a.text)).toBe('Wrong email or password.');
    expect(msg(b.text)).toBe(msg(a.text));
  });

  it('logging in gives a new session id, so a planted session cannot be reused', async () => {
    const u = await signUp(app);
    const before = sessionCookie(await u.agent.get('/'));
    expect(before).toBeDefined();
    const res = await post(u.agent, '/login', { email: u.email, password: u.password }, '/');
    expect(res.status).toBe(303);
    const after = sessionCookie(res);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
  });

  it('a form posted without the CSRF token is refused with 403 and changes nothing', async () => {
    const before = await countUsers();
    const agent = request.agent(app.baseUrl);
    await agent.get('/signup');
    const res = await agent
      .post('/signup')
      .type('form')
      .send({ email: uniqueEmail(), displayName: 'Forger', password: 'long enough password' });
    expect(res.status).toBe(403);
    expect(res.text).toContain('This form has expired');
    expect(await countUsers()).toBe(before);

    const u = await signUp(app);
    const del = await u.agent
      .post('/account/delete')
      .type('form')
      .send({ deletePassword: u.password });
    expect(del.status).toBe(403);
    expect((await u.agent.get('/')).text).toMatch(/<h1>Welcome(?: back)?, <bdi>/); // still in
  });

  it('changing the password needs the current one and logs out the other sessions', async () => {
    const u = await signUp(app);
    const other = request.agent(app.baseUrl);
    expect((await post(other, '/login', { email: u.email, password: u.password })).status).toBe(
      303,
    );

    const wrong = await post(
      u.agent,
      '/account/password',
      {
        currentPassword: 'not my password',
        newPassword: 'a brand new password',
      },
      '/account',
    );
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('That is not your current password.');

    const ok = await post(
      u.agent,
      '/account/password',
      {
        currentPassword: u.password,
        newPassword: 'a brand new password',
      },
      '/account',
    );
    expect(ok.status).toBe(303);
    expect((await u.agent.get('/account')).text).toContain('Your password was changed');
    // The other device is logged out; the old password no longer works, the new one does.
    expect((await other.get('/account')).status).toBe(303);
    expect(
      (await post(request.agent(app.baseUrl), '/login', { email: u.email, password: u.password }))
        .status,
    ).toBe(401);
    expect(
      (
        await post(request.agent(app.baseUrl), '/login', {
          email: u.email,
          password: 'a brand new password',
        })
      ).status,
    ).toBe(303);
  });

  it('deleting the account needs the password, removes the user and ends all their sessions', async () => {
    const u = await signUp(app);
    const other = request.agent(app.baseUrl);
    await post(other, '/login', { email: u.email, password: u.password });

    const wrong = await post(
      u.agent,
      '/account/delete',
      { deletePassword: 'nope nope' },
      '/account',
    );
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('That is not your current password.');
    expect((await app.pool.query('SELECT 1 FROM users WHERE id = $1', [u.id])).rowCount).toBe(1);

    const res = await post(u.agent, '/account/delete', { deletePassword: u.password }, '/account');
    expect(res.status).toBe(303);
    expect((await app.pool.query('SELECT 1 FROM users WHERE id = $1', [u.id])).rowCount).toBe(0);
    expect(
      (await app.pool.query(`SELECT 1 FROM session WHERE sess ->> 'userId' = $1`, [String(u.id)]))
        .rowCount,
    ).toBe(0);
    expect((await other.get('/account')).status).toBe(303);
    expect(
      (await post(request.agent(app.baseUrl), '/login', { email: u.email, password: u.password }))
        .status,
    ).toBe(401);
  });

  it('pages that need a login send a visitor to the login page and back afterwards', async () => {
    const u = await signUp(app);
    await post(u.agent, '/logout', {}, '/');
    const res = await u.agent.get('/account');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Faccount');
    const login = await post(
      u.agent,
      '/login',
      { email: u.email, password: u.password, next: '/account' },
      '/login?next=%2Faccount',
    );
    expect(login.headers.location).toBe('/account');
  });

  it('a return address that points to another site is ignored', async () => {
    const u = await signUp(app);
    for (const next of ['//evil.example', 'https://evil.example/', '/\\evil.example']) {
      await post(u.agent, '/logout', {}, '/');
      const res = await post(u.agent, '/login', { email: u.email, password: u.password, next });
      expect(res.headers.location).toBe('/');
    }
  });

  it('an unknown address gets a 404 page without any stack trace', async () => {
    const res = await request(app.baseUrl).get('/no/such/page');
    expect(res.status).toBe(404);
    expect(res.text).toContain('There is no page at this address.');
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('a body over the size limit is refused with 413, not a crash', async () => {
    const agent = request.agent(app.baseUrl);
    const _csrf = await tokenFor(agent, '/signup');
    const res = await agent
      .post('/signup')
      .type('form')
      .send({ _csrf, displayName: 'x'.repeat(200_000) });
    expect(res.status).toBe(413);
    expect((await request(app.baseUrl).get('/healthz')).status).toBe(200);
  });

  it('the health check reports the database as up', async () => {
    const res = await request(app.baseUrl).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, database: 'up' });
  });

  it('every page sends a CSP that allows no inline script and forbids framing', async () => {
    const res = await request(app.baseUrl).get('/login');
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    const cookie = (res.headers['set-cookie'] as unknown as string[]).join(';');
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it('applying the migrations a second time changes nothing', async () => {
    const schema = async () =>
      (
        await app.pool.query<{ table_name: string; column_name: string; data_type: string }>(
          `SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'public' ORDER BY 1, 2`,
        )
      ).rows;
    const before = await schema();
    expect(await migrate(app.pool)).toEqual([]);
    expect(await migrate(app.pool)).toEqual([]);
    expect(await schema()).toEqual(before);
  });
});

describe('login rate limit', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp({ rateLimit: true });
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('the sixth fast wrong login for one account is slowed with a 429 page', async () => {
    const u = await signUp(limited);
    const agent = request.agent(limited.baseUrl);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await post(agent, '/login', { email: u.email, password: `wrong ${i} password` })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const last = await post(agent, '/login', { email: u.email, password: u.password });
    expect(last.status).toBe(429);
    expect(last.text).toContain('Too many attempts');
    // Another account from the same place is not locked out by it.
    const v = await signUp(limited);
    expect(
      (
        await post(request.agent(limited.baseUrl), '/login', {
          email: v.email,
          password: v.password,
        })
      ).status,
    ).toBe(303);
  });
});

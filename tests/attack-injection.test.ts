// Attack suite: hostile text in messages, names and search. It is stored exactly
// as typed, read back exactly, shown as text (escaped) and never run, in the
// HTML and in a real browser; NUL is refused with words; the return address
// after login stays inside the site.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
  askRaw,
  closeSockets,
  cookieOf,
  openDirect,
  openSocket,
  send,
  waitFor,
  type ClientSocket,
} from './support/sockets.js';
import { escapeHtml } from './support/attack.js';
import { renderBody } from '../src/features/messages/render.js';
import { hasChromium, launchBrowser } from './support/browser.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterEach(() => closeSockets());
afterAll(async () => {
  closeSockets();
  await app?.close();
});

const LONG = `${'<&"\'>'}${'x'.repeat(15)}`.repeat(200); // 4,000 characters, one line, markup included
// The third entry is the inbox preview (first line, at most 80 characters) where it is not the body.
const BODIES: Array<[string, string, string?]> = [
  ['a script tag', '<script>alert(1)</script>'],
  ['an attribute breakout with an onerror image', '"><img src=x onerror=alert(1)>'],
  ['SQL', "'; DROP TABLE users; --"],
  ['the three characters %00', '%00'],
  [
    'a 4,000-character single line of markup',
    LONG,
    `<&"'>xxxxxxxxxxxxxxx<&"'>xxxxxxxxxxxxxxx<&"'>xxxxxxxxxxxxxxx<&"'>xxxxxxxxxxxxxxx…`,
  ],
  ['emoji with ZWJ sequences and skin tones', '👩‍👩‍👧‍👦 👨🏽‍💻 🏳️‍🌈 🧑‍🤝‍🧑 ❤️‍🔥'],
  ['a right-to-left override', 'invoice\u202Egpj.exe'],
  ['zero-width space, joiner, non-joiner and BOM', 'a\u200Bb\u200Dc\u200Cd\uFEFFe'],
  ['combining characters', 'e\u0301 n\u0303 Z\u0351\u0337\u0320a\u0308\u0316l\u0353go'],
  ['CRLF lines and a tab', 'one\r\ntwo\tthree\nfour', 'one'],
  ['entities typed literally', '&lt;script&gt; &amp; &#34; &#x3C;'],
  // The inbox preview reads as the message is shown: "*7} {{7*" is emphasis, its marks go.
  [
    'template syntax',
    '<%= process.env %> ${7*7} {{7*7}} #{7*7}',
    '<%= process.env %> ${77} {{77}} #{7*7}',
  ],
  ['a javascript: URL', 'javascript:alert(document.cookie)'],
];
// [what, name typed, name kept]: invisible formatting characters (bidi controls,
// zero-width characters) are dropped from names; everything else is kept exactly.
const NAMES: Array<[string, string, string?]> = [
  ['a script tag', '<script>alert(1)</script>'],
  ['an attribute breakout', '"><img src=x onerror=alert(1)>'],
  ['SQL', "Robert'); DROP TABLE users; --"],
  ['%00', '%00'],
  ['emoji with ZWJ', '👩‍👩‍👧‍👦 family 🏳️‍🌈'],
  ['a right-to-left override', 'Ann\u202Egpj.exe', 'Anngpj.exe'],
  ['zero-width characters', 'Ze\u200Bro\u200Dwi\u200Cdth', 'Zerowidth'],
  ['combining characters', 'Zalgo Z\u0351\u0337a\u0308\u0316'],
  ['template syntax', '<%= 7*7 %> {{7*7}}'],
];

async function storedBytes(id: number): Promise<string> {
  const { rows } = await app.pool.query<{ hex: string }>(
    `SELECT encode(convert_to(body, 'UTF8'), 'hex') AS hex FROM messages WHERE id = $1`,
    [id],
  );
  return rows[0]!.hex;
}
const bytesOf = (s: string) => Buffer.from(s, 'utf8').toString('hex');

function expectShownAsText(html: string, text: string, label: string) {
  expect(html, label).toContain(escapeHtml(text));
  if (/[<>"]/.test(text)) expect(html, label).not.toContain(text);
}

function expectNoLiveMarkup(html: string, label: string) {
  expect(html, label).not.toMatch(/<script>alert|<img src=x|<script>document/i);
}

describe('message bodies', () => {
  let ann: TestUser;
  let bo: TestUser;
  let conversationId: number;
  beforeAll(async () => {
    ann = await signUp(app, { displayName: 'Ann' });
    bo = await signUp(app, { displayName: 'Bo' });
    conversationId = await openDirect(ann, bo);
  });

  it(`${BODIES.length} hostile bodies sent over the socket and by the form are stored byte for byte, read back exactly, and shown as escaped text`, async () => {
    expect([...LONG].length).toBe(4000);
    const annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const boTab = await openSocket(app.baseUrl, await cookieOf(bo.agent));
    const token = await tokenFor(ann.agent, `/conversations/${conversationId}`);
    const sent: Array<{ id: number; body: string; label: string }> = [];
    for (const [what, body, preview = body] of BODIES) {
      // Live, over the socket: the ack and Bo's copy carry the exact text.
      const live = waitFor(boTab, 'message:new', (m) => m.body === body);
      const m = await send(annTab, conversationId, body);
      expect(m.body, what).toBe(body);
      expect((await live).body, what).toBe(body);
      sent.push({ id: m.id, body, label: `${what} (socket)` });
      const inbox = await bo.agent.get('/inbox');
      expect(inbox.text, `${what}: Bo's inbox preview`).toContain(
        `<span class="preview"><bdi class="preview-text">${escapeHtml(preview)}</bdi></span>`,
      );
      expectNoLiveMarkup(inbox.text, `${what}: Bo's inbox`);

      // Without JavaScript, by the form.
      const res = await ann.agent
        .post(`/conversations/${conversationId}/messages`)
        .type('form')
        .send({ body, clientId: crypto.randomUUID(), _csrf: token });
      expect(res.status, what).toBe(303);
      const id = Number(/#m(\d+)$/.exec(String(res.headers.location))?.[1]);
      sent.push({ id, body, label: `${what} (form)` });
    }

    // In the database, byte for byte.
    for (const { id, body, label } of sent)
      expect(await storedBytes(id), label).toBe(bytesOf(body));
    // Read back by sync, exactly.
    const sync = await ask(boTab, 'sync', { conversationId, after: 0 });
    if (!sync.ok) throw new Error('sync failed');
    expect(sync.messages.map((m) => [m.id, m.body])).toEqual(sent.map((s) => [s.id, s.body]));

    // On the page and in the "older" fragment: escaped text, as the one renderer makes it.
    const page = await bo.agent.get(`/conversations/${conversationId}`);
    const older = await bo.agent.get(
      `/conversations/${conversationId}/older?before=${sent.at(-1)!.id + 1}`,
    );
    for (const [where, html] of [
      ['page', page.text],
      ['older fragment', older.text],
    ] as const) {
      for (const { body, label } of sent) {
        expect(html, `${label} on the ${where}`).toContain(
          `<div class="body">${renderBody(body)}</div>`,
        );
        if (/[<>"]/.test(body)) expect(html, `${label} on the ${where}`).not.toContain(body);
      }
      expectNoLiveMarkup(html, where);
    }
    expect(sent.length).toBe(BODIES.length * 2);
  });

  it('a NUL character is refused with words (PostgreSQL cannot store it), over the socket and the form, and nothing is stored', async () => {
    const annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    const count = async () =>
      (await app.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM messages')).rows[0]!.n;
    const before = await count();
    for (const body of ['a\u0000b', '\u0000', `${'x'.repeat(100)}\u0000`]) {
      expect(
        await askRaw(annTab, 'message:send', {
          conversationId,
          body,
          clientId: crypto.randomUUID(),
        }),
      ).toEqual({
        ok: false,
        error: {
          code: 'invalid',
          message: 'The message contains a character that cannot be stored (NUL or half an emoji).',
        },
      });
    }
    const token = await tokenFor(ann.agent, `/conversations/${conversationId}`);
    for (const raw of ['a%00b', '%00', 'x%00%00']) {
      const res = await ann.agent
        .post(`/conversations/${conversationId}/messages`)
        .type('form')
        .send(`body=${raw}&_csrf=${token}`);
      expect(res.status, raw).toBe(400);
      expect(res.text, raw).toContain('cannot be stored (NUL or half an emoji)');
    }
    expect(await count()).toBe(before);
  });

  it('a lone surrogate half (not valid Unicode) is refused with words, not silently stored as something else', async () => {
    // PostgreSQL stores UTF-8; a lone surrogate cannot be encoded and would become U+FFFD.
    const annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
    for (const body of ['x\uD800y', '\uDC00', 'ok \uD83D']) {
      const ack = (await askRaw(annTab, 'message:send', {
        conversationId,
        body,
        clientId: crypto.randomUUID(),
      })) as { ok: boolean; message?: { id: number; body: string } };
      if (ack.ok) {
        // If it is accepted, what was acked must be what is stored.
        const { rows } = await app.pool.query<{ body: string }>(
          'SELECT body FROM messages WHERE id = $1',
          [ack.message!.id],
        );
        expect(
          { stored: JSON.stringify(rows[0]!.body) },
          `${JSON.stringify(body)} was acked as ${JSON.stringify(ack.message!.body)}`,
        ).toEqual({ stored: JSON.stringify(ack.message!.body) });
      }
      expect(ack, JSON.stringify(body)).toMatchObject({ ok: false, error: { code: 'invalid' } });
    }
  });
});

describe('display names and search input', () => {
  it(`${NAMES.length} hostile display names are stored exactly (less invisible characters) and shown as isolated, escaped text in the inbox, the conversation, the search result and the account page`, async () => {
    const viewer = await signUp(app, { displayName: 'Viewer' });
    const viewerTab = await openSocket(app.baseUrl, await cookieOf(viewer.agent));
    let checked = 0;
    for (const [what, typed, kept] of NAMES) {
      const name = kept ?? typed;
      const u = await signUp(app, { displayName: typed });
      const { rows } = await app.pool.query<{ hex: string }>(
        `SELECT encode(convert_to(display_name, 'UTF8'), 'hex') AS hex FROM users WHERE id = $1`,
        [u.id],
      );
      expect(rows[0]!.hex, what).toBe(bytesOf(name));

      const id = await openDirect(u, viewer);
      const live = waitFor(viewerTab, 'message:new', (m) => m.conversationId === id);
      await send(await openSocket(app.baseUrl, await cookieOf(u.agent)), id, `hello from ${what}`);
      expect((await live).senderName, what).toBe(name);

      const pages: Array<[string, string, string]> = [
        [
          'inbox',
          (await viewer.agent.get('/')).text,
          `<span class="who"><bdi>${escapeHtml(name)}</bdi></span>`,
        ],
        [
          'conversation',
          (await viewer.agent.get(`/conversations/${id}`)).text,
          `<span class="sender"><bdi>${escapeHtml(name)}</bdi></span>`,
        ],
        [
          'search result',
          (await viewer.agent.get('/search').query({ email: u.email })).text,
          `<p class="result-name"><bdi>${escapeHtml(name)}</bdi></p>`,
        ],
        [
          'own home',
          (await u.agent.get('/')).text,
          `Welcome back, <bdi>${escapeHtml(name)}</bdi>!`,
        ],
        [
          'own account',
          (await u.agent.get('/account')).text,
          `<dd><bdi>${escapeHtml(name)}</bdi></dd>`,
        ],
      ];
      for (const [where, html, expected] of pages) {
        expect(html, `${what} on ${where}`).toContain(expected);
        expectShownAsText(html, name, `${what} on ${where}`);
        expectNoLiveMarkup(html, `${what} on ${where}`);
        checked++;
      }
      const conversationPage = pages[1]![1];
      expect(conversationPage, `${what} as the conversation heading`).toContain(
        `<h1><bdi>${escapeHtml(name)}</bdi></h1>`,
      );
      expect(conversationPage).toContain(
        `<title>\u2068${escapeHtml(name)}\u2069 · Leo's Chat room</title>`,
      );
    }
    expect(checked).toBe(NAMES.length * 5);
  });

  it('a display name with a NUL is refused with words, and an email with a quote is just an email', async () => {
    const agent = request.agent(app.baseUrl);
    const res = await post(agent, '/signup', {
      email: uniqueEmail(),
      displayName: 'Nul\u0000Name',
      password: 'long enough password',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain(
      'Display name contains a character that cannot be stored (NUL or half an emoji).',
    );

    const quoted = `o'brien--${Date.now()}@example.com`;
    const u = await signUp(app, { email: quoted, displayName: 'Quote' });
    const viewer = await signUp(app);
    const found = await viewer.agent.get('/search').query({ email: quoted.toUpperCase() });
    expect(found.status).toBe(200);
    expect(found.text).toContain('<p class="result-name"><bdi>Quote</bdi></p>');
    // The Message button carries the email (escaped), and it opens the chat with Quote.
    expect(found.text).toContain(`name="email" value="${escapeHtml(u.email)}"`);
    const opened = await post(viewer.agent, '/conversations', { email: u.email }, '/search');
    expect(opened.status).toBe(303);
  });

  it(`search input with ${BODIES.length + 2} hostile strings is refused with words and echoed back only as escaped text`, async () => {
    const u = await signUp(app);
    const inputs: Array<[string, string]> = [
      ...BODIES.map(([what, text]): [string, string] => [what, text]),
      ['a NUL', 'a\u0000b@example.com'],
      ['markup around an at sign', '<script>alert(1)</script>@example.com'],
    ];
    for (const [what, text] of inputs) {
      const res = await u.agent.get('/search').query({ email: text });
      expect(res.status, what).toBe(400);
      expect(res.text, what).toMatch(/Enter an email address|too long/);
      if (!text.includes('\u0000')) {
        expect(res.text, what).toContain(`value="${escapeHtml(text)}"`);
        expectShownAsText(res.text, text, what);
      }
      expectNoLiveMarkup(res.text, what);
    }
  });

  it('a NUL in the login email is refused with words like any wrong login, not answered with a 500', async () => {
    const u = await signUp(app);
    const agent = request.agent(app.baseUrl);
    const token = await tokenFor(agent, '/login');
    for (const email of ['a%00b%40example.com', `${encodeURIComponent(u.email)}%00`, '%00']) {
      const res = await agent
        .post('/login')
        .type('form')
        .send(`email=${email}&password=whatever+it+is&_csrf=${token}`);
      expect(res.status, email).toBeGreaterThanOrEqual(400);
      expect(res.status, email).toBeLessThan(500);
    }
  });
});

describe('headers', () => {
  it('every kind of page sends a CSP that allows no inline script, no eval and no framing', async () => {
    const u = await signUp(app);
    const v = await signUp(app);
    const id = await openDirect(u, v);
    const pages = [
      ['/', request(app.baseUrl)],
      ['/login', request(app.baseUrl)],
      ['/signup', request(app.baseUrl)],
      ['/no/such/page', request(app.baseUrl)],
      ['/', u.agent],
      ['/inbox', u.agent],
      ['/search?email=x', u.agent],
      ['/account', u.agent],
      [`/conversations/${id}`, u.agent],
      [`/conversations/${id}/older`, u.agent],
      ['/conversations/999999', u.agent],
    ] as const;
    for (const [path, client] of pages) {
      const res = await client.get(path);
      const csp = String(res.headers['content-security-policy']);
      const directives = new Map(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name!, values] as const;
        }),
      );
      const scriptSrc = directives.get('script-src') ?? directives.get('default-src');
      expect(scriptSrc, `${path} script-src`).toEqual(["'self'"]);
      expect(directives.get('default-src'), path).toEqual(["'self'"]);
      for (const name of ['default-src', 'script-src', 'script-src-elem', 'script-src-attr']) {
        for (const bad of ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", '*', 'data:']) {
          expect(directives.get(name) ?? [], `${path} ${name}`).not.toContain(bad);
        }
      }
      expect(directives.get('frame-ancestors'), path).toEqual(["'none'"]);
      expect(directives.get('object-src'), path).toEqual(["'none'"]);
      expect(directives.get('base-uri'), path).toEqual(["'none'"]);
      expect(res.headers['x-content-type-options'], path).toBe('nosniff');
    }
  });
});

describe('the return address after login', () => {
  const OUTSIDE = [
    '//evil.example',
    '//evil.example/path',
    'https://evil.example',
    'HTTPS://evil.example/',
    'http:evil.example',
    '/\\evil.example',
    '/\\/evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    '%2F%2Fevil.example', // typed literally
    '/\t/evil.example',
    '/\r\nSet-Cookie: planted=1',
    ' //evil.example',
  ];
  const RAW_OUTSIDE = ['%2F%2Fevil.example', '%2F%5Cevil.example', '%2F%09%2Fevil.example']; // decoded by the form parser

  it(`${OUTSIDE.length + RAW_OUTSIDE.length} addresses that leave the site send you to / after login`, async () => {
    const u = await signUp(app);
    let tried = 0;
    const logIn = async (body: string, agent = request.agent(app.baseUrl)) => {
      const token = await tokenFor(agent, '/login');
      return agent.post('/login').type('form').send(`${body}&_csrf=${token}`);
    };
    const creds = `email=${encodeURIComponent(u.email)}&password=${encodeURIComponent(u.password)}`;
    for (const next of OUTSIDE) {
      const res = await logIn(`${creds}&next=${encodeURIComponent(next)}`);
      expect(res.status, next).toBe(303);
      expect(res.headers.location, JSON.stringify(next)).toBe('/');
      expect(res.headers['set-cookie']?.toString() ?? '', next).not.toContain('planted');
      tried++;
    }
    for (const raw of RAW_OUTSIDE) {
      const res = await logIn(`${creds}&next=${raw}`);
      expect(res.headers.location, raw).toBe('/');
      tried++;
    }
    expect(tried).toBe(OUTSIDE.length + RAW_OUTSIDE.length);
  });

  it('already logged in, /login?next= sends you only inside the site, and the login form never carries an outside address', async () => {
    const u = await signUp(app);
    for (const next of OUTSIDE) {
      const res = await u.agent.get('/login').query({ next });
      expect(res.status, next).toBe(303);
      expect(res.headers.location, JSON.stringify(next)).toBe('/');
    }
    const visitor = request.agent(app.baseUrl);
    for (const next of OUTSIDE) {
      const page = await visitor.get('/login').query({ next });
      expect(page.text, next).not.toContain('name="next"');
    }
    // Inside addresses are kept, escaped in the form, and used.
    const inside = '/search?email="><script>alert(1)</script>';
    const page = await visitor.get('/login').query({ next: inside });
    expect(page.text).toContain(`name="next" value="${escapeHtml(inside)}"`);
    expectNoLiveMarkup(page.text, 'login form');
    const res = await post(
      visitor,
      '/login',
      { email: u.email, password: u.password, next: inside },
      '/login',
    );
    const target = new URL(String(res.headers.location), app.baseUrl);
    expect(target.origin).toBe(app.baseUrl);
    expect(target.pathname).toBe('/search');
  });

  it('odd but inside addresses resolve to this site', async () => {
    const u = await signUp(app);
    for (const next of [
      '/%2F/evil.example',
      '/%5C%5Cevil.example',
      '/./\\evil',
      '/.//evil.example',
      '/a/../../evil',
    ]) {
      const agent = request.agent(app.baseUrl);
      const res = await post(agent, '/login', { email: u.email, password: u.password, next });
      expect(res.status, `login with next=${next}`).toBe(303);
      const target = new URL(String(res.headers.location), app.baseUrl);
      expect(target.origin, next).toBe(app.baseUrl);
    }
  });
});

describe.skipIf(!hasChromium)('in a real browser', () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
  });

  const IMG = `<img src=x onerror="document.title='pwned'">`;
  const SCRIPT = `<script>document.title='pwned'</script>`;

  async function pageFor(user: TestUser): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext({ baseURL: app.baseUrl });
    contexts.push(context);
    const cookie = await cookieOf(user.agent);
    const eq = cookie.indexOf('=');
    await context.addCookies([
      { name: cookie.slice(0, eq), value: cookie.slice(eq + 1), url: app.baseUrl },
    ]);
    await context.addInitScript(() => {
      const w = window as unknown as { violations: string[] };
      w.violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.violations.push(`${e.violatedDirective} ${e.sample}`),
      );
    });
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    const problems: string[] = [];
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    return { page, problems };
  }

  /** Nothing ran and nothing became markup: the page is as the server and script meant it. */
  async function expectInert(page: Page, problems: string[], where: string) {
    expect(await page.title(), where).not.toBe('pwned');
    const dom = await page.evaluate(() => ({
      elements: document.body.querySelectorAll('img, script, iframe, object, embed, svg').length,
      handlers: [...document.body.querySelectorAll('*')].filter((e) =>
        [...e.attributes].some((a) => a.name.startsWith('on')),
      ).length,
      violations: (window as unknown as { violations: string[] }).violations,
    }));
    expect(dom, where).toEqual({ elements: 0, handlers: 0, violations: [] });
    expect(problems, where).toEqual([]);
  }

  it(
    'markup in messages and names, live over the socket, after a reload, in "Load older" and in the live inbox, is shown as text and never runs',
    { timeout: 60_000 },
    async () => {
      const ann = await signUp(app, { displayName: 'Ann Browser' });
      const bo = await signUp(app, { displayName: IMG });
      const conversationId = await openDirect(bo, ann);
      // Older history full of payloads, so "Load older" has some to fetch.
      for (let i = 0; i < 55; i++) {
        await app.ctx.writer.write({
          conversationId,
          senderId: bo.id,
          clientId: crypto.randomUUID(),
          body: i % 2 ? `${SCRIPT} ${i}` : `${IMG} ${i}`,
        });
      }
      const boTab: ClientSocket = await openSocket(app.baseUrl, await cookieOf(bo.agent));
      const { page, problems } = await pageFor(ann);

      await page.goto(`/conversations/${conversationId}`);
      await expect.poll(() => page.locator('#messages li.msg').count()).toBe(50);
      await expectInert(page, problems, 'first load');
      expect(await page.locator('h1').textContent()).toBe(IMG);

      // Live: Bo sends both payloads; Ann's page adds them as text.
      await send(boTab, conversationId, IMG);
      await send(boTab, conversationId, SCRIPT);
      const bodies = page.locator('#messages li.msg .body');
      await expect.poll(() => bodies.last().textContent(), { timeout: 10_000 }).toBe(SCRIPT);
      expect(await bodies.nth((await bodies.count()) - 2).textContent()).toBe(IMG);
      expect(await page.locator('#messages li.msg .sender').last().textContent()).toBe(IMG);
      // The script isolates the name as the server does: its bidi cannot reorder the time.
      expect(await page.locator('#messages li.msg .sender > bdi').last().textContent()).toBe(IMG);
      await expectInert(page, problems, 'live');

      // "Load older" brings server-made HTML in through a template: still text. Scrolling
      // the link into view may load the page by itself first (and remove the link), so the
      // click may find nothing to do; the count below is what must hold either way.
      await page
        .getByRole('link', { name: 'Load older messages' })
        .click({ timeout: 3_000 })
        .catch(() => undefined);
      await expect.poll(() => page.locator('#messages li.msg').count()).toBe(57);
      expect(await bodies.first().textContent()).toBe(`${IMG} 0`);
      await expectInert(page, problems, 'load older');

      await page.reload();
      await expect.poll(() => bodies.last().textContent()).toBe(SCRIPT);
      await expectInert(page, problems, 'after reload');

      // The home page's inbox is re-rendered by the server and swapped in live.
      await page.goto('/');
      const who = page.locator('#inbox .who');
      await expect.poll(() => who.first().textContent()).toBe(IMG);
      await send(boTab, conversationId, `${IMG} newest`);
      await expect
        .poll(() => page.locator('#inbox .preview').first().textContent(), { timeout: 10_000 })
        .toBe(`${IMG} newest`);
      await expectInert(page, problems, 'live inbox');
    },
  );
});

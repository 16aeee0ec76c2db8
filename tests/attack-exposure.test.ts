// Attack suite: what leaks without anyone breaking in — pages kept by the
// browser after logout, searched emails in the logs, source maps in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { signUp, startTestApp, type TestApp } from './support/app.js';
import { openDirect } from './support/sockets.js';
import { capturingLogger } from './support/attack.js';

describe('pages with someone’s data are not kept', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('every page of a logged-in user says Cache-Control: no-store, the home page included', async () => {
    const u = await signUp(app);
    const friend = await signUp(app);
    const conversationId = await openDirect(u, friend);
    const pages = [
      '/',
      '/inbox',
      '/account',
      '/search',
      `/search?email=${encodeURIComponent(friend.email)}`,
      `/conversations/${conversationId}`,
      `/conversations/${conversationId}/older?before=1`,
      '/no-such-page',
    ];
    for (const path of pages) {
      const res = await u.agent.get(path);
      expect(res.status, path).toBeLessThan(500);
      expect(res.headers['cache-control'], path).toBe('no-store');
    }
  });

  it('the script and style sheet come gzipped; a page with the form token and a search echoed does not (BREACH)', async () => {
    const u = await signUp(app);
    for (const path of ['/static/app.js', '/static/style.css']) {
      const res = await request(app.baseUrl).get(path).set('Accept-Encoding', 'gzip');
      expect(res.status, path).toBe(200);
      expect(res.headers['content-encoding'], path).toBe('gzip');
    }
    const page = await u.agent
      .get('/search?email=someone%40example.com')
      .set('Accept-Encoding', 'gzip');
    expect(page.status).toBe(200);
    expect(page.text).toContain('someone@example.com');
    expect(page.headers['content-encoding']).toBeUndefined();
  });
});

describe('request logs', () => {
  let app: TestApp;
  let lines: string[];
  beforeAll(async () => {
    const captured = capturingLogger('info');
    lines = captured.lines;
    app = await startTestApp({ logger: captured.logger });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a searched email never reaches the log, though the request is logged by its path', async () => {
    const u = await signUp(app);
    lines.length = 0;
    const secret = 'who.is.this@example.org';
    for (const q of [
      `email=${encodeURIComponent(secret)}`,
      `email=${secret}`,
      `x=1&email=${encodeURIComponent(secret)}`,
    ]) {
      expect((await u.agent.get(`/search?${q}`)).status).toBe(200);
    }
    const logged = lines.join('');
    expect(logged).toContain('"url":"/search"');
    expect(lines.filter((l) => l.includes('"url":"/search"'))).toHaveLength(3);
    expect(logged).not.toContain('who.is.this');
    expect(logged).not.toContain('example.org');
    expect(logged).not.toContain('email=');
  });
});

describe('source maps', () => {
  let dev: TestApp;
  let prod: TestApp;
  beforeAll(async () => {
    [dev, prod] = await Promise.all([
      startTestApp(),
      startTestApp({ config: { isProduction: true, trustProxy: 1 } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([dev?.close(), prod?.close()]);
  });

  it('the browser script’s source map is served in development only', async () => {
    const devMap = await request(dev.baseUrl).get('/static/app.js.map');
    expect(devMap.status).toBe(200);
    expect(devMap.text).toContain('"sources"');
    const prodMap = await request(prod.baseUrl)
      .get('/static/app.js.map')
      .set('X-Forwarded-Proto', 'https');
    expect(prodMap.status).toBe(404);
    expect(prodMap.text).not.toContain('"sources"');
    // The script itself is still served.
    const script = await request(prod.baseUrl)
      .get('/static/app.js')
      .set('X-Forwarded-Proto', 'https');
    expect(script.status).toBe(200);
  });
});

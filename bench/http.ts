// The app over HTTP as a browser uses it: one cookie jar per user (chat.sid, and a
// visitor's chat.csrf before login), CSRF tokens scraped from the pages, redirects not followed.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Samples } from './stats.js';

export interface Page {
  status: number;
  location: string | null;
  text: string;
}

export class Browser {
  private readonly jar = new Map<string, string>();

  /** The Cookie header this browser sends. */
  get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  constructor(readonly baseUrl: string) {}

  async request(
    method: 'GET' | 'POST',
    path: string,
    form?: Record<string, string>,
  ): Promise<Page> {
    const headers: Record<string, string> = { accept: 'text/html' };
    if (this.cookie) headers.cookie = this.cookie;
    let body: string | undefined;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(this.baseUrl + path, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(20_000),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const cleared = attrs.some((a) => /^\s*(max-age=0|expires=thu, 01 jan 1970)/i.test(a));
      if (cleared) this.jar.delete(name);
      else this.jar.set(name, pair.slice(eq + 1).trim());
    }
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  get(path: string): Promise<Page> {
    return this.request('GET', path);
  }

  /** Posts a form with the CSRF token of `from` (read fresh, as a browser would have it). */
  async post(path: string, form: Record<string, string>, from: string): Promise<Page> {
    const page = await this.get(from);
    return this.request('POST', path, { ...form, _csrf: csrfFrom(page.text, from) });
  }
}

export function csrfFrom(html: string, where = 'the page'): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error(`no CSRF token on ${where}`);
  return m[1];
}

export interface BenchUser {
  index: number;
  id: number;
  email: string;
  browser: Browser;
}

/** GET /signup, POST /signup (303 + a fresh chat.sid), then GET / for the user's id. */
export async function signUp(baseUrl: string, runId: string, index: number): Promise<BenchUser> {
  const browser = new Browser(baseUrl);
  const email = `bench-${runId}-${index}@example.com`;
  const form = await browser.get('/signup');
  if (form.status !== 200) throw new Error(`GET /signup answered ${form.status}`);
  const res = await browser.request('POST', '/signup', {
    email,
    displayName: `Bench user ${index}`,
    password: 'correct horse battery staple',
    _csrf: csrfFrom(form.text, '/signup'),
  });
  if (res.status !== 303) {
    throw new Error(`POST /signup answered ${res.status}: ${res.text.slice(0, 300)}`);
  }
  const home = await browser.get('/');
  const id = Number(/data-me="(\d+)"/.exec(home.text)?.[1]);
  if (home.status !== 200 || !id) throw new Error(`GET / after signup answered ${home.status}`);
  return { index, id, email, browser };
}

/** POST /conversations {email}: the one direct conversation of the two, as the search page does. */
export async function openDirect(from: BenchUser, to: BenchUser): Promise<number> {
  // Friends first (issue 13): between strangers the first few messages are a request, and a
  // sender who writes more before the other answers is told "waiting for them to accept".
  // Asking each other is accepting: the second request makes them friends.
  for (const [a, b] of [
    [from, to],
    [to, from],
  ] as const) {
    const asked = await a.browser.post('/friends/requests', { email: b.email }, '/search');
    if (asked.status !== 303) throw new Error(`POST /friends/requests answered ${asked.status}`);
  }
  const res = await from.browser.post('/conversations', { email: to.email }, '/');
  const id = Number(/^\/conversations\/(\d+)$/.exec(res.location ?? '')?.[1]);
  if (res.status !== 303 || !id) {
    throw new Error(`POST /conversations answered ${res.status} ${res.location ?? ''}`);
  }
  return id;
}

/** The no-JavaScript send: POST /conversations/:id/messages (303 back to the conversation). */
/** Sends by the page's form; resolves to the stored message's id. */
export async function postMessage(
  user: BenchUser,
  conversationId: number,
  body: string,
  extra: Record<string, string> = {},
): Promise<number> {
  const path = `/conversations/${conversationId}`;
  const res = await user.browser.post(
    `${path}/messages`,
    { body, clientId: randomUUID(), ...extra },
    path,
  );
  if (res.status !== 303) throw new Error(`POST ${path}/messages answered ${res.status}`);
  return Number(/#m(\d+)$/.exec(res.location ?? '')?.[1]);
}

/** Reacts by the page's form (issue 15). */
export async function postReaction(
  user: BenchUser,
  conversationId: number,
  messageId: number,
  emoji: string,
): Promise<void> {
  const path = `/conversations/${conversationId}`;
  const res = await user.browser.post(`${path}/messages/${messageId}/reactions`, { emoji }, path);
  if (res.status !== 303) throw new Error(`POST reactions answered ${res.status}`);
}

/** Runs fn over the items with at most `limit` in flight; the first failure rejects. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: Error | undefined;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed ??= err instanceof Error ? err : new Error(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failed;
  return out;
}

export interface PageTiming {
  page: string;
  path: string;
  bytes: number;
  sequential: { requests: number; p50: number | null; p99: number | null; mean: number | null };
  /** The same requests timed inside the server (bench/server-probe.mjs): its own time. */
  server: { p50: number | null; p99: number | null } | null;
  /** Database transactions and WAL syncs per request (sequential phase, from pg_stat). */
  db: { commitsPerRequest: number; walSyncsPerRequest: number | null } | null;
  concurrent: {
    concurrency: number;
    seconds: number;
    requests: number;
    perSecond: number;
    p50: number | null;
    p99: number | null;
    errors: number;
  };
}

/**
 * Logged-in GETs over keep-alive node:http, each one timed: the time is the server's plus
 * loopback. One page at a time (sequential) or `concurrency` loops for a while.
 */
export class PageTimer {
  private readonly agent: http.Agent;

  constructor(
    private readonly baseUrl: string,
    private readonly cookie: string,
    private readonly concurrency: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  }

  once(path: string): Promise<{ ms: number; status: number; bytes: number }> {
    const url = new URL(path, this.baseUrl);
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.get(
        url,
        {
          agent: this.agent,
          headers: { cookie: this.cookie, accept: 'text/html' },
          timeout: 20_000,
        },
        (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () =>
            resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, bytes }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on('error', reject);
    });
  }

  /** n requests one after the other; any status but 200 fails. Returns the samples and size. */
  async sequential(path: string, n: number): Promise<{ samples: Samples; bytes: number }> {
    const samples = new Samples();
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const r = await this.once(path);
      if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}`);
      samples.add(r.ms);
      bytes = r.bytes;
    }
    return { samples, bytes };
  }

  async concurrent(path: string, seconds: number): Promise<PageTiming['concurrent']> {
    const samples = new Samples();
    let errors = 0;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    await Promise.all(
      Array.from({ length: this.concurrency }, async () => {
        while (performance.now() < deadline) {
          try {
            const r = await this.once(path);
            if (r.status === 200) samples.add(r.ms);
            else errors++;
          } catch {
            errors++;
          }
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    return {
      concurrency: this.concurrency,
      seconds: Math.round(elapsed * 10) / 10,
      requests: samples.count,
      perSecond: Math.round(samples.count / elapsed),
      p50: samples.p(0.5),
      p99: samples.p(0.99),
      errors,
    };
  }

  close(): void {
    this.agent.destroy();
  }
}

// "Download my data": a JSON file, streamed, with the user's profile, friends and the
// messages they can read (the member history rule), and nothing of anyone else's.
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChat, post, sendByForm, signUp, startTestApp, tokenFor } from '../support/app.js';
import type { TestApp, TestUser } from '../support/app.js';
import { cookieOf } from '../support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

interface Export {
  format: string;
  profile: { email: string; displayName: string };
  friends: Array<{ displayName: string; email: string }>;
  blocked: Array<{ displayName: string }>;
  conversations: Array<{
    kind: string;
    title: string | null;
    with: string[];
    messages: Array<{ id: number; from: string; body: string; sentAt: string }>;
  }>;
}

function download(u: TestUser) {
  return post(u.agent, '/account/export', {}, '/account');
}

describe('Download my data', () => {
  let ann: TestUser;
  let bo: TestUser;
  let cy: TestUser;
  let di: TestUser;
  beforeAll(async () => {
    [ann, bo, cy, di] = [
      await signUp(app, { displayName: 'Ann' }),
      await signUp(app, { displayName: 'Bo' }),
      await signUp(app, { displayName: 'Cy' }),
      await signUp(app, { displayName: 'Di' }),
    ];
    const ab = await openChat(ann, bo);
    await sendByForm(ann, ab, 'hello Bo <b>&</b> "quotes"');
    await sendByForm(bo, ab, 'hello Ann');
    const gone = await sendByForm(bo, ab, 'deleted later');
    await app.pool.query('UPDATE messages SET deleted_at = now() WHERE id = $1', [gone]);
    const cd = await openChat(cy, di);
    await sendByForm(cy, cd, 'between Cy and Di only');
    // A group Ann joined late: she has only what came after.
    const { rows } = await app.pool.query<{ id: number }>(
      `INSERT INTO conversations (kind, title, created_by) VALUES ('group', 'Book club', $1) RETURNING id`,
      [cy.id],
    );
    const g = rows[0]!.id;
    await app.pool.query(
      `INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, $2)`,
      [g, cy.id],
    );
    const early = await app.pool.query<{ id: string }>(
      `SELECT r_id AS id FROM insert_messages_v3(ARRAY[$1]::bigint[], ARRAY[$2]::bigint[], ARRAY[gen_random_uuid()], ARRAY['before Ann joined'])`,
      [g, cy.id],
    );
    await app.pool.query(
      `INSERT INTO conversation_members (conversation_id, user_id, history_from) VALUES ($1, $2, $3)`,
      [g, ann.id, early.rows[0]!.id],
    );
    await app.pool.query(
      `SELECT insert_messages_v3(ARRAY[$1]::bigint[], ARRAY[$2]::bigint[], ARRAY[gen_random_uuid()], ARRAY['after Ann joined'])`,
      [g, cy.id],
    );
  });

  it('is a JSON attachment with my profile, friends and what I can read, and nothing of others', async () => {
    const res = await download(ann);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="leos-chat-room-\d{4}-\d\d-\d\d\.json"$/,
    );
    const text = res.text;
    const data = JSON.parse(text) as Export;
    expect(data.format).toBe('leos-chat-export/1');
    expect(data.profile).toMatchObject({ email: ann.email, displayName: 'Ann' });
    expect(data.friends).toEqual([{ displayName: 'Bo', email: bo.email }]);
    const direct = data.conversations.find((c) => c.kind === 'direct')!;
    expect(direct.with).toEqual(['Bo']);
    expect(direct.messages.map((m) => [m.from, m.body])).toEqual([
      ['me', 'hello Bo <b>&</b> "quotes"'],
      ['Bo', 'hello Ann'],
    ]);
    const group = data.conversations.find((c) => c.kind === 'group')!;
    expect(group.title).toBe('Book club');
    expect(group.messages.map((m) => m.body)).toEqual(['after Ann joined']);
    // Nothing of a conversation Ann is not in, nothing before she joined, no one else's email.
    expect(text).not.toContain('between Cy and Di');
    expect(text).not.toContain('before Ann joined');
    expect(text).not.toContain('deleted later');
    expect(text).not.toContain(cy.email);
    expect(text).not.toContain(di.email);
    expect(text).not.toContain('password');
  });

  it('needs the form token (a POST another site cannot make), and is not a GET', async () => {
    const forged = await ann.agent.post('/account/export').type('form').send({});
    expect(forged.status).toBe(403);
    expect((await ann.agent.get('/account/export')).status).toBe(404);
    // The Account page has the button.
    const page = await ann.agent.get('/account');
    expect(page.text).toMatch(/<form method="post" action="\/account\/export">/);
    expect(page.text).toMatch(/<button type="submit">Download my data<\/button>/);
    expect(page.text).toMatch(
      /<button type="button" id="notify-on"[^>]*hidden>Turn on notifications<\/button>/,
    );
  });

  it('is streamed: 50,000 messages of 1 kB go out without the server holding the file', async () => {
    const big = await signUp(app);
    const other = await signUp(app);
    const c = await openChat(big, other);
    // In steps of 5,000: one statement for all would outlast the pool's statement timeout on a busy machine.
    for (let from = 1; from <= 50_000; from += 5_000) {
      await app.pool.query(
        `INSERT INTO messages (conversation_id, sender_id, client_id, body)
         SELECT $1, $2, gen_random_uuid(), 'message ' || i || ' ' || repeat('lorem ipsum ', 85)
         FROM generate_series($3::int, $3::int + 4999) i`,
        [c, other.id, from],
      );
    }
    const cookie = await cookieOf(big.agent);
    const token = await tokenFor(big.agent, '/account');
    // What the server holds, not the garbage it has yet to collect: each sample follows a full
    // collection (Node 24's young generation let 56 MB of garbage pile up between samples).
    const gc = collector();
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    const sampler = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 50);
    const { bytes, chunked } = await new Promise<{ bytes: number; chunked: boolean }>(
      (resolve, reject) => {
        const url = new URL('/account/export', app.baseUrl);
        const req = http.request(url, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        });
        req.on('response', (res) => {
          let n = 0;
          res.on('data', (b: Buffer) => (n += b.length));
          res.on('end', () =>
            resolve({ bytes: n, chunked: res.headers['transfer-encoding'] === 'chunked' }),
          );
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(`_csrf=${encodeURIComponent(token)}`);
      },
    );
    clearInterval(sampler);
    expect(bytes).toBeGreaterThan(50_000 * 1_000);
    expect(chunked).toBe(true);
    // Built whole, the text alone would be 50 MB more held; streamed, a page of rows at a time.
    expect((peak - base) / 1e6).toBeLessThan(40);
  }, 120_000);
});

describe('Download my data, rate-limited', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp({ rateLimit: true });
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('allows three a day, then says when to come back (429)', async () => {
    const u = await signUp(limited);
    for (let i = 0; i < 3; i++) expect((await download(u)).status).toBe(200);
    const fourth = await post(u.agent, '/account/export', {}, '/account');
    expect(fourth.status).toBe(429);
    expect(fourth.text).toContain('3 times a day');
  });
});

/** A full garbage collection on demand, without starting node with --expose-gc. */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

// "Search messages" finds what the user may read and nothing else: the member history rule
// (groups joined late, groups left), requests they declined, people they blocked, deleted
// messages; matched words highlighted and escaped; newest first, a page at a time; no script.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChat, sendByForm, signUp, startTestApp } from '../support/app.js';
import type { TestApp, TestUser } from '../support/app.js';
import { withTransaction } from '../../src/core/db/pool.js';
import { prepareSearch } from '../../src/features/search/db.js';
import { highlight, parseQuery } from '../../src/features/search/query.js';
import { parseTsquery } from '../../src/features/search/tsquery.js';
import { FORM_SPECIALS, STRINGS } from '../fixtures/hostile.js';
import { findInScope, SCOPES } from '../support/search.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

const search = (u: TestUser, q: string, extra = '') =>
  u.agent.get(`/messages/search?q=${encodeURIComponent(q)}${extra}`);

/** The bodies (text, marks stripped) of the results on a page, in page order. */
function found(html: string): string[] {
  return [...html.matchAll(/<span class="hit-text">([\s\S]*?)<\/span>/g)].map((m) =>
    m[1]!.replace(/<\/?mark>/g, '').trim(),
  );
}

/**
 * What the results page finds, after checking that either SQL finds the same: the one that
 * reads all of a user's few messages, and the one through the text indexes that the planner
 * uses for someone in hundreds of conversations (searchSql's 'small' and 'large').
 */
async function searchBoth(u: TestUser, q: string): Promise<string[]> {
  const page = found((await search(u, q)).text);
  for (const smallScope of [SCOPES.small, SCOPES.large]) {
    const rows = await findInScope(app.pool, u.id, q, smallScope);
    expect(
      rows.map((r) => r.body),
      `${q} (${smallScope ? 'small' : 'large'})`,
    ).toEqual(page);
  }
  return page;
}

/** A group made the way the groups feature stores one: members with their history window. */
async function group(members: Array<{ id: number; from?: number; to?: number | null }>) {
  const { rows } = await app.pool.query<{ id: number }>(
    `INSERT INTO conversations (kind, title, created_by) VALUES ('group', 'Book club', $1) RETURNING id`,
    [members[0]!.id],
  );
  const id = rows[0]!.id;
  for (const m of members) {
    await app.pool.query(
      `INSERT INTO conversation_members (conversation_id, user_id, history_from, history_to)
       VALUES ($1, $2, $3, $4)`,
      [id, m.id, m.from ?? 0, m.to ?? null],
    );
  }
  return id;
}

async function write(conversationId: number, senderId: number, body: string): Promise<number> {
  const { rows } = await app.pool.query<{ id: number }>(
    `SELECT r_id AS id FROM insert_messages_v3($1::bigint[], $2::bigint[], ARRAY[gen_random_uuid()], $3::text[])`,
    [[conversationId], [senderId], [body]],
  );
  return Number(rows[0]!.id);
}

describe('who finds what', () => {
  it('finds a message in my own conversation, and nothing of a conversation between two others', async () => {
    const [ann, bo, cy] = [await signUp(app), await signUp(app), await signUp(app)];
    const ab = await openChat(ann, bo);
    const bc = await openChat(bo, cy);
    await sendByForm(ann, ab, 'the pelican lands at noon');
    await sendByForm(bo, bc, 'the pelican is a secret between Bo and Cy');

    const res = await search(ann, 'pelican');
    expect(res.status).toBe(200);
    expect(found(res.text)).toEqual(['the pelican lands at noon']);
    expect(res.text).not.toContain('secret between');
  });

  it('in a group joined later, finds nothing from before joining (history_from)', async () => {
    const [ann, bo] = [await signUp(app), await signUp(app)];
    const g = await group([{ id: ann.id }]);
    await write(g, ann.id, 'walrus before Bo joined');
    const joinedAt = await write(g, ann.id, 'another line');
    await app.pool.query(
      `INSERT INTO conversation_members (conversation_id, user_id, history_from) VALUES ($1, $2, $3)`,
      [g, bo.id, joinedAt],
    );
    await write(g, ann.id, 'walrus after Bo joined');
    expect(await searchBoth(bo, 'walrus')).toEqual(['walrus after Bo joined']);
    expect(await searchBoth(ann, 'walrus')).toHaveLength(2);
  });

  it('after losing access to a group, finds only what was said while a member (Zulip GHSA-478x-rfqr-w4jf)', async () => {
    const [ann, bo] = [await signUp(app), await signUp(app)];
    const g = await group([{ id: ann.id }, { id: bo.id }]);
    const last = await write(g, ann.id, 'narwhal while Bo was in');
    // Bo leaves (or is removed): he keeps, read-only, what he saw up to then.
    await app.pool.query(
      'UPDATE conversation_members SET history_to = $3 WHERE conversation_id = $1 AND user_id = $2',
      [g, bo.id, last],
    );
    await write(g, ann.id, 'narwhal after Bo left');
    expect(await searchBoth(bo, 'narwhal')).toEqual(['narwhal while Bo was in']);
    // Removed altogether: nothing at all.
    await app.pool.query(
      'DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
      [g, bo.id],
    );
    expect(await searchBoth(bo, 'narwhal')).toEqual([]);
  });

  it('finds nothing of a message request I declined, nor from someone I blocked, nor a deleted message', async () => {
    const [ann, bo, cy, di] = [
      await signUp(app),
      await signUp(app),
      await signUp(app),
      await signUp(app),
    ];
    // Bo is a stranger to Ann: his first message is a request, which she declines.
    const request = await openChat(bo, { email: ann.email });
    await sendByForm(bo, request, 'okapi from a stranger');
    await app.pool.query(
      `UPDATE conversation_members SET state = 'declined' WHERE conversation_id = $1 AND user_id = $2`,
      [request, ann.id],
    );
    // Cy is a friend whom Ann then blocks.
    const withCy = await openChat(ann, cy);
    await sendByForm(cy, withCy, 'okapi from Cy');
    await app.pool.query('INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)', [
      ann.id,
      cy.id,
    ]);
    // Di's message is deleted.
    const withDi = await openChat(ann, di);
    const gone = await sendByForm(di, withDi, 'okapi that was deleted');
    await sendByForm(di, withDi, 'okapi that stays');
    await app.pool.query('UPDATE messages SET deleted_at = now() WHERE id = $1', [gone]);

    expect(await searchBoth(ann, 'okapi')).toEqual(['okapi that stays']);
    // The blocked one still finds their own message: the block hides Cy from Ann, not Cy's words from Cy.
    expect(await searchBoth(cy, 'okapi')).toEqual(['okapi from Cy']);
  });
});

describe('matching and showing', () => {
  let ann: TestUser;
  let bo: TestUser;
  let chat: number;
  beforeAll(async () => {
    [ann, bo] = [await signUp(app), await signUp(app)];
    chat = await openChat(ann, bo);
    await sendByForm(bo, chat, 'Read https://example.org/guides/kayaking-basics first');
    await sendByForm(bo, chat, 'Write to zoë.lindqvist@example.net about the kayak');
    await sendByForm(bo, chat, '<b>not bold</b> <script>alert(1)</script> kayak');
    await sendByForm(bo, chat, 'Ünïcode Grüße and Straße');
  });

  it('finds parts of words, URLs and email addresses (pg_trgm)', async () => {
    expect(found((await search(ann, 'kayaking-bas')).text)).toEqual([
      'Read https://example.org/guides/kayaking-basics first',
    ]);
    expect(found((await search(ann, 'example.org/guides')).text)).toHaveLength(1);
    expect(found((await search(ann, 'lindqvist@example')).text)).toEqual([
      'Write to zoë.lindqvist@example.net about the kayak',
    ]);
    expect(found((await search(ann, 'grüß')).text)).toEqual(['Ünïcode Grüße and Straße']);
  });

  it('finds a "phrase" as words, across punctuation, or inside longer words; not its words apart', async () => {
    const [cy, di] = [await signUp(app), await signUp(app)];
    const c = await openChat(cy, di);
    await sendByForm(di, c, 'Flat white, tomorrow at nine');
    await sendByForm(di, c, 'the flat whiteboard is back');
    await sendByForm(di, c, 'flat and white are apart');
    await sendByForm(di, c, 'reflat whitewash');
    expect(await searchBoth(cy, '"flat white"')).toEqual([
      'reflat whitewash',
      'the flat whiteboard is back',
      'Flat white, tomorrow at nine',
    ]);
  });

  it('finds short words as whole words, "or" and -exclusions as full-text search does, through the one trigram index', async () => {
    const [cy, di] = [await signUp(app), await signUp(app)];
    const c = await openChat(cy, di);
    for (const body of [
      'no way, ok?',
      'nothing now, snow and a nose',
      'I said NO.',
      'is it ok',
      'e-mail me at 9 or 10',
      'okay then',
    ])
      await sendByForm(di, c, body);
    expect(await searchBoth(cy, 'no')).toEqual(['I said NO.', 'no way, ok?']);
    expect(await searchBoth(cy, 'ok')).toEqual(['is it ok', 'no way, ok?']);
    expect(await searchBoth(cy, '"it ok"')).toEqual(['is it ok']);
    expect(await searchBoth(cy, 'e 9')).toEqual(['e-mail me at 9 or 10']);
    expect(await searchBoth(cy, 'no or it')).toEqual(['is it ok', 'I said NO.', 'no way, ok?']);
    expect(await searchBoth(cy, 'no -way')).toEqual(['I said NO.']);
    expect(await searchBoth(cy, 'a nose')).toEqual(['nothing now, snow and a nose']);
  });

  it('never misses a full-text match: every message websearch_to_tsquery matches is found, by either SQL', async () => {
    const [cy, di] = [await signUp(app), await signUp(app)];
    const c = await openChat(cy, di);
    const bodies = [
      'Read https://Example.org/a/b?x=1 and www.example.com now',
      "it's a\\b, o'k? x-ray 1.5 v2 #7 and 42",
      'mail Zoë.Lindqvist@example.net: café, straße, İstanbul',
      'a b c d e — ¿qué? 日本語 テスト',
      'the_under_score and CamelCase and ALL CAPS',
      '/usr/local/bin ./a.out ~/x',
    ];
    for (const body of bodies) await sendByForm(di, c, body);
    const queries = [
      'a',
      'b',
      'x',
      's',
      'it',
      'k',
      'o',
      'v2',
      '7',
      '1.5',
      'x-ray',
      'ray',
      'https',
      'example.org/a',
      'zoë.lindqvist@example.net',
      'café',
      'İstanbul',
      'qué',
      '日本語',
      'under',
      'the_under_score',
      'camelcase',
      '/usr/local/bin',
      'a.out',
      '"a b"',
      '"b c" or zz',
      'zz or e',
      '-zz a',
    ];
    for (const q of queries) {
      const { rows } = await app.pool.query<{ body: string }>(
        `SELECT body FROM messages WHERE conversation_id = $1
           AND to_tsvector('simple', body) @@ websearch_to_tsquery('simple', $2) ORDER BY id DESC`,
        [c, q],
      );
      for (const scope of [SCOPES.small, SCOPES.large]) {
        const hits = (await findInScope(app.pool, cy.id, q, scope)).map((r) => r.body);
        for (const { body } of rows)
          expect(hits, `${q} (${scope ? 'small' : 'large'})`).toContain(body);
      }
    }
  });

  it('finds short words, phrases and "or" through the trigram index, the only one (EXPLAIN)', async () => {
    const [cy, di] = [await signUp(app), await signUp(app)];
    const c = await openChat(cy, di);
    // Enough messages that reading them all costs more than the index.
    await app.pool.query(
      `INSERT INTO messages (conversation_id, sender_id, client_id, body)
       SELECT $1, $2, gen_random_uuid(), 'filler message number ' || g FROM generate_series(1, 5000) g`,
      [c, di.id],
    );
    await sendByForm(di, c, 'ok, see you at the lake');
    await app.pool.query('ANALYZE messages');
    const { rows } = await app.pool.query<{ name: string }>(
      `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'messages' AND indexdef ~ 'gin'`,
    );
    expect(rows.map((r) => r.name)).toEqual(['messages_body_trgm_idx']);
    for (const q of ['ok', '"see you"', 'ok or zz']) {
      const plan = await withTransaction(app.pool, async (tx) => {
        const s = await prepareSearch(tx, {
          userId: cy.id,
          q: parseQuery(q),
          before: Number.MAX_SAFE_INTEGER,
          limit: 21,
          smallScope: SCOPES.large,
        });
        const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${s!.sql}`, s!.values);
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(plan, q).toContain('Bitmap Index Scan on messages_body_trgm_idx');
    }
  });

  it('reads back every tsquery websearch_to_tsquery makes of hostile input (search/tsquery.ts)', async () => {
    for (const q of [
      ...STRINGS,
      ...FORM_SPECIALS,
      'a\\b',
      "o'k",
      '"a b" or -c (d | e) !f <-> g:*',
      "'''",
    ]) {
      if (typeof q !== 'string' || q.includes('\u0000')) continue;
      const { rows } = await app.pool.query<{ t: string }>(
        `SELECT websearch_to_tsquery('simple', $1)::text AS t`,
        [q],
      );
      expect(() => parseTsquery(rows[0]!.t), `${q} → ${rows[0]!.t}`).not.toThrow();
    }
    expect(parseTsquery("'it''s' & 'a\\\\b' | !'c' & 'd' <-> 'e'")).toEqual({
      op: 'or',
      left: { op: 'and', left: { op: 'word', word: "it's" }, right: { op: 'word', word: 'a\\b' } },
      right: {
        op: 'and',
        left: { op: 'not', arg: { op: 'word', word: 'c' } },
        right: { op: 'and', left: { op: 'word', word: 'd' }, right: { op: 'word', word: 'e' } },
      },
    });
    expect(parseTsquery('')).toBeUndefined();
  });

  it('highlights the matched words, escaping the message (never HTML from the database)', async () => {
    const res = await search(ann, 'kayak');
    expect(res.text).toContain(
      '&lt;b&gt;not bold&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt; <mark>kayak</mark>',
    );
    expect(res.text).not.toContain('<script>alert(1)');
    expect(res.text).not.toContain('<b>not bold');
  });

  it('never fails on what websearch syntax would choke on: quotes, dashes, operators, NUL', async () => {
    for (const q of [
      '"unclosed',
      '-',
      'or',
      '!!! & | ( )',
      "' OR 1=1 --",
      '%_\\',
      'a:*',
      '-"kayak',
    ]) {
      const res = await search(ann, q);
      expect(res.status, q).toBe(200);
    }
    expect((await search(ann, 'nul\u0000here')).status).toBe(400);
    expect((await search(ann, 'x'.repeat(201))).status).toBe(400);
    // LIKE wildcards are taken literally: "%" finds no message without a percent sign.
    expect(found((await search(ann, '%%%')).text)).toEqual([]);
  });

  it('shows the conversation, the sender and the time, newest first, and pages with Older results', async () => {
    const [cy, di] = [await signUp(app, { displayName: 'Cy Young' }), await signUp(app)];
    const c = await openChat(cy, di);
    const ids: number[] = [];
    for (let i = 1; i <= 23; i++) ids.push(await sendByForm(di, c, `heron number ${i}`));
    const first = await search(cy, 'heron');
    const page1 = found(first.text);
    expect(page1).toHaveLength(20);
    expect(page1[0]).toBe('heron number 23');
    expect(page1[19]).toBe('heron number 4');
    expect(first.text).toContain(di.displayName);
    expect(first.text).toMatch(/<time datetime="\d{4}-\d\d-\d\dT/);
    const next = /href="(\/messages\/search\?q=heron&amp;before=\d+)">Older results/.exec(
      first.text,
    );
    expect(next).not.toBeNull();
    const second = await cy.agent.get(next![1]!.replace(/&amp;/g, '&'));
    expect(found(second.text)).toEqual(['heron number 3', 'heron number 2', 'heron number 1']);
    expect(second.text).not.toContain('Older results');
  });

  it('a result opens the conversation at that message, with the history around it, highlighted', async () => {
    const [cy, di] = [await signUp(app), await signUp(app)];
    const c = await openChat(cy, di);
    const ids: number[] = [];
    for (let i = 1; i <= 60; i++)
      ids.push(await sendByForm(di, c, `line ${i}${i === 10 ? ' ibis' : ''}`));
    const res = await search(cy, 'ibis');
    const link = /href="(\/conversations\/\d+\?around=(\d+)#m\d+)"/.exec(res.text);
    expect(link?.[2]).toBe(String(ids[9]));
    const page = await cy.agent.get(link![1]!.split('#')[0]!);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(new RegExp(`class="msg [^"]*found[^"]*" id="m${ids[9]}"`));
    expect(page.text).toContain('line 1<');
    expect(page.text).toContain('line 35<');
    expect(page.text).not.toContain('line 36<');
    // Newer messages lie beyond the window: the page says so, as an older page does.
    expect(page.text).toContain('Jump to the newest messages');
    // Someone else's message id in my conversation's address: not found.
    const other = await openChat(await signUp(app), di);
    const theirs = await sendByForm(di, other, 'not for Cy');
    expect((await cy.agent.get(`/conversations/${c}?around=${theirs}`)).status).toBe(404);
    expect((await cy.agent.get(`/conversations/${c}?around=abc`)).status).toBe(400);
  });

  it('works without the script: the home page has the "Search messages" box, a plain GET form', async () => {
    const home = await ann.agent.get('/');
    expect(home.text).toMatch(/<form method="get" action="\/messages\/search"/);
    expect(home.text).toMatch(/<label[^>]*for="message-search-q">Search messages<\/label>/);
    // Its name is "Search messages"; a phone shows "Search", the rest hidden but read out.
    expect(home.text).toMatch(
      /<button type="submit">Search<span class="wide-only"> messages<\/span><\/button>/,
    );
    // Logged out: to the login page, and back after.
    const anon = await request(app.baseUrl).get('/messages/search?q=x');
    expect(anon.status).toBe(303);
    expect(anon.headers.location).toContain('/login?next=');
  });
});

describe('the query and the highlighter', () => {
  it('reads phrases, exclusions and "or" as websearch does', () => {
    expect(parseQuery('"big kayak" -canoe or ab')).toEqual({
      text: '"big kayak" -canoe or ab',
      terms: ['big kayak', 'ab'],
      substrings: ['big kayak'],
      excluded: ['canoe'],
      substringsSuffice: false,
    });
    // Plain words of 3+ characters: the substring match alone finds every full-text match.
    expect(parseQuery('kayak trip -rain').substringsSuffice).toBe(true);
    expect(parseQuery('kayak ok').substringsSuffice).toBe(false);
  });

  it('marks every match, case-insensitively, on the original text', () => {
    expect(highlight('İstanbul and KAYAK kayak', ['kayak'])).toEqual([
      { text: 'İstanbul and ', hit: false },
      { text: 'KAYAK', hit: true },
      { text: ' ', hit: false },
      { text: 'kayak', hit: true },
    ]);
  });

  it('cuts a long message to the part around its first match', () => {
    const body = `${'a '.repeat(400)}heron${' b'.repeat(400)}`;
    const segs = highlight(body, ['heron']);
    expect(segs[0]).toEqual({ text: '…', hit: false });
    expect(segs.find((s) => s.hit)?.text).toBe('heron');
    expect(segs.map((s) => s.text).join('').length).toBeLessThan(260);
  });
});

describe('a search loop is slowed down', () => {
  it('past ten quick searches, the next is refused with words until the budget refills', async () => {
    const limited = await startTestApp({ rateLimit: true });
    try {
      const u = await signUp(limited, { displayName: 'Looper' });
      const codes: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await u.agent.get('/messages/search').query({ q: `word${i}` });
        codes.push(res.status);
      }
      expect(codes.slice(0, 10)).toEqual(Array(10).fill(200));
      expect(codes.slice(10)).toEqual([429, 429]);
      const refused = await u.agent.get('/messages/search').query({ q: 'again' });
      expect(refused.text).toContain('You are searching too fast');
    } finally {
      await limited.close();
    }
  });
});

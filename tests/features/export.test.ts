// "Download my data": a zip, streamed, with messages.json (the user's profile, friends and
// the messages they can read: the member history rule), index.html and a page per
// conversation to read offline, and the files they may read, and nothing of anyone else's.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChat, post, sendByForm, signUp, startTestApp, tokenFor } from '../support/app.js';
import type { TestApp, TestUser } from '../support/app.js';
import { png } from '../support/files.js';
import { cookieOf } from '../support/sockets.js';
import { downloadExport, unzip, zipDirectory, type ZipEntry } from '../support/zip.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

interface ExportFile {
  name: string;
  type: string;
  size: number;
  path: string;
}
interface Export {
  format: string;
  profile: { email: string; displayName: string };
  friends: Array<{ displayName: string; email: string }>;
  blocked: Array<{ displayName: string }>;
  unsentFiles: ExportFile[];
  conversations: Array<{
    kind: string;
    title: string | null;
    with: string[];
    messages: Array<{
      id: number;
      from: string;
      body: string;
      sentAt: string;
      files?: ExportFile[];
    }>;
  }>;
}

/** A stored file, as an upload leaves it (features/attachments): linked to a message or pending. */
async function storeFile(
  u: TestUser,
  f: {
    conversationId: number;
    messageId: number | null;
    name: string;
    data: Buffer;
    type?: string;
  },
  position = 0,
): Promise<string> {
  const { rows } = await app.pool.query<{ id: string }>(
    `INSERT INTO attachments (conversation_id, message_id, uploader_id, state, position, name, content_type, size)
     VALUES ($1, $2, $3, 'ready', $4, $5, $6, $7) RETURNING id`,
    [
      f.conversationId,
      f.messageId,
      u.id,
      position,
      f.name,
      f.type ?? 'application/octet-stream',
      f.data.length,
    ],
  );
  await app.ctx.files.write(rows[0]!.id, 'original', [f.data]);
  return rows[0]!.id;
}

const entry = (entries: ZipEntry[], name: string) => entries.find((e) => e.name === name);

describe('Download my data', () => {
  let ann: TestUser;
  let bo: TestUser;
  let cy: TestUser;
  let di: TestUser;
  let picture: Buffer;
  beforeAll(async () => {
    [ann, bo, cy, di] = [
      await signUp(app, { displayName: 'Ann' }),
      await signUp(app, { displayName: 'Bo' }),
      await signUp(app, { displayName: 'Cy' }),
      await signUp(app, { displayName: 'Di' }),
    ];
    const ab = await openChat(ann, bo);
    await sendByForm(ann, ab, 'hello Bo <b>&</b> "quotes"');
    const hello = await sendByForm(bo, ab, 'hello Ann');
    const gone = await sendByForm(bo, ab, 'deleted later');
    await storeFile(bo, {
      conversationId: ab,
      messageId: gone,
      name: 'gone.txt',
      data: Buffer.from('GONE-FILE'),
    });
    await app.pool.query('UPDATE messages SET deleted_at = now() WHERE id = $1', [gone]);
    // Bo's message carries a picture and files whose names try every trick.
    picture = await png(32, 24);
    const hostile = [
      ['park.png', picture, 'image/png'],
      ['notes.txt', Buffer.from('first notes')],
      ['NOTES.txt', Buffer.from('second notes')],
      ['notes.txt', Buffer.from('third notes, same name')],
      ['../../etc/passwd', Buffer.from('not a password file')],
      ['..\\..\\evil.bat', Buffer.from('not a program')],
      ['a<b>:"c|?*.txt', Buffer.from('odd characters')],
      ['CON. ', Buffer.from('a reserved name')],
      ['\u202egpj.exe', Buffer.from('right-to-left override')],
    ] as const;
    for (const [i, [name, data, type]] of hostile.entries())
      await storeFile(
        bo,
        { conversationId: ab, messageId: hello, name, data, type },
        i === 3 ? 2 : i, // two files of one message at one place: the order between them is the id's,
      );
    await storeFile(ann, {
      conversationId: ab,
      messageId: null,
      name: 'draft.txt',
      data: Buffer.from('ANN-DRAFT'),
    });
    await storeFile(bo, {
      conversationId: ab,
      messageId: null,
      name: 'bo.txt',
      data: Buffer.from('BO-DRAFT'),
    });
    const cd = await openChat(cy, di);
    const secret = await sendByForm(cy, cd, 'between Cy and Di only');
    await storeFile(cy, {
      conversationId: cd,
      messageId: secret,
      name: 'secret.txt',
      data: Buffer.from('CY-DI-SECRET'),
    });
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
    const earlyId = Number(early.rows[0]!.id);
    await storeFile(cy, {
      conversationId: g,
      messageId: earlyId,
      name: 'early.pdf',
      data: Buffer.from('EARLY-FILE'),
    });
    await app.pool.query(
      `INSERT INTO conversation_members (conversation_id, user_id, history_from) VALUES ($1, $2, $3)`,
      [g, ann.id, earlyId],
    );
    const late = await app.pool.query<{ id: string }>(
      `SELECT r_id AS id FROM insert_messages_v3(ARRAY[$1]::bigint[], ARRAY[$2]::bigint[], ARRAY[gen_random_uuid()], ARRAY['after Ann joined'])`,
      [g, cy.id],
    );
    await storeFile(cy, {
      conversationId: g,
      messageId: Number(late.rows[0]!.id),
      name: 'agenda.txt',
      data: Buffer.from('AGENDA'),
    });
  });

  it('is a zip with messages.json, my files and what I can read, and nothing of others', async () => {
    const res = await downloadExport(ann);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="leos-chat-room-\d{4}-\d\d-\d\d\.zip"$/,
    );
    const entries = await unzip(res.body as Buffer);
    const names = entries.map((e) => e.name);
    // Safe names: relative, no "..", nothing Windows refuses, no two alike even ignoring case.
    for (const name of names) {
      // eslint-disable-next-line no-control-regex -- control characters are what must not be there
      expect(name).toMatch(/^[^/\\<>:"|?*\u0000-\u001f]+(\/[^/\\<>:"|?*\u0000-\u001f]+)*$/);
      expect(name.split('/')).not.toContain('..');
      expect(name).not.toMatch(/[. ]$|\p{Cf}/u);
    }
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
    expect(names.slice(0, 2)).toEqual(['messages.json', 'index.html']);

    const text = entry(entries, 'messages.json')!.data.toString('utf8');
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
    // Every file named in messages.json is in the zip at its path, byte for byte.
    const files = direct.messages[1]!.files!;
    expect(files.map((f) => f.name).sort()).toEqual(
      [
        'park.png',
        'notes.txt',
        'NOTES.txt',
        'notes.txt',
        '../../etc/passwd',
        '..\\..\\evil.bat',
        'a<b>:"c|?*.txt',
        'CON. ',
        '\u202egpj.exe',
      ].sort(),
    );
    expect(new Set(files.map((f) => f.path)).size).toBe(files.length);
    const bytesOf = (path: string) => entry(entries, path)?.data.toString('utf8');
    expect(new Set(files.slice(1, 4).map((f) => bytesOf(f.path)))).toEqual(
      new Set(['first notes', 'second notes', 'third notes, same name']),
    );
    expect(entry(entries, files[0]!.path)!.data.equals(picture)).toBe(true);
    expect(files[0]).toMatchObject({ type: 'image/png', size: picture.length });
    expect(files.map((f) => f.path.split('/')[0])).toEqual(Array(files.length).fill('files'));
    expect(bytesOf(files[4]!.path)).toBe('not a password file');
    expect(data.unsentFiles.map((f) => [f.name, bytesOf(f.path)])).toEqual([
      ['draft.txt', 'ANN-DRAFT'],
    ]);
    const group = data.conversations.find((c) => c.kind === 'group')!;
    expect(group.title).toBe('Book club');
    expect(group.messages.map((m) => m.body)).toEqual(['after Ann joined']);
    expect(bytesOf(group.messages[0]!.files![0]!.path)).toBe('AGENDA');
    // Nothing of a conversation Ann is not in, nothing before she joined, nothing deleted,
    // no one else's unsent file, no one else's email, anywhere in the zip.
    const all = Buffer.concat(entries.map((e) => e.data)).toString('utf8');
    for (const never of [
      'between Cy and Di',
      'CY-DI-SECRET',
      'before Ann joined',
      'EARLY-FILE',
      'deleted later',
      'GONE-FILE',
      'BO-DRAFT',
      cy.email,
      di.email,
      'password_hash',
    ])
      expect(all).not.toContain(never);
    expect(entries.filter((e) => e.name.startsWith('files/'))).toHaveLength(11);
  });

  it('has index.html and a page per conversation that read without a script', async () => {
    const entries = await unzip((await downloadExport(ann)).body as Buffer);
    const index = entry(entries, 'index.html')!.data.toString('utf8');
    expect(index).toContain('Ann’s conversations');
    const pages = [...index.matchAll(/<a href="(conversations\/\d+\.html)">([^<]*)<\/a>/g)];
    expect(pages.map((m) => m[2])).toEqual(['Bo', 'Book club']);
    const chat = entry(entries, pages[0]![1]!)!.data.toString('utf8');
    expect(chat).toContain('hello Bo &lt;b&gt;&amp;&lt;/b&gt; &quot;quotes&quot;');
    expect(chat).not.toContain('<b>&</b>');
    expect(chat).toMatch(/<img src="\.\.\/files\/\d+-1-park\.png" alt="park\.png">/);
    expect(chat).toContain('a&lt;b&gt;:&quot;c|?*.txt (14 bytes)');
    for (const e of entries.filter((x) => x.name.endsWith('.html'))) {
      const html = e.data.toString('utf8');
      expect(html).not.toMatch(/<script|\son\w+=|https?:\/\/(?!www\.w3)/i);
      // Every link inside the zip leads to an entry of it.
      for (const [, href] of html.matchAll(/(?:href|src)="([^"#]+)"/g)) {
        const target = new URL(href!, `http://x/${e.name}`).pathname.slice(1);
        expect(
          entries.some((x) => x.name === decodeURIComponent(target)),
          `${e.name} → ${href}`,
        ).toBe(true);
      }
    }
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

  it('is streamed: 50,000 messages of 1 kB and 100 MB of files go out without the server holding them', async () => {
    const big = await signUp(app);
    const other = await signUp(app);
    const c = await openChat(big, other);
    const t0 = performance.now();
    const MESSAGES = Number(process.env.EXPORT_MESSAGES ?? 50_000);
    // In steps of 5,000: one statement for all would outlast the pool's statement timeout on a busy machine.
    for (let from = 1; from <= MESSAGES; from += 5_000) {
      await app.pool.query(
        `INSERT INTO messages (conversation_id, sender_id, client_id, body)
         SELECT $1, $2, gen_random_uuid(), 'message ' || i || ' ' || repeat('lorem ipsum ', 85)
         FROM generate_series($3::int, $3::int + 4999) i`,
        [c, other.id, from],
      );
    }
    // 20 files of 5 MB on the first 20 messages, stored as uploads store them (256 KB chunks);
    // the bytes are random, so the zip cannot shrink them. The 500 MB account:
    // EXPORT_FILES=100 (README, "Download my data", has its figures).
    const FILES = Number(process.env.EXPORT_FILES ?? 20);
    const CHUNKS = 20;
    const chunk = randomBytes(256 * 1024);
    const { rows: files } = await app.pool.query<{ id: string }>(
      `INSERT INTO attachments (conversation_id, message_id, uploader_id, state, name, size)
       SELECT $1, m.id, $2, 'ready', 'file ' || m.id || '.bin', $3::bigint
       FROM (SELECT id FROM messages WHERE conversation_id = $1 ORDER BY id LIMIT $4) m
       RETURNING id`,
      [c, other.id, CHUNKS * chunk.length, FILES],
    );
    for (let i = 0; i < files.length; i += 10) {
      await app.pool.query(
        `INSERT INTO attachment_chunks (attachment_id, variant, n, data)
         SELECT a, 'original', n, $2 FROM unnest($1::uuid[]) a, generate_series(0, $3::int - 1) n`,
        [files.slice(i, i + 10).map((f) => f.id), chunk, CHUNKS],
      );
    }
    const fileBytes = FILES * CHUNKS * chunk.length;
    const t1 = performance.now();
    const cookie = await cookieOf(big.agent);
    const token = await tokenFor(big.agent, '/account');
    // What the server holds, not the garbage it has yet to collect: each sample follows a full
    // collection (Node 24's young generation let 56 MB of garbage pile up between samples).
    // Buffers (the files' chunks) count too: they live outside the JavaScript heap. V8 frees
    // a dead buffer's bytes on a background thread after the collection, so a reading taken
    // at once can still count them (Node 24 read 87 MB there, then 9 MB 20 ms later): each
    // sample is the lesser of two readings 20 ms apart. Bytes really held show in both.
    const gc = collector();
    const held = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    gc();
    const base = held();
    let peak = base;
    const sampler = setInterval(() => {
      gc();
      const first = held();
      setTimeout(() => {
        gc();
        peak = Math.max(peak, Math.min(first, held()));
      }, 20);
    }, 200);
    const { bytes, chunked, tail } = await new Promise<{
      bytes: number;
      chunked: boolean;
      tail: Buffer;
    }>((resolve, reject) => {
      const url = new URL('/account/export', app.baseUrl);
      const req = http.request(url, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      });
      req.on('response', (res) => {
        let n = 0;
        const last: Buffer[] = [];
        let kept = 0;
        res.on('data', (b: Buffer) => {
          n += b.length;
          // Only the end is kept: the zip's directory, which lists every entry and its size.
          last.push(b);
          kept += b.length;
          while (kept - last[0]!.length > 1024 * 1024) kept -= last.shift()!.length;
        });
        res.on('end', () =>
          resolve({
            bytes: n,
            chunked: res.headers['transfer-encoding'] === 'chunked',
            tail: Buffer.concat(last),
          }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(`_csrf=${encodeURIComponent(token)}`);
    });
    clearInterval(sampler);
    const t2 = performance.now();
    expect(chunked).toBe(true);
    expect(bytes).toBeGreaterThan(fileBytes);
    const listed = zipDirectory(tail);
    expect(listed.find((e) => e.name === 'messages.json')!.size).toBeGreaterThan(MESSAGES * 1_000);
    expect(listed.filter((e) => e.name.startsWith('files/'))).toHaveLength(FILES);
    expect(
      listed
        .filter((e) => e.name.startsWith('files/'))
        .every((e) => e.size === CHUNKS * chunk.length),
    ).toBe(true);
    console.info(
      `export of ${MESSAGES} messages and ${fileBytes / 1e6} MB of files: ${(bytes / 1e6).toFixed(0)} MB zip in ${((t2 - t1) / 1000).toFixed(1)} s (setup ${((t1 - t0) / 1000).toFixed(1)} s), server held at most ${((peak - base) / 1e6).toFixed(1)} MB more`,
    );
    // Built whole, the files alone would be 100 MB more held, the text 50 MB; streamed, a page
    // of rows or a few chunks of a file at a time (measured: 15 to 16 MB; issue 16 allows 100).
    expect((peak - base) / 1e6).toBeLessThan(60);
  }, 600_000);
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
    for (let i = 0; i < 3; i++) expect((await downloadExport(u)).status).toBe(200);
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

// Pictures and files (issue 15): upload, send with a caption, see, download; limits that
// leave nothing half-stored; the sweep; a deleted message's files really gone.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import {
  openChat,
  signUp,
  startTestApp,
  tokenFor,
  type TestApp,
  type TestUser,
} from '../support/app.js';
import {
  ask,
  closeSockets,
  cookieOf,
  openSocket,
  waitFor,
  type ClientSocket,
} from '../support/sockets.js';
import { sleep, until } from '../support/wait.js';
import { download, pdf, phoneJpeg, png, upload, uploaded } from '../support/files.js';
import type { MessageDto } from '../../src/shared/protocol.js';
import { DEFAULT_ATTACHMENT_LIMITS } from '../../src/core/config.js';
import { createUpload, deleteAttachment, sweep } from '../../src/features/attachments/db.js';
import { CHUNK_BYTES, PgBlobStore } from '../../src/features/attachments/storage.js';
import { copyOutColumn } from '../../src/core/db/copy-out.js';

let app: TestApp;
let ann: TestUser;
let bo: TestUser;
let chat: number;
let annTab: ClientSocket;
let boTab: ClientSocket;

beforeAll(async () => {
  app = await startTestApp();
  ann = await signUp(app, { displayName: 'Ann' });
  bo = await signUp(app, { displayName: 'Bo' });
  chat = await openChat(ann, bo);
  annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
  boTab = await openSocket(app.baseUrl, await cookieOf(bo.agent));
});
afterAll(async () => {
  closeSockets();
  await app?.close();
});
beforeEach(() => {
  Object.assign(app.ctx.attachments, DEFAULT_ATTACHMENT_LIMITS);
});

async function counts() {
  const { rows } = await app.pool.query<{ files: number; chunks: number }>(
    `SELECT (SELECT count(*) FROM attachments)::int AS files,
            (SELECT count(*) FROM attachment_chunks)::int AS chunks`,
  );
  return rows[0]!;
}

async function sendWith(body: string, attachmentIds: string[], tab = annTab) {
  return ask(tab, 'message:send', {
    conversationId: chat,
    body,
    clientId: crypto.randomUUID(),
    attachmentIds,
  });
}

describe('sending pictures and files', () => {
  it('sends a picture and a file with a caption; the other member gets both live, sizes known', async () => {
    const picture = await uploaded(ann.agent, chat, {
      data: await png(800, 600),
      name: 'park.png',
    });
    const file = await uploaded(ann.agent, chat, { data: pdf(5000), name: 'tickets.pdf' });
    expect(picture).toMatchObject({ type: 'image/png', width: 800, height: 600 });
    // Shown within 320 × 320 at the picture's own proportions.
    expect(picture).toMatchObject({ thumbWidth: 320, thumbHeight: 240 });
    expect(file).toMatchObject({ type: 'application/pdf', size: 5000, name: 'tickets.pdf' });
    expect(file.width).toBeUndefined();

    const arrives = waitFor(boTab, 'message:new');
    const ack = await sendWith('Saturday!', [picture.id, file.id]);
    expect(ack.ok).toBe(true);
    const live: MessageDto = await arrives;
    expect(live.body).toBe('Saturday!');
    expect(live.attachments?.map((a) => a.name)).toEqual(['park.png', 'tickets.pdf']);

    // The page: a picture with its size and its name as text, linked to the full picture;
    // the file as a link with its name, type and size.
    const page = await bo.agent.get(`/conversations/${chat}`);
    expect(page.text).toContain(
      `<a href="/attachments/${picture.id}" target="_blank" rel="noopener"><img src="/attachments/${picture.id}/thumb" width="320" height="240" alt="park.png"`,
    );
    expect(page.text).toMatch(
      new RegExp(`href="/attachments/${file.id}" download>.*tickets\\.pdf.*PDF document · 5 KB`),
    );
    // The reconnect catch-up carries them too.
    const synced = await ask(boTab, 'sync', { conversationId: chat, after: live.id - 1 });
    expect(synced.ok && synced.messages[0]!.attachments?.length).toBe(2);
  });

  it('sends a picture with no caption at all, but never an empty message without files', async () => {
    const picture = await uploaded(ann.agent, chat, { data: await png(), name: 'a.png' });
    expect((await sendWith('', [picture.id])).ok).toBe(true);
    const empty = await ask(annTab, 'message:send', {
      conversationId: chat,
      body: ' ',
      clientId: crypto.randomUUID(),
      attachmentIds: [],
    });
    expect(empty).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });

  it('stores a phone picture upright and without its EXIF (no GPS, no camera) in the original too', async () => {
    const sideways = await phoneJpeg(80, 40);
    expect((await sharp(sideways).metadata()).exif).toBeDefined();
    const a = await uploaded(ann.agent, chat, { data: sideways, name: 'photo.jpg' });
    expect(a).toMatchObject({ width: 40, height: 80 }); // turned per its orientation
    await sendWith('', [a.id]);
    const full = await download(bo.agent, `/attachments/${a.id}`);
    expect(full.status).toBe(200);
    const meta = await sharp(full.body as Buffer).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 40, height: 80 });
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation ?? 1).toBe(1);
    expect((full.body as Buffer).includes('SecretPhone')).toBe(false);
    const thumb = await download(bo.agent, `/attachments/${a.id}/thumb`);
    expect((await sharp(thumb.body as Buffer).metadata()).exif).toBeUndefined();
  });

  it('serves files for download with safe headers, and pictures inline', async () => {
    const file = await uploaded(ann.agent, chat, { data: pdf(), name: 'plan.pdf' });
    const picture = await uploaded(ann.agent, chat, { data: await png(), name: 'p.png' });
    await sendWith('two', [file.id, picture.id]);

    const f = await download(bo.agent, `/attachments/${file.id}`);
    expect(f.status).toBe(200);
    expect(f.headers).toMatchObject({
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="plan.pdf"; filename*=UTF-8''plan.pdf`,
      'x-content-type-options': 'nosniff',
      'content-security-policy': "sandbox; default-src 'none'",
      'cache-control': 'private, no-cache',
      'content-length': '3000',
    });
    expect((f.body as Buffer).equals(pdf())).toBe(true);

    const p = await download(bo.agent, `/attachments/${picture.id}`);
    expect(p.headers['content-type']).toBe('image/png');
    expect(p.headers['content-disposition']).toMatch(/^inline; /);
    // Asked again with its ETag: nothing is sent twice.
    const again = await bo.agent
      .get(`/attachments/${picture.id}`)
      .set('if-none-match', p.headers.etag!);
    expect(again.status).toBe(304);
  });

  it('takes up to 10 files in one message and refuses 11', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 11; i++)
      ids.push((await uploaded(ann.agent, chat, { data: pdf(100 + i), name: `f${i}.pdf` })).id);
    const eleven = await sendWith('many', ids);
    expect(eleven).toMatchObject({ ok: false, error: { code: 'invalid' } });
    const ten = await sendWith('many', ids.slice(0, 10));
    expect(ten.ok && ten.message.attachments?.map((a) => a.name)).toEqual(
      Array.from({ length: 10 }, (_, i) => `f${i}.pdf`),
    );
  });

  it('a retry of the same send gets the same message with its files, linked once', async () => {
    const a = await uploaded(ann.agent, chat, { data: pdf(), name: 'once.pdf' });
    const payload = {
      conversationId: chat,
      body: 'retry',
      clientId: crypto.randomUUID(),
      attachmentIds: [a.id],
    };
    const first = await ask(annTab, 'message:send', payload);
    const second = await ask(annTab, 'message:send', payload);
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.message.id).toBe(first.message.id);
    expect(second.message.attachments?.map((x) => x.id)).toEqual([a.id]);
  });
});

describe('without JavaScript: the composer posts multipart/form-data', () => {
  it('sends a caption with two files, in the order chosen', async () => {
    const token = await tokenFor(bo.agent, `/conversations/${chat}`);
    const res = await bo.agent
      .post(`/conversations/${chat}/messages`)
      .field('_csrf', token)
      .field('clientId', crypto.randomUUID())
      .field('body', 'From the form')
      .attach('files', await png(), { filename: 'one.png', contentType: 'image/png' })
      .attach('files', pdf(), { filename: 'two.pdf', contentType: 'application/pdf' });
    expect(res.status).toBe(303);
    const page = await bo.agent.get(String(res.headers.location));
    expect(page.text).toContain('alt="one.png"');
    expect(page.text).toContain('two.pdf');
  });

  it('sends text alone with an empty file input, as a browser posts it', async () => {
    const token = await tokenFor(bo.agent, `/conversations/${chat}`);
    const res = await bo.agent
      .post(`/conversations/${chat}/messages`)
      .field('_csrf', token)
      .field('body', 'Just words')
      .attach('files', Buffer.alloc(0), { filename: '', contentType: 'application/octet-stream' });
    expect(res.status).toBe(303);
  });

  it('refuses a file over the limit with words on the page, keeps the text, stores nothing', async () => {
    app.ctx.attachments.maxBytes = 64 * 1024;
    const before = await counts();
    const token = await tokenFor(bo.agent, `/conversations/${chat}`);
    const res = await bo.agent
      .post(`/conversations/${chat}/messages`)
      .field('_csrf', token)
      .field('body', 'Here is the big one')
      .attach('files', pdf(10_000), { filename: 'small.pdf' })
      .attach('files', pdf(64 * 1024 + 1), { filename: 'big.pdf' });
    expect(res.status).toBe(413);
    expect(res.text).toContain('That file is too big: files can be at most 64 KB.');
    expect(res.text).toContain('Here is the big one</textarea>');
    expect(await counts()).toEqual(before); // the small one went too: nothing half-stored
  });

  it('refuses files that come before the form token (a forged form stores nothing)', async () => {
    const before = await counts();
    const res = await bo.agent
      .post(`/conversations/${chat}/messages`)
      .attach('files', pdf(), { filename: 'x.pdf' })
      .field('_csrf', await tokenFor(bo.agent, `/conversations/${chat}`))
      .field('body', 'hi');
    expect(res.status).toBe(403);
    expect(await counts()).toEqual(before);
  });
});

describe('limits: nothing half-stored', () => {
  it('busboy’s limit: a file of exactly the limit is taken, one byte more is refused and removed', async () => {
    app.ctx.attachments.maxBytes = 300 * 1024; // more than one 256 KB chunk
    const before = await counts();
    const exact = await upload(ann.agent, chat, { data: pdf(300 * 1024), name: 'exact.pdf' });
    expect(exact.status).toBe(201);
    expect((exact.body as { attachment: { size: number } }).attachment.size).toBe(300 * 1024);
    const over = await upload(ann.agent, chat, { data: pdf(300 * 1024 + 1), name: 'over.pdf' });
    expect(over.status).toBe(413);
    expect(over.body).toEqual({
      ok: false,
      error: { code: 'too_large', message: 'That file is too big: files can be at most 300 KB.' },
    });
    const after = await counts();
    expect(after.files).toBe(before.files + 1);
    expect(after.chunks).toBe(before.chunks + 2);
  });

  /** Waits until the files and chunks are back to `before`: a cut-off upload left nothing. */
  const untilRemoved = (before: Awaited<ReturnType<typeof counts>>, ms: number) =>
    until(
      'the partial upload removed',
      async () => {
        const now = await counts();
        return now.files === before.files && now.chunks === before.chunks;
      },
      ms,
    );

  /** An upload of a 5 MB file by Ann that has sent its head: the test writes the rest, or not. */
  async function startUpload(filename: string): Promise<http.ClientRequest> {
    const token = await tokenFor(ann.agent, `/conversations/${chat}`);
    const cookie = await cookieOf(ann.agent);
    const boundary = 'cutoffboundary';
    const req = http.request(new URL(`${app.baseUrl}/conversations/${chat}/attachments`), {
      method: 'POST',
      headers: {
        cookie,
        'x-csrf-token': token,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(5 * 1024 * 1024),
      },
    });
    req.on('error', () => undefined);
    req.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/pdf\r\n\r\n`,
    );
    return req;
  }

  it('an upload cut off midway leaves no row and no chunk behind', async () => {
    const before = await counts();
    const req = await startUpload('half.pdf');
    req.write(pdf(1300 * 1024)); // a first megabyte (four chunks, one statement) stored before the cut
    await until(
      'four chunks stored',
      async () => (await counts()).chunks >= before.chunks + 4,
      5000,
    );
    req.destroy();
    await untilRemoved(before, 5000);
  });

  it('an upload cut off while it waits for its pace leaves no row and no chunk behind', async () => {
    const unpaced = app.ctx.files;
    // 0.5 MB/s: the first megabyte goes at once, the second would wait two seconds.
    app.ctx.files = new PgBlobStore(app.pool, { mbPerSecond: 0.5 });
    try {
      const before = await counts();
      const req = await startUpload('slow.pdf');
      req.write(pdf(2300 * 1024));
      await until(
        'the first megabyte stored',
        async () => (await counts()).chunks >= before.chunks + 4,
        5000,
      );
      await sleep(300); // the second megabyte is waiting its turn now
      // The server reads the request again only when that turn comes, and then sees the cut
      // (a paused socket is not read, so its end is not seen before): its turn is stored and
      // removed with the rest.
      req.destroy();
      await untilRemoved(before, 6000);
      await sleep(500);
      expect(await counts()).toEqual(before);
    } finally {
      app.ctx.files = unpaced;
    }
  });

  it('refuses an upload past the person’s storage quota', async () => {
    const used = Number(
      (
        await app.pool.query<{ s: string }>(
          'SELECT coalesce(sum(size),0) AS s FROM attachments WHERE uploader_id = $1',
          [bo.id],
        )
      ).rows[0]!.s,
    );
    app.ctx.attachments.quotaBytes = used + 5000;
    expect((await upload(bo.agent, chat, { data: pdf(4000), name: 'fits.pdf' })).status).toBe(201);
    const over = await upload(bo.agent, chat, { data: pdf(4000), name: 'over.pdf' });
    expect(over.status).toBe(413);
    expect((over.body as { error: { message: string } }).error.message).toMatch(
      /used all your storage/,
    );
  });
});

describe('the storage quota under parallel uploads', () => {
  it('stores exactly the uploads that fit when one person sends several at once; the rest are refused with words and leave nothing', async () => {
    const cy = await signUp(app, { displayName: 'Cy' });
    const cyChat = await openChat(cy, ann);
    const size = 600 * 1024; // three chunks each: storing takes a while, so all start together
    app.ctx.attachments.quotaBytes = 2 * size + 1000; // two fit, a third does not
    const token = await tokenFor(cy.agent, `/conversations/${cyChat}`);
    const before = await counts();
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        cy.agent
          .post(`/conversations/${cyChat}/attachments`)
          .set('x-csrf-token', token)
          .set('accept', 'application/json')
          .attach('file', pdf(size), { filename: `part-${i}.pdf`, contentType: 'application/pdf' })
          .then((r) => r),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 413, 413, 413]);
    for (const r of answers.filter((a) => a.status === 413))
      expect((r.body as { error: { message: string } }).error.message).toMatch(
        /used all your storage/,
      );
    const stored = await app.pool.query<{ id: string; state: string; size: string }>(
      'SELECT id, state, size FROM attachments WHERE uploader_id = $1',
      [cy.id],
    );
    expect(stored.rows.map((r) => [r.state, Number(r.size)])).toEqual([
      ['ready', size],
      ['ready', size],
    ]);
    const ok = answers
      .filter((a) => a.status === 201)
      .map((a) => (a.body as { attachment: { id: string } }).attachment.id)
      .sort();
    expect(stored.rows.map((r) => r.id).sort()).toEqual(ok);
    // Nothing half-stored: only the two files' chunks were added.
    await until(
      'the refused uploads’ chunks removed',
      async () => (await counts()).chunks === before.chunks + 6,
      5000,
    );
    expect((await counts()).files).toBe(before.files + 2);
    // Each stored file is whole.
    for (const id of ok) {
      const got = await download(cy.agent, `/attachments/${id}`);
      expect(got.status).toBe(200);
      expect((got.body as Buffer).equals(pdf(size))).toBe(true);
    }
  });
});

describe('clean-up', () => {
  it('sweeps uploads never sent after a day, and cut-off uploads after an hour; sent files stay', async () => {
    const sent = await uploaded(ann.agent, chat, { data: pdf(), name: 'sent.pdf' });
    await sendWith('kept', [sent.id]);
    const old = await uploaded(ann.agent, chat, { data: pdf(), name: 'old.pdf' });
    const fresh = await uploaded(ann.agent, chat, { data: pdf(), name: 'fresh.pdf' });
    await app.pool.query(
      `UPDATE attachments SET created_at = now() - interval '25 hours' WHERE id = ANY($1)`,
      [[old.id, sent.id]],
    );
    const cut = await app.pool.query<{ id: string }>(
      `INSERT INTO attachments (conversation_id, uploader_id, name, created_at)
       VALUES ($1, $2, 'cut.pdf', now() - interval '2 hours') RETURNING id`,
      [chat, ann.id],
    );
    expect(await sweep(app.pool)).toBeGreaterThanOrEqual(2);
    const { rows } = await app.pool.query<{ id: string }>(
      'SELECT id FROM attachments WHERE id = ANY($1)',
      [[sent.id, old.id, fresh.id, cut.rows[0]!.id]],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([sent.id, fresh.id].sort());
    const orphans = await app.pool.query(
      'SELECT 1 FROM attachment_chunks c WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.id = c.attachment_id)',
    );
    expect(orphans.rowCount).toBe(0);
    // An expired upload can no longer be sent.
    const late = await uploaded(ann.agent, chat, { data: pdf(), name: 'late.pdf' });
    await app.pool.query(
      `UPDATE attachments SET created_at = now() - interval '25 hours' WHERE id = $1`,
      [late.id],
    );
    expect(await sendWith('late', [late.id])).toMatchObject({
      ok: false,
      error: { code: 'invalid' },
    });
  });

  it('a deleted message takes its files and their bytes with it (deleted row, or marked deleted)', async () => {
    for (const how of ['row', 'mark'] as const) {
      const a = await uploaded(ann.agent, chat, { data: await png(), name: `${how}.png` });
      const ack = await sendWith(how, [a.id]);
      if (!ack.ok) throw new Error('send failed');
      if (how === 'row')
        await app.pool.query('DELETE FROM messages WHERE id = $1', [ack.message.id]);
      else
        await app.pool.query('UPDATE messages SET deleted_at = now() WHERE id = $1', [
          ack.message.id,
        ]);
      const left = await app.pool.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM attachments WHERE id = $1)::int + (SELECT count(*) FROM attachment_chunks WHERE attachment_id = $1)::int AS n`,
        [a.id],
      );
      expect(left.rows[0]!.n, how).toBe(0);
      expect((await bo.agent.get(`/attachments/${a.id}`)).status, how).toBe(404);
    }
  });
});

describe('the byte store', () => {
  it('gives every byte back in order, at and around the sizes where a read takes one more query', async () => {
    const sizes = [1, CHUNK_BYTES, 4 * CHUNK_BYTES, 4 * CHUNK_BYTES + 1, 9 * CHUNK_BYTES - 7];
    for (const size of sizes) {
      const id = await createUpload(app.ctx.db, {
        conversationId: chat,
        uploaderId: ann.id,
        name: 'bytes.bin',
      });
      const data = randomBytes(size);
      // In odd pieces, as the network hands them over.
      const pieces: Buffer[] = [];
      for (let at = 0; at < size; at += 100_003) pieces.push(data.subarray(at, at + 100_003));
      expect(await app.ctx.files.write(id, 'original', pieces)).toBe(size);
      const back: Buffer[] = [];
      for await (const piece of app.ctx.files.read(id, 'original')) back.push(piece);
      expect(Buffer.concat(back).equals(data), `${size} bytes`).toBe(true);
      const none: Buffer[] = [];
      for await (const piece of app.ctx.files.read(id, 'thumb')) none.push(piece);
      expect(none).toEqual([]);
      await deleteAttachment(app.ctx.db, id);
    }
  });

  it('a failing COPY rejects with the server’s error and leaves its connection usable', async () => {
    const pool = app.ctx.db;
    await expect(
      copyOutColumn(pool, 'COPY (SELECT 1 / 0) TO STDOUT (FORMAT binary)'),
    ).rejects.toThrow('division by zero');
    await expect(
      copyOutColumn(pool, "COPY (SELECT 'a'::bytea, 'b'::bytea) TO STDOUT (FORMAT binary)"),
    ).rejects.toThrow('2 columns');
    const rows = await copyOutColumn(
      pool,
      "COPY (SELECT 'é'::bytea UNION ALL SELECT ''::bytea) TO STDOUT (FORMAT binary)",
    );
    expect(rows.map((r) => r.toString())).toEqual(['é', '']);
    const { rows: after } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(after[0]!.one).toBe(1);
  });

  it('refuses to read by anything but an attachment id (COPY takes no parameters)', async () => {
    const reading = async () => {
      for await (const piece of app.ctx.files.read("x' OR true --", 'original')) void piece;
    };
    await expect(reading()).rejects.toThrow('not an attachment id');
  });
});

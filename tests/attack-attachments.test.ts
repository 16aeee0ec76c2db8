// Attacks on pictures and files (SECURITY.md): someone else's file id, fetching what is not
// yours, oversize bodies, lying types, hostile names, polyglots, SVG, bombs.
import http from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { openChat, signUp, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { ask, closeSockets, cookieOf, openSocket, type ClientSocket } from './support/sockets.js';
import {
  apngClaiming,
  download,
  gifBomb,
  HTML_PAGE,
  pdf,
  png,
  pngBomb,
  polyglotPng,
  SCRIPT,
  SVG_WITH_SCRIPT,
  upload,
  uploaded,
  uploadNamed,
} from './support/files.js';
import { tokenFor } from './support/app.js';

let app: TestApp;
let ann: TestUser;
let bo: TestUser;
let eve: TestUser;
let annBo: number;
let eveBo: number;
let annTab: ClientSocket;
let eveTab: ClientSocket;

beforeAll(async () => {
  app = await startTestApp();
  ann = await signUp(app, { displayName: 'Ann' });
  bo = await signUp(app, { displayName: 'Bo' });
  eve = await signUp(app, { displayName: 'Eve' });
  annBo = await openChat(ann, bo);
  eveBo = await openChat(eve, bo);
  annTab = await openSocket(app.baseUrl, await cookieOf(ann.agent));
  eveTab = await openSocket(app.baseUrl, await cookieOf(eve.agent));
});
afterAll(async () => {
  closeSockets();
  await app?.close();
});

const send = (tab: ClientSocket, conversationId: number, attachmentIds: string[], body = 'x') =>
  ask(tab, 'message:send', {
    conversationId,
    body,
    clientId: crypto.randomUUID(),
    attachmentIds,
  });

async function storedCount(): Promise<number> {
  const { rows } = await app.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM attachments',
  );
  return rows[0]!.n;
}

describe('someone else’s file', () => {
  it('another person’s pending upload cannot be sent by Eve, and stays theirs, unlinked', async () => {
    const anns = await uploaded(ann.agent, annBo, { data: pdf(), name: 'private.pdf' });
    const ack = await send(eveTab, eveBo, [anns.id]);
    expect(ack).toMatchObject({ ok: false, error: { code: 'invalid' } });
    const { rows } = await app.pool.query(
      'SELECT message_id, uploader_id FROM attachments WHERE id = $1',
      [anns.id],
    );
    expect(rows[0]).toEqual({ message_id: null, uploader_id: ann.id });
    // Nor may Eve fetch it, or take it out of Ann's composer.
    expect((await eve.agent.get(`/attachments/${anns.id}`)).status).toBe(404);
    // …and the message Eve tried did not slip through without it.
    const msgs = await app.pool.query('SELECT 1 FROM messages WHERE sender_id = $1', [eve.id]);
    expect(msgs.rowCount).toBe(0);
  });

  it('an upload made for one conversation cannot be sent in another', async () => {
    const eveAnn = await openChat(eve, ann);
    const mine = await uploaded(ann.agent, annBo, { data: pdf(), name: 'for-bo.pdf' });
    expect(await send(annTab, eveAnn, [mine.id])).toMatchObject({
      ok: false,
      error: { code: 'invalid' },
    });
  });

  it('a file already sent cannot be sent again in another message', async () => {
    const a = await uploaded(ann.agent, annBo, { data: pdf(), name: 'once.pdf' });
    expect((await send(annTab, annBo, [a.id])).ok).toBe(true);
    expect(await send(annTab, annBo, [a.id])).toMatchObject({
      ok: false,
      error: { code: 'invalid' },
    });
  });

  it('nobody uploads into a conversation they are not in', async () => {
    const res = await upload(eve.agent, annBo, { data: pdf(), name: 'x.pdf' });
    expect(res.status).toBe(404);
  });
});

describe('fetching a file', () => {
  it('a non-member gets the same 404 as for an id that does not exist', async () => {
    const a = await uploaded(ann.agent, annBo, { data: await png(), name: 'ours.png' });
    await send(annTab, annBo, [a.id]);
    expect((await bo.agent.get(`/attachments/${a.id}`)).status).toBe(200);
    const theirs = await eve.agent.get(`/attachments/${a.id}/thumb`);
    const missing = await eve.agent.get(`/attachments/${crypto.randomUUID()}/thumb`);
    expect(theirs.status).toBe(404);
    expect(theirs.text).toBe(missing.text);
    expect((await eve.agent.get('/attachments/1')).status).toBe(404); // not even an id
    // Logged out: to the login page.
    expect((await request(app.baseUrl).get(`/attachments/${a.id}`)).status).toBe(303);
  });

  it('a former member keeps the files they saw, and gets none sent after they left', async () => {
    const before = await uploaded(ann.agent, annBo, { data: pdf(), name: 'before.pdf' });
    const sentBefore = await send(annTab, annBo, [before.id]);
    if (!sentBefore.ok) throw new Error('send failed');
    // Bo leaves (the member history rule: history_to is the last message he could see).
    await app.pool.query(
      'UPDATE conversation_members SET history_to = $3 WHERE conversation_id = $1 AND user_id = $2',
      [annBo, bo.id, sentBefore.message.id],
    );
    app.ctx.members.invalidate(annBo);
    const after = await uploaded(ann.agent, annBo, { data: pdf(), name: 'after.pdf' });
    const sentAfter = await send(annTab, annBo, [after.id]);
    expect(sentAfter.ok).toBe(true);
    expect((await bo.agent.get(`/attachments/${before.id}`)).status).toBe(200);
    expect((await bo.agent.get(`/attachments/${after.id}`)).status).toBe(404);
    await app.pool.query(
      'UPDATE conversation_members SET history_to = NULL WHERE conversation_id = $1 AND user_id = $2',
      [annBo, bo.id],
    );
    app.ctx.members.invalidate(annBo);
  });

  it('a member who declined the conversation gets nothing from it', async () => {
    const stranger = await signUp(app, { displayName: 'Stranger' });
    const req = await openChat(stranger, { email: ann.email }); // a message request to Ann
    const strangerTab = await openSocket(app.baseUrl, await cookieOf(stranger.agent));
    const a = await uploaded(stranger.agent, req, { data: await png(), name: 'hello.png' });
    expect((await send(strangerTab, req, [a.id])).ok).toBe(true);
    await app.pool.query(
      `UPDATE conversation_members SET state = 'declined' WHERE conversation_id = $1 AND user_id = $2`,
      [req, ann.id],
    );
    expect((await ann.agent.get(`/attachments/${a.id}`)).status).toBe(404);
  });
});

describe('what is uploaded', () => {
  it('an oversize body is refused from its Content-Length alone, before it is read', async () => {
    const token = await tokenFor(ann.agent, `/conversations/${annBo}`);
    const cookie = await cookieOf(ann.agent);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${app.baseUrl}/conversations/${annBo}/attachments`, {
        method: 'POST',
        headers: {
          cookie,
          'x-csrf-token': token,
          'content-type': 'multipart/form-data; boundary=b',
          'content-length': String(2 * 1024 ** 3),
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write('--b\r\n');
    });
    expect(status).toBe(413);
  });

  it('an HTML page sent as photo.png with Content-Type image/png is refused', async () => {
    const before = await storedCount();
    const res = await upload(ann.agent, annBo, {
      data: HTML_PAGE,
      name: 'photo.png',
      type: 'image/png',
    });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ ok: false, error: { code: 'refused_type' } });
    expect(await storedCount()).toBe(before);
  });

  it('a file that says it is a picture only by its Content-Type is refused too', async () => {
    const res = await upload(ann.agent, annBo, {
      data: HTML_PAGE,
      name: 'photo',
      type: 'image/jpeg',
    });
    expect(res.status).toBe(415);
  });

  it('HTML named .html is kept as a file and only ever downloaded, never rendered', async () => {
    const a = await uploaded(ann.agent, annBo, {
      data: HTML_PAGE,
      name: 'page.html',
      type: 'text/html',
    });
    expect(a.type).toBe('application/octet-stream');
    await send(annTab, annBo, [a.id]);
    const res = await download(bo.agent, `/attachments/${a.id}`);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-disposition']).toMatch(/^attachment; /);
    expect(res.headers['content-security-policy']).toBe("sandbox; default-src 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('an SVG with a script is a download, never a picture shown inline', async () => {
    const a = await uploaded(ann.agent, annBo, {
      data: SVG_WITH_SCRIPT,
      name: 'logo.svg',
      type: 'image/svg+xml',
    });
    expect(a.type).toBe('application/octet-stream');
    expect(a.width).toBeUndefined();
    await send(annTab, annBo, [a.id]);
    const res = await download(bo.agent, `/attachments/${a.id}`);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="logo.svg"/);
    expect((await bo.agent.get(`/attachments/${a.id}/thumb`)).status).toBe(404);
    const page = await bo.agent.get(`/conversations/${annBo}`);
    expect(page.text).not.toContain(`<img src="/attachments/${a.id}`);
  });

  it('a polyglot PNG (HTML inside and after it) is stored re-encoded: the HTML is gone', async () => {
    const poly = await polyglotPng();
    expect(poly.includes(SCRIPT)).toBe(true);
    const a = await uploaded(ann.agent, annBo, { data: poly, name: 'poly.png', type: 'image/png' });
    await send(annTab, annBo, [a.id]);
    const res = await download(bo.agent, `/attachments/${a.id}`);
    const body = res.body as Buffer;
    expect(res.headers['content-type']).toBe('image/png');
    expect(body.includes('<script')).toBe(false);
    expect(body.includes('<html')).toBe(false);
    expect((await sharp(body).metadata()).format).toBe('png');
  });

  it('a 0-byte file is refused with words', async () => {
    const res = await upload(ann.agent, annBo, { data: Buffer.alloc(0), name: 'empty.txt' });
    expect(res.status).toBe(400);
    expect((res.body as { error: { message: string } }).error.message).toContain('is empty');
  });

  it('a picture whose header claims 30,000 × 30,000 pixels is refused before it is decoded', async () => {
    const before = await storedCount();
    const bomb = pngBomb();
    expect(bomb.length).toBeLessThan(200_000);
    const rss = process.memoryUsage().rss;
    const res = await upload(ann.agent, annBo, { data: bomb, name: 'bomb.png', type: 'image/png' });
    expect(res.status).toBe(413);
    expect((res.body as { error: { message: string } }).error.message).toContain(
      '30,000 × 30,000 pixels',
    );
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);
    expect(await storedCount()).toBe(before);
  });

  it('an animation whose frames together pass the pixel budget is refused with words before it is decoded (GIF, APNG); a small one is kept', async () => {
    const before = await storedCount();
    // 1,500 × 1,500 pixels a frame (2.25 million), 25 frames: 56 million pixels in all.
    const bomb = gifBomb(1500, 25);
    expect(bomb.length).toBeLessThan(2000);
    expect((await sharp(bomb, { animated: true }).metadata()).pages).toBe(25);
    const res = await upload(ann.agent, annBo, {
      data: bomb,
      name: 'frames.gif',
      type: 'image/gif',
    });
    expect(res.status).toBe(413);
    expect((res.body as { error: { message: string } }).error.message).toBe(
      'That animated picture is too large to show (1,500 × 1,500 pixels in each of 25 frames, 56 million pixels in all); the most is 50 million pixels in all frames together.',
    );
    const apng = await apngClaiming(2000, 20); // 80 million pixels by its header
    const refused = await upload(ann.agent, annBo, {
      data: apng,
      name: 'a.png',
      type: 'image/png',
    });
    expect(refused.status).toBe(413);
    expect((refused.body as { error: { message: string } }).error.message).toContain(
      'in each of 20 frames',
    );
    expect(await storedCount()).toBe(before);
    // Within the budget an animation is still welcome, and stays animated.
    const small = await upload(ann.agent, annBo, {
      data: gifBomb(100, 12),
      name: 'small.gif',
      type: 'image/gif',
    });
    expect(small.status).toBe(201);
    const stored = (small.body as { attachment: { id: string } }).attachment;
    const back = await download(ann.agent, `/attachments/${stored.id}`);
    expect((await sharp(back.body as Buffer, { animated: true }).metadata()).pages).toBe(12);
  });

  it('a program is refused, whatever its name', async () => {
    const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(500)]);
    const res = await upload(ann.agent, annBo, { data: exe, name: 'holiday-photos.pdf' });
    expect(res.status).toBe(415);
    expect((res.body as { error: { message: string } }).error.message).toContain('Programs');
  });

  it('a file name with CR/LF, ../ and direction tricks is stored and sent back harmlessly', async () => {
    const hostile = '../../etc/passwd\r\nSet-Cookie: x=1\r\n\u202Egpj.exe "quoted";ü 📎.txt';
    const res0 = await uploadNamed(
      ann.agent,
      annBo,
      encodeURIComponent(hostile),
      Buffer.from('hello'),
    );
    expect(res0.status).toBe(201);
    const a = (res0.body as { attachment: { id: string; name: string } }).attachment;
    expect(a.name).toBe('passwdSet-Cookie: x=1gpj.exe "quoted";ü 📎.txt');
    await send(annTab, annBo, [a.id]);
    const res = await download(bo.agent, `/attachments/${a.id}`);
    expect(res.status).toBe(200);
    // No header of the name's making (the session's own cookie may be refreshed, as on any page).
    expect(JSON.stringify(res.headers['set-cookie'] ?? [])).not.toContain('x=1');
    expect(Object.keys(res.headers)).not.toContain('x');
    const cd = res.headers['content-disposition']!;
    expect(cd).toBe(
      `attachment; filename="passwdSet-Cookie: x=1gpj.exe _quoted___ __.txt"; filename*=UTF-8''${encodeURIComponent(a.name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`,
    );
    expect(cd).not.toMatch(/[\r\n]/);
    // The page shows the name as text.
    const page = await bo.agent.get(`/conversations/${annBo}`);
    expect(page.text).toContain('gpj.exe &#34;quoted&#34;;ü 📎.txt');
  });

  it('refuses an upload without the form token', async () => {
    const res = await ann.agent
      .post(`/conversations/${annBo}/attachments`)
      .set('accept', 'application/json')
      .attach('file', pdf(), 'x.pdf');
    expect(res.status).toBe(403);
  });
});

// Oversized and malformed input: socket frames over the transport limit, broken
// socket.io packets, forms too large or with too many fields. Each is refused
// (the socket dropped, or a 413, or words) and stores nothing, and only the
// sender is affected. The broken packets are in tests/fixtures/hostile.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Socket } from 'socket.io-client';
import { MALFORMED_FRAMES } from './fixtures/hostile.js';
import { startTestApp, tokenFor, type TestApp } from './support/app.js';
import { closeRawSockets, countRows, floodTrio, outcome, rawSocket } from './support/attack.js';
import {
  ask,
  askRaw,
  closeSockets,
  cookieOf,
  openSocket,
  send,
  type ClientSocket,
} from './support/sockets.js';

afterEach(() => {
  closeSockets();
  closeRawSockets();
});

const uuid = () => crypto.randomUUID();

/** The socket's end: its disconnect reason, or its ack, whichever comes first, within 5 s. */
function dropOrAck(socket: Socket | ClientSocket, event: string, payload: unknown) {
  const s = socket as unknown as Socket;
  return new Promise<{ dropped?: string; ack?: unknown }>((resolve) => {
    const timer = setTimeout(() => resolve({ dropped: 'no answer within 5 s' }), 5000);
    s.once('disconnect', (reason: string) => {
      clearTimeout(timer);
      resolve({ dropped: reason });
    });
    s.emit(event, payload, (ack: unknown) => {
      clearTimeout(timer);
      resolve({ ack });
    });
  });
}

describe('with rate limits on', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ rateLimit: true });
  });
  afterAll(async () => {
    closeSockets();
    await app?.close();
  });

  it('a 200 KB socket frame (over the 64 KB transport limit) drops only that socket and stores nothing; others keep working', async () => {
    const { flooder, victim, other, flooded, calm } = await floodTrio(app);
    const victimTab = await openSocket(app.baseUrl, await cookieOf(victim.agent));
    const otherTab = await openSocket(app.baseUrl, await cookieOf(other.agent));
    const before = await countRows(app.pool, 'messages');
    const huge = 'x'.repeat(200_000);
    const outcomes: Record<string, unknown> = {};
    for (const transport of ['websocket', 'polling'] as const) {
      const s = rawSocket(app.baseUrl, {
        cookie: await cookieOf(flooder.agent),
        transports: [transport],
      });
      expect(await outcome(s)).toBe('connected');
      const res = await dropOrAck(s, 'message:send', {
        conversationId: flooded,
        body: huge,
        clientId: uuid(),
      });
      outcomes[transport] = res.dropped ? 'dropped' : res.ack;
      expect(res.dropped, `${transport}: ${JSON.stringify(res.ack)?.slice(0, 200)}`).toMatch(
        /transport (close|error)/,
      );
    }
    expect(outcomes).toEqual({ websocket: 'dropped', polling: 'dropped' });
    // A frame under the transport limit but over the message limit is refused with words, and the socket stays.
    const tab = await openSocket(app.baseUrl, await cookieOf(flooder.agent));
    expect(
      await askRaw(tab, 'message:send', {
        conversationId: flooded,
        body: 'y'.repeat(50_000),
        clientId: uuid(),
      }),
    ).toEqual({
      ok: false,
      error: {
        code: 'invalid',
        message: 'Messages are at most 4,000 characters; this one has 50,000.',
      },
    });
    expect(tab.connected).toBe(true);

    expect(await countRows(app.pool, 'messages')).toBe(before);
    expect((await send(otherTab, calm, 'still here')).body).toBe('still here');
    expect(victimTab.connected).toBe(true);
    expect((await request(app.baseUrl).get('/healthz')).status).toBe(200);
    expect((await send(tab, flooded, 'and the flooder too')).body).toBe('and the flooder too');
  });

  it('malformed socket.io packets close only the socket that sent them', async () => {
    const { flooder, other, calm } = await floodTrio(app);
    const otherTab = await openSocket(app.baseUrl, await cookieOf(other.agent));
    const reasons: string[] = [];
    for (const frame of MALFORMED_FRAMES) {
      const s = await openSocket(app.baseUrl, await cookieOf(flooder.agent));
      const gone = new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('still connected'), 2000);
        s.once('disconnect', (reason) => {
          clearTimeout(timer);
          resolve(reason);
        });
      });
      (s.io.engine as unknown as { write(data: string): void }).write(frame);
      const reason = await gone;
      if (reason === 'still connected') {
        // Not closed: then the socket must still answer properly.
        expect(await ask(s, 'inbox:sync', {}), JSON.stringify(frame.slice(0, 40))).toMatchObject({
          ok: true,
        });
      }
      reasons.push(reason);
      s.disconnect();
    }
    // Each one either closed its socket or left it answering; none went unnoticed.
    for (const r of reasons)
      expect(['transport close', 'io server disconnect', 'still connected']).toContain(r);
    expect(reasons.filter((r) => r !== 'still connected').length).toBeGreaterThan(0);
    expect(otherTab.connected).toBe(true);
    expect((await send(otherTab, calm, 'unbothered')).body).toBe('unbothered');
    expect((await request(app.baseUrl).get('/healthz')).status).toBe(200);
  });

  it('oversized forms and forms with too many fields get 413 and store nothing', async () => {
    const { flooder, flooded } = await floodTrio(app);
    const token = await tokenFor(flooder.agent, `/conversations/${flooded}`);
    const before = await countRows(app.pool, 'messages');
    const tooBig = await flooder.agent
      .post(`/conversations/${flooded}/messages`)
      .type('form')
      .send({ body: 'z'.repeat(200_000), _csrf: token });
    expect(tooBig.status).toBe(413);
    expect(tooBig.text).toContain('That was too large to send.');
    const tooMany = await flooder.agent
      .post(`/conversations/${flooded}/messages`)
      .type('form')
      .send(`body=hi&_csrf=${token}&${Array.from({ length: 60 }, (_, i) => `f${i}=1`).join('&')}`);
    expect(tooMany.status).toBe(413);
    const bigLogin = await request(app.baseUrl)
      .post('/login')
      .type('form')
      .send({ email: 'a@b.co', password: 'p'.repeat(200_000) });
    expect(bigLogin.status).toBe(413);
    // Under the form limit but over the message limit: words, not 413.
    const long = await flooder.agent
      .post(`/conversations/${flooded}/messages`)
      .type('form')
      .send({ body: 'z'.repeat(20_000), _csrf: token });
    expect(long.status).toBe(400);
    expect(long.text).toContain('Messages are at most 4,000 characters; this one has 20,000.');
    expect(await countRows(app.pool, 'messages')).toBe(before);
    expect((await request(app.baseUrl).get('/healthz')).status).toBe(200);
  });
});

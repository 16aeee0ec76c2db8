// Floods: one person sending or typing as fast as a socket allows gets their
// budget and no more, while everyone else is served as usual. The limiter's
// clock stands still unless the test moves it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { manualClock, startTestApp, type TestApp, type TestUser } from './support/app.js';
import { floodTrio } from './support/attack.js';
import {
  ask,
  askRaw,
  closeSockets,
  cookieOf,
  openSocket,
  record,
  sleep,
  until,
} from './support/sockets.js';

afterEach(() => {
  closeSockets();
});

const uuid = () => crypto.randomUUID();
const LIMITED = {
  ok: false,
  error: {
    code: 'rate_limited',
    message: 'You are sending too fast. Wait a moment, then try again.',
  },
};

describe('with rate limits on', () => {
  let app: TestApp;
  const clock = manualClock();
  beforeAll(async () => {
    app = await startTestApp({ rateLimit: true, clock: clock.now });
  });
  afterAll(async () => {
    closeSockets();
    await app?.close();
  });

  const rowsBy = async (user: TestUser) =>
    (
      await app.pool.query<{ body: string }>(
        'SELECT body FROM messages WHERE sender_id = $1 ORDER BY id',
        [user.id],
      )
    ).rows.map((r) => r.body);

  it('a socket flooding 200 sends gets rate_limited past its budget of 30, only the allowed ones are stored, others are served meanwhile, and the flooder may send again once the budget refills', async () => {
    const { flooder, victim, other, flooded, calm } = await floodTrio(app);
    const [floodTab, secondTab] = [
      await openSocket(app.baseUrl, await cookieOf(flooder.agent)),
      await openSocket(app.baseUrl, await cookieOf(flooder.agent)),
    ];
    const otherTab = await openSocket(app.baseUrl, await cookieOf(other.agent));
    const victimTab = await openSocket(app.baseUrl, await cookieOf(victim.agent));
    const victimGot = record(victimTab, 'message:new');

    const flood = Array.from({ length: 200 }, (_, i) =>
      askRaw(
        floodTab,
        'message:send',
        { conversationId: flooded, body: `flood ${i}`, clientId: uuid() },
        10_000,
      ),
    );
    // Meanwhile: another person sends, and the health check is asked.
    const [otherSend, health] = await Promise.all([
      ask(otherTab, 'message:send', {
        conversationId: calm,
        body: 'business as usual',
        clientId: uuid(),
      }),
      request(app.baseUrl).get('/healthz'),
    ]);
    const acks = (await Promise.all(flood)) as Array<{ ok: boolean; message?: { body: string } }>;

    expect(otherSend).toMatchObject({ ok: true, message: { body: 'business as usual' } });
    expect(health.status).toBe(200);

    // The limiter's clock stands still, so the budget is exactly its burst.
    const accepted = acks.filter((a) => a.ok);
    const refused = acks.filter((a) => !a.ok);
    expect(accepted.length).toBe(30);
    expect(refused.length).toBe(170);
    for (const r of refused) expect(r).toEqual(LIMITED);
    expect((await rowsBy(flooder)).sort()).toEqual(accepted.map((a) => a.message!.body).sort());
    await until(
      'the victim to get every accepted message',
      () => victimGot.filter((m) => m.conversationId === flooded).length === accepted.length,
    );

    // Another tab of the flooder has no budget of its own.
    const fromTab2 = { conversationId: flooded, body: 'from tab 2', clientId: uuid() };
    expect(await askRaw(secondTab, 'message:send', fromTab2)).toEqual(LIMITED);

    // After a pause the budget refills (5 per second): 200 ms buys one message, not two.
    clock.advance(200);
    expect(
      await askRaw(floodTab, 'message:send', {
        conversationId: flooded,
        body: 'after a pause',
        clientId: uuid(),
      }),
    ).toMatchObject({ ok: true, message: { body: 'after a pause' } });
    expect(await askRaw(secondTab, 'message:send', { ...fromTab2, clientId: uuid() })).toEqual(
      LIMITED,
    );
    expect(floodTab.connected).toBe(true);
  });

  it('a typing flood reaches the other person exactly as often as the typing budget allows', async () => {
    const { flooder, victim, flooded } = await floodTrio(app);
    const floodTab = await openSocket(app.baseUrl, await cookieOf(flooder.agent));
    const victimTab = await openSocket(app.baseUrl, await cookieOf(victim.agent));
    const heard = record(victimTab, 'typing');
    const acks = (await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        askRaw(floodTab, 'typing', { conversationId: flooded, typing: i % 2 === 0 }),
      ),
    )) as Array<{ ok: boolean; error?: { code: string } }>;
    const accepted = acks.filter((a) => a.ok).length;
    expect(accepted).toBe(10);
    expect(acks.filter((a) => !a.ok).every((a) => a.error?.code === 'rate_limited')).toBe(true);
    await until('the other person to hear every accepted typing event', () => heard.length >= 10);
    await sleep(300);
    expect(heard.length).toBe(accepted);
  });
});

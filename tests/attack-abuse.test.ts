// Attack suite: floods, oversized frames and forms, malformed packets, and a
// seeded fuzz of every socket event and every form. The server keeps serving
// others, stores only what was validly sent, and nothing in the process is polluted.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Socket } from 'socket.io-client';
import {
  manualClock,
  post,
  signUp,
  startTestApp,
  tokenFor,
  uniqueEmail,
  type Agent,
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
  record,
  send,
  sleep,
  until,
  type ClientSocket,
} from './support/sockets.js';
import {
  closeRawSockets,
  countRows,
  outcome,
  prng,
  rawSocket,
  type Rng,
} from './support/attack.js';

afterEach(() => {
  closeSockets();
  closeRawSockets();
});

const uuid = () => crypto.randomUUID();
const LIMITED = {
  ok: false,
  error: {
    code: 'rate_limited',
    message: 'You are sending too fast. Wait a moment, then try again.',
  },
};

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
  const clock = manualClock();
  beforeAll(async () => {
    app = await startTestApp({ rateLimit: true, clock: clock.now });
  });
  afterAll(async () => {
    closeSockets();
    await app?.close();
  });

  async function trio() {
    const flooder = await signUp(app, { displayName: 'Flooder' });
    const victim = await signUp(app, { displayName: 'Victim' });
    const other = await signUp(app, { displayName: 'Other' });
    return {
      flooder,
      victim,
      other,
      flooded: await openDirect(flooder, victim),
      calm: await openDirect(other, victim),
    };
  }
  const rowsBy = async (user: TestUser) =>
    (
      await app.pool.query<{ body: string }>(
        'SELECT body FROM messages WHERE sender_id = $1 ORDER BY id',
        [user.id],
      )
    ).rows.map((r) => r.body);

  it('a socket flooding 200 sends gets rate_limited past its budget of 30, only the allowed ones are stored, others are served meanwhile, and the flooder may send again once the budget refills', async () => {
    const { flooder, victim, other, flooded, calm } = await trio();
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
    const { flooder, victim, flooded } = await trio();
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

  it('a 200 KB socket frame (over the 64 KB transport limit) drops only that socket and stores nothing; others keep working', async () => {
    const { flooder, victim, other, flooded, calm } = await trio();
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
    const { flooder, other, calm } = await trio();
    const otherTab = await openSocket(app.baseUrl, await cookieOf(other.agent));
    const frames = [
      '42[',
      '42{"not":"an array"}',
      '42["message:send",{"conversationId":1,"body":',
      `42${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      '4299999999999999999999["message:send",{}]',
      '9',
      '',
    ];
    const reasons: string[] = [];
    for (const frame of frames) {
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
    const { flooder, flooded } = await trio();
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

// ---------------------------------------------------------------------------------------------
// Fuzz: seeded, so a failure names its seed and index and replays the same way.

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);
const SOCKET_PAYLOADS = 3000;
const FORMS_PER_ROUTE = 100;
const PROBES = ['polluted', 'isAdmin', 'userId', 'pwned'];

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  1.5,
  -1.5,
  2 ** 31,
  -(2 ** 31),
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e308,
  -1e308,
  NaN,
  Infinity,
  -Infinity,
  1e-7,
];
const STRINGS = [
  '',
  ' ',
  '\t\n',
  'NaN',
  'Infinity',
  '-Infinity',
  '-1',
  '0',
  '00',
  '1e3',
  '0x10',
  '0b1',
  ' 1',
  '1 ',
  '+1',
  '1.0',
  '١٢',
  '９',
  '9'.repeat(17),
  '9007199254740993',
  'true',
  'false',
  'null',
  'undefined',
  '[object Object]',
  '__proto__',
  'constructor',
  'prototype',
  '<script>alert(1)</script>',
  "'; DROP TABLE messages; --",
  '%00',
  '\u0000',
  'a\u0000b',
  '\u202Eevil',
  '👩‍👩‍👧‍👦',
  'e\u0301',
  '\u200B',
  '{"$gt":0}',
  '$where',
  '../../etc/passwd',
  'x'.repeat(5000),
  '😀'.repeat(4001),
];
const KEYS = [
  'conversationId',
  'body',
  'clientId',
  'after',
  'messageId',
  'typing',
  'userId',
  'senderId',
  'senderName',
  'id',
  'isAdmin',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '',
  ' ',
  '0',
  'length',
];
const CODE_POINTS: Array<[number, number]> = [
  [0x20, 0x7e],
  [0x00, 0x1f],
  [0xa0, 0x17f],
  [0x300, 0x36f],
  [0x590, 0x6ff],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x4e00, 0x4e50],
  [0x1f300, 0x1f64f],
  [0xfe00, 0xfe0f],
];

function randomText(r: Rng, max = 40): string {
  if (r.chance(0.3)) return r.pick(STRINGS);
  const n = r.chance(0.02) ? r.int(3990, 4010) : r.int(0, max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = r.pick(CODE_POINTS);
    s += String.fromCodePoint(r.int(lo, hi)); // whole code points: never a lone surrogate
  }
  return s;
}

function randomValue(r: Rng, depth = 0): unknown {
  const k = r.int(0, depth > 3 ? 4 : 9);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.pick(NUMBERS);
    case 2:
      return randomText(r);
    case 3:
      return r.chance(0.5);
    case 4:
      return r.int(-5, 5) * r.pick([1, 1000, 2 ** 40]);
    case 5:
      return Array.from({ length: r.int(0, 4) }, () => randomValue(r, depth + 1));
    case 6: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(0, 4); i > 0; i--) o[r.pick(KEYS)] = randomValue(r, depth + 1);
      return o;
    }
    case 7: {
      // Deep nesting, hundreds of levels.
      let v: unknown = randomValue(r, 4);
      for (let i = r.int(50, 400); i > 0; i--) v = r.chance(0.5) ? [v] : { [r.pick(KEYS)]: v };
      return v;
    }
    case 8:
      // Own __proto__ / constructor keys, as JSON.parse makes them.
      return JSON.parse(
        r.pick([
          '{"__proto__":{"polluted":"yes","isAdmin":true}}',
          '{"constructor":{"prototype":{"polluted":"yes"}}}',
          '{"__proto__":{"__proto__":{"pwned":1}},"conversationId":1}',
          '{"prototype":{"userId":1}}',
        ]),
      ) as unknown;
    default:
      return Array.from({ length: r.int(1000, 20_000) }, () => 0);
  }
}

interface SendSlot {
  clientId: string;
  body: string;
}

describe('fuzzing', () => {
  let app: TestApp;
  let fz: TestUser;
  let peer: TestUser;
  let stranger: TestUser;
  let mine: number;
  let notMine: number;
  let prototypeBefore: string[];
  beforeAll(async () => {
    app = await startTestApp();
    fz = await signUp(app, { displayName: 'Fuzzer' });
    peer = await signUp(app, { displayName: 'Peer' });
    stranger = await signUp(app, { displayName: 'Stranger' });
    mine = await openDirect(fz, peer);
    notMine = await openDirect(peer, stranger);
    prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  });
  afterAll(async () => {
    closeSockets();
    await app?.close();
  });

  it('reusing a client id with a different text at the same moment is answered with the text that was stored', async () => {
    // A buggy or hostile client: two sends, one clientId, two bodies, while another send is in flight.
    const tab = await openSocket(app.baseUrl, await cookieOf(peer.agent));
    const mismatches: string[] = [];
    for (let round = 0; round < 10; round++) {
      const clientId = uuid();
      const acks = (await Promise.all([
        askRaw(tab, 'message:send', { conversationId: mine, body: 'in flight', clientId: uuid() }),
        askRaw(tab, 'message:send', { conversationId: mine, body: `text A ${round}`, clientId }),
        askRaw(tab, 'message:send', { conversationId: mine, body: `text B ${round}`, clientId }),
      ])) as Array<{ ok: boolean; message?: { id: number; body: string } }>;
      const { rows } = await app.pool.query<{ id: number; body: string }>(
        'SELECT id, body FROM messages WHERE sender_id = $1 AND client_id = $2',
        [peer.id, clientId],
      );
      expect(rows).toHaveLength(1);
      for (const ack of acks.slice(1)) {
        if (ack.ok && ack.message!.body !== rows[0]!.body) {
          mismatches.push(
            `round ${round}: acked "${ack.message!.body}" as message ${ack.message!.id}, stored "${rows[0]!.body}"`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  function expectNoPollution() {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    const probe = {} as Record<string, unknown>;
    for (const key of PROBES) expect(probe[key], key).toBeUndefined();
    expect(Object.getOwnPropertyNames(Array.prototype)).not.toContain('polluted');
  }

  const isConv = (v: unknown) =>
    (typeof v === 'number' && v === mine) ||
    (typeof v === 'string' && /^\d{1,16}$/.test(v) && Number(v) === mine);
  const isId = (v: unknown) =>
    (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= Number.MAX_SAFE_INTEGER) ||
    (typeof v === 'string' &&
      /^\d{1,16}$/.test(v) &&
      Number(v) >= 1 &&
      Number(v) <= Number.MAX_SAFE_INTEGER);
  const isBody = (v: unknown) =>
    typeof v === 'string' && v.trim().length > 0 && [...v].length <= 4000 && !v.includes('\u0000');
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);

  it(
    `${SOCKET_PAYLOADS} seeded random and malformed payloads on every socket event: no internal error, no crash, only valid sends stored, no prototype pollution`,
    { timeout: 180_000 }, // catches a hang; how fast it runs is not this test's business
    async () => {
      const r = prng(SEED);
      const t0 = performance.now();
      const lastBefore = (
        await app.pool.query<{ max: number }>(
          'SELECT coalesce(max(id), 0)::int AS max FROM messages',
        )
      ).rows[0]!.max;
      const cookie = await cookieOf(fz.agent);
      let sent = 0;
      const problems: string[] = [];
      const watch = (s: ClientSocket) => {
        s.on('disconnect', (reason) => {
          if (reason !== 'io client disconnect') problems.push(`dropped near #${sent}: ${reason}`);
        });
        return s;
      };
      let tab = watch(await openSocket(app.baseUrl, cookie));
      const valid = new Map<string, string>(); // clientId -> body, for every send the oracle calls valid
      const fresh = new Set<string>(); // every well-formed clientId the fuzzer made
      const slots: SendSlot[] = Array.from({ length: 8 }, (_, i) => ({
        clientId: uuid(),
        body: `retry slot ${i}`,
      }));
      for (const s of slots) fresh.add(s.clientId);
      const perEvent: Record<string, number> = {};
      let reconnects = 0;
      const events = ['message:send', 'sync', 'conversation:read', 'typing', 'inbox:sync'] as const;
      const unknownEvents = [
        'constructor',
        '__proto__',
        'toString',
        'hasOwnProperty',
        'error',
        'message:new',
        'presence',
        'message:send ',
        'MESSAGE:SEND',
      ];

      function payloadFor(event: (typeof events)[number]): unknown {
        if (r.chance(0.25)) return randomValue(r); // anything at all
        // Otherwise start from a valid payload and break a field or two (or none).
        const conversationId = r.chance(0.6)
          ? r.chance(0.8)
            ? mine
            : String(mine)
          : r.pick<unknown>([notMine, 987654321, ...NUMBERS, ...STRINGS.slice(0, 20)]);
        let p: Record<string, unknown>;
        if (event === 'message:send') {
          if (r.chance(0.15)) {
            const slot = r.pick(slots);
            p = { conversationId, body: slot.body, clientId: slot.clientId };
          } else {
            const clientId = uuid();
            fresh.add(clientId);
            p = {
              conversationId,
              body: r.chance(0.5) ? `fuzz ${r.int(0, 1e9)}` : randomText(r),
              clientId,
            };
          }
        } else if (event === 'sync')
          p = { conversationId, after: r.chance(0.5) ? r.int(0, 50) : randomValue(r) };
        else if (event === 'conversation:read')
          p = { conversationId, messageId: r.chance(0.5) ? r.int(1, 100) : randomValue(r) };
        else if (event === 'typing')
          p = { conversationId, typing: r.chance(0.7) ? r.chance(0.5) : randomValue(r) };
        else p = {};
        for (let i = r.chance(0.5) ? r.int(1, 2) : 0; i > 0; i--) {
          const key = r.pick(KEYS);
          if (key === '__proto__')
            Object.defineProperty(p, key, { value: randomValue(r), enumerable: true });
          else p[key] = randomValue(r);
        }
        return p;
      }

      while (sent < SOCKET_PAYLOADS) {
        if (!tab.connected) {
          reconnects++;
          tab = watch(await openSocket(app.baseUrl, cookie));
        }
        const batch: Array<Promise<void>> = [];
        for (let b = 0; b < 25 && sent < SOCKET_PAYLOADS; b++, sent++) {
          const index = sent;
          if (r.chance(0.04)) {
            // Unknown or server-only event names, no ack: must be ignored.
            const name = r.pick(unknownEvents);
            let args = [randomValue(r), randomValue(r)];
            while (Buffer.byteLength(JSON.stringify([name, ...args])) > 60_000)
              args = [randomValue(r)];
            (tab as unknown as Socket).emit(name, ...args);
            perEvent[`(unknown) ${name}`] = (perEvent[`(unknown) ${name}`] ?? 0) + 1;
            continue;
          }
          const event = r.pick(events);
          perEvent[event] = (perEvent[event] ?? 0) + 1;
          let payload = payloadFor(event);
          let extra = r.chance(0.05) ? [randomValue(r)] : [];
          // Frames over the 64 KB transport limit drop the socket: that is tested on its own above.
          while (Buffer.byteLength(JSON.stringify([event, payload ?? null, ...extra])) > 60_000) {
            payload = payloadFor(event);
            extra = [];
          }
          const seen = JSON.parse(JSON.stringify([payload ?? null])) as [unknown]; // what the server receives
          const p = seen[0];
          batch.push(
            (async () => {
              let ack: {
                ok: boolean;
                error?: { code: string };
                message?: { body: string; clientId: string; conversationId: number };
                messages?: Array<{ conversationId: number }>;
              };
              try {
                ack = (await (tab as unknown as Socket)
                  .timeout(5000)
                  .emitWithAck(event, payload, ...extra)) as typeof ack;
              } catch (err) {
                problems.push(`#${index} ${event}: no ack (${(err as Error).message})`);
                return;
              }
              const label = `#${index} ${event} ${JSON.stringify(p)?.slice(0, 120)}`;
              if (!ack || typeof ack.ok !== 'boolean')
                return void problems.push(`${label}: bad ack ${JSON.stringify(ack)}`);
              if (!ack.ok && !['invalid', 'not_found'].includes(ack.error?.code ?? ''))
                problems.push(`${label}: ${JSON.stringify(ack.error)}`);
              const o = isObject(p) ? p : undefined;
              let shouldPass = false;
              if (event === 'inbox:sync') shouldPass = true;
              else if (o && isConv(o.conversationId)) {
                if (event === 'message:send')
                  shouldPass =
                    isBody(o.body) && typeof o.clientId === 'string' && fresh.has(o.clientId);
                if (event === 'sync')
                  shouldPass =
                    typeof o.after === 'number' &&
                    Number.isInteger(o.after) &&
                    o.after >= 0 &&
                    o.after <= Number.MAX_SAFE_INTEGER;
                if (event === 'conversation:read') shouldPass = isId(o.messageId);
                if (event === 'typing') shouldPass = typeof o.typing === 'boolean';
              }
              if (ack.ok !== shouldPass)
                problems.push(
                  `${label}: ${ack.ok ? 'accepted' : `refused (${ack.error?.code})`} but the rules say ${shouldPass ? 'valid' : 'invalid'}`,
                );
              if (event === 'message:send' && ack.ok && o) {
                const clientId = o.clientId as string;
                if (!valid.has(clientId)) valid.set(clientId, o.body as string);
                if (
                  ack.message?.body !== valid.get(clientId) ||
                  ack.message?.conversationId !== mine
                )
                  problems.push(`${label}: acked ${JSON.stringify(ack.message)?.slice(0, 120)}`);
              }
              if (
                event === 'sync' &&
                ack.ok &&
                ack.messages?.some((m) => m.conversationId !== mine)
              )
                problems.push(`${label}: synced another conversation`);
            })(),
          );
        }
        await Promise.all(batch);
      }
      const seconds = (performance.now() - t0) / 1000;

      // The server still answers, over the socket and HTTP.
      if (!tab.connected) tab = await openSocket(app.baseUrl, cookie);
      expect((await send(tab, mine, 'after the fuzz')).body).toBe('after the fuzz');
      expect((await request(app.baseUrl).get('/healthz')).status).toBe(200);
      // Every stored row is one the fuzzer sent validly, once.
      const { rows } = await app.pool.query<{
        client_id: string;
        body: string;
        conversation_id: number;
      }>(
        'SELECT client_id, body, conversation_id FROM messages WHERE sender_id = $1 AND body <> $2',
        [fz.id, 'after the fuzz'],
      );
      expect(rows.length).toBe(valid.size);
      for (const row of rows) {
        expect(row.body, row.client_id).toBe(valid.get(row.client_id));
        expect(row.conversation_id).toBe(mine);
      }
      // Nothing else was stored meanwhile, by anyone.
      const { rows: made } = await app.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM messages WHERE id > $1',
        [lastBefore],
      );
      expect(made[0]!.n).toBe(valid.size + 1);
      expectNoPollution();
      expect(Object.values(perEvent).reduce((a, b) => a + b, 0)).toBe(SOCKET_PAYLOADS);
      // Last, so the checks above run too: every payload whose answer broke a rule (seeded: replayable).
      expect(problems.slice(0, 20)).toEqual([]);
      console.info(
        `socket fuzz seed ${SEED}: ${SOCKET_PAYLOADS} payloads in ${seconds.toFixed(1)} s, ${valid.size} valid sends stored, ${reconnects} reconnects`,
        perEvent,
      );
    },
  );

  it(
    `every field of the 7 POST routes with 14 special values, then ${FORMS_PER_ROUTE} seeded random forms per route, with a valid CSRF token: no 5xx, verdicts match the rules, nothing invalid stored`,
    { timeout: 180_000 },
    async () => {
      const r = prng(SEED + 1);
      const t0 = performance.now();
      const { rows: maxRows } = await app.pool.query<{ max: number }>(
        'SELECT coalesce(max(id), 0)::int AS max FROM messages',
      );
      const lastBefore = maxRows[0]!.max;
      let password = fz.password;
      const fuzzAgent = request.agent(app.baseUrl);
      const logIn = async () => {
        const res = await post(fuzzAgent, '/login', { email: fz.email, password });
        expect(res.status).toBe(303);
        return tokenFor(fuzzAgent, '/account');
      };
      let fzToken = await logIn();
      let visitor: Agent = request.agent(app.baseUrl);
      let visitorToken = await tokenFor(visitor, '/login');
      const fresh = new Set<string>();
      const validBodies: string[] = [];
      let signups = 0;
      const problems: string[] = [];
      const statuses: Record<string, Record<number, number>> = {};
      const JUNK = [
        '&&',
        '=',
        '==x',
        '%ZZ=%ZZ',
        '%=%',
        'a[b]=c',
        'constructor[prototype][polluted]=yes',
        '__proto__[polluted]=yes',
        '__proto__=x',
        'x=%00',
        'x=%C0%AF',
        'x=%FF%FE',
        ';',
        `y=${'x'.repeat(300)}`,
      ];
      const OTHER_NAMES = [
        'x',
        'id',
        'userId',
        'email',
        'body',
        'isAdmin',
        'next',
        'role',
        'constructor',
        '__proto__',
        '',
        '[]',
      ];
      const paths: Array<[string, boolean]> = [
        [String(mine), true],
        [`0${mine}`, true],
        [String(notMine), false],
        ['987654321', false],
        ['abc', false],
        ['-1', false],
        ['0', false],
        ['1.5', false],
        ['1e3', false],
        ['%2e%2e', false],
        [`${mine}%00`, false],
        ['99999999999999999999', false],
        ['%D9%A1', false],
      ];
      const routes = [
        { path: '/signup', names: ['email', 'displayName', 'password'] },
        { path: '/login', names: ['email', 'password', 'next'] },
        { path: '/logout', names: [] as string[] },
        { path: '/account/password', names: ['currentPassword', 'newPassword'] },
        { path: '/account/delete', names: ['deletePassword'] },
        { path: '/conversations', names: ['email', 'userId'] },
        { path: '/conversations/:id/messages', names: ['body', 'clientId'] },
      ];

      // First, systematically: every field of every route gets each special value once.
      const SPECIALS = [
        '\u0000',
        'a\u0000b',
        '',
        '   ',
        'x'.repeat(5000),
        '<script>alert(1)</script>',
        '__proto__',
        '%00',
        '\u202Eevil',
        '😀'.repeat(4001),
        "'; DROP TABLE users; --",
        '\r\n',
        '-1',
        '99999999999999999999',
      ];
      type Case = {
        route: (typeof routes)[number];
        fields: Array<[string, string]>;
        pick?: [string, boolean];
      };
      const systematic: Case[] = [];
      for (const route of routes) {
        for (const name of route.names.length ? route.names : ['x']) {
          for (const special of SPECIALS) {
            const n = systematic.length;
            const base: Record<string, Record<string, string>> = {
              '/signup': {
                email: uniqueEmail('sys'),
                displayName: `Sys ${n}`,
                password: `system password ${n}`,
              },
              '/login': { email: fz.email, password: 'not the password', next: '/account' },
              '/logout': {},
              '/account/password': {
                currentPassword: 'not the password',
                newPassword: `new password ${n}`,
              },
              '/account/delete': { deletePassword: 'not the password' },
              '/conversations': { email: peer.email },
              '/conversations/:id/messages': { body: `sys ${n}`, clientId: uuid() },
            };
            const baseId = base[route.path]!.clientId;
            if (baseId) fresh.add(baseId);
            const form = { ...base[route.path], [name]: special };
            systematic.push({
              route,
              fields: Object.entries(form),
              pick: route.path === '/conversations/:id/messages' ? paths[0] : undefined,
            });
          }
        }
      }
      const total = systematic.length + FORMS_PER_ROUTE * routes.length;

      for (let i = 0; i < total; i++) {
        const isRandom = i >= systematic.length;
        const route = isRandom ? routes[i % routes.length]! : systematic[i]!.route;
        const fields: Array<[string, string]> = isRandom ? [] : systematic[i]!.fields;
        let pick = isRandom ? undefined : systematic[i]!.pick;
        const add = (name: string, value: string) => fields.push([name, value]);
        let path = route.path;
        let sendValid: boolean | undefined;
        // Then at random: mostly near-valid forms, some pure noise.
        if (!isRandom) {
          // fields are set
        } else if (route.path === '/signup' && r.chance(0.1)) {
          add('email', uniqueEmail('fuzz'));
          add('displayName', `Fuzz ${i}`);
          add('password', `fuzz password ${i}`);
        } else if (route.path === '/account/password' && r.chance(0.15)) {
          add('currentPassword', password);
          add('newPassword', r.chance(0.5) ? `new password ${i}` : randomText(r, 12));
        } else if (route.path === '/conversations') {
          add(
            'email',
            r.chance(0.3)
              ? peer.email
              : r.chance(0.5)
                ? String(r.pick<unknown>([...NUMBERS, fz.id, stranger.id, stranger.email]))
                : randomText(r, 8),
          );
        } else {
          for (let n = r.int(0, 5); n > 0; n--) {
            const name =
              route.names.length && r.chance(0.75)
                ? r.pick(route.names)
                : r.pick(
                    OTHER_NAMES.filter(
                      (x) =>
                        !['body', 'clientId'].includes(x) ||
                        route.path !== '/conversations/:id/messages',
                    ),
                  );
            let value = randomText(r);
            if (name === 'clientId' && r.chance(0.6)) {
              value = uuid();
              fresh.add(value);
            }
            add(name, value);
          }
        }
        if (route.path === '/conversations/:id/messages') {
          if (!pick) {
            pick = r.chance(0.5) ? paths[r.int(0, 1)]! : r.pick(paths);
            // Near-valid more often than not: one body, perhaps a client id.
            if (r.chance(0.7) && !fields.some(([k]) => k === 'body')) {
              fields.push(['body', r.chance(0.5) ? `form fuzz ${i}` : randomText(r)]);
            }
          }
          const [id, isMine] = pick;
          path = `/conversations/${id}/messages`;
          const bodies = fields.filter(([k]) => k === 'body');
          const ids = fields.filter(([k]) => k === 'clientId');
          sendValid =
            isMine &&
            bodies.length === 1 &&
            isBody(bodies[0]![1]) &&
            !(ids.length === 1 && ids[0]![1] !== '' && !fresh.has(ids[0]![1]));
        }
        const parts = fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
        if (isRandom && r.chance(0.15)) parts.splice(r.int(0, parts.length), 0, r.pick(JUNK));
        const tooMany = isRandom && r.chance(0.03);
        if (tooMany) for (let n = 0; n < 60; n++) parts.push(`f${n}=1`);
        const useVisitor = route.path === '/signup' || route.path === '/login';
        parts.push(`_csrf=${useVisitor ? visitorToken : fzToken}`);
        const raw = parts.join('&');
        const tooLarge = Buffer.byteLength(raw) > 64 * 1024;
        const agent = useVisitor ? visitor : fuzzAgent;
        const res = await agent.post(path).type('form').send(raw);
        const label = `#${i} POST ${path} ${raw.slice(0, 160)}`;
        (statuses[route.path] ??= {})[res.status] = (statuses[route.path]?.[res.status] ?? 0) + 1;

        if (res.status >= 500) problems.push(`${label}: ${res.status}`);
        if (res.status === 403) problems.push(`${label}: 403 with a valid token`);
        if ((tooMany || tooLarge) !== (res.status === 413))
          problems.push(`${label}: ${res.status}, expected 413: ${tooMany || tooLarge}`);
        if (sendValid !== undefined && !tooMany && !tooLarge) {
          if (sendValid !== (res.status === 303))
            problems.push(
              `${label}: ${res.status} but the rules say ${sendValid ? 'valid' : 'invalid'} (${/id="composer-error">([^<]*)/.exec(res.text)?.[1] ?? ''})`,
            );
          if (sendValid && res.status === 303)
            validBodies.push(fields.find(([k]) => k === 'body')![1]);
        }
        // Keep both sessions usable after forms that end or change them.
        if (res.status === 303 && useVisitor) {
          if (route.path === '/signup') signups++;
          visitor = request.agent(app.baseUrl);
          visitorToken = await tokenFor(visitor, '/login');
        }
        if (res.status === 303 && route.path === '/account/password')
          password = fields.find(([k]) => k === 'newPassword')![1];
        if (res.status === 303 && route.path === '/account/delete')
          problems.push(`${label}: the account was deleted`);
        if (route.path === '/logout' && res.status === 303) fzToken = await logIn();
      }
      const seconds = (performance.now() - t0) / 1000;

      expect((await request(app.baseUrl).get('/healthz')).status).toBe(200);
      // Nothing invalid was stored: the messages made meanwhile are exactly the valid ones, in order.
      const { rows } = await app.pool.query<{
        body: string;
        conversation_id: number;
        sender_id: number;
      }>('SELECT body, conversation_id, sender_id FROM messages WHERE id > $1 ORDER BY id', [
        lastBefore,
      ]);
      expect(rows.map((row) => row.body)).toEqual(validBodies);
      expect(rows.every((row) => row.conversation_id === mine && row.sender_id === fz.id)).toBe(
        true,
      );
      // Every account is well formed, and only valid signups made new ones.
      const users = await app.pool.query<{ email: string; display_name: string }>(
        'SELECT email, display_name FROM users',
      );
      for (const u of users.rows) {
        expect(u.email).toMatch(/^[^\s@]+@[^\s@]+\.[^\s@]+$/);
        expect(u.display_name.trim()).toBe(u.display_name);
        expect([...u.display_name].length).toBeGreaterThan(0);
        expect([...u.display_name].length).toBeLessThanOrEqual(50);
      }
      // Every conversation is a direct one between two existing people, keyed by them.
      const convs = await app.pool.query<{ id: number; direct_key: string; members: number[] }>(
        `SELECT c.id, c.direct_key, array_agg(m.user_id ORDER BY m.user_id) AS members
       FROM conversations c JOIN conversation_members m ON m.conversation_id = c.id GROUP BY c.id`,
      );
      for (const c of convs.rows) expect(c.direct_key).toBe(c.members.join(':'));
      expect((await fuzzAgent.get('/account')).status).toBe(200);
      expectNoPollution();
      console.info(
        `form fuzz seed ${SEED + 1}: ${systematic.length} systematic + ${FORMS_PER_ROUTE * routes.length} random forms in ${seconds.toFixed(1)} s, ${validBodies.length} valid messages, ${signups} signups`,
        statuses,
      );
      // Last, so the checks above run too: every form whose answer broke a rule (seeded: replayable).
      expect(problems.slice(0, 20)).toEqual([]);
    },
  );
});

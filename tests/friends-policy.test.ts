// The friends policy, walked as a table: for each state two people can be in (strangers,
// a friend request pending, friends, declined, blocked either way), what each of them
// can do and what each hears, over HTTP and real sockets. Ann is the one who reached out.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientSocket } from './support/sockets.js';
import {
  befriend,
  openChat,
  post,
  signUp,
  startTestApp,
  type TestApp,
  type TestUser,
} from './support/app.js';
import {
  ask,
  closeSockets,
  cookieOf,
  expectNone,
  openSocket,
  record,
  sleep,
  until,
} from './support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterEach(() => closeSockets());
afterAll(async () => {
  closeSockets();
  await app?.close();
});

type Setup = (ann: TestUser, bo: TestUser) => Promise<number>;

/** Ann opens a chat with Bo by email and writes once: to a stranger, a message request. */
async function annWrites(ann: TestUser, bo: TestUser): Promise<number> {
  const id = await openChat(ann, { email: bo.email });
  const res = await post(
    ann.agent,
    `/conversations/${id}/messages`,
    { body: 'hello' },
    `/conversations/${id}`,
  );
  expect(res.status).toBe(303);
  return id;
}

const answer = async (who: TestUser, id: number, what: 'accept' | 'decline' | 'block') => {
  const res = await post(who.agent, `/conversations/${id}/${what}`, {}, `/conversations/${id}`);
  expect(res.status).toBe(303);
};

const setups: Record<string, Setup> = {
  strangers: annWrites,
  'Ann asked Bo to be friends': async (ann, bo) => {
    expect(
      (await post(ann.agent, '/friends/requests', { email: bo.email }, '/search')).status,
    ).toBe(303);
    return annWrites(ann, bo);
  },
  friends: async (ann, bo) => {
    await befriend(ann, bo);
    return annWrites(ann, bo);
  },
  'Bo declined': async (ann, bo) => {
    expect(
      (await post(ann.agent, '/friends/requests', { email: bo.email }, '/search')).status,
    ).toBe(303);
    expect((await post(bo.agent, `/friends/${ann.id}/decline`, {}, '/friends')).status).toBe(303);
    const id = await annWrites(ann, bo);
    await answer(bo, id, 'decline');
    return id;
  },
  'Bo blocked Ann': async (ann, bo) => {
    const id = await annWrites(ann, bo);
    await answer(bo, id, 'block');
    return id;
  },
  'Ann blocked Bo': async (ann, bo) => {
    await befriend(ann, bo);
    const id = await annWrites(ann, bo);
    await answer(ann, id, 'block');
    return id;
  },
};

interface Expected {
  /** Each can find the other by email. */
  find: boolean;
  /** How Ann's further sends are answered: all taken, or two more then "waiting", or not found. */
  annSends: 'open' | 'pending' | 'not_found';
  /** Bo hears Ann's messages, typing and presence. */
  boHearsAnn: boolean;
  /** Ann hears Bo's presence, typing and read marks. */
  annHearsBo: boolean;
}

const table: [string, Expected][] = [
  ['strangers', { find: true, annSends: 'pending', boHearsAnn: true, annHearsBo: false }],
  [
    'Ann asked Bo to be friends',
    { find: true, annSends: 'pending', boHearsAnn: true, annHearsBo: false },
  ],
  ['friends', { find: true, annSends: 'open', boHearsAnn: true, annHearsBo: true }],
  ['Bo declined', { find: true, annSends: 'pending', boHearsAnn: false, annHearsBo: false }],
  ['Bo blocked Ann', { find: false, annSends: 'pending', boHearsAnn: false, annHearsBo: false }],
  ['Ann blocked Bo', { find: false, annSends: 'not_found', boHearsAnn: false, annHearsBo: false }],
];

const socketOf = async (u: TestUser): Promise<ClientSocket> =>
  openSocket(app.baseUrl, await cookieOf(u.agent));

async function finds(who: TestUser, email: string): Promise<boolean> {
  const res = await who.agent.get('/search').query({ email });
  expect(res.status).toBe(200);
  return !res.text.includes('No account uses that email');
}

/** Waits for something expected, or makes sure for a while that it does not come. */
async function hears(expected: boolean, got: () => boolean, what: string) {
  if (expected) await until(what, got);
  else await sleep(400);
  expect(got(), what).toBe(expected);
}

describe('what two people can do and hear, in every state', () => {
  it.each(table)('%s', async (state, want) => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const bo = await signUp(app, { displayName: 'Bo' });
    const id = await setups[state]!(ann, bo);

    // Finding each other by email (a block answers as if there were no account).
    expect(await finds(ann, bo.email)).toBe(want.find);
    expect(await finds(bo, ann.email)).toBe(want.find);

    // Presence: Bo is there when Ann arrives; then Bo leaves and comes back.
    const bo1 = await socketOf(bo);
    const boHeard = record(bo1, 'presence');
    const ann1 = await socketOf(ann);
    const annHeard = record(ann1, 'presence');
    await hears(
      want.boHearsAnn,
      () => boHeard.some((p) => p.userId === ann.id),
      'Bo sees Ann online',
    );
    bo1.disconnect();
    await sleep(200);
    const bo2 = await socketOf(bo);
    await hears(
      want.annHearsBo,
      () => annHeard.some((p) => p.userId === bo.id && p.online),
      'Ann sees Bo online',
    );

    // Typing, both ways.
    const boTyping = record(bo2, 'typing');
    const annTyping = record(ann1, 'typing');
    await ask(ann1, 'typing', { conversationId: id, typing: true });
    await ask(bo2, 'typing', { conversationId: id, typing: true });
    await hears(want.boHearsAnn, () => boTyping.length > 0, 'Bo sees Ann typing');
    expect(annTyping.length > 0, 'Ann sees Bo typing').toBe(want.annHearsBo);

    // Ann writes four more: taken, or two then "waiting for them to accept".
    const boGot = record(bo2, 'message:new');
    const acks = [];
    for (let i = 0; i < 4; i++) {
      acks.push(
        await ask(ann1, 'message:send', {
          conversationId: id,
          body: `more ${i}`,
          clientId: crypto.randomUUID(),
        }),
      );
    }
    const codes = acks.map((a) => (a.ok ? 'ok' : a.error.code));
    if (want.annSends === 'open') expect(codes).toEqual(['ok', 'ok', 'ok', 'ok']);
    if (want.annSends === 'pending') {
      expect(codes).toEqual(['ok', 'ok', 'awaiting_acceptance', 'awaiting_acceptance']);
      const refused = acks[2]!;
      expect(!refused.ok && refused.error.message).toMatch(/waiting for them to accept/i);
    }
    if (want.annSends === 'not_found') expect(codes).toEqual(Array(4).fill('not_found'));
    const sent = codes.filter((c) => c === 'ok').length;
    if (want.boHearsAnn) await until('Bo gets Ann’s messages', () => boGot.length === sent);
    else await expectNone(bo2, 'message:new', 300);
    expect(boGot).toHaveLength(want.boHearsAnn ? sent : 0);

    // Bo reads (if Bo can see the conversation): Ann hears the read mark only if she may.
    const annReads = record(ann1, 'conversation:read');
    const { rows } = await app.pool.query<{ last: number }>(
      'SELECT last_message_id AS last FROM conversations WHERE id = $1',
      [id],
    );
    await ask(bo2, 'conversation:read', { conversationId: id, messageId: rows[0]!.last });
    await hears(
      want.annHearsBo,
      () => annReads.some((r) => r.userId === bo.id),
      'Ann sees Bo read',
    );
  });
});

describe('message requests', () => {
  it('a first message from a stranger shows under Requests, not in the inbox, and is not counted unread', async () => {
    const ann = await signUp(app, { displayName: 'Ann Request' });
    const bo = await signUp(app, { displayName: 'Bo Request' });
    const id = await annWrites(ann, bo);
    const home = await bo.agent.get('/');
    const [inbox, requests] = home.text.split('<h2>Requests</h2>');
    expect(requests).toContain(`/conversations/${id}`);
    expect(inbox).not.toContain(`/conversations/${id}`);
    expect(inbox).toContain('data-unread-total="0"');
    const page = await bo.agent.get(`/conversations/${id}`);
    expect(page.text).toContain('hello');
    for (const name of ['Accept', 'Decline', 'Block'])
      expect(page.text).toContain(`>${name}</button>`);
    // Answering accepts: the conversation moves to the inbox, and Ann may watch Bo.
    const reply = await post(
      bo.agent,
      `/conversations/${id}/messages`,
      { body: 'hi Ann' },
      `/conversations/${id}`,
    );
    expect(reply.status).toBe(303);
    const after = await bo.agent.get('/');
    expect(after.text.split('<h2>Requests</h2>')[0]).toContain(`/conversations/${id}`);
    const annPage = (await ann.agent.get(`/conversations/${id}`)).text;
    expect(annPage).toContain('class="presence');
    expect(annPage).toContain('<span class="tool-label">Block</span></button>');
  });

  it('a declined request is hidden from the one who declined, and the sender still sees it pending', async () => {
    const ann = await signUp(app);
    const bo = await signUp(app);
    const id = await annWrites(ann, bo);
    await answer(bo, id, 'decline');
    expect((await bo.agent.get(`/conversations/${id}`)).status).toBe(404);
    expect((await bo.agent.get('/')).text).not.toContain(`/conversations/${id}`);
    const annPage = await ann.agent.get(`/conversations/${id}`);
    expect(annPage.status).toBe(200);
    expect(annPage.text).not.toMatch(/class="presence[ "]/);
  });
});

describe('friend requests', () => {
  it('accept makes friends both ways; unfriending is quiet; a declined request cannot be re-sent for 7 days', async () => {
    const ann = await signUp(app, { displayName: 'Ann Friend' });
    const bo = await signUp(app, { displayName: 'Bo Friend' });
    await post(ann.agent, '/friends/requests', { email: bo.email }, '/search');
    expect((await ann.agent.get('/friends')).text).toContain('>Cancel</button>');
    const boPage = (await bo.agent.get('/friends')).text;
    expect(boPage).toContain('>Accept</button>');
    expect(boPage).toContain('>Decline</button>');
    expect((await post(bo.agent, `/friends/${ann.id}/decline`, {}, '/friends')).status).toBe(303);
    // Declined: Ann still sees it as sent; asking again changes nothing for a week.
    expect((await ann.agent.get('/friends')).text).toContain('>Cancel</button>');
    await post(ann.agent, '/friends/requests', { email: bo.email }, '/search');
    expect((await bo.agent.get('/friends')).text).not.toContain('>Accept</button>');
    await app.pool.query(
      `UPDATE friend_requests SET declined_at = now() - interval '8 days' WHERE from_id = $1`,
      [ann.id],
    );
    await post(ann.agent, '/friends/requests', { email: bo.email }, '/search');
    expect((await post(bo.agent, `/friends/${ann.id}/accept`, {}, '/friends')).status).toBe(303);
    expect((await ann.agent.get('/friends')).text).toContain(bo.email);
    expect((await bo.agent.get('/friends')).text).toContain(ann.email);
    expect((await post(ann.agent, `/friends/${bo.id}/remove`, {}, '/friends')).status).toBe(303);
    expect((await bo.agent.get('/friends')).text).not.toContain(ann.email);
  });

  it('someone who hid their email is found by friends only', async () => {
    const ann = await signUp(app);
    const bo = await signUp(app);
    const cy = await signUp(app);
    await befriend(ann, bo);
    expect((await post(bo.agent, '/account/discoverable', {}, '/account')).status).toBe(303);
    expect((await bo.agent.get('/account')).text).not.toMatch(
      /name="discoverable" value="on" checked/,
    );
    expect(await finds(ann, bo.email)).toBe(true);
    expect(await finds(cy, bo.email)).toBe(false);
    expect((await post(cy.agent, '/friends/requests', { email: bo.email }, '/search')).status).toBe(
      404,
    );
    expect((await post(cy.agent, '/conversations', { email: bo.email }, '/search')).status).toBe(
      404,
    );
  });

  it('someone with no request, friendship or chat with you cannot block or unfriend you by id', async () => {
    const ann = await signUp(app);
    const bo = await signUp(app);
    for (const action of ['block', 'accept', 'decline', 'cancel', 'remove', 'unblock']) {
      const res = await post(ann.agent, `/friends/${bo.id}/${action}`, {}, '/friends');
      expect(res.status, action).toBe(404);
    }
    expect((await post(ann.agent, '/friends/abc/block', {}, '/friends')).status).toBe(404);
    const { rows } = await app.pool.query('SELECT 1 FROM blocks WHERE blocker_id = $1', [ann.id]);
    expect(rows).toEqual([]);
  });

  it('a blocked person is listed on Account and unblocking lets them find you again', async () => {
    const ann = await signUp(app, { displayName: 'Ann Blocker' });
    const bo = await signUp(app, { displayName: 'Bo Blocked' });
    const id = await annWrites(bo, ann);
    await answer(ann, id, 'block');
    const account = (await ann.agent.get('/account')).text;
    expect(account).toContain('Blocked people');
    expect(account).toContain(bo.email);
    expect(await finds(bo, ann.email)).toBe(false);
    expect((await post(ann.agent, `/friends/${bo.id}/unblock`, {}, '/account')).status).toBe(303);
    expect(await finds(bo, ann.email)).toBe(true);
  });
});

describe('limits', () => {
  it('friend requests and first messages to strangers draw on the one email-lookup budget', async () => {
    const limited = await startTestApp({ rateLimit: true });
    try {
      const ann = await signUp(limited);
      const others = await Promise.all(Array.from({ length: 11 }, () => signUp(limited)));
      const statuses: number[] = [];
      for (const o of others) {
        statuses.push(
          (await post(ann.agent, '/friends/requests', { email: o.email }, '/search')).status,
        );
        statuses.push(
          (await post(ann.agent, '/conversations', { email: o.email }, '/search')).status,
        );
      }
      // 20 lookups per user: the 21st answer, whichever kind, is a 429.
      expect(statuses.slice(0, 20)).toEqual(Array(20).fill(303));
      expect(statuses.slice(20)).toEqual([429, 429]);
    } finally {
      await limited.close();
    }
  });

  it('a user has at most 300 pending outgoing friend requests', async () => {
    const ann = await signUp(app);
    const bo = await signUp(app);
    await app.pool.query(
      `INSERT INTO users (email, display_name, password_hash)
       SELECT 'filler' || g || '-' || $1::text || '@example.com', 'Filler', 'x' FROM generate_series(1, 300) g`,
      [ann.id],
    );
    await app.pool.query(
      `INSERT INTO friend_requests (from_id, to_id)
       SELECT $1::bigint, id FROM users WHERE email LIKE 'filler%-' || $2 || '@example.com'`,
      [ann.id, String(ann.id)],
    );
    const res = await post(ann.agent, '/friends/requests', { email: bo.email }, '/search');
    expect(res.status).toBe(429);
    expect(res.text).toContain('300 friend requests waiting');
  });
});

describe('accepting shows presence at once', () => {
  it('a friend request: both see each other online the moment it is accepted', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const bo = await signUp(app, { displayName: 'Bo' });
    const annSocket = await socketOf(ann);
    const boSocket = await socketOf(bo);
    const annHeard = record(annSocket, 'presence');
    const boHeard = record(boSocket, 'presence');
    await post(ann.agent, '/friends/requests', { email: bo.email }, '/search');
    await sleep(300);
    expect(annHeard.concat(boHeard)).toEqual([]); // a request alone shows nothing
    expect((await post(bo.agent, `/friends/${ann.id}/accept`, {}, '/friends')).status).toBe(303);
    await until('Ann sees Bo online', () => annHeard.some((p) => p.userId === bo.id && p.online));
    await until('Bo sees Ann online', () => boHeard.some((p) => p.userId === ann.id && p.online));
  });

  it('a message request: the sender sees the one who accepted, live, and only then', async () => {
    const ann = await signUp(app, { displayName: 'Ann' });
    const bo = await signUp(app, { displayName: 'Bo' });
    const id = await annWrites(ann, bo);
    const annSocket = await socketOf(ann);
    const annHeard = record(annSocket, 'presence');
    await socketOf(bo);
    await sleep(300);
    expect(annHeard.filter((p) => p.userId === bo.id)).toEqual([]);
    // Ann's open page has an empty slot for it, and no state of Bo's.
    const before = (await ann.agent.get(`/conversations/${id}`)).text;
    expect(before).toContain('class="presence-slot"');
    expect(before).not.toMatch(/last seen|>online</);
    await answer(bo, id, 'accept');
    await until('Ann sees Bo online', () => annHeard.some((p) => p.userId === bo.id && p.online));
  });
});

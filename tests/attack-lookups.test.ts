// Attack suite: telling which emails have accounts. Every path that takes an email
// and answers whether an account uses it draws on one budget, per user and per
// network address, and answers a 429 page in words with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  manualClock,
  signUp,
  startTestApp,
  tokenFor,
  uniqueEmail,
  type TestApp,
  type TestUser,
} from './support/app.js';

let app: TestApp;
beforeAll(async () => {
  // The budgets' clock stands still: a slow machine cannot refill one mid-test.
  app = await startTestApp({ rateLimit: true, clock: manualClock().now });
});
afterAll(async () => {
  await app?.close();
});

const search = (u: TestUser, email: string) =>
  u.agent.get(`/search?email=${encodeURIComponent(email)}`);

async function opener(u: TestUser) {
  const _csrf = await tokenFor(u.agent, '/search');
  return (email: string) => u.agent.post('/conversations').type('form').send({ email, _csrf });
}

function expectSlowDownPage(res: {
  status: number;
  text: string;
  headers: Record<string, unknown>;
}) {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  // The error page every other error uses, with the reason in words.
  expect(res.text).toContain('<h1>Slow down</h1>');
  expect(res.text).toContain('You have looked up many email addresses in a short time.');
}

describe('looking up emails', () => {
  it('searching and opening a chat by email share one budget: after 20 lookups the next one, by either path, is a 429 page', async () => {
    const me = await signUp(app);
    const friend = await signUp(app);
    const open = await opener(me);
    const answers: number[] = [];
    for (let i = 0; i < 10; i++) {
      // Known and unknown emails alike: the answer to either tells something.
      answers.push((await search(me, i % 2 ? friend.email : uniqueEmail('nobody'))).status);
      answers.push((await open(i % 2 ? friend.email : uniqueEmail('nobody'))).status);
    }
    expect(answers).toEqual(Array.from({ length: 10 }, (_, i) => [200, i % 2 ? 303 : 404]).flat());
    expectSlowDownPage(await open(friend.email));
    expectSlowDownPage(await search(me, friend.email));
    // Nothing was opened by the refused request.
    const { rows } = await app.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM conversation_members WHERE user_id = $1`,
      [me.id],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('many accounts from one address share the per-address budget, whichever path each uses', async () => {
    // An app of its own: the address's budget is fresh, whatever ran before.
    const local = await startTestApp({ rateLimit: true, clock: manualClock().now });
    try {
      const target = await signUp(local);
      const accounts = [await signUp(local), await signUp(local), await signUp(local)];
      const others = await signUp(local);
      let served = 0;
      for (const [n, u] of accounts.entries()) {
        const open = await opener(u);
        for (let i = 0; i < 20; i++) {
          const res = n === 1 ? await open(target.email) : await search(u, target.email);
          if (res.status !== 429) served++;
        }
      }
      expect(served).toBe(60);
      // A fourth account on the same address has not looked anything up, and still waits.
      expectSlowDownPage(await search(others, target.email));
    } finally {
      await local.close();
    }
  });
});

// A declined group invitation cannot be sent again at once (review of issue 14): re-inviting
// in a loop was a way to spam someone. For a day, nobody can invite them to that group again,
// and the words say no more than a pending invitation would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  befriend,
  post,
  signUp,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/app.js';
import { createGroup } from '../support/groups.js';
import { INVITE_AGAIN_AFTER_MS } from '../../src/features/groups/service.js';

let app: TestApp;
let ann: TestUser, bo: TestUser, di: TestUser;

beforeAll(async () => {
  app = await startTestApp();
  ann = await signUp(app, { displayName: 'Ann' });
  bo = await signUp(app, { displayName: 'Bo' });
  di = await signUp(app, { displayName: 'Di' });
  await befriend(ann, bo);
});
afterAll(async () => {
  await app?.close();
});

const add = (u: TestUser, id: number, who: TestUser) =>
  post(
    u.agent,
    `/conversations/${id}/members`,
    { email: who.email },
    `/conversations/${id}/members`,
  );
const stateOf = async (id: number, u: TestUser) =>
  (
    await app.pool.query<{ state: string }>(
      'SELECT state FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
      [id, u.id],
    )
  ).rows[0]?.state;

describe('a declined group invitation', () => {
  it('cannot be sent again by anyone for a day, in words that do not say it was declined; then it can', async () => {
    const id = await createGroup(ann, 'Knitting', [bo, di]);
    expect(await stateOf(id, di)).toBe('request');
    const pending = await add(ann, id, di);
    expect(pending.status).toBe(409); // still pending: "already in this group"

    expect(
      (await post(di.agent, `/conversations/${id}/decline`, {}, `/conversations/${id}`)).status,
    ).toBe(303);
    expect(await stateOf(id, di)).toBe('declined');

    for (const inviter of [ann, bo]) {
      const again = await add(inviter, id, di);
      expect(again.status).toBe(409);
      expect(again.text).toContain('Di was invited to this group recently and has not joined.');
      expect(again.text).not.toMatch(/declin/i);
    }
    expect(await stateOf(id, di)).toBe('declined');
    expect((await di.agent.get('/')).text).not.toContain('Knitting');

    // A day later the invitation may be sent again.
    await app.pool.query(
      `UPDATE conversation_members SET declined_at = declined_at - make_interval(secs => $3 / 1000.0 + 60)
       WHERE conversation_id = $1 AND user_id = $2`,
      [id, di.id, INVITE_AGAIN_AFTER_MS],
    );
    expect((await add(ann, id, di)).status).toBe(303);
    expect(await stateOf(id, di)).toBe('request');
    expect((await di.agent.get('/')).text).toContain('Knitting');
  });

  it('a member who left can be added back at once: only a declined invitation waits', async () => {
    const id = await createGroup(ann, 'Chess', [bo]);
    expect(
      (await post(bo.agent, `/conversations/${id}/leave`, {}, `/conversations/${id}/members`))
        .status,
    ).toBe(303);
    expect((await add(ann, id, bo)).status).toBe(303);
    expect(await stateOf(id, bo)).toBe('accepted');
  });
});

// Hostile values in every field of every group form (issue 14's attack side): never a 5xx,
// never a stored NUL or an over-long name, and a repeated field (an array) is refused in words.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FORM_SPECIALS } from '../fixtures/hostile.js';
import { createGroup } from '../support/groups.js';
import {
  befriend,
  post,
  signUp,
  startTestApp,
  type TestApp,
  type TestUser,
} from '../support/app.js';

let app: TestApp;
let ann: TestUser, bo: TestUser;
let id: number;

beforeAll(async () => {
  app = await startTestApp();
  ann = await signUp(app, { displayName: 'Ann' });
  bo = await signUp(app, { displayName: 'Bo' });
  await befriend(ann, bo);
  id = await createGroup(ann, 'Forms', [bo]);
});
afterAll(async () => {
  await app?.close();
});

it('answers every special value in every group form field with a 2xx, 3xx or 4xx, and stores nothing it should not', async () => {
  const forms: Array<[string, string[], Record<string, string>]> = [
    ['/groups', ['title', 'members'], { title: 'Fine', members: '' }],
    [`/conversations/${id}/rename`, ['title'], { title: 'Fine' }],
    [`/conversations/${id}/members`, ['email'], { email: bo.email }],
    [`/conversations/${id}/invites`, ['expires', 'maxUses'], { expires: '1d', maxUses: '' }],
    [`/conversations/${id}/settings`, ['membersCanAdd'], { membersCanAdd: 'on' }],
  ];
  const seen: number[] = [];
  for (const [path, fields, valid] of forms) {
    for (const field of fields) {
      for (const value of FORM_SPECIALS) {
        const res = await post(
          ann.agent,
          path,
          { ...valid, [field]: value },
          `/conversations/${id}/members`,
        );
        seen.push(res.status);
        expect(res.status, `${path} ${field}=${JSON.stringify(value.slice(0, 20))}`).toBeLessThan(
          500,
        );
      }
      // The same field twice: an array, not a string.
      const token = /name="_csrf" value="([^"]+)"/.exec(
        (await ann.agent.get(`/conversations/${id}/members`)).text,
      )![1]!;
      const twice = await ann.agent
        .post(path)
        .type('form')
        .send(`_csrf=${token}&${new URLSearchParams(valid).toString()}&${field}=a&${field}=b`);
      expect(twice.status, `${path} ${field} twice`).toBeLessThan(500);
    }
  }
  expect(seen.some((s) => s >= 400)).toBe(true);
  const { rows } = await app.pool.query<{ bad: number }>(
    `SELECT count(*)::int AS bad FROM conversations
     WHERE kind = 'group' AND (title = '' OR length(title) > 80 OR title <> btrim(title))`,
  );
  expect(rows[0]!.bad).toBe(0);
});

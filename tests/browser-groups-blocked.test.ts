// In a group, messages from someone the reader blocked arrive live folded ("Message from a
// blocked person", Show), as the page shows them after a reload (review of issue 14: they
// used to arrive only with a reload), also when the block was made after the page loaded, and
// no longer folded once it is undone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { befriend, post, signUp, type TestUser } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { useBrowserPages } from './support/pages.js';
import { closeSockets, cookieOf, openSocket, send } from './support/sockets.js';
import { until } from './support/wait.js';
import { createGroup } from './support/groups.js';
import { listenForMemberChanges } from '../src/features/conversations/member-events.js';

const { app, logIn, shot } = useBrowserPages();
let stopListening: (() => Promise<void>) | undefined;
beforeAll(() => {
  // As server.ts does: a block reaches the member cache by the database's notification.
  stopListening = listenForMemberChanges(app().pool, app().ctx.members, app().ctx.logger);
});
afterAll(async () => {
  closeSockets();
  await stopListening?.();
});

const folds = (p: Page) => p.locator('details.blocked-message');
// In the log: the inbox beside it shows the last line too.
const inLog = (p: Page, text: string) => p.getByRole('log').getByText(text);

async function block(who: TestUser, whom: TestUser) {
  await post(who.agent, '/friends/requests', { email: whom.email }, '/search');
  expect((await post(who.agent, `/friends/${whom.id}/block`, {}, '/friends')).status).toBe(303);
}

describe.skipIf(!hasChromium)('a blocked member’s messages in a group', { timeout: 90_000 }, () => {
  it('arrive live folded, open with Show, and no one else’s are folded', async () => {
    const [ann, bo, cy, di] = [
      await signUp(app(), { displayName: 'Ann' }),
      await signUp(app(), { displayName: 'Bo' }),
      await signUp(app(), { displayName: 'Cy' }),
      await signUp(app(), { displayName: 'Di' }),
    ];
    for (const u of [bo, cy, di]) await befriend(ann, u);
    const id = await createGroup(ann, 'Garden', [bo, cy, di]);
    await block(bo, cy);
    const cyS = await openSocket(app().baseUrl, await cookieOf(cy.agent));
    const diS = await openSocket(app().baseUrl, await cookieOf(di.agent));
    const annS = await openSocket(app().baseUrl, await cookieOf(ann.agent));

    for (const device of [DESKTOP, PHONE]) {
      const page = await logIn(bo, device);
      await page.goto(`/conversations/${id}`);
      await page.getByRole('log').waitFor();
      const before = await folds(page).count();
      const text = `psst from Cy on ${device === DESKTOP ? 'desktop' : 'phone'}`;
      await send(cyS, id, text);
      await send(annS, id, `Ann here, ${device === DESKTOP ? 'desktop' : 'phone'}`);
      await expect.poll(() => folds(page).count(), { timeout: 10_000 }).toBe(before + 1);
      const fold = folds(page).last();
      expect(await fold.locator('summary').textContent()).toContain(
        'Message from a blocked person',
      );
      expect(await inLog(page, text).isVisible()).toBe(false);
      await expect
        .poll(() =>
          inLog(page, `Ann here, ${device === DESKTOP ? 'desktop' : 'phone'}`).isVisible(),
        )
        .toBe(true);
      await shot(page, `groups-blocked-live-${device === DESKTOP ? 'desktop' : 'phone'}`);
      await fold.locator('summary').click();
      expect(await inLog(page, text).isVisible()).toBe(true);
    }

    // Blocked while the page is open: the page named no one, the server marks Di's message.
    const page = await logIn(bo, DESKTOP);
    await page.goto(`/conversations/${id}`);
    await page.getByRole('log').waitFor();
    const before = await folds(page).count();
    await block(bo, di);
    // The cached members forget the group at the block's commit (or already hold the block).
    await until('the block to reach the member cache', () => {
      const cached = app().ctx.members.get(id);
      return !cached || cached.blocks.has(`${bo.id}:${di.id}`);
    });
    await send(diS, id, 'Di writes after the block');
    await expect.poll(() => folds(page).count(), { timeout: 10_000 }).toBe(before + 1);
    expect(await inLog(page, 'Di writes after the block').isVisible()).toBe(false);

    // Unblocked on the Account page (another tab) while this one stays open: Di's next
    // message shows as it is; the one that came while blocked stays folded until opened.
    expect((await post(bo.agent, `/friends/${di.id}/unblock`, {}, '/account')).status).toBe(303);
    await until('the unblock to reach the member cache', () => {
      const cached = app().ctx.members.get(id);
      return !cached || !cached.blocks.has(`${bo.id}:${di.id}`);
    });
    await send(diS, id, 'Di writes after the unblock');
    await expect.poll(() => inLog(page, 'Di writes after the unblock').isVisible()).toBe(true);
    expect(await folds(page).count()).toBe(before + 1);
  });
});

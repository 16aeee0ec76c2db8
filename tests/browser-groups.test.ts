// Group chats in real browsers (issue 14): a group of three made from "New group", chatting
// live with typing names and "Seen by", a rename, someone joining by an invite link on a
// phone, a member removed while watching (the notice, then nothing more), and leaving.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { uniqueEmail } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { useBrowserPages } from './support/pages.js';
import { sleep } from './support/wait.js';

const { app, open, shot } = useBrowserPages({ fullPageShots: true });

async function signUpIn(page: Page, name: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase());
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect.poll(() => page.textContent('h1')).toContain(`Welcome, ${name}!`);
  return email;
}

/** Friends, as if each had accepted the other's request (the Friends page has its own tests). */
async function makeFriends(a: string, b: string) {
  await app().pool.query(
    `INSERT INTO friend_requests (from_id, to_id, state)
     SELECT x.id, y.id, 'accepted' FROM users x, users y WHERE x.email = $1 AND y.email = $2`,
    [a, b],
  );
}

const log = (p: Page) => p.getByRole('log').textContent();

async function sendFrom(page: Page, text: string) {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

describe.skipIf(!hasChromium)('group chats in real browsers', { timeout: 120_000 }, () => {
  it('a group of three: made, chatted in live, renamed, joined by link on a phone, a watching member removed, left', async () => {
    const ann = await open(DESKTOP);
    const bo = await open(DESKTOP);
    const cy = await open(PHONE);
    const annEmail = await signUpIn(ann, 'Ann');
    const boEmail = await signUpIn(bo, 'Bo');
    const cyEmail = await signUpIn(cy, 'Cy');
    await makeFriends(annEmail, boEmail);
    await makeFriends(annEmail, cyEmail);

    // Ann: "New group" on home.
    await ann.goto('/');
    await ann.getByRole('link', { name: 'New group' }).click();
    await ann.getByLabel('Group name').fill('Book club');
    await ann.getByLabel('Members').fill(`${boEmail}, ${cyEmail}`);
    await shot(ann, 'groups-new-desktop');
    await ann.getByRole('button', { name: 'Create group' }).click();
    await ann.waitForURL(/\/conversations\/\d+$/);
    const url = new URL(ann.url()).pathname;
    expect(await ann.getByRole('heading', { level: 1 }).textContent()).toBe('Book club');
    await expect.poll(() => log(ann)).toContain('Ann added Bo and Cy');

    // Bo has it in his inbox already; Cy opens it on her phone.
    await bo.goto('/');
    await expect.poll(() => bo.locator('#inbox').textContent()).toContain('Book club');
    await bo.goto(url);
    await cy.goto(url);

    // Live: Ann writes, both see it; Bo types, Ann sees his name; Cy answers from her phone.
    await sendFrom(ann, 'Hello book club!');
    await expect.poll(() => log(bo), { timeout: 10_000 }).toContain('Hello book club!');
    await expect.poll(() => log(cy), { timeout: 10_000 }).toContain('Hello book club!');
    await bo
      .getByRole('textbox', { name: 'Message' })
      .pressSequentially('I am here', { delay: 20 });
    await expect
      .poll(() => ann.locator('#typing').textContent(), { timeout: 10_000 })
      .toBe('Bo is typing…');
    await bo.getByRole('button', { name: 'Send' }).click();
    await sendFrom(cy, 'Me too');
    await expect.poll(() => log(ann), { timeout: 10_000 }).toContain('Me too');
    // Ann's last message is read by the others: "Seen by 2", with the names inside.
    await sendFrom(ann, 'Who read this?');
    await expect
      .poll(() => ann.locator('.seen-by summary').textContent(), { timeout: 10_000 })
      .toBe('Seen by 2');
    await ann.locator('.seen-by summary').click();
    expect(await ann.locator('.seen-by p').textContent()).toMatch(/Bo|Cy/);

    // "@" offers the members; Enter picks one (and does not send); Cy sees her mention marked.
    const boBox = bo.getByRole('textbox', { name: 'Message' });
    await boBox.pressSequentially('thanks @C', { delay: 20 });
    await expect.poll(() => bo.getByRole('option').allTextContents()).toEqual(['@Cy']);
    await boBox.press('Enter');
    expect(await boBox.inputValue()).toBe('thanks @Cy ');
    await boBox.pressSequentially('for coming');
    await bo.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => cy.locator('li.msg.mentioned').textContent(), { timeout: 10_000 })
      .toContain('thanks @Cy for coming');
    expect(await ann.locator('li.msg.mentioned').count()).toBe(0);
    await shot(ann, 'groups-page-desktop');
    await shot(cy, 'groups-page-phone');

    // Rename from the member list; Bo sees the line live.
    await ann.getByRole('link', { name: 'Members' }).click();
    await ann.getByLabel('Group name').fill('Readers');
    await ann.getByRole('button', { name: 'Rename' }).click();
    await ann.waitForURL(/\/conversations\/\d+$/);
    expect(await ann.getByRole('heading', { level: 1 }).textContent()).toBe('Readers');
    await expect
      .poll(() => log(bo), { timeout: 10_000 })
      .toContain('Ann renamed the group to Readers');
    await expect
      .poll(() => bo.getByRole('heading', { level: 1 }).textContent(), { timeout: 10_000 })
      .toBe('Readers');

    // An invite link, opened on a phone by someone new.
    await ann.goto(`${url}/members`);
    await ann.getByRole('button', { name: 'Create invite link' }).click();
    const link = await ann.getByRole('textbox', { name: 'Invite link' }).inputValue();
    expect(link).toMatch(/\/join\/[A-Za-z0-9_-]{43}$/);
    await shot(ann, 'groups-members-desktop');
    const dee = await open(PHONE);
    await dee.goto(new URL(link).pathname);
    const join = dee.locator('main');
    expect(await join.getByRole('link', { name: 'Log in' }).count()).toBe(1);
    await shot(dee, 'groups-invite-logged-out-phone');
    await join.getByRole('link', { name: 'Sign up' }).click();
    await dee.getByLabel('Email').fill(uniqueEmail('dee'));
    await dee.getByLabel('Display name').fill('Dee');
    await dee.getByLabel('Password').fill('correct horse battery');
    await dee.getByRole('button', { name: 'Sign up' }).click();
    await dee.waitForURL(/\/join\//); // back on the invite after signing up
    expect(await dee.textContent('h1')).toBe('Readers');
    await shot(dee, 'groups-invite-phone');
    await dee.getByRole('button', { name: 'Join group' }).click();
    await dee.waitForURL(/\/conversations\/\d+$/);
    expect(await log(dee)).toContain('Dee joined with an invite link');
    expect(await log(dee)).not.toContain('Hello book club!'); // nothing from before joining
    await expect
      .poll(() => log(bo), { timeout: 10_000 })
      .toContain('Dee joined with an invite link');

    // Cy is removed while she watches: the notice at once, no composer, nothing after.
    await ann.goto(`${url}/members`);
    await shot(ann, 'groups-members-desktop-2');
    await ann.locator(`li.person:has-text("Cy")`).getByRole('button', { name: 'Remove' }).click();
    await expect
      .poll(() => cy.locator('#group-left').textContent(), { timeout: 10_000 })
      .toBe('You were removed from this group.');
    expect(await cy.locator('#composer').isVisible()).toBe(false);
    await ann.goto(url);
    await sendFrom(ann, 'Only for those still here');
    await expect.poll(() => log(bo), { timeout: 10_000 }).toContain('Only for those still here');
    await sleep(500);
    expect(await log(cy)).not.toContain('Only for those still here');
    await shot(cy, 'groups-removed-phone');

    // Bo leaves from the member list (on a phone-sized page the list works the same).
    const boPhone = await open(PHONE);
    await boPhone.goto('/login');
    await boPhone.getByLabel('Email').fill(boEmail);
    await boPhone.getByLabel('Password').fill('correct horse battery');
    await boPhone.getByRole('button', { name: 'Log in' }).click();
    await boPhone.goto(`${url}/members`);
    await shot(boPhone, 'groups-members-phone');
    await boPhone.getByRole('button', { name: 'Leave group' }).click();
    await boPhone.waitForURL(/\/conversations\/\d+$/);
    expect(await boPhone.locator('#group-left').textContent()).toBe('You left this group.');
    await expect.poll(() => log(ann), { timeout: 10_000 }).toContain('Bo left');
  });

  it('the New group form on a phone', async () => {
    const page = await open(PHONE);
    await signUpIn(page, 'Pat');
    await page.goto('/groups/new');
    await page.getByRole('button', { name: 'Create group' }).click();
    // The browser's own check or ours: either way the name is asked for on the same page.
    expect(new URL(page.url()).pathname).toMatch(/^\/groups/);
    await shot(page, 'groups-new-phone');
  });
});

// The conversation the README shows (issue 12: "a desktop and a phone screenshot of a real
// conversation"), made as people make it: friends, a group, a picture with a caption,
// formatting, a reply and reactions, yesterday and today. The test checks what the pictures
// are meant to show; README_SHOTS=docs writes docs/screenshot-desktop.png and
// docs/screenshot-phone.png (the README's), so they can be made again when the pages change.
import { beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { openChat, signUp, type TestApp, type TestUser } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { uploaded } from './support/files.js';
import { createGroup } from './support/groups.js';
import { useBrowserPages } from './support/pages.js';
import { ask, cookieOf, openSocket, send, type ClientSocket } from './support/sockets.js';

const SHOTS = process.env.README_SHOTS;
const HOUR = 3_600_000;

const pages = useBrowserPages();
let app: TestApp;
let ann: TestUser;
let chatId: number;

/** A small picture of a park at dusk: something a friend would send. */
function parkPicture(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="420">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#6495ed"/><stop offset="1" stop-color="#ffc0cb"/></linearGradient></defs>
    <rect width="640" height="420" fill="url(#sky)"/>
    <circle cx="470" cy="250" r="60" fill="#fff3b0"/>
    <path d="M0 300 Q160 220 320 290 T640 270 V420 H0Z" fill="#3d8b5a"/>
    <path d="M0 350 Q200 300 400 350 T640 340 V420 H0Z" fill="#2e6b45"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

async function socketOf(user: TestUser): Promise<ClientSocket> {
  return openSocket(app.baseUrl, await cookieOf(user.agent));
}

/** Moves a conversation's messages back in time, oldest first, by these offsets (ms ago). */
async function backdate(conversationId: number, ago: number[]) {
  const { rows } = await app.pool.query<{ id: number }>(
    `SELECT id FROM messages WHERE conversation_id = $1 AND kind <> 'system' ORDER BY id`,
    [conversationId],
  );
  for (const [i, row] of rows.entries())
    await app.pool.query(
      `UPDATE messages SET created_at = now() - $2 * interval '1 ms' WHERE id = $1`,
      [row.id, ago[i] ?? 0],
    );
  await app.pool.query(
    `UPDATE conversations c SET last_message_at = m.created_at
     FROM messages m WHERE m.id = c.last_message_id AND c.id = $1`,
    [conversationId],
  );
}

beforeAll(async () => {
  app = pages.app();
  ann = await signUp(app, { displayName: 'Ann Lee' });
  const bo = await signUp(app, { displayName: 'Bo Park' });
  const cy = await signUp(app, { displayName: 'Cy Diaz' });
  const di = await signUp(app, { displayName: 'Di Okafor' });
  const [a, b, c, d] = [
    await socketOf(ann),
    await socketOf(bo),
    await socketOf(cy),
    await socketOf(di),
  ];

  // Older talk first, so the chat with Bo is the newest in Ann's list.
  const diChat = await openChat(ann, di);
  await send(d, diChat, 'Thanks for the recipe! 🍋');
  await backdate(diChat, [26 * HOUR]);
  const club = await createGroup(ann, 'Book club', [bo, cy]);
  await send(c, club, 'Chapter 4 by Thursday?');
  await send(a, club, 'Works for me');
  await send(c, club, 'Great, see you all then 📚');
  await backdate(club, [5 * HOUR, 5 * HOUR - 60_000, 3 * HOUR]);

  chatId = await openChat(ann, bo);
  const plan = await send(
    a,
    chatId,
    'Picnic on Saturday?\n- **11:00** at the east gate\n- bring the `blue` blanket',
  );
  await send(b, chatId, 'Yes! I will bake something 🍰');
  const picture = await uploaded(bo.agent, chatId, {
    data: await parkPicture(),
    name: 'park.jpg',
    type: 'image/jpeg',
  });
  const sent = await ask(b, 'message:send', {
    conversationId: chatId,
    body: 'The spot, from last week',
    clientId: crypto.randomUUID(),
    attachmentIds: [picture.id],
  });
  if (!sent.ok) throw new Error(sent.error.message);
  await ask(a, 'reaction:toggle', {
    conversationId: chatId,
    messageId: sent.message.id,
    emoji: '❤️',
  });
  await ask(b, 'reaction:toggle', { conversationId: chatId, messageId: plan.id, emoji: '👍' });
  const replied = await ask(b, 'message:send', {
    conversationId: chatId,
    body: 'Can we make it 11:30?',
    clientId: crypto.randomUUID(),
    replyTo: plan.id,
  });
  if (!replied.ok) throw new Error(replied.error.message);
  await send(a, chatId, 'Sure, see you at 11:30 🙂');
  await backdate(chatId, [25 * HOUR, 24 * HOUR, 24 * HOUR - 60_000, 20 * 60_000, 10 * 60_000]);
  const last = await send(b, chatId, 'On my way!');
  // Ann has read her chat with Bo (the page opens at its end, no unread line in the picture).
  await app.pool.query(
    'UPDATE conversation_members SET last_read_message_id = $3 WHERE conversation_id = $1 AND user_id = $2',
    [chatId, ann.id, last.id],
  );
  for (const s of [a, b, c, d]) s.close();
});

async function openChatPage(page: Page) {
  await page.goto(`/conversations/${chatId}`);
  await page.locator('#log.live').waitFor();
  // The picture is in, at its size (what a screenshot would otherwise catch half-loaded).
  await expect
    .poll(() =>
      page
        .locator('#messages img')
        .first()
        .evaluate((img: HTMLImageElement) => img.naturalWidth),
    )
    .toBeGreaterThan(0);
}

describe.skipIf(!hasChromium)("the README's conversation", () => {
  it('desktop: the list with a group and two chats beside a conversation with a picture, a reply and reactions', async () => {
    const page = await pages.logIn(ann, DESKTOP);
    await openChatPage(page);
    const rows = page.locator('#inbox .inbox-item .who');
    expect(await page.locator('#inbox .inbox-item').first().locator('.badge').count()).toBe(0);
    expect(await rows.allTextContents()).toEqual(['Bo Park', 'Book club', 'Di Okafor']);
    expect(
      await page.locator('#inbox .inbox-item').nth(1).locator('.preview').textContent(),
    ).toContain('Cy Diaz:');
    const log = page.locator('#messages');
    expect(await log.locator('.day').allTextContents()).toEqual(['Yesterday', 'Today']);
    expect(await log.locator('strong').first().textContent()).toBe('11:00');
    expect(await log.locator('.quote').textContent()).toContain('Picnic on Saturday?');
    expect(await log.locator('.reaction').count()).toBe(2);
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/screenshot-desktop.png` });
  });

  it('phone, dark: one header over the same conversation', async () => {
    const page = await pages.logIn(ann, { ...PHONE, colorScheme: 'dark' });
    await openChatPage(page);
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(false);
    expect(await page.locator('.chat-head').textContent()).toContain('Bo Park');
    await page.locator('#messages li.msg').last().scrollIntoViewIfNeeded();
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/screenshot-phone.png` });
  });
});

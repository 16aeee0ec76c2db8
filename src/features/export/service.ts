// "Download my data": messages.json, everything of the user's as one JSON document made
// while it is read, a page of messages at a time, so a big account never sits whole in
// memory (the zip pulls the next page only when the download took the last: zip.ts). Files
// are referenced by their path in the zip (names.ts). What is in it: README.md.
import type { AppContext } from '../../core/context.js';
import { findUserById } from '../accounts/db.js';
import * as friends from '../friends/db.js';
import { DELETED_USER } from '../messages/service.js';
import * as db from './db.js';
import { sentFilePath, unsentFilePath } from './names.js';

export const PAGE = 1_000;
export const EXPORT_FORMAT = 'leos-chat-export/1';

const json = (v: unknown) => JSON.stringify(v);
const person = (p: { displayName: string; email: string }) => ({
  displayName: p.displayName,
  email: p.email,
});

export interface FileEntry {
  name: string;
  type: string;
  size: number;
  /** Where its bytes are in the zip. */
  path: string;
}

/**
 * A file as messages.json and the pages name it. `n`: its place among its message's files
 * (0, 1, …, in the order db.ts lists them), which with the message id makes its path unique.
 */
export const fileEntry = (f: db.ExportFile, n: number): FileEntry => ({
  name: f.name,
  type: f.type,
  size: f.size,
  path: f.messageId === null ? unsentFilePath(f.id, f.name) : sentFilePath(f.messageId, n, f.name),
});

/** A conversation's readable messages with their files, a page at a time, oldest first. */
export async function* readablePages(ctx: AppContext, userId: number, conversationId: number) {
  for (let after = 0; ;) {
    const page = await db.listReadable(ctx.db, userId, conversationId, after, PAGE);
    if (!page.length) return;
    const files = await db.listFiles(
      ctx.db,
      page.map((m) => m.id),
    );
    yield page.map((m) => ({
      ...m,
      from: m.senderId === userId ? 'me' : m.senderId === null ? DELETED_USER : m.senderName!,
      files: files.filter((f) => f.messageId === m.id).map(fileEntry),
    }));
    after = page[page.length - 1]!.id;
    if (page.length < PAGE) return;
  }
}

/** messages.json, in pieces. */
export async function* exportJson(ctx: AppContext, userId: number): AsyncGenerator<string> {
  const user = await findUserById(ctx.db, userId);
  if (!user) return;
  const prefs = await ctx.db.query<{ discoverable: boolean; notifyText: boolean }>(
    'SELECT discoverable, notify_text AS "notifyText" FROM users WHERE id = $1',
    [userId],
  );
  const [friendList, incoming, sent, blocked, conversations, unsent] = await Promise.all([
    friends.listFriends(ctx.db, userId),
    friends.listIncoming(ctx.db, userId),
    friends.listSent(ctx.db, userId),
    friends.listBlocked(ctx.db, userId),
    db.listConversations(ctx.db, userId),
    db.listUnsentFiles(ctx.db, userId),
  ]);
  // People's emails only where the user already sees them: on the Friends page.
  yield (
    `{"format":${json(EXPORT_FORMAT)},"exportedAt":${json(new Date().toISOString())},` +
    `"profile":${json({
      email: user.email,
      displayName: user.displayName,
      createdAt: user.createdAt,
      othersCanFindMeByEmail: prefs.rows[0]?.discoverable ?? true,
      showMessageTextInNotifications: prefs.rows[0]?.notifyText ?? true,
    })},` +
    `"friends":${json(friendList.map(person))},` +
    `"friendRequests":${json({ received: incoming.map(person), sent: sent.map(person) })},` +
    `"blocked":${json(blocked.map((p) => ({ displayName: p.displayName })))},` +
    `"unsentFiles":${json(unsent.map((f) => fileEntry(f, 0)))},` +
    `"conversations":[`
  );
  for (const [i, c] of conversations.entries()) {
    yield (
      `${i ? ',' : ''}{"kind":${json(c.kind)},"title":${json(c.title)},` +
      `"with":${json(c.others)},"state":${json(c.state)},"muted":${json(c.muted)},` +
      `"formerMember":${json(c.formerMember)},"messages":[`
    );
    let first = true;
    for await (const page of readablePages(ctx, userId, c.id)) {
      const lines = page.map((m) =>
        json({
          id: m.id,
          from: m.from,
          body: m.body,
          sentAt: m.createdAt,
          editedAt: m.editedAt ?? undefined,
          files: m.files.length ? m.files : undefined,
        }),
      );
      yield `${first ? '' : ','}${lines.join(',')}`;
      first = false;
    }
    yield ']}';
  }
  yield ']}\n';
}

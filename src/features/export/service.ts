// "Download my data": everything of the user's, as one JSON document written while it is
// read, a page of messages at a time, so a big account never sits whole in memory (the
// writer waits for the socket to drain). What is in it: README.md, "Download my data".
import type { AppContext } from '../../core/context.js';
import { findUserById } from '../accounts/db.js';
import * as friends from '../friends/db.js';
import { DELETED_USER } from '../messages/service.js';
import * as db from './db.js';

const PAGE = 1_000;
export const EXPORT_FORMAT = 'leos-chat-export/1';

/** Where the document goes: resolves once the chunk is taken (after a drain if needed). */
export type Write = (chunk: string) => Promise<void>;

const json = (v: unknown) => JSON.stringify(v);
const person = (p: { displayName: string; email: string }) => ({
  displayName: p.displayName,
  email: p.email,
});

export async function writeExport(ctx: AppContext, userId: number, write: Write): Promise<void> {
  const user = await findUserById(ctx.db, userId);
  if (!user) return;
  const prefs = await ctx.db.query<{ discoverable: boolean; notifyText: boolean }>(
    'SELECT discoverable, notify_text AS "notifyText" FROM users WHERE id = $1',
    [userId],
  );
  const [friendList, incoming, sent, blocked, conversations] = await Promise.all([
    friends.listFriends(ctx.db, userId),
    friends.listIncoming(ctx.db, userId),
    friends.listSent(ctx.db, userId),
    friends.listBlocked(ctx.db, userId),
    db.listConversations(ctx.db, userId),
  ]);
  // People's emails only where the user already sees them: on the Friends page.
  await write(
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
      `"conversations":[`,
  );
  for (const [i, c] of conversations.entries()) {
    await write(
      `${i ? ',' : ''}{"kind":${json(c.kind)},"title":${json(c.title)},` +
        `"with":${json(c.others)},"state":${json(c.state)},"muted":${json(c.muted)},` +
        `"formerMember":${json(c.formerMember)},"messages":[`,
    );
    let after = 0;
    let first = true;
    for (;;) {
      const page = await db.listReadable(ctx.db, userId, c.id, after, PAGE);
      if (!page.length) break;
      const lines = page.map((m) =>
        json({
          id: m.id,
          from: m.senderId === userId ? 'me' : m.senderId === null ? DELETED_USER : m.senderName,
          body: m.body,
          sentAt: m.createdAt,
          editedAt: m.editedAt ?? undefined,
        }),
      );
      await write(`${first ? '' : ','}${lines.join(',')}`);
      first = false;
      after = page[page.length - 1]!.id;
      if (page.length < PAGE) break;
    }
    await write(']}');
  }
  await write(']}\n');
}

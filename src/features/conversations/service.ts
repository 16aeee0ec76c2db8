import { z } from 'zod';
import { AppError, notFound } from '../../core/errors.js';
import { withTransaction } from '../../core/db/pool.js';
import * as conversations from './db.js';
import * as friends from '../friends/service.js';
import type { AppContext } from '../../core/context.js';
import { accessConversation } from './access.js';
import { mayWatch } from '../friends/policy.js';
import { emailSchema, parseFields } from '../../core/validation.js';
import * as messages from '../messages/db.js';
import { PAGE_SIZE } from '../messages/service.js';
import { toDtos } from '../messages/dto.js';
import { loadAttachments } from '../attachments/service.js';
import { listAround } from '../search/db.js';

export type SearchResult =
  | {
      status: 'found';
      user: { id: number; displayName: string; email: string };
      /** For the "Add friend" button: already friends, asked, or asked by them. */
      friend: 'friends' | 'sent' | 'asked' | 'none';
    }
  | { status: 'none'; email: string }
  | { status: 'self'; email: string };

/** Finds a person by email; an address that is not an email is a 400 with words. */
export async function searchByEmail(
  ctx: AppContext,
  meId: number,
  input: unknown,
): Promise<SearchResult> {
  const { email } = parseFields(z.object({ email: emailSchema }), input);
  // Blocked either way, or hidden from non-friends: the same answer as no account.
  const found = await friends.findByEmail(ctx, meId, email);
  if (found.status !== 'found') return { status: found.status, email };
  const { user, rel } = found;
  return {
    status: 'found',
    user: { id: user.id, displayName: user.displayName, email: user.email },
    friend: rel.friends ? 'friends' : rel.requested ? 'sent' : rel.requestedBy ? 'asked' : 'none',
  };
}

/**
 * The one direct conversation with the person who has this email, made on first use.
 * By email, never by user id: knowing someone's address is what lets you write to
 * them (ids are sequential: anyone could walk through them).
 */
export async function openDirect(ctx: AppContext, meId: number, input: unknown): Promise<number> {
  const { email } = parseFields(z.object({ email: emailSchema }), input);
  const found = await friends.findByEmail(ctx, meId, email);
  if (found.status === 'self') {
    throw new AppError(400, 'That is you: pick someone else to message.', 'invalid');
  }
  if (found.status === 'none') throw notFound('That person');
  const { user: other, rel } = found;
  // To someone who is not a friend, the first message is a request.
  const theirs = rel.friends ? 'accepted' : 'request';
  const id = await withTransaction(ctx.db, (tx) =>
    conversations.findOrCreateDirect(tx, meId, other.id, theirs),
  );
  ctx.members.invalidate(id);
  return id;
}

/** Conversations the inbox lists at first; "Show more conversations" adds as many again. */
export const INBOX_PAGE = 50;
/** The most one request lists (`?show=`). */
export const INBOX_MAX = 1000;

/**
 * The newest `show` conversations and, when older ones exist, the `show` that lists more
 * ("Show more conversations"; none past INBOX_MAX). One row more is read to know: a person
 * with hundreds of conversations opens a list of 50, as fast as anyone's, and asks for the
 * rest when they want it (the count and last line of each row cost per row).
 */
export async function inbox(ctx: AppContext, meId: number, show = INBOX_PAGE) {
  const rows = await conversations.listInbox(ctx.db, meId, show + 1);
  return { inbox: rows.slice(0, show), more: nextShow(rows.length, show) };
}

/** The `show` after `show` when `found` rows were read for it (one more than shown if more). */
export const nextShow = (found: number, show: number) =>
  found > show && show < INBOX_MAX ? Math.min(show + INBOX_PAGE, INBOX_MAX) : undefined;

/** The inbox and the message requests ("Requests" on the home page), read together. */
export async function inboxAndRequests(ctx: AppContext, meId: number, show = INBOX_PAGE) {
  const { inbox, requests } = await conversations.listInboxAndRequests(ctx.db, meId, show + 1);
  return {
    inbox: inbox.slice(0, show),
    more: nextShow(inbox.length, show),
    requests: requests.slice(0, show),
  };
}

export async function conversationView(
  ctx: AppContext,
  meId: number,
  conversationId: number,
  before?: number,
  /** A search result opened: the history around this message (search/db.ts listAround). */
  around?: number,
) {
  const access = await accessConversation(ctx, { id: meId }, conversationId, 'read');
  // Access was just decided: read the page directly. The conversation row (with its change
  // number) is read with the messages, in one snapshot (or before them, around a search
  // result): a change that lands meanwhile is synced again (harmless), never missed
  // (message-changes/db.ts).
  const newest = async () => {
    const found = await conversations.findConversationWithHistory(ctx.db, conversationId, meId, {
      before: messages.below(before ?? Number.MAX_SAFE_INTEGER, access.history),
      limit: PAGE_SIZE,
      from: access.history.from,
    });
    return [found?.conversation, found, found?.members] as const;
  };
  const aroundFound = async () => {
    const [[c, p], members] = await Promise.all([
      conversations
        .findConversationFor(ctx.db, conversationId, meId)
        .then(
          async (c) => [c, c && (await aroundPage(ctx, meId, conversationId, around!))] as const,
        ),
      conversations.listMembers(ctx.db, conversationId),
    ]);
    return [c, p, members] as const;
  };
  const [conversation, page, members] = await (around === undefined ? newest() : aroundFound());
  if (!conversation || !page || !members) throw notFound('That conversation'); // left meanwhile
  const changeSeq = conversation.changeSeq ?? 0;
  // Reactions and quotes, and the files, of the same rows: read side by side.
  const [dtos, attach] = await Promise.all([
    toDtos(ctx.db, meId, conversationId, page.messages),
    loadAttachments(ctx, page.messages),
  ]);
  const history = { messages: attach(dtos), hasMore: page.hasMore };
  const isGroup = conversation.kind === 'group';
  // A group's others are its current members: not those who left, nor invitations declined.
  const others = members.filter(
    (m) => m.id !== meId && (!isGroup || (m.historyTo === null && m.state !== 'declined')),
  );
  // In a group, the messages of someone the user blocked are folded away (issue 13).
  const blockedIds = new Set(
    access.memberIds.filter((id) => access.members.blocks.has(`${meId}:${id}`)),
  );
  // Presence, last seen and "Seen" only of those who accepted: a stranger watches no one.
  const watchable = new Set(
    others.filter((m) => mayWatch(access.members, meId, m.id)).map((m) => m.id),
  );
  // Until both have written, the other is someone you have not talked with: their email is
  // shown beside the name, so a namesake cannot pass for a friend. The page usually answers.
  const other = others[0];
  const senders = new Set(page.messages.map((m) => m.senderId));
  const talkedBothWays =
    !other ||
    isGroup ||
    (senders.has(meId) && senders.has(other.id)) ||
    (page.hasMore && (await conversations.haveBothWritten(ctx.db, conversationId, meId, other.id)));
  return {
    conversation,
    members,
    others,
    blockedIds,
    watchable,
    myState: access.state,
    talkedBothWays,
    changeSeq,
    ...history,
    /** Set when the page is not the newest one (an older page, or a window around a message). */
    before: 'before' in page ? page.before : before,
  };
}

/** A window around a found message; with newer ones beyond it, it is an older page. */
async function aroundPage(ctx: AppContext, meId: number, conversationId: number, around: number) {
  const found = await listAround(ctx.db, meId, conversationId, around, PAGE_SIZE / 2);
  if (!found.messages.length) throw notFound('That message');
  const last = found.messages[found.messages.length - 1]!.id;
  return {
    messages: found.messages,
    hasMore: found.hasOlder,
    before: found.hasNewer ? last + 1 : undefined,
  };
}

import { z } from 'zod';
import { AppError, notFound } from '../../core/errors.js';
import { withTransaction } from '../../core/db/pool.js';
import * as conversations from './db.js';
import * as users from '../accounts/db.js';
import type { AppContext } from '../../core/context.js';
import { accessConversation } from './access.js';
import { emailSchema, parseFields } from '../../core/validation.js';
import * as messages from '../messages/db.js';
import { PAGE_SIZE, toDto } from '../messages/service.js';

export type SearchResult =
  | { status: 'found'; user: { id: number; displayName: string; email: string } }
  | { status: 'none'; email: string }
  | { status: 'self'; email: string };

/** Finds a person by email; an address that is not an email is a 400 with words. */
export async function searchByEmail(
  ctx: AppContext,
  meId: number,
  input: unknown,
): Promise<SearchResult> {
  const { email } = parseFields(z.object({ email: emailSchema }), input);
  const user = await users.findUserByEmail(ctx.db, email);
  if (!user) return { status: 'none', email };
  if (user.id === meId) return { status: 'self', email };
  return {
    status: 'found',
    user: { id: user.id, displayName: user.displayName, email: user.email },
  };
}

/**
 * The one direct conversation with the person who has this email, made on first use.
 * By email, never by user id: knowing someone's address is what lets you write to
 * them (ids are sequential: anyone could walk through them).
 */
export async function openDirect(ctx: AppContext, meId: number, input: unknown): Promise<number> {
  const { email } = parseFields(z.object({ email: emailSchema }), input);
  const other = await users.findUserByEmail(ctx.db, email);
  if (!other) throw notFound('That person');
  if (other.id === meId) {
    throw new AppError(400, 'That is you: pick someone else to message.', 'invalid');
  }
  return withTransaction(ctx.db, (tx) => conversations.findOrCreateDirect(tx, meId, other.id));
}

export async function inbox(ctx: AppContext, meId: number) {
  return conversations.listInbox(ctx.db, meId);
}

export async function conversationView(
  ctx: AppContext,
  meId: number,
  conversationId: number,
  before?: number,
) {
  await accessConversation(ctx, { id: meId }, conversationId, 'read');
  // Access was just decided: read the page directly.
  const [conversation, members, page] = await Promise.all([
    conversations.findConversationFor(ctx.db, conversationId, meId),
    conversations.listMembers(ctx.db, conversationId),
    messages.listHistory(ctx.db, conversationId, before ?? Number.MAX_SAFE_INTEGER, PAGE_SIZE),
  ]);
  if (!conversation) throw notFound('That conversation'); // left in the meantime
  const history = { messages: page.messages.map((m) => toDto(m)), hasMore: page.hasMore };
  const others = members.filter((m) => m.id !== meId);
  // Until both have written, the other is someone you have not talked with: their email is
  // shown beside the name, so a namesake cannot pass for a friend. The page usually answers.
  const other = others[0];
  const senders = new Set(page.messages.map((m) => m.senderId));
  const talkedBothWays =
    !other ||
    (senders.has(meId) && senders.has(other.id)) ||
    (page.hasMore && (await conversations.haveBothWritten(ctx.db, conversationId, meId, other.id)));
  return { conversation, members, others, talkedBothWays, ...history };
}

// The one access decision for a conversation. Every route and socket handler
// that names a conversation asks here first; roles, message requests and
// blocks will plug in here too.
import type { AppContext } from '../../core/context.js';
import { notFound } from '../../core/errors.js';
import { listMemberIds } from './db.js';

/** What the user wants to do: read it, write to it, or change it (members, title). */
export type Need = 'read' | 'send' | 'manage';

export interface ConversationAccess {
  conversationId: number;
  /** Everyone in the conversation, the user included: who hears of what happens in it. */
  memberIds: number[];
}

/**
 * Allows or throws "not found": a conversation you are not in gets the same answer
 * as one that does not exist. Today every member may do everything.
 */
export async function accessConversation(
  ctx: AppContext,
  user: { id: number },
  conversationId: number,
  need: Need,
): Promise<ConversationAccess> {
  const memberIds = await loadMembers(ctx, conversationId, user.id, need);
  if (!memberIds.includes(user.id)) throw notFound('That conversation');
  return { conversationId, memberIds };
}

async function loadMembers(
  ctx: AppContext,
  conversationId: number,
  userId: number,
  need: Need,
): Promise<number[]> {
  const cached = ctx.members.get(conversationId);
  // Changing a conversation is rare and must see the latest members: never from the cache.
  if (need !== 'manage' && cached?.includes(userId)) return cached;
  // Not cached, or cached without this user (who may have just joined): ask the database,
  // once for all the requests that miss at the same moment.
  return ctx.members.load(conversationId, () => listMemberIds(ctx.db, conversationId));
}

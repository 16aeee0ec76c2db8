// The one access decision for a conversation. Every route and socket handler
// that names a conversation asks here first: membership, the member's answer
// (a hidden request is not found), and for a send whether the others accepted
// (friends/policy.ts). What it reads comes from the member cache, so deciding a
// send between friends costs no query.
import type { AppContext } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { loadMembers as queryMembers } from './db.js';
import type { MemberState, Members } from './member-cache.js';
import { checkRequestAllowance, isFormer, sendIsPending } from '../friends/policy.js';

/** What the user wants to do: read it, write to it, or change it (members, title). */
export type Need = 'read' | 'send' | 'manage';

export interface ConversationAccess {
  conversationId: number;
  /** Everyone in the conversation, the user included. Who may hear what: friends/policy.ts. */
  memberIds: number[];
  members: Members;
  /** The user's own answer: 'accepted', or 'request' (not answered yet). */
  state: MemberState;
  /**
   * What the user may read: ids above `from`, up to `to` when they left or were removed
   * from a group (the member history rule, migrations/…_member_history.sql).
   */
  history: { from: number; to: number | null };
}

/** The words a former member gets when they try to write, type or change the group. */
export const NOT_A_MEMBER =
  'You are no longer in this group: you can read what was said while you were in it, but not write.';

/**
 * The answer to a send the message insert refused under the conversation's lock
 * (insert_messages_v6): the same words a send after the change would get from
 * accessConversation — a former member is told so, anyone else "not found".
 */
export function sendRefusal(reason: 'former' | 'absent'): AppError {
  return reason === 'former'
    ? new AppError(403, NOT_A_MEMBER, 'forbidden')
    : notFound('That conversation');
}

/**
 * Allows or throws "not found": a conversation you are not in, or one you declined, gets
 * the same answer as one that does not exist. A send to someone who has not accepted
 * (or who blocked you: the same answer) is allowed a few times, then refused.
 */
export async function accessConversation(
  ctx: AppContext,
  user: { id: number },
  conversationId: number,
  need: Need,
): Promise<ConversationAccess> {
  const members = await loadMembers(ctx, conversationId, user.id, need);
  const state = members.state.get(user.id);
  if (!state || state === 'declined') throw sendRefusal('absent');
  if (need !== 'read' && isFormer(members, user.id)) throw sendRefusal('former');
  if (need === 'send' && sendIsPending(members, user.id)) {
    await checkRequestAllowance(ctx, conversationId, user.id);
  }
  const history = members.history?.get(user.id) ?? { from: 0, to: null };
  return { conversationId, memberIds: members.ids, members, state, history };
}

async function loadMembers(
  ctx: AppContext,
  conversationId: number,
  userId: number,
  need: Need,
): Promise<Members> {
  const cached = ctx.members.get(conversationId);
  // Changing a conversation is rare and must see the latest members: never from the cache.
  if (need !== 'manage' && cached?.state.has(userId)) return cached;
  // Not cached, or cached without this user (who may have just joined): ask the database,
  // once for all the requests that miss at the same moment.
  return ctx.members.load(conversationId, () => queryMembers(ctx.db, conversationId));
}

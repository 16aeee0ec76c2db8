// Friends, message requests and blocks: check (policy.ts), then write, then tell.
import { z } from 'zod';
import { AppError, notFound } from '../../core/errors.js';
import { withTransaction, type Db } from '../../core/db/pool.js';
import type { AppContext } from '../../core/context.js';
import { emailSchema, parseFields } from '../../core/validation.js';
import * as users from '../accounts/db.js';
import { directKey } from '../conversations/db.js';
import { accessConversation } from '../conversations/access.js';
import * as db from './db.js';
import { mayFind, relationship, type Relationship } from './policy.js';
import { introducePresence } from '../presence/service.js';

/** A declined friend request cannot be sent again for this long. */
export const ASK_AGAIN_AFTER_MS = 7 * 24 * 60 * 60 * 1000;
/** Pending outgoing friend requests one user may have at once. */
export const MAX_PENDING_SENT = 300;

export type Found =
  | { status: 'none' }
  | { status: 'self' }
  | { status: 'found'; user: users.User; rel: Relationship };

/** A person by email, as the policy lets this user see them: a block or a hidden email is "none". */
export async function findByEmail(ctx: AppContext, meId: number, email: string): Promise<Found> {
  const user = await users.findUserByEmail(ctx.db, email);
  if (!user) return { status: 'none' };
  if (user.id === meId) return { status: 'self' };
  const [rel, discoverable] = await Promise.all([
    relationship(ctx, meId, user.id),
    db.isDiscoverable(ctx.db, user.id),
  ]);
  if (!mayFind(rel, discoverable)) return { status: 'none' };
  return { status: 'found', user, rel };
}

const NO_ACCOUNT = () => new AppError(404, 'No account uses that email.', 'not_found');

/** Asks to be friends; asking someone who asked you accepts their request. */
export async function sendFriendRequest(
  ctx: AppContext,
  meId: number,
  input: unknown,
): Promise<'sent' | 'friends'> {
  const { email } = parseFields(z.object({ email: emailSchema }), input);
  const found = await findByEmail(ctx, meId, email);
  if (found.status === 'self') {
    throw new AppError(400, 'That is you: pick someone else to befriend.', 'invalid');
  }
  if (found.status === 'none') throw NO_ACCOUNT();
  const { user, rel } = found;
  if (rel.friends) return 'friends';
  if (rel.requestedBy) {
    await acceptFriend(ctx, meId, user.id);
    return 'friends';
  }
  // Declined lately, or still waiting: nothing changes, and the sender is told nothing new.
  if (rel.declinedAt && Date.now() - rel.declinedAt.getTime() < ASK_AGAIN_AFTER_MS) return 'sent';
  if (rel.requested && !rel.declinedAt) return 'sent';
  if ((await db.countPendingSent(ctx.db, meId)) >= MAX_PENDING_SENT) {
    throw new AppError(
      429,
      `You have ${MAX_PENDING_SENT} friend requests waiting for an answer. Cancel some first.`,
      'rate_limited',
    );
  }
  await db.upsertRequest(ctx.db, meId, user.id);
  return 'sent';
}

/** Both people's direct conversation becomes an ordinary one: friends chat as before. */
async function openUpDirect(ctx: AppContext, tx: Db, a: number, b: number): Promise<void> {
  const conversationId = await db.findDirect(tx, directKey(a, b));
  if (conversationId === undefined) return;
  await db.setMemberState(tx, conversationId, a, 'accepted');
  await db.setMemberState(tx, conversationId, b, 'accepted');
  ctx.members.invalidate(conversationId);
}

export async function acceptFriend(ctx: AppContext, meId: number, fromId: number): Promise<void> {
  await withTransaction(ctx.db, async (tx) => {
    if (!(await db.answerRequest(tx, fromId, meId, ['pending'], 'accepted'))) {
      throw notFound('That request');
    }
    await db.deleteBetween(tx, meId, fromId, ['pending', 'declined']);
    await openUpDirect(ctx, tx, meId, fromId);
  });
  await introducePresence(ctx, meId, [fromId]);
}

export async function declineFriend(ctx: AppContext, meId: number, fromId: number) {
  if (!(await db.answerRequest(ctx.db, fromId, meId, ['pending'], 'declined'))) {
    throw notFound('That request');
  }
}

export async function cancelFriendRequest(ctx: AppContext, meId: number, toId: number) {
  if (!(await db.cancelRequest(ctx.db, meId, toId))) throw notFound('That request');
}

/** Quiet: the other is not told; the conversation stays as it is. */
export async function unfriend(ctx: AppContext, meId: number, otherId: number) {
  if (!(await db.deleteBetween(ctx.db, meId, otherId, ['accepted']))) throw notFound('That friend');
}

/**
 * The blocked person is not told: their sends get a pending request's answer, they cannot
 * find or befriend the blocker, and hear nothing of them. Only someone you have a request,
 * a friendship or a conversation with can be blocked (ids are not a directory).
 */
export async function blockUser(ctx: AppContext, meId: number, otherId: number): Promise<void> {
  const rel = await relationship(ctx, meId, otherId);
  const conversationId = await db.findDirect(ctx.db, directKey(meId, otherId));
  const related = rel.friends || rel.requested || rel.requestedBy || rel.aBlockedB;
  if (!related && conversationId === undefined) throw notFound('That person');
  await withTransaction(ctx.db, async (tx) => {
    await db.insertBlock(tx, meId, otherId);
    await db.deleteBetween(tx, meId, otherId, ['pending', 'accepted', 'declined']);
    if (conversationId !== undefined) await db.setMemberState(tx, conversationId, meId, 'declined');
  });
  if (conversationId !== undefined) ctx.members.invalidate(conversationId);
}

export async function unblockUser(ctx: AppContext, meId: number, otherId: number) {
  if (!(await db.deleteBlock(ctx.db, meId, otherId))) throw notFound('That person');
  const conversationId = await db.findDirect(ctx.db, directKey(meId, otherId));
  if (conversationId !== undefined) ctx.members.invalidate(conversationId);
}

/** Answering a message request (by writing, or with "Accept") accepts it. */
export async function acceptConversation(ctx: AppContext, meId: number, conversationId: number) {
  await db.setMemberState(ctx.db, conversationId, meId, 'accepted');
  ctx.members.invalidate(conversationId);
  // A direct chat: the two may now watch each other. (A big group's members learn it at
  // their next presence change rather than by a query per member here.)
  const { members } = await accessConversation(ctx, { id: meId }, conversationId, 'read');
  if (members.ids.length === 2) {
    await introducePresence(
      ctx,
      meId,
      members.ids.filter((id) => id !== meId),
    );
  }
}

/** "Accept", "Decline" or "Block" on a conversation the user can see. */
export async function answerConversation(
  ctx: AppContext,
  meId: number,
  conversationId: number,
  answer: 'accept' | 'decline' | 'block',
): Promise<void> {
  const { members } = await accessConversation(ctx, { id: meId }, conversationId, 'read');
  if (answer === 'accept') return acceptConversation(ctx, meId, conversationId);
  if (answer === 'decline') {
    await db.setMemberState(ctx.db, conversationId, meId, 'declined');
    ctx.members.invalidate(conversationId);
    return;
  }
  const by = await db.findAddedBy(ctx.db, conversationId, meId);
  if (by !== undefined) {
    // A group invitation: "Block" blocks the one who sent it, and declines it.
    await withTransaction(ctx.db, async (tx) => {
      await db.insertBlock(tx, meId, by);
      await db.deleteBetween(tx, meId, by, ['pending', 'accepted', 'declined']);
      await db.setMemberState(tx, conversationId, meId, 'declined');
    });
    ctx.members.invalidate(conversationId);
    return;
  }
  const other = members.ids.find((id) => id !== meId);
  if (other === undefined || members.ids.length !== 2) throw notFound('That person');
  await blockUser(ctx, meId, other);
}

export async function friendsPage(ctx: AppContext, meId: number) {
  const [friends, incoming, sent] = await Promise.all([
    db.listFriends(ctx.db, meId),
    db.listIncoming(ctx.db, meId),
    db.listSent(ctx.db, meId),
  ]);
  const online = await ctx.notify.onlineAmong(friends.map((f) => f.id));
  return { friends, incoming, sent, online };
}

export async function privacyOf(ctx: AppContext, meId: number) {
  const [blocked, discoverable] = await Promise.all([
    db.listBlocked(ctx.db, meId),
    db.isDiscoverable(ctx.db, meId),
  ]);
  return { blocked, discoverable };
}

export async function setDiscoverable(ctx: AppContext, meId: number, input: unknown) {
  const body = (input ?? {}) as Record<string, unknown>;
  // An unticked checkbox sends nothing: absent is "off".
  await db.setDiscoverable(ctx.db, meId, body.discoverable === 'on');
}

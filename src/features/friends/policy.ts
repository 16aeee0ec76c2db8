// The one policy: who may message, watch (presence, last seen, typing, read marks),
// find and befriend whom. Between two people it reads their pair (relationship());
// inside a conversation it reads the member cache's entry, so a send between friends
// costs no query. accessConversation, search, presence and every emit ask here.
import type { AppContext } from '../../core/context.js';
import type { Members } from '../conversations/member-cache.js';
import { AppError } from '../../core/errors.js';
import * as db from './db.js';

/** Messages a sender may leave before the other accepts (or while blocked: the same answer). */
export const REQUEST_MESSAGES = 3;

export interface Relationship {
  friends: boolean;
  /** a asked b and b has not answered (a declined request looks the same to a). */
  requested: boolean;
  /** b asked a and a has not answered. */
  requestedBy: boolean;
  /** When b declined a's request, if b did. */
  declinedAt: Date | null;
  /** Either blocked the other: to each, the other is as if they had no account. */
  blocked: boolean;
  aBlockedB: boolean;
}

export async function relationship(ctx: AppContext, a: number, b: number): Promise<Relationship> {
  const p = await db.loadPair(ctx.db, a, b);
  return {
    friends: p.sent === 'accepted' || p.received === 'accepted',
    requested: p.sent === 'pending' || p.sent === 'declined',
    requestedBy: p.received === 'pending',
    declinedAt: p.sent === 'declined' ? p.sentDeclinedAt : null,
    blocked: p.blocks || p.blockedBy,
    aBlockedB: p.blocks,
  };
}

/** May a find b by email? Not across a block; not when b hid themselves, unless friends. */
export function mayFind(rel: Relationship, bDiscoverable: boolean): boolean {
  return !rel.blocked && (bDiscoverable || rel.friends);
}

const blockedBetween = (m: Members, a: number, b: number) =>
  m.blocks.has(`${a}:${b}`) || m.blocks.has(`${b}:${a}`);

/** A member who left or was removed from a group: reads what they saw, hears nothing more. */
export const isFormer = (m: Members, id: number) => m.former?.has(id) ?? false;

/**
 * May the viewer see the subject's presence, typing and read marks in this conversation?
 * Only once the subject accepted it, not by one who hid it, and never across a block.
 */
export function mayWatch(m: Members, viewer: number, subject: number): boolean {
  if (viewer === subject) return true;
  return (
    !isFormer(m, viewer) &&
    !isFormer(m, subject) &&
    (m.state.get(viewer) ?? 'declined') !== 'declined' &&
    m.state.get(subject) === 'accepted' &&
    !blockedBetween(m, viewer, subject)
  );
}

/** The members who may watch the subject (the subject included: their own other tabs). */
export function watchersIn(m: Members, subject: number): number[] {
  return m.ids.filter((id) => mayWatch(m, id, subject));
}

/**
 * Who hears a new message live: not a member who hid the conversation or blocked the sender
 * (in a group, those who blocked the sender get it folded: foldingFor).
 * A pending request's recipient does hear it (their inbox shows the request at once).
 */
export function deliverTo(m: Members, senderId: number, ids: number[]): number[] {
  return ids.filter(
    (id) =>
      id === senderId ||
      (m.state.get(id) !== 'declined' && !isFormer(m, id) && !m.blocks.has(`${id}:${senderId}`)),
  );
}

/**
 * The members who blocked the sender yet are in the conversation with them (a group): they get
 * the sender's new messages folded ("Message from a blocked person"), as their page shows them.
 */
export function foldingFor(m: Members, senderId: number, ids: number[]): number[] {
  return ids.filter(
    (id) =>
      id !== senderId &&
      m.state.get(id) !== 'declined' &&
      !isFormer(m, id) &&
      m.blocks.has(`${id}:${senderId}`),
  );
}

/** Did the reader block this sender? (Their messages are folded for the reader.) */
export const readerBlocked = (m: Members, readerId: number, senderId: number | null) =>
  senderId !== null && m.blocks.has(`${readerId}:${senderId}`);

/** A send waits on acceptance when no other member has accepted it without blocking the sender. */
export function sendIsPending(m: Members, senderId: number): boolean {
  const others = m.ids.filter((id) => id !== senderId && !isFormer(m, id));
  // Alone (the other deleted their account, or left): nobody to wait for, as before.
  if (!others.length) return false;
  return !others.some((id) => m.state.get(id) === 'accepted' && !blockedBetween(m, id, senderId));
}

/** A request's sender may leave a few messages; then the same answer, blocked or not. */
export async function checkRequestAllowance(
  ctx: AppContext,
  conversationId: number,
  senderId: number,
): Promise<void> {
  const sent = await db.countSent(ctx.db, conversationId, senderId, REQUEST_MESSAGES);
  if (sent >= REQUEST_MESSAGES) {
    throw new AppError(
      403,
      'Waiting for them to accept your message request. You can write more once they do.',
      'awaiting_acceptance',
    );
  }
}

// Invite links: a long random token (32 bytes, base64url) shown once to the admin who made
// it; the database keeps only its SHA-256, so a copy of the table opens no group. A link
// that expired, was revoked, was used up, or never existed gets one answer.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError, notFound } from '../../core/errors.js';
import { withTransaction } from '../../core/db/pool.js';
import type { AppContext } from '../../core/context.js';
import { parseFields } from '../../core/validation.js';
import { accessConversation } from '../conversations/access.js';
import { relationship } from '../friends/policy.js';
import * as db from './db.js';
import { notifyLines, type Actor } from './tell.js';

export const EXPIRIES = { '1h': 3_600_000, '1d': 86_400_000, '7d': 604_800_000, never: null };
export type Expiry = keyof typeof EXPIRIES;

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const hash = (token: string) => createHash('sha256').update(token).digest();

export const DEAD_LINK = 'This invite link does not work: it may have expired or been revoked.';

const inviteSchema = z.object({
  expires: z.enum(['1h', '1d', '7d', 'never'], { error: 'Choose when the link expires.' }),
  maxUses: z
    .union([z.literal(''), z.string().regex(/^\d{1,6}$/, 'Enter a number of uses, or nothing.')])
    .optional()
    .transform((v) => (v ? Number(v) : null))
    .refine((v) => v === null || (v >= 1 && v <= 10_000), 'Between 1 and 10,000 uses.'),
});

/** Makes a link (admins and the owner); returns the token, which is never shown again. */
export async function createInvite(
  ctx: AppContext,
  me: Actor,
  conversationId: number,
  input: unknown,
): Promise<string> {
  const { expires, maxUses } = parseFields(inviteSchema, input);
  await requireAdmin(ctx, me.id, conversationId);
  const token = randomBytes(32).toString('base64url');
  const ms = EXPIRIES[expires];
  await db.insertInvite(ctx.db, {
    conversationId,
    tokenHash: hash(token),
    createdBy: me.id,
    expiresAt: ms === null ? null : new Date(Date.now() + ms),
    maxUses,
  });
  return token;
}

export async function revokeInvite(
  ctx: AppContext,
  me: Actor,
  conversationId: number,
  inviteId: number,
): Promise<void> {
  await requireAdmin(ctx, me.id, conversationId);
  if (!(await db.revokeInvite(ctx.db, conversationId, inviteId))) throw notFound('That link');
}

async function requireAdmin(ctx: AppContext, meId: number, conversationId: number) {
  await accessConversation(ctx, { id: meId }, conversationId, 'manage');
  const me = await db.findMember(ctx.db, conversationId, meId);
  if (!db.isCurrent(me)) throw notFound('That conversation');
  if (me.role === 'member' || me.state !== 'accepted') {
    throw new AppError(403, 'Only admins can make or revoke invite links.', 'forbidden');
  }
}

/** What the link's page shows: the group's name and member count; a dead link is not found. */
export async function previewInvite(ctx: AppContext, token: string): Promise<db.InvitePreview> {
  if (!TOKEN.test(token)) throw new AppError(404, DEAD_LINK, 'not_found');
  const found = await db.findLiveInvite(ctx.db, hash(token));
  if (!found) throw new AppError(404, DEAD_LINK, 'not_found');
  return found;
}

/** "Join group": one more member, one use counted; a member already in just goes in. */
export async function joinByInvite(ctx: AppContext, me: Actor, token: string): Promise<number> {
  const preview = await previewInvite(ctx, token);
  // The link's maker blocked them, or they blocked the maker: the same dead link.
  if (preview.createdBy !== null && preview.createdBy !== me.id) {
    const rel = await relationship(ctx, me.id, preview.createdBy);
    if (rel.blocked) throw new AppError(404, DEAD_LINK, 'not_found');
  }
  const result = await withTransaction(ctx.db, async (tx) => {
    const group = await db.lockGroup(tx, preview.conversationId);
    const invite = await db.findLiveInvite(tx, hash(token), true);
    if (!group || !invite) throw new AppError(404, DEAD_LINK, 'not_found');
    const mine = await db.findMember(tx, group.id, me.id);
    const former = mine?.historyTo != null ? mine : undefined; // (isCurrent narrows `mine` below)
    if (db.isCurrent(mine)) {
      // Invited and not answered yet: following the link is the answer.
      if (mine.state === 'request') await db.acceptMembership(tx, group.id, me.id);
      return { id: group.id, line: undefined };
    }
    // Removed by an admin: an old link does not undo that; an admin may add them back.
    // (Their own "left" line is theirs: someone who left may come back by a link.)
    if (former && !(await db.leftByThemselves(tx, former))) {
      throw new AppError(
        403,
        'You were removed from this group: an admin can add you back.',
        'forbidden',
      );
    }
    const count = await db.countCurrent(tx, group.id);
    if (count + 1 > ctx.groupMaxMembers) {
      throw new AppError(
        409,
        `This group is full: at most ${ctx.groupMaxMembers} members.`,
        'conflict',
      );
    }
    await db.addMember(tx, {
      conversationId: group.id,
      userId: me.id,
      state: 'accepted', // following the link is the answer
      addedBy: invite.createdBy ?? me.id,
      historyFrom: group.lastMessageId,
    });
    await db.countInviteUse(tx, invite.inviteId);
    const words = `${me.displayName} joined with an invite link`;
    return { id: group.id, line: await db.insertSystemLine(tx, group.id, me.id, words) };
  });
  if (result.line) notifyLines(ctx, result.id, [result.line]);
  else ctx.members.invalidate(result.id);
  return result.id;
}

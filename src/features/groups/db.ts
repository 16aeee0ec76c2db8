// Groups: the SQL. Every change of members runs inside the caller's transaction after
// lockConversation(), the same row lock insert_messages_v3 takes, so a system line and the
// messages around it get ids in commit order, and "who is a member" is decided at one point
// of that order.
import type { Db } from '../../core/db/pool.js';
import type { MemberState } from '../conversations/member-cache.js';
import type { MessageRow } from '../messages/db.js';

export type Role = 'owner' | 'admin' | 'member';

export interface LockedGroup {
  id: number;
  title: string;
  lastMessageId: number;
  membersCanAdd: boolean;
}

/** Locks a group's row (FOR UPDATE) and returns it; undefined for no such group. */
export async function lockGroup(tx: Db, conversationId: number): Promise<LockedGroup | undefined> {
  const { rows } = await tx.query<LockedGroup>(
    `SELECT id, title, coalesce(last_message_id, 0) AS "lastMessageId",
            members_can_add AS "membersCanAdd"
     FROM conversations WHERE id = $1 AND kind = 'group' FOR UPDATE`,
    [conversationId],
  );
  return rows[0];
}

export async function createGroup(tx: Db, title: string, ownerId: number): Promise<number> {
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO conversations (kind, title, created_by) VALUES ('group', $1, $2) RETURNING id`,
    [title, ownerId],
  );
  const id = rows[0]!.id;
  await tx.query(
    `INSERT INTO conversation_members (conversation_id, user_id, role, state)
     VALUES ($1, $2, 'owner', 'accepted')`,
    [id, ownerId],
  );
  return id;
}

/**
 * A line in words ("Ann added Bo"), stored as a message of kind 'system' so it orders with
 * the log and syncs like one. Call under lockGroup(): it moves last_message_id.
 */
export async function insertSystemLine(
  tx: Db,
  conversationId: number,
  actorId: number,
  body: string,
): Promise<MessageRow> {
  const { rows } = await tx.query<MessageRow>(
    `WITH ins AS (
       INSERT INTO messages (conversation_id, sender_id, client_id, body, kind)
       VALUES ($1, $2, gen_random_uuid(), $3, 'system')
       RETURNING id, conversation_id, sender_id, client_id, body, created_at, kind
     ), moved AS (
       UPDATE conversations c SET last_message_id = ins.id, last_message_at = ins.created_at
       FROM ins WHERE c.id = ins.conversation_id
     )
     SELECT id, conversation_id AS "conversationId", sender_id AS "senderId", NULL AS "senderName",
            client_id AS "clientId", body, created_at AS "createdAt", kind FROM ins`,
    [conversationId, actorId, body],
  );
  return rows[0]!;
}

export interface MemberInfo {
  userId: number;
  displayName: string;
  role: Role;
  state: MemberState;
  historyTo: number | null;
}

const MEMBER = `SELECT m.user_id AS "userId", u.display_name AS "displayName", m.role, m.state,
  m.history_to AS "historyTo"
  FROM conversation_members m JOIN users u ON u.id = m.user_id`;

/** One member's row (current, former or declined), with their name. */
export async function findMember(
  tx: Db,
  conversationId: number,
  userId: number,
): Promise<MemberInfo | undefined> {
  const { rows } = await tx.query<MemberInfo>(
    `${MEMBER}
     WHERE m.conversation_id = $1 AND m.user_id = $2`,
    [conversationId, userId],
  );
  return rows[0];
}

/** A former member whose last line is their own ("Bo left"), not an admin's removal. */
export async function leftByThemselves(tx: Db, m: MemberInfo): Promise<boolean> {
  const { rows } = await tx.query<{ own: boolean }>(
    'SELECT sender_id = $2 AS own FROM messages WHERE id = $1',
    [m.historyTo, m.userId],
  );
  return rows[0]?.own ?? false;
}

/** A current member: in the group now (not left, not removed, not a declined invitation). */
export const isCurrent = (m: MemberInfo | undefined): m is MemberInfo =>
  m !== undefined && m.historyTo === null && m.state !== 'declined';

/** Members now (an unanswered invitation counts: it holds a place). */
export async function countCurrent(tx: Db, conversationId: number): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM conversation_members
     WHERE conversation_id = $1 AND history_to IS NULL AND state <> 'declined'`,
    [conversationId],
  );
  return rows[0]!.n;
}

/** Who hears of a change: every current member (declined ones are filtered by the policy). */
export async function currentMemberIds(tx: Db, conversationId: number): Promise<number[]> {
  const { rows } = await tx.query<{ id: number }>(
    `SELECT user_id AS id FROM conversation_members
     WHERE conversation_id = $1 AND history_to IS NULL AND state <> 'declined'`,
    [conversationId],
  );
  return rows.map((r) => Number(r.id));
}

/**
 * Adds someone, or brings back someone who left, was removed or declined: they read only
 * what comes after `historyFrom` (the group's last message now). False when they are
 * already a member (nothing changes).
 */
export async function addMember(
  tx: Db,
  p: {
    conversationId: number;
    userId: number;
    state: MemberState;
    addedBy: number;
    historyFrom: number;
  },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO conversation_members
       (conversation_id, user_id, role, state, added_by, history_from, last_read_message_id)
     VALUES ($1, $2, 'member', $3, $4, $5, $5)
     ON CONFLICT (conversation_id, user_id) DO UPDATE
       SET role = 'member', state = EXCLUDED.state, added_by = EXCLUDED.added_by,
           history_from = EXCLUDED.history_from, history_to = NULL, joined_at = now(),
           last_read_message_id = EXCLUDED.last_read_message_id
       WHERE conversation_members.history_to IS NOT NULL
          OR conversation_members.state = 'declined'`,
    [p.conversationId, p.userId, p.state, p.addedBy, p.historyFrom],
  );
  return (rowCount ?? 0) > 0;
}

/** Did this person decline an invitation to this group less than `ms` ago? */
export async function declinedWithin(
  tx: Db,
  conversationId: number,
  userId: number,
  ms: number,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `SELECT 1 FROM conversation_members
     WHERE conversation_id = $1 AND user_id = $2 AND state = 'declined'
       AND declined_at > now() - make_interval(secs => $3 / 1000.0)`,
    [conversationId, userId, ms],
  );
  return (rowCount ?? 0) > 0;
}

/** Left or removed: reads up to `historyTo` (the line that says so), hears nothing more. */
export async function endMembership(
  tx: Db,
  conversationId: number,
  userId: number,
  historyTo: number,
): Promise<void> {
  await tx.query(
    `UPDATE conversation_members SET history_to = $3, role = 'member'
     WHERE conversation_id = $1 AND user_id = $2`,
    [conversationId, userId, historyTo],
  );
}

export async function acceptMembership(tx: Db, conversationId: number, userId: number) {
  await tx.query(
    `UPDATE conversation_members SET state = 'accepted' WHERE conversation_id = $1 AND user_id = $2`,
    [conversationId, userId],
  );
}

export async function setRole(tx: Db, conversationId: number, userId: number, role: Role) {
  await tx.query(
    'UPDATE conversation_members SET role = $3 WHERE conversation_id = $1 AND user_id = $2',
    [conversationId, userId, role],
  );
}

/** Who becomes the owner when the owner leaves: the longest-standing admin, else member. */
export async function findSuccessor(
  tx: Db,
  conversationId: number,
  leaving: number,
): Promise<MemberInfo | undefined> {
  const { rows } = await tx.query<MemberInfo>(
    `${MEMBER}
     WHERE m.conversation_id = $1 AND m.user_id <> $2 AND m.history_to IS NULL
       AND m.state = 'accepted'
     ORDER BY (m.role = 'admin') DESC, m.joined_at, m.user_id
     LIMIT 1`,
    [conversationId, leaving],
  );
  return rows[0];
}

export async function renameGroup(tx: Db, conversationId: number, title: string) {
  await tx.query('UPDATE conversations SET title = $2 WHERE id = $1', [conversationId, title]);
}

export async function setMembersCanAdd(tx: Db, conversationId: number, on: boolean) {
  await tx.query('UPDATE conversations SET members_can_add = $2 WHERE id = $1', [
    conversationId,
    on,
  ]);
}

// ——— invite links ———

export interface InviteRow {
  id: number;
  createdAt: Date;
  expiresAt: Date | null;
  maxUses: number | null;
  uses: number;
  createdByName: string | null;
}

export async function insertInvite(
  db: Db,
  p: {
    conversationId: number;
    tokenHash: Buffer;
    createdBy: number;
    expiresAt: Date | null;
    maxUses: number | null;
  },
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO group_invites (conversation_id, token_hash, created_by, expires_at, max_uses)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [p.conversationId, p.tokenHash, p.createdBy, p.expiresAt, p.maxUses],
  );
  return rows[0]!.id;
}

/** A link that still works: not revoked, not expired, not used up. */
const live = (i: string) => `${i}.revoked_at IS NULL
  AND (${i}.expires_at IS NULL OR ${i}.expires_at > now())
  AND (${i}.max_uses IS NULL OR ${i}.uses < ${i}.max_uses)`;

/** The links that still work, newest first (their tokens are not kept: only shown once). */
export async function listLiveInvites(db: Db, conversationId: number): Promise<InviteRow[]> {
  const { rows } = await db.query<InviteRow>(
    `SELECT i.id, i.created_at AS "createdAt", i.expires_at AS "expiresAt",
            i.max_uses AS "maxUses", i.uses, u.display_name AS "createdByName"
     FROM group_invites i LEFT JOIN users u ON u.id = i.created_by
     WHERE i.conversation_id = $1 AND ${live('i')} ORDER BY i.id DESC LIMIT 20`,
    [conversationId],
  );
  return rows;
}

export async function revokeInvite(db: Db, conversationId: number, inviteId: number) {
  const { rowCount } = await db.query(
    `UPDATE group_invites SET revoked_at = now()
     WHERE id = $2 AND conversation_id = $1 AND revoked_at IS NULL`,
    [conversationId, inviteId],
  );
  return (rowCount ?? 0) > 0;
}

export interface InvitePreview {
  inviteId: number;
  conversationId: number;
  title: string;
  memberCount: number;
  createdBy: number | null;
}

/** A link that still works, by its token's hash; `lock` takes its row for a join. */
export async function findLiveInvite(
  db: Db,
  tokenHash: Buffer,
  lock = false,
): Promise<InvitePreview | undefined> {
  const { rows } = await db.query<InvitePreview>(
    `SELECT i.id AS "inviteId", i.conversation_id AS "conversationId", c.title,
            i.created_by AS "createdBy",
            (SELECT count(*)::int FROM conversation_members m
             WHERE m.conversation_id = c.id AND m.history_to IS NULL AND m.state <> 'declined')
              AS "memberCount"
     FROM group_invites i JOIN conversations c ON c.id = i.conversation_id
     WHERE i.token_hash = $1 AND ${live('i')}
     ${lock ? 'FOR UPDATE OF i' : ''}`,
    [tokenHash],
  );
  return rows[0];
}

export async function countInviteUse(tx: Db, inviteId: number): Promise<void> {
  await tx.query('UPDATE group_invites SET uses = uses + 1 WHERE id = $1', [inviteId]);
}

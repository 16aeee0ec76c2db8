import type { Db } from '../../core/db/pool.js';
import { EVERYONE_OPEN_UP_TO, isMentioned } from '../../shared/mentions.js';
import { readableBy } from '../conversations/readable.js';

export const NOTIFY_LEVELS = ['all', 'mentions', 'nothing'] as const;
export type NotifyLevel = (typeof NOTIFY_LEVELS)[number];

/** A group member's level: their choice, else all messages up to 20 members, only mentions above. */
export function effectiveLevel(chosen: NotifyLevel | null, memberCount: number): NotifyLevel {
  return chosen ?? (memberCount > EVERYONE_OPEN_UP_TO ? 'mentions' : 'all');
}

export interface Subscription {
  id: number;
  userId: number;
  endpoint: string;
  p256dh: string;
  auth: string;
}

export const MAX_SUBSCRIPTIONS = 10;

/** One browser's subscription; the same endpoint again (a re-subscribe) moves to this user. */
export async function saveSubscription(
  db: Db,
  userId: number,
  s: { endpoint: string; p256dh: string; auth: string },
  sessionId: string,
): Promise<void> {
  await db.query(
    `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, session_id)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (endpoint) DO UPDATE
     SET user_id = $1, p256dh = $3, auth = $4, session_id = $5, created_at = now()`,
    [userId, s.endpoint, s.p256dh, s.auth, sessionId],
  );
  // A person has a few browsers, not thousands: past MAX_SUBSCRIPTIONS the oldest go, so a
  // script cannot make every message fan out to endless made-up endpoints.
  await db.query(
    `DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN (
       SELECT id FROM push_subscriptions WHERE user_id = $1
       ORDER BY created_at DESC, id DESC LIMIT $2)`,
    [userId, MAX_SUBSCRIPTIONS],
  );
}

export async function deleteSubscription(db: Db, endpoint: string, userId?: number): Promise<void> {
  await db.query(
    'DELETE FROM push_subscriptions WHERE endpoint = $1 AND ($2::bigint IS NULL OR user_id = $2)',
    [endpoint, userId ?? null],
  );
}

/** Which of these users have a push subscription (an index read of a small table). */
export async function usersWithSubscriptions(db: Db, userIds: number[]): Promise<Set<number>> {
  const { rows } = await db.query<{ userId: string }>(
    `SELECT DISTINCT user_id AS "userId" FROM push_subscriptions WHERE user_id = ANY($1::bigint[])`,
    [userIds],
  );
  return new Set(rows.map((r) => Number(r.userId)));
}

export async function listSubscriptions(db: Db, userIds: number[]): Promise<Subscription[]> {
  // A subscription whose session ended (logged out, password changed, expired) is gone.
  await db.query(
    `DELETE FROM push_subscriptions p
     WHERE p.user_id = ANY($1::bigint[]) AND p.session_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM session s WHERE s.sid = p.session_id AND s.expire > now())`,
    [userIds],
  );
  const { rows } = await db.query<Subscription>(
    `SELECT id, user_id AS "userId", endpoint, p256dh, auth FROM push_subscriptions
     WHERE user_id = ANY($1::bigint[]) ORDER BY id`,
    [userIds],
  );
  return rows.map((r) => ({ ...r, userId: Number(r.userId) }));
}

export interface Notifiable {
  userId: number;
  messageId: number;
  conversationId: number;
  kind: 'direct' | 'group';
  title: string | null;
  senderName: string | null;
  body: string;
  notifyText: boolean;
}

interface NotifiableRow extends Notifiable {
  level: NotifyLevel | null;
  readerName: string;
  senderRole: string | null;
  memberCount: number;
}

/** The group's level rule: "Nothing" never, "Only @mentions" when the text names the reader. */
function wanted(r: NotifiableRow): boolean {
  if (r.kind !== 'group') return true;
  const level = effectiveLevel(r.level, r.memberCount);
  if (level !== 'mentions') return level === 'all';
  const everyoneCounts =
    r.memberCount <= EVERYONE_OPEN_UP_TO || (r.senderRole !== null && r.senderRole !== 'member');
  return isMentioned(r.body, r.readerName, everyoneCounts);
}

/**
 * Of these (user, message) pairs, the ones to tell the user of: a message they may read
 * (readable.ts), not their own, not read yet, in a conversation they accepted (not a
 * request), did not mute and did not leave, from someone neither side blocked, and in a
 * group as their level says (wanted()). With `subscribed`, only users with a Web Push
 * subscription (no query for the others' rows).
 */
export async function listNotifiable(
  db: Db,
  pairs: Array<{ userId: number; messageId: number }>,
  subscribed: boolean,
): Promise<Notifiable[]> {
  if (!pairs.length) return [];
  const { rows } = await db.query<NotifiableRow>(
    `WITH q AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS q (user_id, message_id)),
     -- Each group's current size, counted once per conversation (not once per recipient).
     sizes AS MATERIALIZED (
       SELECT g.conversation_id, count(*)::int AS n FROM conversation_members g
       WHERE g.conversation_id IN (SELECT m.conversation_id FROM q JOIN messages m ON m.id = q.message_id)
         AND g.history_to IS NULL AND g.state <> 'declined'
       GROUP BY g.conversation_id)
     SELECT q.user_id AS "userId", m.id AS "messageId", m.conversation_id AS "conversationId",
            c.kind, c.title, su.display_name AS "senderName", m.body, ru.notify_text AS "notifyText",
            cm.notify_level AS level, ru.display_name AS "readerName", sm.role AS "senderRole",
            coalesce(sizes.n, 0) AS "memberCount"
     FROM q
     JOIN messages m ON m.id = q.message_id
     JOIN conversations c ON c.id = m.conversation_id
     JOIN users ru ON ru.id = q.user_id
     LEFT JOIN users su ON su.id = m.sender_id
     LEFT JOIN conversation_members sm ON sm.conversation_id = m.conversation_id AND sm.user_id = m.sender_id
     LEFT JOIN sizes ON sizes.conversation_id = m.conversation_id
     JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = q.user_id
     WHERE m.sender_id IS DISTINCT FROM q.user_id
       AND cm.state = 'accepted' AND NOT cm.muted AND cm.history_to IS NULL
       AND m.id > cm.last_read_message_id
       AND ${readableBy('m', 'q.user_id')}
       AND NOT EXISTS (SELECT 1 FROM blocks b
                       WHERE (b.blocker_id = q.user_id AND b.blocked_id = m.sender_id)
                          OR (b.blocker_id = m.sender_id AND b.blocked_id = q.user_id))
       AND ($3::boolean IS FALSE OR EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.user_id = q.user_id))
     ORDER BY m.id`,
    [pairs.map((p) => p.userId), pairs.map((p) => p.messageId), subscribed],
  );
  return rows.filter(wanted).map((r) => ({
    userId: Number(r.userId),
    messageId: Number(r.messageId),
    conversationId: Number(r.conversationId),
    kind: r.kind,
    title: r.title,
    senderName: r.senderName,
    body: r.body,
    notifyText: r.notifyText,
  }));
}

/** Remembers the newest message pushed to the user in a conversation (to withdraw it later). */
export async function recordPushed(db: Db, pushed: Notifiable[]): Promise<void> {
  if (!pushed.length) return;
  await db.query(
    `INSERT INTO push_sent (user_id, conversation_id, message_id)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])
     ON CONFLICT (user_id, conversation_id) DO UPDATE
       SET message_id = GREATEST(push_sent.message_id, EXCLUDED.message_id)`,
    [
      pushed.map((p) => p.userId),
      pushed.map((p) => p.conversationId),
      pushed.map((p) => p.messageId),
    ],
  );
}

/** Read marks that cover a pushed message: forgotten here, and to be withdrawn. */
export async function takeWithdrawn(
  db: Db,
  reads: Array<{ userId: number; conversationId: number; messageId: number }>,
): Promise<Array<{ userId: number; conversationId: number }>> {
  if (!reads.length) return [];
  const { rows } = await db.query<{ userId: number; conversationId: number }>(
    `DELETE FROM push_sent p USING unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS r (u, c, m)
     WHERE p.user_id = r.u AND p.conversation_id = r.c AND p.message_id <= r.m
     RETURNING p.user_id AS "userId", p.conversation_id AS "conversationId"`,
    [reads.map((r) => r.userId), reads.map((r) => r.conversationId), reads.map((r) => r.messageId)],
  );
  return rows.map((r) => ({ userId: Number(r.userId), conversationId: Number(r.conversationId) }));
}

export async function setMuted(
  db: Db,
  conversationId: number,
  userId: number,
  muted: boolean,
): Promise<void> {
  await db.query(
    'UPDATE conversation_members SET muted = $3 WHERE conversation_id = $1 AND user_id = $2',
    [conversationId, userId, muted],
  );
}

export async function isMuted(db: Db, conversationId: number, userId: number): Promise<boolean> {
  const { rows } = await db.query<{ muted: boolean }>(
    'SELECT muted FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
    [conversationId, userId],
  );
  return rows[0]?.muted ?? false;
}

/** A group member's chosen level; false if the conversation is not a group. */
export async function setLevel(
  db: Db,
  conversationId: number,
  userId: number,
  level: NotifyLevel,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE conversation_members cm SET notify_level = $3
     FROM conversations c
     WHERE c.id = cm.conversation_id AND c.kind = 'group'
       AND cm.conversation_id = $1 AND cm.user_id = $2`,
    [conversationId, userId, level],
  );
  return rowCount === 1;
}

export async function setNotifyText(db: Db, userId: number, on: boolean): Promise<void> {
  await db.query('UPDATE users SET notify_text = $2 WHERE id = $1', [userId, on]);
}

export async function getNotifyText(db: Db, userId: number): Promise<boolean> {
  const { rows } = await db.query<{ on: boolean }>(
    'SELECT notify_text AS on FROM users WHERE id = $1',
    [userId],
  );
  return rows[0]?.on ?? true;
}

import type { Db } from '../../core/db/pool.js';

export interface InboxRow {
  id: number;
  kind: 'direct' | 'group';
  title: string | null;
  otherId: number | null;
  otherName: string | null; // null: the other person deleted their account
  lastBody: string | null;
  lastSenderId: number | null;
  lastAt: Date | null;
  unread: number;
}

export interface ConversationRow {
  id: number;
  kind: 'direct' | 'group';
  title: string | null;
  lastMessageId: number | null;
  myLastRead: number;
}

export const directKey = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`);

/** Finds or makes the one direct conversation of a pair; safe when both start it at once. */
export async function findOrCreateDirect(tx: Db, a: number, b: number): Promise<number> {
  const key = directKey(a, b);
  const inserted = await tx.query<{ id: number }>(
    `INSERT INTO conversations (kind, direct_key, created_by) VALUES ('direct', $1, $2)
     ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
    [key, a],
  );
  let id = inserted.rows[0]?.id;
  if (id === undefined) {
    const found = await tx.query<{ id: number }>(
      'SELECT id FROM conversations WHERE direct_key = $1',
      [key],
    );
    id = found.rows[0]!.id;
  }
  await tx.query(
    `INSERT INTO conversation_members (conversation_id, user_id)
     SELECT $1, u.id FROM users u WHERE u.id = ANY($2::bigint[])
     ON CONFLICT DO NOTHING`,
    [id, [a, b]],
  );
  return id;
}

/** The conversation as `userId` sees it, or undefined when they are not a member. */
export async function findConversationFor(
  db: Db,
  conversationId: number,
  userId: number,
): Promise<ConversationRow | undefined> {
  const { rows } = await db.query<ConversationRow>(
    `SELECT c.id, c.kind, c.title, c.last_message_id AS "lastMessageId",
            me.last_read_message_id AS "myLastRead"
     FROM conversations c JOIN conversation_members me ON me.conversation_id = c.id AND me.user_id = $2
     WHERE c.id = $1`,
    [conversationId, userId],
  );
  return rows[0];
}

export async function listMemberIds(db: Db, conversationId: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    'SELECT user_id AS id FROM conversation_members WHERE conversation_id = $1',
    [conversationId],
  );
  return rows.map((r) => r.id);
}

export interface MemberRow {
  id: number;
  displayName: string;
  email: string;
  lastSeenAt: Date | null;
  lastRead: number;
}

/** Whether both people have written in the conversation (an exchange, not a first contact). */
export async function haveBothWritten(
  db: Db,
  conversationId: number,
  a: number,
  b: number,
): Promise<boolean> {
  const { rows } = await db.query<{ both: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND sender_id = $2)
        AND EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND sender_id = $3) AS both`,
    [conversationId, a, b],
  );
  return rows[0]!.both;
}

export async function listMembers(db: Db, conversationId: number): Promise<MemberRow[]> {
  const { rows } = await db.query<MemberRow>(
    `SELECT u.id, u.display_name AS "displayName", u.email, u.last_seen_at AS "lastSeenAt",
            m.last_read_message_id AS "lastRead"
     FROM conversation_members m JOIN users u ON u.id = m.user_id
     WHERE m.conversation_id = $1 ORDER BY u.id`,
    [conversationId],
  );
  return rows;
}

const UNREAD_CAP = 100; // counted up to here; the page shows "99+"

/** Conversations newest first, with the other person, the last message and the unread count. */
export async function listInbox(db: Db, userId: number, limit = 50): Promise<InboxRow[]> {
  const { rows } = await db.query<InboxRow>(
    `SELECT c.id, c.kind, c.title,
            other.id AS "otherId", other.display_name AS "otherName",
            m.body AS "lastBody", m.sender_id AS "lastSenderId", m.created_at AS "lastAt",
            (SELECT count(*)::int FROM (
               SELECT 1 FROM messages x
               WHERE x.conversation_id = c.id AND x.id > me.last_read_message_id
                 AND x.sender_id IS DISTINCT FROM me.user_id
               LIMIT ${UNREAD_CAP}) t) AS unread
     FROM conversation_members me
     JOIN conversations c ON c.id = me.conversation_id
     LEFT JOIN messages m ON m.id = c.last_message_id
     LEFT JOIN LATERAL (
       SELECT u.id, u.display_name FROM conversation_members om JOIN users u ON u.id = om.user_id
       WHERE om.conversation_id = c.id AND om.user_id <> me.user_id LIMIT 1) other ON true
     WHERE me.user_id = $1 AND (c.last_message_id IS NOT NULL OR c.created_by = $1)
     ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC
     LIMIT $2`,
    [userId, limit],
  );
  return rows;
}

/** Moves the read mark forward (never back, never past the last message). */
export async function advanceReadMark(
  db: Db,
  conversationId: number,
  userId: number,
  messageId: number,
): Promise<number | undefined> {
  const { rows } = await db.query<{ mark: number }>(
    `UPDATE conversation_members m
     SET last_read_message_id = LEAST($3::bigint, coalesce(c.last_message_id, 0))
     FROM conversations c
     WHERE m.conversation_id = $1 AND m.user_id = $2 AND c.id = m.conversation_id
       AND m.last_read_message_id < LEAST($3::bigint, coalesce(c.last_message_id, 0))
     RETURNING m.last_read_message_id AS mark`,
    [conversationId, userId, messageId],
  );
  return rows[0]?.mark;
}

/** Everyone who shares a conversation with the user (who should see their presence). */
export async function listConversationPeers(db: Db, userId: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT DISTINCT om.user_id AS id FROM conversation_members me
     JOIN conversation_members om ON om.conversation_id = me.conversation_id
     WHERE me.user_id = $1 AND om.user_id <> $1`,
    [userId],
  );
  return rows.map((r) => r.id);
}

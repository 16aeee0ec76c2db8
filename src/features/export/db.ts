import type { Db } from '../../core/db/pool.js';
import { readableBy, seenVersion } from '../conversations/readable.js';

export interface ExportConversation {
  id: number;
  kind: 'direct' | 'group';
  title: string | null;
  state: string;
  muted: boolean;
  /** The other members' display names (never their emails: not the user's to take). */
  others: string[];
  formerMember: boolean;
}

/** Every conversation the user has not declined, oldest first. */
export async function listConversations(db: Db, userId: number): Promise<ExportConversation[]> {
  const { rows } = await db.query<ExportConversation>(
    `SELECT c.id, c.kind, c.title, me.state, me.muted, me.history_to IS NOT NULL AS "formerMember",
            ARRAY(SELECT u.display_name FROM conversation_members o JOIN users u ON u.id = o.user_id
                  WHERE o.conversation_id = c.id AND o.user_id <> $1 ORDER BY u.id) AS others
     FROM conversation_members me JOIN conversations c ON c.id = me.conversation_id
     WHERE me.user_id = $1 AND me.state <> 'declined'
     ORDER BY c.id`,
    [userId],
  );
  return rows;
}

export interface ExportMessage {
  id: number;
  senderId: number | null;
  senderName: string | null;
  body: string;
  createdAt: Date;
  editedAt: Date | null;
}

/**
 * One page of what the user may read in a conversation (readable.ts), after `after`; a former
 * member's messages as they were when they left.
 */
export async function listReadable(
  db: Db,
  userId: number,
  conversationId: number,
  after: number,
  limit: number,
): Promise<ExportMessage[]> {
  const { rows } = await db.query<ExportMessage>(
    `SELECT m.id, m.sender_id AS "senderId", u.display_name AS "senderName",
            coalesce(seen.body, m.body) AS body, m.created_at AS "createdAt",
            CASE WHEN seen.body IS NULL THEN m.edited_at ELSE seen.edited_at END AS "editedAt"
     FROM messages m LEFT JOIN users u ON u.id = m.sender_id
     LEFT JOIN LATERAL ${seenVersion('m', '$1')} seen ON true
     WHERE m.conversation_id = $2 AND m.id > $3 AND ${readableBy('m', '$1')}
     ORDER BY m.id LIMIT $4`,
    [userId, conversationId, after, limit],
  );
  return rows;
}

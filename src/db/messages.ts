import type { Db } from './pool.js';

export interface MessageRow {
  id: number;
  conversationId: number;
  senderId: number | null;
  senderName: string | null;
  clientId: string;
  body: string;
  createdAt: Date;
}

const SELECT = `SELECT m.id, m.conversation_id AS "conversationId", m.sender_id AS "senderId",
  u.display_name AS "senderName", m.client_id AS "clientId", m.body, m.created_at AS "createdAt"
  FROM messages m LEFT JOIN users u ON u.id = m.sender_id`;

/**
 * One page of history, newest `limit` before `before` (exclusive), oldest first.
 * Exported so a test can EXPLAIN it and see the (conversation_id, id) index used.
 */
export const HISTORY_SQL = `${SELECT}
  WHERE m.conversation_id = $1 AND m.id < $2
  ORDER BY m.id DESC LIMIT $3`;

export async function listHistory(
  db: Db,
  conversationId: number,
  before: number,
  limit: number,
): Promise<{ messages: MessageRow[]; hasMore: boolean }> {
  const { rows } = await db.query<MessageRow>(HISTORY_SQL, [conversationId, before, limit + 1]);
  const hasMore = rows.length > limit;
  return { messages: rows.slice(0, limit).reverse(), hasMore };
}

/** What came after `after`, oldest first: the reconnect catch-up. */
export async function listAfter(
  db: Db,
  conversationId: number,
  after: number,
  limit: number,
): Promise<{ messages: MessageRow[]; hasMore: boolean }> {
  const { rows } = await db.query<MessageRow>(
    `${SELECT} WHERE m.conversation_id = $1 AND m.id > $2 ORDER BY m.id ASC LIMIT $3`,
    [conversationId, after, limit + 1],
  );
  return { messages: rows.slice(0, limit), hasMore: rows.length > limit };
}

export interface NewMessage {
  conversationId: number;
  senderId: number;
  clientId: string;
  body: string;
}

/**
 * Stores a batch in one transaction (the caller's). Every conversation row in
 * the batch is locked first, in id order: ids are handed out at insert time,
 * so holding the lock makes id order within a conversation the commit order,
 * and "everything after the last id I saw" can never skip a late commit.
 * A (sender, clientId) already stored is not stored again; `created` says which.
 */
export async function insertMessages(
  tx: Db,
  batch: NewMessage[],
): Promise<Array<{ row: MessageRow; created: boolean }>> {
  const conversationIds = [...new Set(batch.map((m) => m.conversationId))].sort((a, b) => a - b);
  await tx.query(
    'SELECT id FROM conversations WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
    [conversationIds],
  );
  const inserted = await tx.query<{
    id: number;
    senderId: number;
    clientId: string;
    createdAt: Date;
  }>(
    `INSERT INTO messages (conversation_id, sender_id, client_id, body)
     SELECT c, s, k, b FROM unnest($1::bigint[], $2::bigint[], $3::uuid[], $4::text[])
       WITH ORDINALITY AS t(c, s, k, b, n) ORDER BY n
     ON CONFLICT (sender_id, client_id) DO NOTHING
     RETURNING id, sender_id AS "senderId", client_id AS "clientId", created_at AS "createdAt"`,
    [
      batch.map((m) => m.conversationId),
      batch.map((m) => m.senderId),
      batch.map((m) => m.clientId),
      batch.map((m) => m.body),
    ],
  );
  const key = (senderId: number, clientId: string) => `${senderId}/${clientId}`;
  const created = new Map(inserted.rows.map((r) => [key(r.senderId, r.clientId), r]));
  if (inserted.rows.length) {
    await tx.query(
      `UPDATE conversations c SET last_message_id = t.id, last_message_at = t.at
       FROM (SELECT DISTINCT ON (conversation_id) conversation_id, id, created_at AS at
             FROM messages WHERE id = ANY($1::bigint[]) ORDER BY conversation_id, id DESC) t
       WHERE c.id = t.conversation_id`,
      [inserted.rows.map((r) => r.id)],
    );
  }
  // Retries of messages stored earlier: answer with the stored row.
  const missing = batch.filter((m) => !created.has(key(m.senderId, m.clientId)));
  const existing = new Map<string, MessageRow>();
  if (missing.length) {
    const { rows } = await tx.query<MessageRow>(
      `${SELECT} WHERE (m.sender_id, m.client_id) IN
         (SELECT * FROM unnest($1::bigint[], $2::uuid[]))`,
      [missing.map((m) => m.senderId), missing.map((m) => m.clientId)],
    );
    for (const r of rows) existing.set(key(r.senderId!, r.clientId), r);
  }
  const stored = new Map<string, NewMessage>(); // the batch entry that made each new row
  return batch.map((m) => {
    const k = key(m.senderId, m.clientId);
    const fresh = created.get(k);
    if (fresh && !stored.has(k)) {
      stored.set(k, m);
      return {
        created: true,
        row: { ...m, id: fresh.id, createdAt: fresh.createdAt, senderName: null },
      };
    }
    const old = existing.get(k);
    if (old) return { created: false, row: old };
    // The same clientId twice in one batch: the first one stored it, and that is the answer.
    const first = created.get(k)!;
    return {
      created: false,
      row: { ...stored.get(k)!, id: first.id, createdAt: first.createdAt, senderName: null },
    };
  });
}

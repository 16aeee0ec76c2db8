import type { Db } from '../../core/db/pool.js';

export interface MessageRow {
  id: number;
  conversationId: number;
  senderId: number | null;
  senderName: string | null;
  clientId: string;
  body: string;
  createdAt: Date;
  /** 'text', or 'system' for a group's lines in words ("Ann added Bo"). */
  kind?: string;
  // Read by MESSAGE_SELECT; optional so a query that shows messages without them still types.
  editedAt?: Date | null;
  deletedAt?: Date | null;
  replyToId?: number | null;
  changeSeq?: number | null;
}

/** One message as the log shows it (features/message-changes adds its reactions and quote). */
export const MESSAGE_SELECT = `SELECT m.id, m.conversation_id AS "conversationId", m.sender_id AS "senderId",
  u.display_name AS "senderName", m.client_id AS "clientId", m.body, m.created_at AS "createdAt",
  m.kind, m.edited_at AS "editedAt", m.deleted_at AS "deletedAt", m.reply_to_id AS "replyToId",
  m.change_seq AS "changeSeq"
  FROM messages m LEFT JOIN users u ON u.id = m.sender_id`;
const SELECT = MESSAGE_SELECT;

/**
 * The part of a conversation one member may read: ids above `from`, and up to `to` for
 * someone who left a group (migrations/…_member_history.sql). Direct chats: 0 and null.
 */
export interface Readable {
  from: number;
  to: number | null;
}

const EVERYTHING: Readable = { from: 0, to: null };
/** The exclusive upper bound of a page below `before` that the member history rule allows. */
export const below = (before: number, r: Readable) =>
  r.to === null ? before : Math.min(before, r.to + 1);

/**
 * One page of history, newest `limit` before `before` (exclusive), oldest first.
 * Exported so a test can EXPLAIN it and see the (conversation_id, id) index used.
 */
export const HISTORY_SQL = `${SELECT}
  WHERE m.conversation_id = $1 AND m.id < $2 AND m.id > $4
  ORDER BY m.id DESC LIMIT $3`;

export async function listHistory(
  db: Db,
  conversationId: number,
  before: number,
  limit: number,
  readable: Readable = EVERYTHING,
): Promise<{ messages: MessageRow[]; hasMore: boolean }> {
  const { rows } = await db.query<MessageRow>(HISTORY_SQL, [
    conversationId,
    below(before, readable),
    limit + 1,
    readable.from,
  ]);
  const hasMore = rows.length > limit;
  return { messages: rows.slice(0, limit).reverse(), hasMore };
}

/** What came after `after`, oldest first: the reconnect catch-up. */
export async function listAfter(
  db: Db,
  conversationId: number,
  after: number,
  limit: number,
  readable: Readable = EVERYTHING,
): Promise<{ messages: MessageRow[]; hasMore: boolean }> {
  const { rows } = await db.query<MessageRow>(
    `${SELECT} WHERE m.conversation_id = $1 AND m.id > $2 AND m.id < $4
     ORDER BY m.id ASC LIMIT $3`,
    [
      conversationId,
      Math.max(after, readable.from),
      limit + 1,
      below(Number.MAX_SAFE_INTEGER, readable),
    ],
  );
  return { messages: rows.slice(0, limit), hasMore: rows.length > limit };
}

export interface NewMessage {
  conversationId: number;
  senderId: number;
  clientId: string;
  body: string;
  /** The message this one answers (stored only if the sender may read it). */
  replyTo?: number;
}

export interface StoredMessage {
  row: MessageRow;
  created: boolean;
  /** For a new row: the conversation's members at its commit, who alone may hear of it. */
  memberIds: number[];
  refused?: undefined;
}

/**
 * Not stored: at the insert, under the conversation's lock, the sender was no longer a current
 * member ('former': left or removed meanwhile) or not one at all ('absent': none, or declined).
 */
export interface RefusedMessage {
  refused: 'former' | 'absent';
}

export type WriteResult = StoredMessage | RefusedMessage;

/**
 * Stores a batch with one statement (migrations/004, now insert_messages_v6): conversation rows locked
 * first, so id order within a conversation is commit order; a (sender, clientId)
 * already stored is not stored again, and `created` says which rows are new; a row whose
 * sender may no longer send there is refused, alone (the others of the batch are stored).
 * Runs on its own (autocommit) or inside the caller's transaction.
 */
export async function insertMessages(db: Db, batch: NewMessage[]): Promise<WriteResult[]> {
  const { rows } = await db.query<{
    id: number;
    conversationId: number;
    senderId: number;
    clientId: string;
    body: string;
    createdAt: Date;
    created: boolean;
    memberIds: string[] | null;
    replyToId: number | null;
    refused: 'former' | 'absent' | null;
  }>(
    `SELECT r_id AS id, r_conversation_id AS "conversationId", r_sender_id AS "senderId",
       r_client_id AS "clientId", r_body AS body, r_created_at AS "createdAt", r_created AS created,
       r_member_ids AS "memberIds", r_reply_to_id AS "replyToId", r_refused AS refused
     FROM insert_messages_v6($1::bigint[], $2::bigint[], $3::uuid[], $4::text[], $5::bigint[])`,
    [
      batch.map((m) => m.conversationId),
      batch.map((m) => m.senderId),
      batch.map((m) => m.clientId),
      batch.map((m) => m.body),
      batch.map((m) => m.replyTo ?? null),
    ],
  );
  const key = (senderId: number, clientId: string) => `${senderId}/${clientId}`;
  const found = new Map<string, (typeof rows)[number]>();
  const refused = new Map<string, RefusedMessage>();
  for (const r of rows)
    if (r.refused) refused.set(key(r.senderId, r.clientId), { refused: r.refused });
    else if (r.created || !found.has(key(r.senderId, r.clientId)))
      found.set(key(r.senderId, r.clientId), r);
  // A retry stored by another instance in the same instant conflicts without being visible
  // to this statement's snapshot: look it up again, now that it has committed.
  const unseen = batch.filter(
    (m) => !found.has(key(m.senderId, m.clientId)) && !refused.has(key(m.senderId, m.clientId)),
  );
  if (unseen.length) {
    const again = await db.query<MessageRow>(
      `${SELECT} WHERE (m.sender_id, m.client_id) IN (SELECT * FROM unnest($1::bigint[], $2::uuid[]))`,
      [unseen.map((m) => m.senderId), unseen.map((m) => m.clientId)],
    );
    for (const r of again.rows)
      found.set(key(r.senderId!, r.clientId), {
        ...r,
        senderId: r.senderId!,
        created: false,
        memberIds: null,
        replyToId: r.replyToId ?? null,
        refused: null,
      });
  }
  const answered = new Set<string>();
  return batch.map((m): WriteResult => {
    const k = key(m.senderId, m.clientId);
    const no = refused.get(k);
    if (no) return no;
    const r = found.get(k);
    if (!r) throw new Error(`message ${k} was neither stored nor found`);
    // The first entry of a new row made it; a repeat (in this batch or later) gets the stored row.
    const created = r.created && !answered.has(k);
    answered.add(k);
    return {
      created,
      // Only a new row is told to anyone, so only a new row needs them.
      memberIds: created ? (r.memberIds ?? []).map(Number) : [],
      row: {
        id: r.id,
        conversationId: r.conversationId,
        senderId: r.senderId,
        senderName: null,
        clientId: r.clientId,
        body: r.body,
        createdAt: r.createdAt,
        // A new row was not edited yet; a retry answers with the row as first stored.
        editedAt: null,
        deletedAt: null,
        replyToId: r.replyToId,
        changeSeq: null,
      },
    };
  });
}

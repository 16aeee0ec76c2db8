// SQL for what happens to a message after it is sent: edits (with earlier versions), deletes,
// reactions, reply quotes, and the conversation's change sequence that sync reads.
//
// The member history rule (migrations/20261128231500_member_history.sql) is written into each
// query that shows a message: m.id > history_from AND (history_to IS NULL OR m.id <= history_to),
// for a member whose state is not 'declined'.
import { AppError } from '../../core/errors.js';
import type { Db } from '../../core/db/pool.js';
import { MESSAGE_SELECT, type MessageRow } from '../messages/db.js';
import { REACTION_EMOJI, type ReactionDto, type ReactionEmoji } from '../../shared/protocol.js';
import { changedAfterLeaving, seenVersion } from '../conversations/readable.js';

/** The member history rule for message alias `m` and member alias `cm`. */
const READABLE = `cm.state <> 'declined' AND m.id > cm.history_from
  AND (cm.history_to IS NULL OR m.id <= cm.history_to)`;

/**
 * Takes the conversation row's lock for the rest of the transaction. Every change takes it
 * first (as message inserts do), so change numbers commit in number order.
 */
export async function lockConversation(tx: Db, conversationId: number): Promise<boolean> {
  const { rowCount } = await tx.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [
    conversationId,
  ]);
  return rowCount === 1;
}

/** The next change number, under the lock lockConversation took. */
export async function nextChangeSeq(tx: Db, conversationId: number): Promise<number> {
  const { rows } = await tx.query<{ seq: number }>(
    'UPDATE conversations SET change_seq = change_seq + 1 WHERE id = $1 RETURNING change_seq AS seq',
    [conversationId],
  );
  return rows[0]!.seq;
}

export interface Target {
  id: number;
  senderId: number | null;
  body: string;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  /** The user is a current member (not one who left or was removed: they only read). */
  current: boolean;
}

/**
 * The message, locked, if `userId` may read it in this conversation; undefined otherwise
 * (another conversation's message, one before the user joined, or none at all).
 */
export async function lockReadableMessage(
  tx: Db,
  conversationId: number,
  messageId: number,
  userId: number,
): Promise<Target | undefined> {
  const { rows } = await tx.query<Target>(
    `SELECT m.id, m.sender_id AS "senderId", m.body, m.created_at AS "createdAt",
            m.edited_at AS "editedAt", m.deleted_at AS "deletedAt", cm.history_to IS NULL AS current
     FROM messages m
     JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $3
     -- A group's line in words ("Ann removed Cy") is the group's record, not its doer's text.
     WHERE m.id = $2 AND m.conversation_id = $1 AND m.kind <> 'system' AND ${READABLE}
     FOR UPDATE OF m`,
    [conversationId, messageId, userId],
  );
  return rows[0];
}

/** Keeps the text being replaced as an earlier version, then writes the new one. */
export const MAX_VERSIONS = 50;

export async function replaceBody(
  tx: Db,
  target: Target,
  body: string,
  seq: number,
): Promise<void> {
  // Every version is kept for the members to see; a message rewritten without end is not a
  // way to fill the database (or a versions page nobody can open).
  const { rows } = await tx.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM message_versions WHERE message_id = $1',
    [target.id],
  );
  if (rows[0]!.n >= MAX_VERSIONS)
    throw new AppError(
      409,
      `This message was edited ${MAX_VERSIONS} times: send a new one instead.`,
      'conflict',
    );
  // replaced_after: where the conversation stood (under its lock), so a member who left before
  // keeps this version (conversations/readable.ts, seenVersion).
  await tx.query(
    `INSERT INTO message_versions (message_id, body, written_at, replaced_after)
     SELECT $1, $2, $3, c.last_message_id
     FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1`,
    [target.id, target.body, target.editedAt ?? target.createdAt],
  );
  await tx.query(
    'UPDATE messages SET body = $2, edited_at = now(), change_seq = $3 WHERE id = $1',
    [target.id, body, seq],
  );
}

/**
 * Deleted for everyone: the text, every earlier version and the reactions are removed from the
 * database; the row stays as a tombstone (its id keeps the order; replies quote it as deleted).
 */
export async function tombstone(tx: Db, messageId: number, seq: number): Promise<void> {
  await tx.query('DELETE FROM message_versions WHERE message_id = $1', [messageId]);
  await tx.query('DELETE FROM message_reactions WHERE message_id = $1', [messageId]);
  await tx.query(
    `UPDATE messages SET body = '', deleted_at = now(), edited_at = NULL, change_seq = $2
     WHERE id = $1`,
    [messageId, seq],
  );
}

/** Adds the reaction, or removes it if it was there; true when it is there now. */
export async function toggleReaction(
  tx: Db,
  messageId: number,
  userId: number,
  emoji: ReactionEmoji,
): Promise<boolean> {
  // added_after: where the conversation stood (under its lock); one who left before never sees it.
  const added = await tx.query(
    `INSERT INTO message_reactions (message_id, user_id, emoji, added_after)
     SELECT $1, $2, $3, c.last_message_id
     FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1
     ON CONFLICT DO NOTHING`,
    [messageId, userId, emoji],
  );
  if (added.rowCount) return true;
  await tx.query(
    'DELETE FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3',
    [messageId, userId, emoji],
  );
  return false;
}

export async function markChanged(tx: Db, messageId: number, seq: number): Promise<void> {
  await tx.query('UPDATE messages SET change_seq = $2 WHERE id = $1', [messageId, seq]);
}

export interface Reader {
  id: number;
  historyFrom: number;
}

/**
 * Who hears of a change live: current members who may read the message (a member added
 * later does not; one who left or was removed hears nothing more). Read under the lock.
 */
export async function readersOf(
  tx: Db,
  conversationId: number,
  messageId: number,
): Promise<Reader[]> {
  const { rows } = await tx.query<Reader>(
    `SELECT user_id AS id, history_from AS "historyFrom" FROM conversation_members
     WHERE conversation_id = $1 AND state <> 'declined' AND history_to IS NULL
       AND history_from < $2`,
    [conversationId, messageId],
  );
  return rows;
}

/** One message as `userId` may read it, or undefined. */
export async function findReadable(
  db: Db,
  conversationId: number,
  messageId: number,
  userId: number,
): Promise<MessageRow | undefined> {
  const { rows } = await db.query<MessageRow>(
    `${MESSAGE_SELECT}
     JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $3
     WHERE m.id = $2 AND m.conversation_id = $1 AND ${READABLE}`,
    [conversationId, messageId, userId],
  );
  return rows[0];
}

/**
 * The messages changed after change number `after` that `userId` may read, in change order:
 * the reconnect catch-up for messages already on screen.
 */
export async function listChanges(
  db: Db,
  conversationId: number,
  userId: number,
  after: number,
  limit: number,
): Promise<{ messages: MessageRow[]; hasMore: boolean }> {
  const { rows } = await db.query<MessageRow>(
    `${MESSAGE_SELECT}
     JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $2
     -- A former member keeps what they saw: no changes made since reach them.
     WHERE m.conversation_id = $1 AND m.change_seq > $3 AND ${READABLE} AND cm.history_to IS NULL
     ORDER BY m.change_seq LIMIT $4`,
    [conversationId, userId, after, limit + 1],
  );
  return { messages: rows.slice(0, limit), hasMore: rows.length > limit };
}

export interface QuoteRow {
  id: number;
  senderId: number | null;
  senderName: string | null;
  body: string;
  deleted: boolean;
  readable: boolean;
}

// The quoted messages ($3) of a conversation ($1), each saying whether reader $2 may read it,
// with the text the reader saw (a former member: as it was when they left).
const QUOTES_SQL = `SELECT m.id, m.sender_id AS "senderId", u.display_name AS "senderName",
    left(coalesce(seen.body, m.body), 400) AS body, m.deleted_at IS NOT NULL AS deleted,
    coalesce(${READABLE}, false) AS readable
  FROM messages m
  LEFT JOIN users u ON u.id = m.sender_id
  LEFT JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $2
  LEFT JOIN LATERAL ${seenVersion('m', '$2')} seen ON true
  WHERE m.id = ANY ($3::bigint[]) AND m.conversation_id = $1`;

// The reactions of messages $4, one row per message and emoji, oldest first; to a former
// member ($2), none added after they left.
const REACTIONS_SQL = `SELECT r.message_id AS "messageId", r.emoji,
    array_agg(r.user_id ORDER BY r.created_at, r.user_id) AS "userIds",
    array_agg(u.display_name ORDER BY r.created_at, r.user_id) AS names
  FROM message_reactions r JOIN users u ON u.id = r.user_id
  WHERE r.message_id = ANY ($4::bigint[])
    AND NOT ${changedAfterLeaving('$1', '$2', 'r.added_after', 'r.created_at')}
  GROUP BY r.message_id, r.emoji`;

// Messages $4 that a former member ($2) last saw in an earlier version: that version.
const SEEN_SQL = `SELECT m.id AS "messageId", seen.body, seen.edited_at AS "editedAt"
  FROM messages m JOIN LATERAL ${seenVersion('m', '$2')} seen ON true
  WHERE m.id = ANY ($4::bigint[]) AND m.conversation_id = $1`;

/** The messages these replies quote, each saying whether `userId` may read it. */
export async function loadQuotes(
  db: Db,
  conversationId: number,
  userId: number,
  ids: number[],
): Promise<QuoteRow[]> {
  if (!ids.length) return [];
  const { rows } = await db.query<QuoteRow>(QUOTES_SQL, [conversationId, userId, ids]);
  return rows;
}

/** The text a former member saw of a message edited after they left. */
export interface SeenVersion {
  body: string;
  editedAt: Date | null;
}

/**
 * A page's reactions and reply quotes for one reader, in one round trip: each message's
 * reactions in the order the six are offered, the quoted messages, and for a former member
 * the earlier versions they last saw of messages edited after they left.
 */
export async function loadReactionsAndQuotes(
  db: Db,
  conversationId: number,
  readerId: number,
  messageIds: number[],
  quotedIds: number[],
): Promise<{
  reactions: Map<number, ReactionDto[]>;
  quotes: QuoteRow[];
  seen: Map<number, SeenVersion>;
}> {
  const { rows } = await db.query<{
    reactions: { messageId: number; emoji: ReactionEmoji; userIds: number[]; names: string[] }[];
    quotes: QuoteRow[];
    seen: { messageId: number; body: string; editedAt: string | null }[];
  }>({
    // Named: prepared once per connection, since planning the three was most of its cost.
    name: 'reactions-quotes-seen',
    text: `SELECT (SELECT coalesce(json_agg(x), '[]') FROM (${REACTIONS_SQL}) x) AS reactions,
            (SELECT coalesce(json_agg(q), '[]') FROM (${QUOTES_SQL}) q) AS quotes,
            (SELECT coalesce(json_agg(s), '[]') FROM (${SEEN_SQL}) s) AS seen`,
    values: [conversationId, readerId, quotedIds, messageIds],
  });
  const seen = new Map<number, SeenVersion>();
  for (const v of rows[0]!.seen)
    seen.set(Number(v.messageId), {
      body: v.body,
      editedAt: v.editedAt === null ? null : new Date(v.editedAt),
    });
  const reactions = new Map<number, ReactionDto[]>();
  for (const r of rows[0]!.reactions) {
    const list = reactions.get(r.messageId) ?? [];
    list.push({ emoji: r.emoji, userIds: r.userIds, names: r.names.map(String) });
    reactions.set(r.messageId, list);
  }
  for (const list of reactions.values())
    list.sort((a, b) => REACTION_EMOJI.indexOf(a.emoji) - REACTION_EMOJI.indexOf(b.emoji));
  return { reactions, quotes: rows[0]!.quotes, seen };
}

export interface VersionRow {
  body: string;
  writtenAt: Date;
  replacedAt: Date;
}

/**
 * A message's earlier versions as `readerId` may see them, oldest first: to a former member,
 * those replaced before they left (the one replaced after is what they see as the message).
 */
export async function listVersions(
  db: Db,
  conversationId: number,
  messageId: number,
  readerId: number,
): Promise<VersionRow[]> {
  const { rows } = await db.query<VersionRow>(
    `SELECT v.body, v.written_at AS "writtenAt", v.replaced_at AS "replacedAt"
     FROM message_versions v WHERE v.message_id = $2
       AND NOT ${changedAfterLeaving('$1', '$3', 'v.replaced_after', 'v.replaced_at')}
     ORDER BY v.id`,
    [conversationId, messageId, readerId],
  );
  return rows;
}

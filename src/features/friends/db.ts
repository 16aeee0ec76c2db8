// Friend requests, blocks and the discoverable flag: the SQL. A friendship is an
// accepted request, in either direction.
import type { Db } from '../../core/db/pool.js';

export type RequestState = 'pending' | 'accepted' | 'declined';

/** Everything between two people, as `a` sees it. */
export interface PairRow {
  sent: RequestState | null;
  sentDeclinedAt: Date | null;
  received: RequestState | null;
  blocks: boolean;
  blockedBy: boolean;
}

export async function loadPair(db: Db, a: number, b: number): Promise<PairRow> {
  const { rows } = await db.query<PairRow>(
    `SELECT s.state AS sent, s.declined_at AS "sentDeclinedAt", r.state AS received,
            EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2) AS blocks,
            EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $2 AND blocked_id = $1) AS "blockedBy"
     FROM (SELECT 1) one
     LEFT JOIN friend_requests s ON s.from_id = $1 AND s.to_id = $2
     LEFT JOIN friend_requests r ON r.from_id = $2 AND r.to_id = $1`,
    [a, b],
  );
  return rows[0]!;
}

export async function isDiscoverable(db: Db, userId: number): Promise<boolean> {
  const { rows } = await db.query<{ d: boolean }>(
    'SELECT discoverable AS d FROM users WHERE id = $1',
    [userId],
  );
  return rows[0]?.d ?? false;
}

export async function setDiscoverable(db: Db, userId: number, on: boolean): Promise<void> {
  await db.query('UPDATE users SET discoverable = $2 WHERE id = $1', [userId, on]);
}

/** Asks (again): a new row, or a withdrawn or long-declined one made pending once more. */
export async function upsertRequest(db: Db, from: number, to: number): Promise<void> {
  await db.query(
    `INSERT INTO friend_requests (from_id, to_id) VALUES ($1, $2)
     ON CONFLICT (from_id, to_id) DO UPDATE
       SET state = 'pending', created_at = now(), declined_at = NULL, withdrawn = false`,
    [from, to],
  );
}

export async function countPendingSent(db: Db, from: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM friend_requests WHERE from_id = $1 AND state = 'pending'`,
    [from],
  );
  return rows[0]!.n;
}

/** Moves a request to `to` from one of `fromStates`; false when there was none. */
export async function answerRequest(
  db: Db,
  from: number,
  to: number,
  fromStates: RequestState[],
  state: RequestState,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE friend_requests
     SET state = $4, declined_at = CASE WHEN $4 = 'declined' THEN now() END
     WHERE from_id = $1 AND to_id = $2 AND state = ANY($3::text[])`,
    [from, to, fromStates, state],
  );
  return (rowCount ?? 0) > 0;
}

/** Cancels a sent request. A declined one stays (the wait still holds), off the sender's list. */
export async function cancelRequest(db: Db, from: number, to: number): Promise<boolean> {
  const deleted = await db.query(
    `DELETE FROM friend_requests WHERE from_id = $1 AND to_id = $2 AND state = 'pending'`,
    [from, to],
  );
  const hidden = await db.query(
    `UPDATE friend_requests SET withdrawn = true
     WHERE from_id = $1 AND to_id = $2 AND state = 'declined' AND NOT withdrawn`,
    [from, to],
  );
  return (deleted.rowCount ?? 0) + (hidden.rowCount ?? 0) > 0;
}

/** Ends a friendship (or every request) between the two, whichever way it went. */
export async function deleteBetween(db: Db, a: number, b: number, states: RequestState[]) {
  const { rowCount } = await db.query(
    `DELETE FROM friend_requests
     WHERE ((from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1))
       AND state = ANY($3::text[])`,
    [a, b, states],
  );
  return (rowCount ?? 0) > 0;
}

export async function insertBlock(db: Db, blocker: number, blocked: number): Promise<void> {
  await db.query(
    'INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [blocker, blocked],
  );
}

export async function deleteBlock(db: Db, blocker: number, blocked: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2',
    [blocker, blocked],
  );
  return (rowCount ?? 0) > 0;
}

export interface PersonRow {
  id: number;
  displayName: string;
  email: string;
  lastSeenAt: Date | null;
}

const PERSON = `u.id, u.display_name AS "displayName", u.email, u.last_seen_at AS "lastSeenAt"`;

export async function listFriends(db: Db, me: number): Promise<PersonRow[]> {
  const { rows } = await db.query<PersonRow>(
    `SELECT ${PERSON} FROM friend_requests f
     JOIN users u ON u.id = CASE WHEN f.from_id = $1 THEN f.to_id ELSE f.from_id END
     WHERE (f.from_id = $1 OR f.to_id = $1) AND f.state = 'accepted'
     ORDER BY lower(u.display_name), u.id`,
    [me],
  );
  return rows;
}

export async function listIncoming(db: Db, me: number): Promise<PersonRow[]> {
  const { rows } = await db.query<PersonRow>(
    `SELECT ${PERSON} FROM friend_requests f JOIN users u ON u.id = f.from_id
     WHERE f.to_id = $1 AND f.state = 'pending' ORDER BY f.created_at DESC`,
    [me],
  );
  return rows;
}

/** Sent requests; a declined one still looks pending to its sender (a quiet decline). */
export async function listSent(db: Db, me: number): Promise<PersonRow[]> {
  const { rows } = await db.query<PersonRow>(
    `SELECT ${PERSON} FROM friend_requests f JOIN users u ON u.id = f.to_id
     WHERE f.from_id = $1 AND f.state IN ('pending', 'declined') AND NOT f.withdrawn
     ORDER BY f.created_at DESC`,
    [me],
  );
  return rows;
}

export async function listBlocked(db: Db, me: number): Promise<PersonRow[]> {
  const { rows } = await db.query<PersonRow>(
    `SELECT ${PERSON} FROM blocks b JOIN users u ON u.id = b.blocked_id
     WHERE b.blocker_id = $1 ORDER BY b.created_at DESC`,
    [me],
  );
  return rows;
}

/**
 * Who may watch this user (presence, last seen): friends, and the other members of
 * conversations the user accepted (unless they hid it); never across a block.
 */
export async function listWatchers(db: Db, userId: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT om.user_id AS id FROM conversation_members me
     JOIN conversation_members om ON om.conversation_id = me.conversation_id AND om.user_id <> $1
     WHERE me.user_id = $1 AND me.state = 'accepted' AND om.state <> 'declined'
       -- Nobody who left a group (or was removed) watches or is watched through it.
       AND me.history_to IS NULL AND om.history_to IS NULL
     UNION
     SELECT CASE WHEN from_id = $1 THEN to_id ELSE from_id END FROM friend_requests
     WHERE (from_id = $1 OR to_id = $1) AND state = 'accepted'
     EXCEPT SELECT blocked_id FROM blocks WHERE blocker_id = $1
     EXCEPT SELECT blocker_id FROM blocks WHERE blocked_id = $1`,
    [userId],
  );
  return rows.map((r) => r.id);
}

/** A user's answer to one conversation; declining notes when (a group's invitation waits). */
export async function setMemberState(
  db: Db,
  conversationId: number,
  userId: number,
  state: 'accepted' | 'request' | 'declined',
): Promise<void> {
  await db.query(
    `UPDATE conversation_members
     SET state = $3, declined_at = CASE WHEN $3 = 'declined' THEN now() ELSE declined_at END
     WHERE conversation_id = $1 AND user_id = $2 AND state <> $3`,
    [conversationId, userId, state],
  );
}

/** The pair's direct conversation, if they have one. */
export async function findDirect(db: Db, key: string): Promise<number | undefined> {
  const { rows } = await db.query<{ id: number }>(
    'SELECT id FROM conversations WHERE direct_key = $1',
    [key],
  );
  return rows[0]?.id;
}

/** How many messages this sender has in the conversation, counted up to `cap`. */
export async function countSent(db: Db, conversationId: number, senderId: number, cap: number) {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM messages
       WHERE conversation_id = $1 AND sender_id = $2 AND kind <> 'system' LIMIT $3) t`,
    [conversationId, senderId, cap],
  );
  return rows[0]!.n;
}

/** Who added this member to a group (its invitation's sender); undefined in a direct chat. */
export async function findAddedBy(
  db: Db,
  conversationId: number,
  userId: number,
): Promise<number | undefined> {
  const { rows } = await db.query<{ by: number | null }>(
    `SELECT m.added_by AS by FROM conversation_members m
     JOIN conversations c ON c.id = m.conversation_id AND c.kind = 'group'
     WHERE m.conversation_id = $1 AND m.user_id = $2`,
    [conversationId, userId],
  );
  return rows[0]?.by ?? undefined;
}

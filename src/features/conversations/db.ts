import type { Db } from '../../core/db/pool.js';
import type { MemberState, Members } from './member-cache.js';
import { EVERYONE_OPEN_UP_TO } from '../../shared/mentions.js';
import { MESSAGE_SELECT, type MessageRow } from '../messages/db.js';

export interface InboxRow {
  id: number;
  kind: 'direct' | 'group';
  title: string | null;
  otherId: number | null;
  otherName: string | null; // null: the other person deleted their account
  lastBody: string | null;
  lastSenderId: number | null;
  lastAt: Date | null;
  /** 'system' for a group's line in words; its sender's name is part of it. */
  lastKind: string | null;
  lastSenderName: string | null;
  /** The user left this group or was removed from it: read-only. */
  former: boolean;
  /** The last message was deleted: the inbox says so instead of its text. */
  lastDeleted?: boolean;
  /** The last line is from someone the reader blocked: folded, as on the conversation page. */
  lastBlocked?: boolean;
  unread: number;
  /** An unread message in this group mentions the user. */
  mentioned: boolean;
  /** Muted: still counted unread, shown quieter. */
  muted: boolean;
}

export interface ConversationRow {
  id: number;
  kind: 'direct' | 'group';
  title: string | null;
  lastMessageId: number | null;
  myLastRead: number;
  /** In a group: 'owner', 'admin' or 'member'. */
  myRole: 'owner' | 'admin' | 'member';
  /** Set once the user left the group or was removed from it: read-only from then on. */
  myHistoryTo: number | null;
  membersCanAdd: boolean;
  /** Who added the user (a group invitation's sender), when someone did. */
  addedByName: string | null;
  /** A former member who left (rather than was removed): the last line they read is theirs. */
  iLeft: boolean;
  /** Muted by this user: counted unread, never notified. */
  muted: boolean;
  /** In a group: "all", "mentions" or "nothing" as the user chose, null for the default. */
  notifyLevel: 'all' | 'mentions' | 'nothing' | null;
  /** The latest edit, delete or reaction (issue 15); read before the page's messages. */
  changeSeq?: number;
}

export const directKey = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`);

/**
 * Finds or makes the one direct conversation of a pair; safe when both start it at once.
 * The opener `a` accepts it (reopening a hidden or unanswered one accepts it too); `b`
 * joins with `bState` ('request' unless friends) and keeps whatever answer they gave.
 */
export async function findOrCreateDirect(
  tx: Db,
  a: number,
  b: number,
  bState: MemberState,
): Promise<number> {
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
    `INSERT INTO conversation_members (conversation_id, user_id, state)
     SELECT $1, u.id, CASE WHEN u.id = $2 THEN 'accepted' ELSE $4 END
     FROM users u WHERE u.id = ANY(ARRAY[$2, $3]::bigint[])
     ON CONFLICT (conversation_id, user_id) DO UPDATE SET state = 'accepted'
       WHERE conversation_members.user_id = $2 AND conversation_members.state <> 'accepted'`,
    [id, a, b, bState],
  );
  return id;
}

/** The conversation as user $2 sees it (no row when they are not a member). */
const CONVERSATION_FOR = `SELECT c.id, c.kind, c.title, c.last_message_id AS "lastMessageId",
            me.last_read_message_id AS "myLastRead", me.role AS "myRole",
            me.history_to AS "myHistoryTo", c.members_can_add AS "membersCanAdd",
            (SELECT u.display_name FROM users u WHERE u.id = me.added_by) AS "addedByName",
            coalesce((SELECT x.sender_id = me.user_id FROM messages x WHERE x.id = me.history_to),
                     false) AS "iLeft", me.muted, me.notify_level AS "notifyLevel",
            c.change_seq AS "changeSeq"
     FROM conversations c JOIN conversation_members me ON me.conversation_id = c.id AND me.user_id = $2
     WHERE c.id = $1`;

/** The conversation as `userId` sees it, or undefined when they are not a member. */
export async function findConversationFor(
  db: Db,
  conversationId: number,
  userId: number,
): Promise<ConversationRow | undefined> {
  const { rows } = await db.query<ConversationRow>(CONVERSATION_FOR, [conversationId, userId]);
  return rows[0];
}

/**
 * The conversation as `userId` sees it and its newest page of history (as listHistory reads
 * it: `limit` messages below `before` and above `from`, the bounds already put through the
 * member history rule), in one statement: one snapshot, so the conversation's change number
 * is never newer than the messages read with it (message-changes/db.ts), and one round trip.
 * Undefined when the user is not a member.
 */
export async function findConversationWithHistory(
  db: Db,
  conversationId: number,
  userId: number,
  page: { before: number; limit: number; from: number },
): Promise<
  | {
      conversation: ConversationRow;
      members: MemberRow[];
      messages: MessageRow[];
      hasMore: boolean;
    }
  | undefined
> {
  type Row = MessageRow & { conversation: ConversationRow; members: JsonMember[] | null };
  const { rows } = await db.query<Row>({
    name: 'conversation-with-history',
    // Each message row carries the conversation (as JSON: its columns share names with the
    // message's), the first one the members too; a conversation without messages still gives
    // its one row.
    text: `SELECT to_json(c) AS conversation,
                  CASE WHEN row_number() OVER () = 1
                       THEN (SELECT json_agg(x ORDER BY x.id) FROM (${MEMBERS}) x) END AS members,
                  h.*
           FROM (${CONVERSATION_FOR}) c
           LEFT JOIN LATERAL (${MESSAGE_SELECT}
             WHERE m.conversation_id = $1 AND m.id < $3 AND m.id > $5
             ORDER BY m.id DESC LIMIT $4) h ON true
           ORDER BY h.id DESC`,
    values: [conversationId, userId, page.before, page.limit + 1, page.from],
  });
  if (!rows.length) return undefined;
  const members = rows.find((r) => r.members !== null)?.members ?? [];
  const messages = rows
    .filter((r) => r.id !== null)
    .map(({ conversation: _c, members: _m, ...m }) => m);
  return {
    conversation: rows[0]!.conversation,
    members: members.map((m) => ({
      ...m,
      lastSeenAt: m.lastSeenAt === null ? null : new Date(m.lastSeenAt),
      joinedAt: new Date(m.joinedAt),
    })),
    messages: messages.slice(0, page.limit).reverse(),
    hasMore: messages.length > page.limit,
  };
}

/** The members with their answers and the blocks among them: what the access policy reads. */
export async function loadMembers(db: Db, conversationId: number): Promise<Members> {
  const { rows } = await db.query<{
    id: number;
    state: MemberState;
    blocked: number[];
    from: string;
    to: string | null;
  }>(
    `SELECT m.user_id AS id, m.state, m.history_from AS from, m.history_to AS to,
            ARRAY(SELECT b.blocked_id FROM blocks b
                  JOIN conversation_members o
                    ON o.conversation_id = m.conversation_id AND o.user_id = b.blocked_id
                  WHERE b.blocker_id = m.user_id) AS blocked
     FROM conversation_members m WHERE m.conversation_id = $1`,
    [conversationId],
  );
  return {
    ids: rows.map((r) => Number(r.id)),
    state: new Map(rows.map((r) => [Number(r.id), r.state])),
    blocks: new Set(rows.flatMap((r) => r.blocked.map((b) => `${r.id}:${b}`))),
    former: new Set(rows.filter((r) => r.to !== null).map((r) => Number(r.id))),
    history: new Map(
      rows.map((r) => [
        Number(r.id),
        { from: Number(r.from), to: r.to === null ? null : Number(r.to) },
      ]),
    ),
  };
}

export interface MemberRow {
  id: number;
  displayName: string;
  email: string;
  lastSeenAt: Date | null;
  lastRead: number;
  role: 'owner' | 'admin' | 'member';
  state: MemberState;
  /** Set for someone who left the group or was removed. */
  historyTo: number | null;
  joinedAt: Date;
}

/** A member as JSON gives it: the times as text. */
type JsonMember = Omit<MemberRow, 'lastSeenAt' | 'joinedAt'> & {
  lastSeenAt: string | null;
  joinedAt: string;
};

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

const MEMBERS = `SELECT u.id, u.display_name AS "displayName", u.email, u.last_seen_at AS "lastSeenAt",
            m.last_read_message_id AS "lastRead", m.role, m.state, m.history_to AS "historyTo",
            m.joined_at AS "joinedAt"
     FROM conversation_members m JOIN users u ON u.id = m.user_id
     WHERE m.conversation_id = $1 ORDER BY u.id`;

export async function listMembers(db: Db, conversationId: number): Promise<MemberRow[]> {
  const { rows } = await db.query<MemberRow>({
    name: 'members', // prepared once per connection
    text: MEMBERS,
    values: [conversationId],
  });
  return rows;
}

const UNREAD_CAP = 100; // counted up to here; the page shows "99+"

/**
 * Conversations newest first, with the other person (or the group's name), the last message
 * the user may read with its sender's name, and the unread count. The member history rule
 * holds here too: a member added to a group counts nothing from before, and one who left sees
 * the group as it was when they left (its last line, its place in the list), nothing later.
 * Someone the reader blocked (issue 13) counts neither as unread nor as a mention, and their
 * last line is folded as on the conversation page: the reader's blocks are read once, here.
 *
 * With `requests`, the same scan of the user's memberships also picks the message requests not
 * answered yet (first messages from people who are not friends: home's "Requests"), up to
 * `$2` of each, so the home page's second list costs no second query or plan.
 *
 * What makes it cheap: the rows are picked and ordered first, from the memberships and
 * conversations alone; the last message, the other person and the counts are then read for
 * those rows only. The statement is prepared (named) once per connection: planning it took
 * about a third of its time.
 */
function inboxSql(requests: boolean): string {
  const ORDER = `coalesce(CASE WHEN me.history_to IS NULL THEN c.last_message_at
                              ELSE (SELECT h.created_at FROM messages h
                                    WHERE h.id = LEAST(c.last_message_id, me.history_to)) END,
                         c.created_at) DESC, c.id DESC`;
  // An unread message of the reader's: one they may read, not their own, not a line in words,
  // not from someone they blocked (a deleted account's messages, sender NULL, count).
  const UNREAD = `x.conversation_id = c.id AND x.id > c.unread_from AND x.id <= c.unread_to
          AND x.sender_id IS DISTINCT FROM $1 AND x.kind <> 'system'
          AND NOT coalesce(x.sender_id = ANY(c.blocked), false)`;
  const COLUMNS = `c.id, c.kind, c.title, c.last_message_id, me.history_to, me.muted,
           GREATEST(me.last_read_message_id, me.history_from) AS unread_from,
           coalesce(me.history_to, c.last_message_id) AS unread_to,
           lower('@' || meu.display_name) AS at_me, b.blocked`;
  const FROM = `FROM conversation_members me
    JOIN users meu ON meu.id = me.user_id
    JOIN conversations c ON c.id = me.conversation_id
    CROSS JOIN (SELECT coalesce(array_agg(blocked_id), '{}') AS blocked FROM blocks
                WHERE blocker_id = $1) b`;
  // Each list numbered in its own order; the rows are put back in it at the end.
  const picked = requests
    ? `SELECT * FROM (
         SELECT ${COLUMNS}, me.state = 'request' AS request,
                row_number() OVER (PARTITION BY me.state ORDER BY ${ORDER}) AS at
         ${FROM}
         WHERE me.user_id = $1 AND me.state IN ('accepted', 'request')
           -- A request is listed once it has a message; one's own new conversation at once.
           AND (c.last_message_id IS NOT NULL OR (me.state = 'accepted' AND c.created_by = $1))
       ) p WHERE p.at <= $2`
    : `SELECT ${COLUMNS}, false AS request, row_number() OVER (ORDER BY ${ORDER}) AS at
       ${FROM}
       WHERE me.user_id = $1 AND me.state = 'accepted'
         AND (c.last_message_id IS NOT NULL OR c.created_by = $1)
       ORDER BY ${ORDER} LIMIT $2`;
  // A request row needs only its name, last line and time (MessageRequestRow).
  return `SELECT c.id, c.kind, c.title, c.request,
       other.id AS "otherId",
       CASE WHEN c.request THEN coalesce(c.title, other.display_name)
            ELSE other.display_name END AS "otherName",
       m.body AS "lastBody", m.sender_id AS "lastSenderId", m.created_at AS "lastAt",
       m.kind AS "lastKind", lu.display_name AS "lastSenderName",
       c.history_to IS NOT NULL AS former,
       m.deleted_at IS NOT NULL AS "lastDeleted",
       m.kind <> 'system' AND coalesce(m.sender_id = ANY(c.blocked), false) AS "lastBlocked",
       c.muted,
       n.unread,
       -- An unread mention of the reader in a group ("@" in the list; shared/mentions.ts
       -- decides the same on the page: @everyone from admins only past 20 members). Both
       -- forms have an "@", looked for first: most messages have none.
       c.kind = 'group' AND n.unread > 0 AND EXISTS (
         SELECT 1 FROM messages x
         WHERE ${UNREAD} AND position('@' IN x.body) > 0
           AND (position(c.at_me IN lower(x.body)) > 0
                OR (position('@everyone' IN lower(x.body)) > 0 AND (
                  EXISTS (SELECT 1 FROM conversation_members sm
                          WHERE sm.conversation_id = c.id AND sm.user_id = x.sender_id
                            AND sm.role <> 'member')
                  OR (SELECT count(*) FROM conversation_members cm
                      WHERE cm.conversation_id = c.id AND cm.history_to IS NULL
                        AND cm.state <> 'declined') <= ${EVERYONE_OPEN_UP_TO})))
       ) AS mentioned
FROM (${picked}) c
-- LEAST ignores a NULL: the conversation's last message, or the last one a former member saw.
LEFT JOIN messages m ON m.id = LEAST(c.last_message_id, c.history_to)
LEFT JOIN users lu ON lu.id = m.sender_id
-- The other person of a direct conversation (or of a group without a name). Joined, not a
-- lateral: the planner then reads few users as a hash and many by their index.
LEFT JOIN users other ON other.id = (
  SELECT om.user_id FROM conversation_members om
  WHERE (c.kind = 'direct' OR c.title IS NULL)
    AND om.conversation_id = c.id AND om.user_id <> $1 LIMIT 1)
CROSS JOIN LATERAL (
  SELECT count(*)::int AS unread FROM (
    SELECT 1 FROM messages x WHERE NOT c.request AND ${UNREAD} LIMIT ${UNREAD_CAP}) t) n
ORDER BY c.request, c.at`;
}

const INBOX = inboxSql(false);
const INBOX_AND_REQUESTS = inboxSql(true);

type Row = InboxRow & { request: boolean };

export async function listInbox(db: Db, userId: number, limit = 50): Promise<InboxRow[]> {
  const { rows } = await db.query<Row>({ name: 'inbox', text: INBOX, values: [userId, limit] });
  return rows.map(({ request: _request, ...row }) => row);
}

export interface MessageRequestRow {
  id: number;
  otherName: string | null;
  lastBody: string | null;
  lastAt: Date | null;
}

/** The home page's two lists, the conversations and the message requests, in one statement. */
export async function listInboxAndRequests(
  db: Db,
  userId: number,
  limit = 50,
): Promise<{ inbox: InboxRow[]; requests: MessageRequestRow[] }> {
  const { rows } = await db.query<Row>({
    name: 'inbox-and-requests',
    text: INBOX_AND_REQUESTS,
    values: [userId, limit],
  });
  const inbox: InboxRow[] = [];
  const requests: MessageRequestRow[] = [];
  for (const { request, ...row } of rows) {
    if (request)
      requests.push({
        id: row.id,
        otherName: row.otherName,
        lastBody: row.lastBody,
        lastAt: row.lastAt,
      });
    else inbox.push(row);
  }
  return { inbox, requests };
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
     SET last_read_message_id = LEAST($3::bigint, coalesce(c.last_message_id, 0), m.history_to)
     FROM conversations c
     WHERE m.conversation_id = $1 AND m.user_id = $2 AND c.id = m.conversation_id
       AND m.last_read_message_id
         < LEAST($3::bigint, coalesce(c.last_message_id, 0), m.history_to)
     RETURNING m.last_read_message_id AS mark`,
    [conversationId, userId, messageId],
  );
  return rows[0]?.mark;
}

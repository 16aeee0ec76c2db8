import { withTransaction, type Db, type Pool } from '../../core/db/pool.js';
import { AppError } from '../../core/errors.js';
import { notFromBlocked, readableBy, seenVersion } from '../conversations/readable.js';
import { containsPattern, type ParsedQuery } from './query.js';
import { MESSAGE_SELECT, type MessageRow } from '../messages/db.js';

export interface FoundRow {
  id: number;
  conversationId: number;
  senderId: number | null;
  senderName: string | null;
  body: string;
  createdAt: Date;
  kind: 'direct' | 'group';
  title: string | null;
  /** The other members' names, for a conversation without a title. */
  others: string | null;
}

/**
 * Messages the user may read (readable.ts: the one rule; not from someone they blocked) that
 * match the words (full text, 'simple') or contain every long enough term (pg_trgm), newest
 * first, older than `before` (keyset paging). Exported so the bench runs the very same SQL.
 */
export function searchSql(q: ParsedQuery): { sql: string; params: unknown[] } {
  // $1 user, $2 before, $3 query text, $4 limit; then one pattern per term.
  const params: unknown[] = [];
  const like = (term: string) => {
    params.push(containsPattern(term));
    return `$${params.length + 4}`;
  };
  const patterns = q.substrings.map(like);
  const excluded = q.excluded.map(like);
  const matching = (body: string) => {
    const parts = patterns.map((p) => `${body} ILIKE ${p}`);
    const not = excluded.map((p) => `${body} NOT ILIKE ${p}`);
    const substring = [...parts, ...not].join(' AND ');
    const words = `to_tsvector('simple', ${body}) @@ websearch_to_tsquery('simple', $3)`;
    return q.substringsSuffice
      ? `(${substring} AND $3::text IS NOT NULL)`
      : parts.length
        ? `(${words} OR (${substring}))`
        : `(${words})`;
  };
  // The index finds the current text; a former member's hit must also match (and shows) the
  // text they saw when they left (readable.ts, seenVersion): an edit made since is not theirs.
  const sql = `SELECT m.id, m.conversation_id AS "conversationId", m.sender_id AS "senderId",
      u.display_name AS "senderName", coalesce(seen.body, m.body) AS body,
      m.created_at AS "createdAt", c.kind, c.title,
      (SELECT string_agg(ou.display_name, ', ' ORDER BY ou.id)
       FROM conversation_members om JOIN users ou ON ou.id = om.user_id
       WHERE om.conversation_id = m.conversation_id AND om.user_id <> $1) AS others
    FROM messages m
    JOIN conversations c ON c.id = m.conversation_id
    LEFT JOIN users u ON u.id = m.sender_id
    LEFT JOIN LATERAL ${seenVersion('m', '$1')} seen ON true
    WHERE m.id < $2
      AND ${matching('m.body')}
      AND (seen.body IS NULL OR ${matching('seen.body')})
      AND ${readableBy('m', '$1')}
      AND ${notFromBlocked('m', '$1')}
    ORDER BY m.id DESC
    LIMIT $4`;
  return { sql, params };
}

export const SEARCH_TIMEOUT_MS = 3000;

export async function searchMessages(
  db: Pool,
  userId: number,
  q: ParsedQuery,
  before: number,
  limit: number,
): Promise<FoundRow[]> {
  const { sql, params } = searchSql(q);
  // One search may not hold a core for long: past SEARCH_TIMEOUT_MS it is stopped and the
  // person is asked for more precise words (PostgreSQL's query_canceled, 57014).
  try {
    return await withTransaction(db, async (tx) => {
      await tx.query(`SET LOCAL statement_timeout = ${SEARCH_TIMEOUT_MS}`);
      const { rows } = await tx.query<FoundRow>(sql, [userId, before, q.text, limit, ...params]);
      return rows;
    });
  } catch (err) {
    if ((err as { code?: unknown }).code === '57014')
      throw new AppError(
        503,
        'That search took too long. Try longer or more precise words.',
        'unavailable',
      );
    throw err;
  }
}

// The log's own columns (kind, edits, replies, change numbers), so the window renders as the log does.
const WINDOW = (side: string) =>
  MESSAGE_SELECT.replace(' FROM messages m', `, '${side}' AS side FROM messages m`);

/**
 * The history around one message (a search result opened): up to `half` readable messages
 * up to and including it and `half` after it, oldest first. Empty when the user may not read
 * that message: the same answer as a message that does not exist.
 */
export async function listAround(
  db: Db,
  userId: number,
  conversationId: number,
  messageId: number,
  half: number,
): Promise<{ messages: MessageRow[]; hasOlder: boolean; hasNewer: boolean }> {
  const { rows } = await db.query<MessageRow & { side: 'older' | 'newer' }>(
    `(${WINDOW('older')}
      WHERE m.conversation_id = $2 AND m.id <= $3 AND ${readableBy('m', '$1')}
      ORDER BY m.id DESC LIMIT $4)
     UNION ALL
     (${WINDOW('newer')}
      WHERE m.conversation_id = $2 AND m.id > $3 AND ${readableBy('m', '$1')}
      ORDER BY m.id ASC LIMIT $4)`,
    [userId, conversationId, messageId, half + 1],
  );
  const older = rows.filter((r) => r.side === 'older');
  const newer = rows.filter((r) => r.side === 'newer');
  if (older[0]?.id !== messageId) return { messages: [], hasOlder: false, hasNewer: false };
  const strip = ({ side: _side, ...m }: MessageRow & { side: string }): MessageRow => m;
  return {
    messages: [...older.slice(0, half).reverse(), ...newer.slice(0, half)].map(strip),
    hasOlder: older.length > half,
    hasNewer: newer.length > half,
  };
}

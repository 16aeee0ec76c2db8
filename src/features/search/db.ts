import { withTransaction, type Db, type Pool, type PoolClient } from '../../core/db/pool.js';
import { AppError } from '../../core/errors.js';
import {
  notFromBlocked,
  readableBy,
  readableConversations,
  seenVersion,
} from '../conversations/readable.js';
import { containsPattern, MIN_SUBSTRING, type ParsedQuery } from './query.js';
import { MESSAGE_SELECT, type MessageRow } from '../messages/db.js';
import { neededWords, parseTsquery, type Needed, type TsNode } from './tsquery.js';

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
 *
 * $5 is the user's conversations (readableConversations) as a constant array: the planner then
 * knows the user's share of all messages and the terms' share (index statistics), and picks.
 * 'large' (someone in hundreds of conversations): walk all messages newest first through the
 * primary key until `limit` hits when the match is common ("the"), or intersect the text
 * index's matches with the conversations' (BitmapAnd) when it is rare. 'small' (up to
 * SMALL_SCOPE messages in all): read the user's messages and test each, no text index.
 */
export function searchSql(
  q: ParsedQuery,
  scope: 'small' | 'large',
  tsquery: string,
  prefilter = true,
): { sql: string; params: unknown[] } {
  // $1 user, $2 before, $3 query text, $4 limit, $5 conversation ids; then one value per
  // pattern or word (the same one once).
  const params: unknown[] = [];
  const value = (v: string) => {
    const at = params.indexOf(v);
    if (at >= 0) return `$${at + 6}`;
    params.push(v);
    return `$${params.length + 5}`;
  };
  const like = (term: string) => value(containsPattern(term));
  // "The words are in the text as ILIKE reads it" also lets the substrings alone decide when
  // they are the query's words; where the database disagrees (PREFILTER_AGREES) they do not.
  const suffice = q.substringsSuffice && prefilter;
  // A phrase's pattern has trigrams across its spaces ("ee ", "  t", " to" in "coffee
  // tomorrow") that half of all messages have: the index looks for its words' patterns, each
  // a part of the phrase, and the phrase is then tested on those rows (IS TRUE: not an index
  // condition). 16 ms of index scan became 9 for the bench's phrase.
  const contains = q.substrings.map((term) => ({
    whole: like(term),
    words: term.includes(' ')
      ? term
          .split(/\s+/u)
          .filter((w) => [...w].length >= MIN_SUBSTRING)
          .map(like)
      : [],
  }));
  // Exclusions narrow the substring match only (the full-text match has them in $3): without
  // one they would be values the statement never names, which PostgreSQL refuses (a 500).
  const excluded = suffice || contains.length ? q.excluded.map(like) : [];
  // The full-text match goes through the trigram index too (search/tsquery.ts): the words a
  // match must hold, each found by the index, and then the match itself on those rows. A word
  // of 1-2 characters is a whole word of the text (strict word similarity 1, prepareSearch);
  // one without a letter or digit pg_trgm reads (show_trgm empty) asks nothing of the index.
  // A tsquery this reader cannot follow (never seen; tests/features/search.test.ts feeds it
  // the hostile strings) asks the index for nothing: slower, the same matches.
  let tree: TsNode | undefined | 'unread';
  try {
    tree = parseTsquery(tsquery);
  } catch {
    tree = 'unread';
  }
  type NeededSql =
    { like: string } | { word: string } | { all: NeededSql[] } | { any: NeededSql[] };
  const toSql = (n: Needed): NeededSql =>
    'word' in n
      ? [...n.word].length >= MIN_SUBSTRING
        ? { like: like(n.word) }
        : { word: value(n.word) }
      : 'all' in n
        ? { all: n.all.map(toSql) }
        : { any: n.any.map(toSql) };
  // Only when the words are asked for (every value must appear in the statement).
  // And only where the text holds its words as ILIKE sees them (PREFILTER_AGREES, below).
  const needed =
    prefilter && !suffice && tree && tree !== 'unread' ? neededWords(tree) : 'anything';
  const neededSql = needed !== 'anything' ? toSql(needed) : undefined;
  const holds = (n: NeededSql, body: string): string =>
    'like' in n
      ? `${body} ILIKE ${n.like}`
      : 'word' in n
        ? `(${n.word}::text <<% ${body} OR show_trgm(${n.word}::text) = '{}')`
        : 'all' in n
          ? `(${n.all.map((x) => holds(x, body)).join(' AND ')})`
          : `(${n.any.map((x) => holds(x, body)).join(' OR ')})`;
  const matching = (body: string) => {
    const parts = contains.map(({ whole, words }) =>
      words.length
        ? `${words.map((w) => `${body} ILIKE ${w}`).join(' AND ')} AND (${body} ILIKE ${whole}) IS TRUE`
        : `${body} ILIKE ${whole}`,
    );
    const not = excluded.map((p) => `${body} NOT ILIKE ${p}`);
    const substring = [...parts, ...not].join(' AND ');
    const match = `to_tsvector('simple', ${body}) @@ websearch_to_tsquery('simple', $3)`;
    // No lexeme at all: websearch_to_tsquery is empty and matches nothing.
    const words = !tree
      ? 'false AND $3::text IS NOT NULL'
      : neededSql
        ? `${holds(neededSql, body)} AND ${match}`
        : match;
    return suffice
      ? `(${substring} AND $3::text IS NOT NULL)`
      : parts.length
        ? `(${words} OR (${substring}))`
        : `(${words})`;
  };
  // The hits, on the messages alone (names and titles are joined to the page's rows only).
  // Each rule is a test of the row, not a join: joined, the membership rule would count the
  // user's conversations a second time after conversation_id = ANY, the planner would expect
  // a hundredth of the rows it gets, and sort all of "the" instead of walking newest first.
  // The index finds the current text; a former member's hit must also match the text they saw
  // when they left (readable.ts, seenVersion): an edit made since is not theirs.
  const hits = (from: string) => `SELECT m.* FROM ${from}
      AND ${matching('m.body')}
      AND (m.edited_at IS NULL OR NOT EXISTS (SELECT 1 FROM ${seenVersion('m', '$1')} seen
        WHERE ${matching('seen.body')} IS NOT TRUE))
      AND (${readableBy('m', '$1')}) IS TRUE
      AND ${notFromBlocked('m', '$1')}
    ORDER BY m.id DESC
    LIMIT $4`;
  const found =
    scope === 'small'
      ? `WITH mine AS MATERIALIZED (
           SELECT * FROM messages WHERE conversation_id = ANY($5::bigint[]) AND id < $2)
         ${hits('mine m WHERE true')}`
      : hits('messages m WHERE m.id < $2 AND m.conversation_id = ANY($5::bigint[])');
  const sql = `SELECT h.id, h.conversation_id AS "conversationId", h.sender_id AS "senderId",
      u.display_name AS "senderName", coalesce(seen.body, h.body) AS body,
      h.created_at AS "createdAt", c.kind, c.title,
      (SELECT string_agg(ou.display_name, ', ' ORDER BY ou.id)
       FROM conversation_members om JOIN users ou ON ou.id = om.user_id
       WHERE om.conversation_id = h.conversation_id AND om.user_id <> $1) AS others
    FROM (${found}) h
    JOIN conversations c ON c.id = h.conversation_id
    LEFT JOIN users u ON u.id = h.sender_id
    LEFT JOIN LATERAL ${seenVersion('h', '$1')} seen ON true
    ORDER BY h.id DESC`;
  return { sql, params };
}

export const SEARCH_TIMEOUT_MS = 3000;
/**
 * Up to this many messages in the user's conversations, reading and testing each (3-7 µs a
 * message on the bench's data: 7-13 ms for 2,000) costs about what a common word's index
 * scan over everyone's 1,000,000 messages does, and less for words common among them.
 */
export const SMALL_SCOPE = 2000;

/** One search: whose, what, the page (older than `before`, `limit` rows). */
export interface SearchRequest {
  userId: number;
  q: ParsedQuery;
  before: number;
  limit: number;
  /** Tests set it to try either SQL. */
  smallScope?: number;
}

/**
 * The search's statement and values, inside a transaction: the user's conversations and
 * whether they hold more than `smallScope` messages (counted no further) decide the SQL.
 * Undefined when the user has no conversation. Exported for the bench's EXPLAIN. The ids
 * only narrow: readableBy still decides each row in the search's own statement, so a
 * membership ended in between finds nothing; one begun in between waits for the next search.
 */
export async function prepareSearch(
  tx: PoolClient,
  { userId, q, before, limit, smallScope = SMALL_SCOPE }: SearchRequest,
): Promise<{ sql: string; values: unknown[] } | undefined> {
  // The messages and their indexes are read from memory: a page costs about the same read
  // in order or not. At the default 4 the planner intersected a URL's 6 matches with all the
  // messages of a user in 500 conversations (5 ms) instead of reading those 6 rows.
  // A word of 1-2 characters is found as a whole word: all its trigrams, blanks included.
  await tx.query(
    'SET LOCAL random_page_cost = 1.1; SET LOCAL pg_trgm.strict_word_similarity_threshold = 1',
  );
  const mine = await tx.query<{ ids: number[]; n: number; tsquery: string; agrees: boolean }>(
    `WITH mine AS (
       SELECT coalesce(array_agg(conversation_id), '{}') AS ids
       FROM (${readableConversations('$1')}) x)
     SELECT ids, (SELECT count(*)::int FROM (SELECT FROM messages m
       WHERE m.conversation_id = ANY(mine.ids) LIMIT $2) s) AS n,
       websearch_to_tsquery('simple', $3)::text AS tsquery, ${PREFILTER_AGREES} AS agrees
     FROM mine`,
    [userId, smallScope + 1, q.text],
  );
  const { ids, n, tsquery, agrees } = mine.rows[0]!;
  if (!ids.length) return undefined;
  const { sql, params } = searchSql(q, n <= smallScope ? 'small' : 'large', tsquery, agrees);
  return { sql, values: [userId, before, q.text, limit, ids, ...params] };
}

/**
 * Whether each word to_tsvector finds in a text is in that text as ILIKE sees it: what the
 * trigram prefilter of the full-text match assumes (search/tsquery.ts). It holds with a libc
 * or builtin default collation (this machine's PostgreSQL 15, the embedded 17). Under an ICU
 * default collation it does not: to_tsvector lowers a letter at a time with the C library,
 * ILIKE lowers the whole text with ICU, so "ΟΔΟΣ" holds the word 'οδοσ' but ILIKE reads
 * "οδος" (final sigma), and "İstanbul" holds 'istanbul' but ILIKE reads "i̇stanbul"; the
 * prefilter would drop those messages. Asked of the database itself with such texts, so
 * whatever its version and collation, a search is never narrower than the plain match; where
 * it fails the full-text part goes without the index (slower in a big account).
 */
export const PREFILTER_AGREES = `(SELECT coalesce(bool_and(p.b ILIKE '%' || w.lexeme || '%'), true)
  FROM (VALUES ('ΟΔΟΣ'), ('İstanbul'), ('ISTANBUL'), ('ǅemal'), ('Straße ÄRGER')) p (b),
    unnest(to_tsvector('simple', p.b)) w)`;

/** searchSql's hits, inside a transaction. */
export async function findMessages(tx: PoolClient, request: SearchRequest): Promise<FoundRow[]> {
  const search = await prepareSearch(tx, request);
  if (!search) return [];
  const { rows } = await tx.query<FoundRow>(search.sql, search.values);
  return rows;
}

export async function searchMessages(
  db: Pool,
  userId: number,
  q: ParsedQuery,
  before: number,
  limit: number,
): Promise<FoundRow[]> {
  // One search may not hold a core for long: past SEARCH_TIMEOUT_MS it is stopped and the
  // person is asked for more precise words (PostgreSQL's query_canceled, 57014).
  try {
    return await withTransaction(db, async (tx) => {
      await tx.query(`SET LOCAL statement_timeout = ${SEARCH_TIMEOUT_MS}`);
      return await findMessages(tx, { userId, q, before, limit });
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

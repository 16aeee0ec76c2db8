// The busy inbox (issue 14): one person in 200 conversations, 100 groups of 8 and 100 direct,
// 30 messages from the others in each, every tenth mentioning them ("@Name"), none read: the
// worst case for the list's unread counts and "@" markers. Written straight into the database
// (a data set, like bench/search.ts's), for `npm run bench`'s page timings and for
// tests/features/groups-inbox.test.ts, which checks it is what it says.

/** Anything with pg's `query(text, values)`: a Pool or a Client. */
interface Queryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * Fills `me`'s inbox, with 107 new people (Person 2 to Person 108, emails made from `me`'s id):
 * the first 7 join every group, the other 100 have one direct conversation each with `me`.
 * `mentionAs` is `me`'s display name. Messages are inserted in turn across the conversations,
 * as they arrive over a day, so each one's unread are spread over the table, not packed.
 */
export async function fillBusyInbox(db: Queryable, me: number, mentionAs: string): Promise<void> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO users (email, display_name, password_hash)
     SELECT 'busy' || $1::bigint || '-' || g || '@example.com', 'Person ' || g, 'x'
     FROM generate_series(2, 108) g ORDER BY g RETURNING id`,
    [me],
  );
  const others = rows.map((r) => Number(r.id));
  await db.query(
    `WITH g AS (
       INSERT INTO conversations (kind, title, created_by)
       SELECT 'group', 'Group ' || n, $1 FROM generate_series(1, 100) n RETURNING id)
     INSERT INTO conversation_members (conversation_id, user_id, role, history_from)
     SELECT g.id, u, CASE WHEN u = $1 THEN 'owner' ELSE 'member' END, 0
     FROM g, unnest($2::bigint[]) u`,
    [me, [me, ...others.slice(0, 7)]],
  );
  await db.query(
    `WITH d AS (
       INSERT INTO conversations (kind, direct_key, created_by)
       SELECT 'direct', LEAST($1::bigint, o) || ':' || GREATEST($1::bigint, o), $1::bigint
       FROM unnest($2::bigint[]) o
       RETURNING id, direct_key)
     INSERT INTO conversation_members (conversation_id, user_id)
     SELECT d.id, x FROM d,
       LATERAL (VALUES (split_part(d.direct_key, ':', 1)::bigint),
                       (split_part(d.direct_key, ':', 2)::bigint)) v(x)`,
    [me, others.slice(7)],
  );
  // Only the conversations just made: those with `me` and no message yet.
  await db.query(
    `WITH mine AS (
       SELECT c.id FROM conversations c JOIN conversation_members m ON m.conversation_id = c.id
       WHERE m.user_id = $1 AND c.last_message_id IS NULL)
     INSERT INTO messages (conversation_id, sender_id, client_id, body)
     SELECT mine.id, (SELECT user_id FROM conversation_members m WHERE m.conversation_id = mine.id
                      AND m.user_id <> $1 ORDER BY user_id LIMIT 1), gen_random_uuid(),
            CASE WHEN n % 10 = 0 THEN 'hey @' || $2 || ' look' ELSE 'message ' || n END
     FROM mine, generate_series(1, 30) n ORDER BY n, mine.id`,
    [me, mentionAs],
  );
  await db.query(
    `UPDATE conversations c SET last_message_id = x.id, last_message_at = x.created_at
     FROM (SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.id, m.created_at
           FROM messages m JOIN conversation_members cm
             ON cm.conversation_id = m.conversation_id AND cm.user_id = $1
           ORDER BY m.conversation_id, m.id DESC) x
     WHERE x.conversation_id = c.id AND c.last_message_id IS DISTINCT FROM x.id`,
    [me],
  );
  await db.query('ANALYZE');
}

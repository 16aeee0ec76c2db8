-- insert_messages_v3, leaner: the same rows, order, locks and answers for about two thirds
-- of the database's CPU per batch (pgbench, 4 clients, batches of 4, commit wait off to
-- count CPU alone: 1,940 calls/s for v3, 2,900 for this; docs/ARCHITECTURE.md, "Group commit").
-- What went: the retry lookup ran for every batch as an anti-join of the input against
-- what was inserted (a UNION ALL branch planned and executed each time); now it runs only
-- when fewer rows were inserted than asked for, and tells a row stored before this statement
-- by its inserting transaction (xmin) instead of by a join.
-- v3 stays for old code during a rolling deploy (docs/ARCHITECTURE.md, "Migrations").
CREATE FUNCTION insert_messages_v4(
  p_conversation bigint[],
  p_sender bigint[],
  p_client uuid[],
  p_body text[]
) RETURNS TABLE (
  r_id bigint,
  r_conversation_id bigint,
  r_sender_id bigint,
  r_client_id uuid,
  r_body text,
  r_created_at timestamptz,
  r_created boolean,
  r_member_ids bigint[]
) LANGUAGE plpgsql
AS $$
DECLARE
  inserted int;
BEGIN
  -- Conversation rows in id order: concurrent batches lock in one order (no deadlock), and
  -- within a conversation the ids are handed out in commit order.
  PERFORM 1 FROM conversations c
  WHERE c.id = ANY (p_conversation)
  ORDER BY c.id
  FOR UPDATE;

  RETURN QUERY
  WITH ins AS (
    INSERT INTO messages (conversation_id, sender_id, client_id, body)
    SELECT t.c, t.s, t.k, t.b
    FROM unnest(p_conversation, p_sender, p_client, p_body) WITH ORDINALITY AS t (c, s, k, b, n)
    ORDER BY t.n
    ON CONFLICT (sender_id, client_id) DO NOTHING
    RETURNING messages.id, messages.conversation_id, messages.sender_id, messages.client_id,
      messages.body, messages.created_at
  ),
  latest AS (
    UPDATE conversations c
    SET last_message_id = x.id, last_message_at = x.created_at
    FROM (
      SELECT DISTINCT ON (ins.conversation_id) ins.conversation_id, ins.id, ins.created_at
      FROM ins ORDER BY ins.conversation_id, ins.id DESC
    ) x
    WHERE c.id = x.conversation_id
  )
  -- The members a message goes to, as they are under the lock, current ones only.
  SELECT ins.id, ins.conversation_id, ins.sender_id, ins.client_id, ins.body, ins.created_at, true,
    (SELECT array_agg(cm.user_id ORDER BY cm.user_id) FROM conversation_members cm
     WHERE cm.conversation_id = ins.conversation_id AND cm.history_to IS NULL)
  FROM ins;
  GET DIAGNOSTICS inserted = ROW_COUNT;

  -- Retries (usually none): the rows an earlier transaction stored for these ids.
  IF inserted < cardinality(p_client) THEN
    RETURN QUERY
    SELECT m.id, m.conversation_id, m.sender_id, m.client_id, m.body, m.created_at, false,
      NULL::bigint[]
    FROM unnest(p_sender, p_client) AS i (s, k)
    JOIN messages m ON m.sender_id = i.s AND m.client_id = i.k
    WHERE m.xmin <> pg_current_xact_id()::xid;
  END IF;
END
$$;

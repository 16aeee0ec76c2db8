-- insert_messages_v2 with the members a message goes to narrowed to current ones: a member
-- who left or was removed (history_to set, migrations/20261128231500_member_history.sql)
-- keeps their row for what they may still read, and hears nothing more.
-- v2 stays for old code during a rolling deploy (docs/ARCHITECTURE.md, "Migrations").
CREATE FUNCTION insert_messages_v3(
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
-- Planned for each call's arrays: a cached generic plan guesses their size and may scan.
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
  PERFORM 1 FROM conversations c
  WHERE c.id = ANY (p_conversation)
  ORDER BY c.id
  FOR UPDATE;

  RETURN QUERY
  WITH input AS (
    SELECT t.c, t.s, t.k, t.b, t.n
    FROM unnest(p_conversation, p_sender, p_client, p_body) WITH ORDINALITY AS t (c, s, k, b, n)
  ),
  ins AS (
    INSERT INTO messages (conversation_id, sender_id, client_id, body)
    SELECT i.c, i.s, i.k, i.b FROM input i ORDER BY i.n
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
  SELECT ins.id, ins.conversation_id, ins.sender_id, ins.client_id, ins.body, ins.created_at, true,
    (SELECT array_agg(cm.user_id ORDER BY cm.user_id) FROM conversation_members cm
     WHERE cm.conversation_id = ins.conversation_id AND cm.history_to IS NULL)
  FROM ins
  UNION ALL
  -- Rows stored before this statement (retries): an index probe for each input row that
  -- this statement did not insert (usually none), never a scan.
  SELECT m.id, m.conversation_id, m.sender_id, m.client_id, m.body, m.created_at, false, NULL::bigint[]
  FROM input i
  CROSS JOIN LATERAL (
    SELECT * FROM messages x WHERE x.sender_id = i.s AND x.client_id = i.k
  ) m
  WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.sender_id = i.s AND ins.client_id = i.k);
END
$$;

-- insert_messages_v4 (the lean one, migrations/20261129000500) plus replies: p_reply holds the
-- id each message answers (NULL for none). A reply is stored only to a message of the same
-- conversation that its sender may read under the member history rule
-- (migrations/20261128231500_member_history.sql); anything else is stored as no reply (the
-- service refuses it first, with words; this is the last word, taken under the conversation
-- row's lock). Fan-out stays current members only (history_to IS NULL).
-- v3 and v4 stay for old code during a rolling deploy (docs/ARCHITECTURE.md, "Migrations").
CREATE FUNCTION insert_messages_v5(
  p_conversation bigint[],
  p_sender bigint[],
  p_client uuid[],
  p_body text[],
  p_reply bigint[]
) RETURNS TABLE (
  r_id bigint,
  r_conversation_id bigint,
  r_sender_id bigint,
  r_client_id uuid,
  r_body text,
  r_created_at timestamptz,
  r_created boolean,
  r_member_ids bigint[],
  r_reply_to_id bigint
) LANGUAGE plpgsql
AS $$
DECLARE
  inserted int;
BEGIN
  PERFORM 1 FROM conversations c
  WHERE c.id = ANY (p_conversation)
  ORDER BY c.id
  FOR UPDATE;

  RETURN QUERY
  WITH ins AS (
    INSERT INTO messages (conversation_id, sender_id, client_id, body, reply_to_id)
    SELECT t.c, t.s, t.k, t.b,
      (SELECT q.id FROM messages q
       JOIN conversation_members cm ON cm.conversation_id = q.conversation_id AND cm.user_id = t.s
       WHERE t.r IS NOT NULL AND q.id = t.r AND q.conversation_id = t.c
         AND cm.state <> 'declined' AND q.id > cm.history_from
         AND (cm.history_to IS NULL OR q.id <= cm.history_to))
    FROM unnest(p_conversation, p_sender, p_client, p_body, p_reply)
      WITH ORDINALITY AS t (c, s, k, b, r, n)
    ORDER BY t.n
    ON CONFLICT (sender_id, client_id) DO NOTHING
    RETURNING messages.id, messages.conversation_id, messages.sender_id, messages.client_id,
      messages.body, messages.created_at, messages.reply_to_id
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
     WHERE cm.conversation_id = ins.conversation_id AND cm.history_to IS NULL),
    ins.reply_to_id
  FROM ins;
  GET DIAGNOSTICS inserted = ROW_COUNT;

  -- Retries (usually none): the rows an earlier transaction stored for these ids.
  IF inserted < cardinality(p_client) THEN
    RETURN QUERY
    SELECT m.id, m.conversation_id, m.sender_id, m.client_id, m.body, m.created_at, false,
      NULL::bigint[], m.reply_to_id
    FROM unnest(p_sender, p_client) AS i (s, k)
    JOIN messages m ON m.sender_id = i.s AND m.client_id = i.k
    WHERE m.xmin <> pg_current_xact_id()::xid;
  END IF;
END
$$;

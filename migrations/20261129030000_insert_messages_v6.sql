-- insert_messages_v5 (migrations/20261129003000) plus the sender's right to send, decided
-- under the conversation row's lock. The service asks accessConversation first, but a member
-- removed (or who left, or hid the conversation) between that check and this insert was
-- still stored: every change of members takes the same row lock (groups/db.ts lockGroup), so
-- here, after the lock, the member row is the truth. A row whose sender is not a current
-- member is not stored and comes back with r_refused ('former': they left or were removed;
-- 'absent': no membership, or one they declined), so one refused row does not fail the batch
-- of other conversations it travels with; the service answers it as accessConversation would.
-- A retry of a row stored while the sender was still a member answers with that row.
-- v5 stays for old code during a rolling deploy (docs/ARCHITECTURE.md, "Migrations").
CREATE FUNCTION insert_messages_v6(
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
  r_reply_to_id bigint,
  r_refused text
) LANGUAGE plpgsql
AS $$
DECLARE
  inserted int;
BEGIN
  PERFORM 1 FROM conversations c
  WHERE c.id = ANY (p_conversation)
  ORDER BY c.id
  FOR UPDATE;

  -- A new statement, so a new snapshot: it sees every change of members committed before
  -- the lock was ours.
  RETURN QUERY
  WITH ins AS (
    INSERT INTO messages (conversation_id, sender_id, client_id, body, reply_to_id)
    SELECT t.c, t.s, t.k, t.b,
      (SELECT q.id FROM messages q
       WHERE t.r IS NOT NULL AND q.id = t.r AND q.conversation_id = t.c
         AND q.id > sm.history_from)
    FROM unnest(p_conversation, p_sender, p_client, p_body, p_reply)
      WITH ORDINALITY AS t (c, s, k, b, r, n)
    JOIN conversation_members sm ON sm.conversation_id = t.c AND sm.user_id = t.s
    WHERE sm.history_to IS NULL AND sm.state <> 'declined'
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
    ins.reply_to_id, NULL::text
  FROM ins;
  GET DIAGNOSTICS inserted = ROW_COUNT;

  -- Retries and refusals (usually none): the rows an earlier transaction stored for these ids,
  -- and for the rest whose sender may not send here, why not.
  IF inserted < cardinality(p_client) THEN
    RETURN QUERY
    SELECT m.id, m.conversation_id, m.sender_id, m.client_id, m.body, m.created_at, false,
      NULL::bigint[], m.reply_to_id, NULL::text
    FROM unnest(p_sender, p_client) AS i (s, k)
    JOIN messages m ON m.sender_id = i.s AND m.client_id = i.k
    WHERE m.xmin <> pg_current_xact_id()::xid
    UNION ALL
    SELECT NULL::bigint, t.c, t.s, t.k, NULL::text, NULL::timestamptz, false, NULL::bigint[],
      NULL::bigint,
      CASE WHEN sm.history_to IS NOT NULL AND sm.state <> 'declined' THEN 'former' ELSE 'absent' END
    FROM unnest(p_conversation, p_sender, p_client) AS t (c, s, k)
    LEFT JOIN conversation_members sm ON sm.conversation_id = t.c AND sm.user_id = t.s
    WHERE (sm.user_id IS NULL OR sm.history_to IS NOT NULL OR sm.state = 'declined')
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.sender_id = t.s AND m.client_id = t.k);
  END IF;
END
$$;

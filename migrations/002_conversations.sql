CREATE TABLE conversations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('direct', 'group')),
  title text,
  -- 'smallerId:largerId' for a direct conversation: one per pair, even when both start it at once.
  direct_key text UNIQUE,
  created_by bigint REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_message_id bigint,
  last_message_at timestamptz,
  CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
)
-- Every message moves its conversation's last_message_*: room on each page and no index
-- on those columns keep those updates HOT, so the table does not bloat under traffic.
WITH (fillfactor = 50);

CREATE TABLE conversation_members (
  conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL DEFAULT 'member',
  joined_at timestamptz NOT NULL DEFAULT now(),
  last_read_message_id bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user_idx ON conversation_members (user_id, conversation_id);

CREATE TABLE messages (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  -- NULL once the sender deleted their account: the others keep the history.
  sender_id bigint REFERENCES users (id) ON DELETE SET NULL,
  client_id uuid NOT NULL,
  body text NOT NULL,
  kind text NOT NULL DEFAULT 'text',
  created_at timestamptz NOT NULL DEFAULT now(),
  edited_at timestamptz,
  deleted_at timestamptz
);
CREATE INDEX messages_conversation_id_idx ON messages (conversation_id, id);
-- A retry of the same client-made id never makes a second row.
CREATE UNIQUE INDEX messages_sender_client_key ON messages (sender_id, client_id);

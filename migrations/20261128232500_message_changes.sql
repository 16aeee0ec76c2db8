-- Edits, deletes, replies and reactions (issue 15), and the per-conversation change sequence
-- that lets a tab that was offline catch up on them.
--
-- conversations.change_seq: bumped (UPDATE … RETURNING) for every edit, delete and reaction,
-- which takes the conversation row's lock until the change commits. So change numbers commit in
-- number order within a conversation, and "changes after N" never skips one (the trap in
-- docs/ARCHITECTURE.md, "Order and nothing skipped"). The changed message keeps the number of
-- its latest change: sync returns each changed message once, as it is now.
-- Not indexed: the update stays HOT, like last_message_id (fillfactor 50).
ALTER TABLE conversations ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;

-- reply_to_id: the message this one answers. A deleted message keeps its row (a tombstone:
-- body blanked, deleted_at set), so the reference stays and the quote says "deleted".
-- edited_at and deleted_at exist since migration 002.
ALTER TABLE messages
  ADD COLUMN reply_to_id bigint REFERENCES messages (id) ON DELETE SET NULL,
  ADD COLUMN change_seq bigint;
CREATE INDEX messages_changes_idx ON messages (conversation_id, change_seq)
  WHERE change_seq IS NOT NULL;

-- Earlier versions of an edited message, which members may read (Zulip keeps an edit history
-- too). A delete removes them with the text: deleted means gone (Zulip #4400, #19632 and
-- Element's redaction bug show what people expect).
CREATE TABLE message_versions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  body text NOT NULL,
  -- When this version was written (the message's creation, or the edit that made it).
  written_at timestamptz NOT NULL,
  replaced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_versions_message_idx ON message_versions (message_id, id);

-- One row per person, message and emoji: a second press removes it (Campfire's boosts are
-- rows like this; we allow only six emoji).
CREATE TABLE message_reactions (
  message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  emoji text NOT NULL CHECK (emoji IN ('👍', '❤️', '😂', '😮', '😢', '🙏')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, user_id, emoji)
);

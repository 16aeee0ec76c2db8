-- Pictures and files (issue 15). An upload becomes an attachments row owned by its uploader,
-- pending (message_id NULL) until a message:send names it; the send links it in the same
-- transaction as the message insert. A pending upload never linked is swept after a day.
--
-- The bytes live in attachment_chunks (256 KB each, streamed in and out), so no file is ever
-- whole in memory and one database backup holds everything (docs/ARCHITECTURE.md, "Files").
CREATE TABLE attachments (
  -- Random, not sequential: an id says nothing about how many files exist or whose they are.
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  -- A message's files go with it: a deleted message row takes them (and their chunks) along.
  message_id bigint REFERENCES messages (id) ON DELETE CASCADE,
  -- NULL once the uploader deleted their account: a sent file stays with its message.
  uploader_id bigint REFERENCES users (id) ON DELETE SET NULL,
  -- 'uploading' until every byte is stored and checked; only 'ready' can be linked or served.
  state text NOT NULL DEFAULT 'uploading' CHECK (state IN ('uploading', 'ready')),
  position smallint NOT NULL DEFAULT 0,
  name text NOT NULL,
  -- The type read from the file's first bytes, never the browser's word.
  content_type text NOT NULL DEFAULT 'application/octet-stream',
  size bigint NOT NULL DEFAULT 0,
  -- Pictures only: known before the picture loads, so the page does not jump.
  width integer,
  height integer,
  thumb_width integer,
  thumb_height integer,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message_idx ON attachments (message_id, position)
  WHERE message_id IS NOT NULL;
-- The sweep's and the quota's ways in.
CREATE INDEX attachments_pending_idx ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_uploader_idx ON attachments (uploader_id);

CREATE TABLE attachment_chunks (
  attachment_id uuid NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
  -- 'original' (what is served in full) or 'thumb' (a picture's small version).
  variant text NOT NULL CHECK (variant IN ('original', 'thumb')),
  n integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (attachment_id, variant, n)
);
-- Pictures and most files are compressed already: store them out of line as they are,
-- instead of having PostgreSQL try (and fail) to compress every chunk again.
ALTER TABLE attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- A message may also be deleted by marking it (deleted_at, issue 15's "Delete"): its files
-- must really go then too, whichever code path marks it.
CREATE FUNCTION delete_attachments_of_deleted_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM attachments WHERE message_id = NEW.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER messages_deleted_drop_attachments
  AFTER UPDATE OF deleted_at ON messages
  FOR EACH ROW WHEN (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL)
  EXECUTE FUNCTION delete_attachments_of_deleted_message();

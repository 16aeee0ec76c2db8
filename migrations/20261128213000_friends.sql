-- Friends, message requests and blocks (issue 13). Friends are people you accepted;
-- everyone else reaches you only through a request.

-- One row per ordered pair: who asked whom, and what became of it. A declined row is kept
-- (declined_at) so the same request cannot be sent again for a while; the sender is not
-- told of the decline (withdrawn: the sender took it off their own list).
CREATE TABLE friend_requests (
  from_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  to_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'declined')),
  created_at timestamptz NOT NULL DEFAULT now(),
  declined_at timestamptz,
  withdrawn boolean NOT NULL DEFAULT false,
  PRIMARY KEY (from_id, to_id),
  CHECK (from_id <> to_id)
);
CREATE INDEX friend_requests_to_idx ON friend_requests (to_id, state);

CREATE TABLE blocks (
  blocker_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  blocked_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (blocker_id, blocked_id),
  CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id);

-- Off: a search for my email answers "no account" to everyone but my friends.
ALTER TABLE users ADD COLUMN discoverable boolean NOT NULL DEFAULT true;

-- Each member's answer to the conversation: 'accepted' (in the inbox), 'request' (a first
-- message from someone who is not a friend: under "Requests"), 'declined' (hidden).
-- Existing rows and groups made before this are accepted: nothing changes for them.
ALTER TABLE conversation_members ADD COLUMN state text NOT NULL DEFAULT 'accepted'
  CHECK (state IN ('accepted', 'request', 'declined'));

-- The member cache holds each member's state too: a change of state invalidates it
-- like a change of members (same function, one more column watched).
DROP TRIGGER conversation_members_changed ON conversation_members;
CREATE TRIGGER conversation_members_changed
AFTER INSERT OR UPDATE OF user_id, conversation_id, state OR DELETE ON conversation_members
FOR EACH ROW EXECUTE FUNCTION notify_members_changed();

-- ...and the blocks among its members: a block or unblock invalidates every conversation
-- the two share, on every instance, at commit.
CREATE FUNCTION notify_block_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  pair blocks%ROWTYPE;
  conv bigint;
BEGIN
  pair := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  FOR conv IN
    SELECT a.conversation_id FROM conversation_members a
    JOIN conversation_members b ON b.conversation_id = a.conversation_id
    WHERE a.user_id = pair.blocker_id AND b.user_id = pair.blocked_id
  LOOP
    PERFORM pg_notify('conversation_members_changed', conv::text);
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER blocks_changed
AFTER INSERT OR DELETE ON blocks
FOR EACH ROW EXECUTE FUNCTION notify_block_changed();

-- Group chats (issue 14): roles, who added whom, the "members may add people" setting,
-- invite links (tokens stored hashed), and the member cache told of every change that
-- decides who hears what (role, history_from, history_to).

-- One owner, admins, members (Matrix's power levels: the owner sits above the admins,
-- and equal ranks cannot remove each other). Direct chats keep 'member'.
ALTER TABLE conversation_members
  ADD CONSTRAINT conversation_members_role_check CHECK (role IN ('owner', 'admin', 'member')),
  -- Who added this member: a group invitation from someone who is not a friend is a
  -- request, and "Block" on it blocks the one who sent it.
  ADD COLUMN added_by bigint REFERENCES users (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX conversation_members_one_owner ON conversation_members (conversation_id)
  WHERE role = 'owner';

-- Signal's "Who can add members": everyone by default, or only admins.
ALTER TABLE conversations ADD COLUMN members_can_add boolean NOT NULL DEFAULT true;

-- An invite link is a long random token; only its SHA-256 is kept, so a copy of the
-- table opens no group. Expired, revoked and used-up links answer like missing ones.
CREATE TABLE group_invites (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL UNIQUE,
  created_by bigint REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  max_uses integer CHECK (max_uses IS NULL OR max_uses > 0),
  uses integer NOT NULL DEFAULT 0,
  revoked_at timestamptz
);
CREATE INDEX group_invites_conversation_idx ON group_invites (conversation_id);

-- A member who leaves or is removed (history_to set), a new role, a re-added member
-- (history_from): every instance's member cache forgets the conversation at commit.
DROP TRIGGER conversation_members_changed ON conversation_members;
CREATE TRIGGER conversation_members_changed
AFTER INSERT OR UPDATE OF user_id, conversation_id, state, role, history_from, history_to
  OR DELETE ON conversation_members
FOR EACH ROW EXECUTE FUNCTION notify_members_changed();

-- An owner whose account is deleted (the cascade removes their rows) hands each group over
-- like an owner who leaves: to the longest-standing admin, else member. In the database, so
-- every way a row goes (the app, a cascade, an operator's SQL) keeps one owner.
CREATE FUNCTION hand_over_ownership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.role = 'owner' THEN
    UPDATE conversation_members SET role = 'owner'
    WHERE (conversation_id, user_id) = (
      SELECT h.conversation_id, h.user_id FROM conversation_members h
      WHERE h.conversation_id = OLD.conversation_id AND h.history_to IS NULL
        AND h.state = 'accepted'
      ORDER BY (h.role = 'admin') DESC, h.joined_at, h.user_id
      LIMIT 1
    );
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER conversation_members_owner_gone
AFTER DELETE ON conversation_members
FOR EACH ROW EXECUTE FUNCTION hand_over_ownership();

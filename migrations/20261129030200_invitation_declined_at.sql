-- When a member declined (a group invitation, a message request): a declined group invitation
-- cannot be sent again to the same person, by anyone, for a while (groups/service.ts,
-- INVITE_AGAIN_AFTER_MS), as a declined friend request waits (friend_requests.declined_at).
-- NULL for rows declined before this migration: those may be invited again, as before.
ALTER TABLE conversation_members ADD COLUMN declined_at timestamptz;

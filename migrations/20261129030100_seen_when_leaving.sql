-- A former group member keeps each message as it was when they left (review of issue 14): an
-- edit or a reaction made after they left or were removed is not theirs to see, while a delete
-- is (deleted means gone for everyone, migrations/20261128232500_message_changes.sql).
--
-- Each change records where the conversation stood when it was made: the conversation's
-- last_message_id, read under the conversation row's lock that every edit, reaction, leave and
-- removal takes. A member's history_to is the line that ended their membership ("Bo left"), so
--   a change came after they left  <=>  its recorded last_message_id >= their history_to
-- exactly, whatever the clocks and the commit order. Rows from before this migration have
-- NULL and are compared by time instead (replaced_at / created_at against that line's).
-- The one place that reads these: features/conversations/readable.ts.
ALTER TABLE message_versions ADD COLUMN replaced_after bigint;
ALTER TABLE message_reactions ADD COLUMN added_after bigint;

-- What part of a conversation's history a member may read (groups, issue 14; search,
-- issue 16; export). One rule, read everywhere a message is shown, searched or exported:
--
--   a message m of conversation c is readable by user u when u has a row in
--   conversation_members for c whose state is not 'declined', and
--   m.id > history_from and (history_to IS NULL OR m.id <= history_to)
--
-- history_from: the conversation's last message id when the member joined (0 for everyone
-- until now, and for direct chats: they see everything). A member added to a group does not
-- see what was said before.
-- history_to: NULL for a current member; the last message id they could see when they left or
-- were removed. Such a former member keeps, read-only, what they saw, and hears nothing more:
-- they are not a recipient of anything (fan-out, typing, receipts, presence), and cannot send.
ALTER TABLE conversation_members
  ADD COLUMN history_from bigint NOT NULL DEFAULT 0,
  ADD COLUMN history_to bigint;

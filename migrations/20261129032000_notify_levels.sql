-- Per-group notification levels (issue 16): "All messages", "Only @mentions", "Nothing",
-- each member's own choice, beside Mute (which still silences everything). NULL is the
-- default, decided when a message comes: all messages in a group of up to 20 members, only
-- mentions above (shared/mentions.ts, EVERYONE_OPEN_UP_TO), so a group that grows quiets
-- itself for those who never chose. A direct conversation always notifies (unless muted).
ALTER TABLE conversation_members
  ADD COLUMN notify_level text CHECK (notify_level IN ('all', 'mentions', 'nothing'));

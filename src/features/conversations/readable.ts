// The member history rule (migrations/20261128231500_member_history.sql) as SQL, written
// once: search and "Download my data" read messages only through it, and so should any
// other query that shows messages across conversations.
//
//   a message m of conversation c is readable by user u when u has a conversation_members
//   row for c whose state is not 'declined', and m.id > history_from and
//   (history_to IS NULL or m.id <= history_to); a deleted message is gone.
//
// A condition, not a join: the planner may walk the user's memberships or the message index,
// whichever is cheaper for the query at hand.

/** SQL true when message alias `m` is readable by the user whose id is the SQL expression `user`. */
export function readableBy(m: string, user: string): string {
  return `(${m}.deleted_at IS NULL AND EXISTS (
    SELECT 1 FROM conversation_members rule_cm
    WHERE rule_cm.conversation_id = ${m}.conversation_id AND rule_cm.user_id = ${user}
      AND rule_cm.state <> 'declined'
      AND ${m}.id > rule_cm.history_from
      AND (rule_cm.history_to IS NULL OR ${m}.id <= rule_cm.history_to)))`;
}

/** SQL true when message `m` is not from someone the user blocked (search finds none of theirs). */
export function notFromBlocked(m: string, user: string): string {
  return `NOT EXISTS (SELECT 1 FROM blocks rule_b
    WHERE rule_b.blocker_id = ${user} AND rule_b.blocked_id = ${m}.sender_id)`;
}

// The member history rule (migrations/20261128231500_member_history.sql) as SQL, written
// once: search and "Download my data" read messages only through it, and so should any
// other query that shows messages across conversations.
//
//   a message m of conversation c is readable by user u when u has a conversation_members
//   row for c whose state is not 'declined', and m.id > history_from and
//   (history_to IS NULL or m.id <= history_to); a deleted message is gone.
//
// And what such a message says: to a member who left or was removed, each message as it was
// when they left (seenVersion, changedAfterLeaving), not edits or reactions made since.
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

/**
 * SQL for the ids of the conversations where some messages may be readable by `user`: the
 * conversations of readableBy's membership rows. Not a rule of its own, a narrowing: a query
 * that passes these ids as a constant array (conversation_id = ANY) lets the planner weigh
 * the user's share of all messages, and still applies readableBy for the history window.
 */
export function readableConversations(user: string): string {
  return `SELECT rule_cm.conversation_id FROM conversation_members rule_cm
    WHERE rule_cm.user_id = ${user} AND rule_cm.state <> 'declined'`;
}

/** SQL true when message `m` is not from someone the user blocked (search finds none of theirs). */
export function notFromBlocked(m: string, user: string): string {
  return `NOT EXISTS (SELECT 1 FROM blocks rule_b
    WHERE rule_b.blocker_id = ${user} AND rule_b.blocked_id = ${m}.sender_id)`;
}

/**
 * SQL true when a change to a message of `conversation` (an edit that replaced a version, a
 * reaction) was made after `user` left or was removed from it: a former member keeps each
 * message as it was when they left (migrations/20261129030100_seen_when_leaving.sql). `after`
 * is the change's recorded last message id, `at` its time (for rows older than that column).
 */
export function changedAfterLeaving(
  conversation: string,
  user: string,
  after: string,
  at: string,
): string {
  return `EXISTS (SELECT 1 FROM conversation_members seen_cm
    WHERE seen_cm.conversation_id = ${conversation} AND seen_cm.user_id = ${user}
      AND seen_cm.history_to IS NOT NULL
      AND (${after} >= seen_cm.history_to OR (${after} IS NULL AND ${at} >
        (SELECT seen_l.created_at FROM messages seen_l WHERE seen_l.id = seen_cm.history_to))))`;
}

/**
 * SQL for `LEFT JOIN LATERAL ${seenVersion('m', user)} alias ON true`: the text of message `m`
 * as `user` last saw it (`body`, `edited_at`) when they left the conversation and it was
 * edited after; no row otherwise (a current member, or nothing edited since). The version
 * current when they left is the first one replaced after they left.
 */
export function seenVersion(m: string, user: string): string {
  return `(SELECT seen_v.body,
      CASE WHEN EXISTS (SELECT 1 FROM message_versions seen_e
        WHERE seen_e.message_id = seen_v.message_id AND seen_e.id < seen_v.id)
      THEN seen_v.written_at END AS edited_at
    FROM message_versions seen_v
    WHERE ${m}.edited_at IS NOT NULL AND seen_v.message_id = ${m}.id
      AND ${changedAfterLeaving(`${m}.conversation_id`, user, 'seen_v.replaced_after', 'seen_v.replaced_at')}
    ORDER BY seen_v.id LIMIT 1)`;
}

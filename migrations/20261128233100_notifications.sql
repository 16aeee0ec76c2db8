-- Notifications (issue 16): a conversation's mute, what a notification shows, and the
-- Web Push subscriptions of each browser that turned notifications on.

-- Muted: still counted unread, never notified (in a tab or by Web Push).
ALTER TABLE conversation_members ADD COLUMN muted boolean NOT NULL DEFAULT false;

-- Off: a notification shows who wrote, not what (Zulip #2355): the text never reaches the
-- push service, even encrypted.
ALTER TABLE users ADD COLUMN notify_text boolean NOT NULL DEFAULT true;

-- One row per browser (push endpoint). The endpoint is a capability URL at the browser
-- vendor's push service; p256dh and auth are the browser's keys the payload is encrypted to.
CREATE TABLE push_subscriptions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  endpoint text NOT NULL UNIQUE,
  p256dh text NOT NULL,
  auth text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id);

-- The newest message pushed per user and conversation, so reading it elsewhere withdraws
-- the notification (a "read" push), and only when there is one to withdraw.
CREATE TABLE push_sent (
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  message_id bigint NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
);

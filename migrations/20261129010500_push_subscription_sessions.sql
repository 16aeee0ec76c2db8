-- A push subscription belongs to the browser session that made it (issue 16, from an outside
-- review): once that session ends (Log out, a password change, "log out everywhere", expiry,
-- an admin's DELETE) the device hears nothing more, and the row is removed at the next push.
-- Rows made before this have no session and keep working until the browser drops them.
ALTER TABLE push_subscriptions ADD COLUMN session_id varchar;

CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  display_name text NOT NULL,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz
);
-- Emails are unique whatever their case; lookups use lower(email) too.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- connect-pg-simple's table, as its table.sql defines it.
CREATE TABLE session (
  sid varchar NOT NULL COLLATE "default" PRIMARY KEY,
  sess json NOT NULL,
  expire timestamp(6) NOT NULL
);
CREATE INDEX session_expire_idx ON session (expire);
-- Ending every session of one user (password change, account deletion).
CREATE INDEX session_user_idx ON session (((sess ->> 'userId')));

-- Used by @socket.io/postgres-adapter (SOCKET_ADAPTER=postgres) for payloads over NOTIFY's 8,000-byte limit.
CREATE TABLE socket_io_attachments (
  id bigserial UNIQUE,
  created_at timestamptz DEFAULT now(),
  payload bytea
);

-- Message search (issue 16): full-text words and partial words, URLs and email addresses.
--
-- 'simple' config: no stemming and no stop words, so names, non-English words and short
-- words like "no" are found as typed. pg_trgm (trusted since PostgreSQL 13: the database's
-- owner may create it, as the embedded mode's app role does) finds any part of a word, an
-- address or a URL of 3 characters or more; tests/features/search-pg-trgm.test.ts shows it
-- is in the embedded PostgreSQL 17 and in the server's 15.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- GIN keeps new entries in a pending list merged in bulk (fastupdate, the default), so a
-- message insert stays cheap; the bench measures what both indexes cost (bench/search.ts).
CREATE INDEX messages_body_words_idx ON messages USING gin (to_tsvector('simple', body));
CREATE INDEX messages_body_trgm_idx ON messages USING gin (body gin_trgm_ops);

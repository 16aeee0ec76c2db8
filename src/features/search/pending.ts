// The search index's new entries, merged off the send path. It is a GIN index with fastupdate
// (PostgreSQL's default; one index since migration 20261129101000, the trigrams, which also
// serve the full-text match): a message's trigrams go to a pending list, and
// the insert that finds the list over gin_pending_list_limit (4 MB) merges all of it inside
// its own transaction, so one batch of senders waits for thousands of messages' index work
// (a batch of 20 took up to 190-330 ms there instead of 2-5). Here a pool connection merges
// the lists a few times a second while messages are being written, so the writer's inserts
// only append. bench/search-pending.ts measured it: the writer's database CPU 85-93 µs a
// message alone, 78-83 with this, the merging 11-12 µs beside it; the slowest batch 110-330
// ms alone, 40-170 with it. (Entries straight into the index, fastupdate off, cost the writer
// 210-270 µs a message; one two-column index instead of two cost the same as two.) Those
// figures are of the two indexes before 20261129101000.
import type { AppContext } from '../../core/context.js';
import { isConnectionError } from '../../core/db/pool.js';

const INDEXES = ['messages_body_trgm_idx'];

/** Merges the lists every `everyMs` after messages were stored; 0 leaves it to PostgreSQL. */
export function startMergingSearchIndexes(ctx: AppContext, everyMs: number): () => void {
  if (everyMs <= 0) return () => undefined;
  let seen = ctx.writer.stored;
  let running = false;
  const timer = setInterval(() => {
    if (running || ctx.writer.stored === seen) return;
    seen = ctx.writer.stored;
    running = true;
    ctx.db
      .query(
        `SELECT gin_clean_pending_list(to_regclass(i)) FROM unnest($1::text[]) i
         WHERE to_regclass(i) IS NOT NULL`,
        [INDEXES],
      )
      .catch((err: unknown) => {
        if (isConnectionError(err)) return; // the database is away; the next tick tries again
        // Only the indexes' owner may merge them (the role that ran the migrations): without
        // that right, inserts and autovacuum merge them as PostgreSQL does by default.
        ctx.logger.warn({ err }, 'could not merge the search indexes; leaving it to PostgreSQL');
        clearInterval(timer);
      })
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

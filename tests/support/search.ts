// Message search's SQL run directly, either way the app may run it: searchSql's 'small'
// (read and test each of the user's messages) or 'large' (through the text indexes, the plan
// for someone in hundreds of conversations). Tests compare both with what the page shows.
import { withTransaction, type Pool } from '../../src/core/db/pool.js';
import { findMessages, type FoundRow } from '../../src/features/search/db.js';
import { parseQuery } from '../../src/features/search/query.js';

export const SCOPES = { small: 1_000_000, large: 0 } as const;

/** The first page (21 rows) the search SQL finds for `userId`, in the given scope. */
export function findInScope(
  pool: Pool,
  userId: number,
  q: string,
  smallScope: number,
): Promise<FoundRow[]> {
  return withTransaction(pool, (tx) =>
    findMessages(tx, {
      userId,
      q: parseQuery(q),
      before: Number.MAX_SAFE_INTEGER,
      limit: 21,
      smallScope,
    }),
  );
}

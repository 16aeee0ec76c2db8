import type { Db } from '../../core/db/pool.js';

/** Ends every stored session of a user, but the one named in `exceptSid`. */
export async function deleteSessionsOfUser(
  db: Db,
  userId: number,
  exceptSid?: string,
): Promise<string[]> {
  const { rows } = await db.query<{ sid: string }>(
    `DELETE FROM session WHERE sess ->> 'userId' = $1 AND sid IS DISTINCT FROM $2 RETURNING sid`,
    [String(userId), exceptSid ?? null],
  );
  return rows.map((r) => r.sid);
}

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

/**
 * Which of these sessions are still stored and unexpired, with the user each holds
 * (as text, as the store keeps it; undefined for a visitor's session).
 */
export async function liveSessions(
  db: Db,
  sids: string[],
): Promise<Map<string, string | undefined>> {
  const { rows } = await db.query<{ sid: string; user_id: string | null }>(
    `SELECT sid, sess ->> 'userId' AS user_id FROM session WHERE sid = ANY($1) AND expire > now()`,
    [sids],
  );
  return new Map(rows.map((r) => [r.sid, r.user_id ?? undefined]));
}

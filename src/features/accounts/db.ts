import type { Db } from '../../core/db/pool.js';

export interface User {
  id: number;
  email: string;
  displayName: string;
  createdAt: Date;
  lastSeenAt: Date | null;
}
export interface UserWithHash extends User {
  passwordHash: string;
}

const COLUMNS = `id, email, display_name AS "displayName", created_at AS "createdAt",
  last_seen_at AS "lastSeenAt"`;

export async function insertUser(
  db: Db,
  u: { email: string; displayName: string; passwordHash: string },
): Promise<User> {
  const { rows } = await db.query<User>(
    `INSERT INTO users (email, display_name, password_hash) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
    [u.email, u.displayName, u.passwordHash],
  );
  return rows[0]!;
}

export async function findUserByEmail(db: Db, email: string): Promise<UserWithHash | undefined> {
  const { rows } = await db.query<UserWithHash>(
    `SELECT ${COLUMNS}, password_hash AS "passwordHash" FROM users WHERE lower(email) = lower($1)`,
    [email],
  );
  return rows[0];
}

/**
 * Who a login with this email would reach: the account's id, or (no account) the email as
 * PostgreSQL's lower() folds it, the same folding findUserByEmail matches with.
 */
export async function findAccountKey(
  db: Db,
  email: string,
): Promise<{ id: number | null; folded: string }> {
  const { rows } = await db.query<{ id: number | null; folded: string }>(
    'SELECT (SELECT id FROM users WHERE lower(email) = lower($1)) AS id, lower($1) AS folded',
    [email],
  );
  return rows[0]!;
}

export async function findUserById(db: Db, id: number): Promise<User | undefined> {
  const { rows } = await db.query<User>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0];
}

export async function findPasswordHash(db: Db, id: number): Promise<string | undefined> {
  const { rows } = await db.query<{ h: string }>(
    'SELECT password_hash AS h FROM users WHERE id = $1',
    [id],
  );
  return rows[0]?.h;
}

export async function updateDisplayName(db: Db, id: number, displayName: string): Promise<void> {
  await db.query('UPDATE users SET display_name = $2 WHERE id = $1', [id, displayName]);
}

export async function updatePasswordHash(db: Db, id: number, passwordHash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
}

export async function deleteUser(db: Db, id: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM users WHERE id = $1', [id]);
  return rowCount === 1;
}

export async function touchLastSeen(db: Db, id: number): Promise<Date> {
  const { rows } = await db.query<{ t: Date }>(
    'UPDATE users SET last_seen_at = now() WHERE id = $1 RETURNING last_seen_at AS t',
    [id],
  );
  return rows[0]?.t ?? new Date();
}

export async function lastSeenOf(db: Db, ids: number[]): Promise<Map<number, Date | null>> {
  const { rows } = await db.query<{ id: number; t: Date | null }>(
    'SELECT id, last_seen_at AS t FROM users WHERE id = ANY ($1::bigint[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.t]));
}

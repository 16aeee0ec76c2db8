// The embedded database's least privilege: the superuser `chat` (made by initdb) only sets
// up; the app connects as `chat_app`, which owns the `chat` database and its objects and
// nothing more (no superuser, no CREATEDB, no CREATEROLE). Run on every start, so a folder
// made by an older version (where the app connected as the superuser) is handed over.
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { EmbeddedDatabaseError } from './embedded-process.js';

export const SUPERUSER = 'chat';
export const APP_ROLE = 'chat_app';
export const APP_DATABASE = 'chat';

/** A password kept in a private file: read, or (if allowed) made when missing or empty. */
export async function readOrCreateSecret(
  file: string,
  mayCreate: boolean,
): Promise<string | undefined> {
  try {
    const kept = (await fsp.readFile(file, 'utf8')).trim();
    await fsp.chmod(file, 0o600);
    if (kept) return kept;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!mayCreate) return undefined;
  const password = randomBytes(24).toString('base64url');
  await fsp.writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

// Everything in the schema that the app's migrations made, given to the app role. Sequences
// that belong to a column move with their table; ALTER … OWNER on them alone is refused.
const HAND_OVER = `
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS obj, c.relkind FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relowner <> '${APP_ROLE}'::regrole
      AND (c.relkind IN ('r', 'p', 'v', 'm', 'f') OR (c.relkind = 'S' AND NOT EXISTS (
        SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${APP_ROLE}',
      CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
        WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.obj);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS obj FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proowner <> '${APP_ROLE}'::regrole
      -- An extension's functions (pg_trgm) stay as the extension made them.
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO ${APP_ROLE}', r.obj);
  END LOOP;
END $$`;

/** Makes sure the app role and its database exist, with the right owner, and the password. */
export async function prepareAppDatabase(opts: {
  port: number;
  superPassword: string;
  appPassword: string;
  dataDir: string;
  pgDir: string;
}): Promise<void> {
  const connect = async (database: string) => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: opts.port,
      user: SUPERUSER,
      password: opts.superPassword,
      database,
    });
    try {
      await client.connect();
    } catch (err) {
      if ((err as { code?: string }).code !== '28P01') throw err;
      throw new EmbeddedDatabaseError(
        `The password in ${path.join(opts.dataDir, 'pg-password')} does not match the embedded PostgreSQL cluster in ${opts.pgDir}.`,
      );
    }
    return client;
  };

  const admin = await connect('postgres');
  try {
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    if (!role.rowCount) await admin.query(`CREATE ROLE ${APP_ROLE}`);
    // Every start: the rights stay minimal and the password follows the file.
    await admin.query(
      `ALTER ROLE ${APP_ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${admin.escapeLiteral(opts.appPassword)}`,
    );
    const db = await admin.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [APP_DATABASE],
    );
    // Checked on every start: an app killed right after initdb must still get its database.
    if (!db.rowCount) await admin.query(`CREATE DATABASE ${APP_DATABASE} OWNER ${APP_ROLE}`);
    else if (db.rows[0]!.owner !== APP_ROLE) {
      await admin.query(`ALTER DATABASE ${APP_DATABASE} OWNER TO ${APP_ROLE}`);
    }
  } finally {
    await admin.end();
  }

  // A folder from before: its tables and function still belong to the superuser.
  const inApp = await connect(APP_DATABASE);
  try {
    await inApp.query(`ALTER SCHEMA public OWNER TO ${APP_ROLE}`);
    await inApp.query(HAND_OVER);
  } finally {
    await inApp.end();
  }
}

// Once per `npm test`: find a PostgreSQL (TEST_DATABASE_URL, or an embedded one
// started in a temporary folder), migrate a template database, and hand both
// to the test files. Everything made here is dropped or stopped at the end.
import { mkdtemp, chmod, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/core/db/embedded.js';
import { migrate } from '../../src/core/db/migrate.js';
import { createLogger } from '../../src/core/logger.js';
import { CHROMIUM, hasChromium } from './browser.js';
import { REDIS, reachable } from './redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
    databaseMode: 'server' | 'embedded';
  }
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  await requireEverythingInCi();
  let embedded: EmbeddedDatabase | undefined;
  let tmp: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'chat-test-pg-'));
    await chmod(tmp, 0o755);
    embedded = await startEmbeddedDatabase({
      dataDir: tmp,
      log: { info: () => undefined, warn: (m) => console.warn(m) },
    });
    adminUrl = embedded.adminUrl;
  }
  const templateDb = `chat_test_${randomBytes(4).toString('hex')}_tpl`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${templateDb}`);
  const pool = new pg.Pool({ connectionString: withDatabase(adminUrl, templateDb), max: 1 });
  await migrate(pool, undefined);
  await pool.end();

  project.provide('adminUrl', adminUrl);
  project.provide('templateDb', templateDb);
  project.provide('databaseMode', embedded ? 'embedded' : 'server');
  void createLogger; // keeps the logger module's redaction compiled in this graph

  return async () => {
    // Drop what this run made: the template and any per-file database left by a crash.
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [templateDb.replace(/_tpl$/, '') + '%'],
    );
    for (const { datname } of rows) {
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
    await admin.end();
    await embedded?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  };
}

/**
 * Away from CI a missing Chromium or Redis skips the tests that need it, so a laptop can run
 * the rest. In CI a skip would pass unseen ("↓ skipped"), so there it stops the run instead.
 */
async function requireEverythingInCi() {
  if (!process.env.CI) return;
  const missing: string[] = [];
  if (!hasChromium) missing.push(`Chromium (looked for ${CHROMIUM}; CHROMIUM_PATH overrides)`);
  if (!(await reachable(REDIS.host, REDIS.port)))
    missing.push(`Redis (nothing answers at ${REDIS.host}:${REDIS.port})`);
  if (missing.length)
    throw new Error(
      `CI is set, so these tests may not be skipped, but they need:\n  - ${missing.join('\n  - ')}`,
    );
}

// `npm run migrate`: applies pending migrations to DATABASE_URL and exits.
import { loadConfigOrExit } from './core/config.js';
import { createLogger } from './core/logger.js';
import { createPool } from './core/db/pool.js';
import { migrate } from './core/db/migrate.js';

const config = loadConfigOrExit();
const log = createLogger(config.logLevel);
if (!config.databaseUrl) {
  console.error(
    'DATABASE_URL is required for npm run migrate (npm start migrates the embedded database itself).',
  );
  process.exit(1);
}
const pool = createPool(config.databaseUrl, { max: 1, logger: log });
try {
  const applied = await migrate(pool);
  log.info(applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply');
} finally {
  await pool.end();
}

// Wires config → database → migrations → app → Socket.IO → listen, and closes
// them in reverse on SIGTERM/SIGINT.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, ConfigError, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { createPool, type Pool } from './db/pool.js';
import { migrate } from './db/migrate.js';
import {
  startEmbeddedDatabase,
  EmbeddedDatabaseError,
  type EmbeddedDatabase,
} from './db/embedded.js';
import { createApp } from './app.js';
import { createSocketServer } from './realtime/socket.js';
import { attachAdapter } from './realtime/adapter.js';

async function sessionSecretFor(config: Config, log: Logger): Promise<string> {
  if (config.sessionSecret) return config.sessionSecret;
  // Development: made once and kept, so a restart keeps everyone logged in.
  const file = path.join(config.dataDir, 'session-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const secret = randomBytes(32).toString('hex');
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, secret, { mode: 0o600 });
    log.info(`generated a session secret in ${file}`);
    return secret;
  }
}

export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, {
    pretty: !config.isProduction && process.stdout.isTTY === true,
  });
  const started = Date.now();

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    try {
      embedded = await startEmbeddedDatabase({
        dataDir: config.dataDir,
        log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
      });
    } catch (err) {
      if (err instanceof EmbeddedDatabaseError) {
        log.fatal(err.message);
        console.error(err.message);
        process.exit(1);
      }
      throw err;
    }
    databaseUrl = embedded.url;
  }

  const pool: Pool = createPool(databaseUrl, { max: config.poolMax, logger: log });
  const closeAll: Array<() => Promise<unknown>> = [];
  try {
    const applied = await migrate(pool);
    if (applied.length) log.info(`applied migrations: ${applied.join(', ')}`);

    const sessionSecret = await sessionSecretFor(config, log);
    const { app, ctx, session } = createApp({ config, db: pool, logger: log, sessionSecret });
    const server = http.createServer(app);
    const io = createSocketServer(server, { ctx, sessionMiddleware: session.middleware });
    const closeAdapter = await attachAdapter(io, config, databaseUrl, log);

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const shown =
      config.host === '0.0.0.0' || config.host === '127.0.0.1' ? 'localhost' : config.host;
    log.info(
      { ms: Date.now() - started, database: embedded ? 'embedded' : 'server' },
      `Leo's Chat room is ready on http://${shown}:${port}`,
    );

    closeAll.push(
      () => new Promise((r) => io.close(() => r(undefined))), // also closes the HTTP server
      closeAdapter,
      async () => session.store.close(),
    );
  } catch (err) {
    log.fatal({ err }, 'start failed');
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    process.exit(1);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    for (const close of closeAll) await close().catch((err) => log.warn({ err }, 'close failed'));
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch((err) => log.warn({ err }, 'stopping the database failed'));
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

await main();

// Wires config → database → migrations → context → app + Socket.IO → listen, and closes
// them in reverse on SIGTERM/SIGINT — also when the signal comes mid-start.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfigOrExit, type Config } from './core/config.js';
import { createLogger, type Logger } from './core/logger.js';
import { createPool } from './core/db/pool.js';
import { migrate, MigrationError } from './core/db/migrate.js';
import { startEmbeddedDatabase, EmbeddedDatabaseError } from './core/db/embedded.js';
import { createApp } from './app.js';
import { createContext } from './core/context.js';
import { startSweeping } from './features/attachments/service.js';
import { startMergingSearchIndexes } from './features/search/pending.js';
import { checkSearchCollation } from './features/search/service.js';
import { createSession } from './core/http/session.js';
import { listenForMemberChanges } from './features/conversations/member-events.js';
import { createSocketServer } from './core/realtime/socket.js';
import { attachAdapter } from './core/realtime/adapter.js';
import { vapidKeysFor } from './features/notifications/vapid.js';

async function sessionSecretFor(config: Config, log: Logger): Promise<string> {
  if (config.sessionSecret) return config.sessionSecret;
  // Development: made once and kept, so a restart keeps everyone logged in.
  const file = path.join(config.dataDir, 'session-secret');
  const kept = await readFile(file, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );
  if (kept.length >= 32) return kept;
  const secret = randomBytes(32).toString('hex');
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(file, secret, { mode: 0o600 });
  log.info(`generated a session secret in ${file}`);
  return secret;
}

export async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config.logLevel, {
    pretty: !config.isProduction && process.stdout.isTTY === true,
  });
  const started = Date.now();

  // What is running so far, closed last-first. A signal that arrives mid-start
  // closes what exists; whatever starts after that is closed as soon as it exists.
  const closers: Array<() => Promise<unknown>> = [];
  let stopping = false;
  let starting = true;
  const track = async (close: () => Promise<unknown>) => {
    closers.push(close);
    if (stopping) {
      starting = false;
      await shutdown('stopped while starting');
    }
  };
  const shutdown = async (why: string) => {
    if (!stopping) log.info(`${why}: shutting down`);
    stopping = true;
    // Mid-start, the step under way finishes first (a half-started database must be stopped too).
    if (starting) return;
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    while (closers.length) {
      const close = closers.pop()!;
      await close().catch((err: unknown) => log.warn({ err }, 'close failed'));
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const embedded = await startEmbeddedDatabase({
        dataDir: config.dataDir,
        log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
      });
      await track(() => embedded.stop());
      databaseUrl = embedded.url;
    }

    const pool = createPool(databaseUrl, { max: config.poolMax, logger: log });
    await track(() => pool.end());
    const applied = await migrate(pool);
    if (applied.length) log.info(`applied migrations: ${applied.join(', ')}`);

    const sessionSecret = await sessionSecretFor(config, log);
    const vapid = await vapidKeysFor(config, log);
    const ctx = createContext({ config, db: pool, logger: log, vapid });
    const session = createSession({ pool, secret: sessionSecret, secure: config.isProduction });
    await track(listenForMemberChanges(pool, ctx.members, log));
    await track(async () => session.store.close());
    await track(() => ctx.push.idle()); // after the writer: sends the pushes its last acks queued
    await track(() => ctx.writer.close()); // acks what is queued before the pool ends
    const stopSweeping = startSweeping(ctx); // uploads never sent, removed after a day
    await track(() => Promise.resolve(stopSweeping()));
    const stopMerging = startMergingSearchIndexes(ctx, config.searchIndexMergeMs);
    await checkSearchCollation(ctx);
    await track(() => Promise.resolve(stopMerging()));
    const server = http.createServer(createApp(ctx, { config, session }));
    const { io, guard } = createSocketServer(server, {
      ctx,
      sessionMiddleware: session.middleware,
      config,
    });
    await track(await attachAdapter(io, config, databaseUrl, log));
    await track(() => {
      guard.stop();
      return new Promise((r) => io.close(() => r(undefined))); // closes the HTTP server too
    });

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const shown = ['0.0.0.0', '127.0.0.1', '::'].includes(config.host) ? 'localhost' : config.host;
    log.info(
      { ms: Date.now() - started, database: config.databaseUrl ? 'server' : 'embedded' },
      `Leo's Chat room is ready on http://${shown}:${port} (database: ${config.databaseUrl ? 'server' : 'embedded'})`,
    );
    starting = false;
    if (stopping) await shutdown('stopped while starting');
  } catch (err) {
    // A stop signal may have failed a child (initdb, a check) before its own handler ran here.
    await new Promise((r) => setTimeout(r, 50));
    if (stopping) {
      // The signal also reached a child (initdb, say) and failed the start: that is the stop asked for.
      log.info({ err: (err as Error).message }, 'start interrupted by the stop signal');
      while (closers.length) await closers.pop()!().catch(() => undefined);
      log.info('stopped');
      process.exit(0);
    }
    if (err instanceof EmbeddedDatabaseError || err instanceof MigrationError) {
      log.fatal(err.message);
      console.error(err.message);
    } else {
      log.fatal({ err }, 'start failed');
    }
    stopping = true;
    while (closers.length) await closers.pop()!().catch(() => undefined);
    process.exit(1);
  }
}

await main();

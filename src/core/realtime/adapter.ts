// Fan-out across instances. REDIS_URL → Redis Streams adapter; SOCKET_ADAPTER=postgres →
// LISTEN/NOTIFY on the same database; neither → one instance, no adapter.
import { createClient as createRedisClient } from 'redis';
import { createAdapter as createRedisStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { createAdapter as createPostgresAdapter } from '@socket.io/postgres-adapter';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createPool } from '../db/pool.js';
import type { IoServer } from './notify.js';

/** Attaches the configured adapter; returns what closes its connections. */
export async function attachAdapter(
  io: IoServer,
  config: Pick<Config, 'socketAdapter' | 'redisUrl' | 'socketChannel'>,
  databaseUrl: string,
  log: Logger,
): Promise<() => Promise<void>> {
  if (config.socketAdapter === 'redis' && config.redisUrl) {
    const client = createRedisClient({ url: config.redisUrl });
    client.on('error', (err: Error) => log.warn({ err }, 'redis connection error'));
    await client.connect();
    // Apps sharing one Redis stay apart by their channel name.
    io.adapter(
      createRedisStreamsAdapter(client, {
        streamName: `${config.socketChannel}:stream`,
        channelPrefix: config.socketChannel,
      }),
    );
    log.info('socket fan-out through Redis Streams');
    return async () => {
      await client.quit().catch(() => undefined);
    };
  }
  if (config.socketAdapter === 'postgres') {
    // Its own small pool: the adapter keeps one connection LISTENing for good.
    const pool = createPool(databaseUrl, { max: 3, logger: log });
    io.adapter(
      createPostgresAdapter(pool, {
        channelPrefix: config.socketChannel,
        errorHandler: (err) => log.warn({ err }, 'postgres adapter error'),
      }),
    );
    log.info('socket fan-out through PostgreSQL LISTEN/NOTIFY');
    return () => pool.end();
  }
  return () => Promise.resolve();
}

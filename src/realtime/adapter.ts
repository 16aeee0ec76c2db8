import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Pool } from '../db/pool.js';
import type { IoServer } from './notify.js';

/** Fan-out across instances; one instance needs none. Returns its closer. */
export async function attachAdapter(
  _io: IoServer,
  config: Config,
  _pool: Pool,
  _databaseUrl: string,
  log: Logger,
): Promise<() => Promise<void>> {
  if (config.socketAdapter !== 'none') {
    log.warn(`SOCKET_ADAPTER=${config.socketAdapter} is not available yet; running as one instance`);
  }
  return async () => undefined;
}

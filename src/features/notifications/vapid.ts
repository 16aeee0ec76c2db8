// The server's VAPID key pair, its identity to the browsers' push services. Kept like the
// session secret (server.ts): given by the environment in production (VAPID_PUBLIC_KEY,
// VAPID_PRIVATE_KEY, VAPID_SUBJECT), else made once and kept in DATA_DIR/vapid.json (0600),
// so a restart keeps every browser's subscription working (a new pair would orphan them all).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import webpush from 'web-push';
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { VapidKeys } from './pusher.js';

export async function vapidKeysFor(
  config: Pick<Config, 'vapid' | 'dataDir' | 'isProduction'>,
  log: Logger,
): Promise<VapidKeys | undefined> {
  const subject = config.vapid.subject;
  if (config.vapid.publicKey && config.vapid.privateKey) {
    return { publicKey: config.vapid.publicKey, privateKey: config.vapid.privateKey, subject };
  }
  if (config.isProduction) {
    log.warn(
      'Web Push is off: set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY (npx web-push generate-vapid-keys)',
    );
    return undefined;
  }
  const file = path.join(config.dataDir, 'vapid.json');
  const kept: Partial<VapidKeys> = await readFile(file, 'utf8').then(
    (s) => JSON.parse(s) as Partial<VapidKeys>,
    () => ({}),
  );
  if (kept.publicKey && kept.privateKey)
    return { publicKey: kept.publicKey, privateKey: kept.privateKey, subject };
  const made = webpush.generateVAPIDKeys();
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(file, JSON.stringify(made), { mode: 0o600 });
  log.info(`generated Web Push (VAPID) keys in ${file}`);
  return { ...made, subject };
}

// Every instance hears of a change of members (migrations/2026…_notify_member_changes:
// a trigger on conversation_members NOTIFYs at commit) and drops that
// conversation from its member cache. LISTEN/NOTIFY rather than the socket
// adapter's serverSideEmit: the notification is part of the committing
// transaction, so any writer (this app on any instance, an account deletion's
// cascade, an operator's SQL) invalidates, and it works with no adapter at all.
import type { Logger } from '../../core/logger.js';
import type { Pool, PoolClient } from '../../core/db/pool.js';
import type { MemberCache } from './member-cache.js';

const CHANNEL = 'conversation_members_changed';
const RETRY_MS = 2_000;

/** Listens until the returned function is called; reconnects when the connection drops. */
export function listenForMemberChanges(
  pool: Pool,
  members: MemberCache,
  log: Logger,
): () => Promise<void> {
  let client: PoolClient | undefined;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const onNotification = (n: { channel: string; payload?: string }) => {
    const id = Number(n.payload);
    if (n.channel === CHANNEL && Number.isSafeInteger(id)) members.invalidate(id);
  };
  const connect = async () => {
    try {
      const c = await pool.connect();
      c.on('notification', onNotification);
      const onError = (err: Error) => {
        log.warn({ err }, 'member change listener lost its connection');
        c.off('error', onError);
        c.release(err);
        if (client === c) client = undefined;
        // Changes while we were away were not heard: forget everything, then listen again.
        members.clear();
        if (!stopped) retry = setTimeout(() => void connect(), RETRY_MS);
      };
      c.on('error', onError);
      await c.query(`LISTEN ${CHANNEL}`);
      client = c;
      members.clear();
      if (stopped) await stop();
    } catch (err) {
      log.warn({ err }, 'member change listener could not connect; retrying');
      if (!stopped) retry = setTimeout(() => void connect(), RETRY_MS);
    }
  };
  const stop = async () => {
    stopped = true;
    clearTimeout(retry);
    const c = client;
    client = undefined;
    if (!c) return;
    c.removeAllListeners('error');
    c.on('error', () => undefined); // closing anyway
    c.removeAllListeners('notification');
    await c.query(`UNLISTEN ${CHANNEL}`).catch(() => undefined);
    c.release();
  };
  void connect();
  return stop;
}

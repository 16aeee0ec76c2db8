import type { AppContext } from '../../core/context.js';
import { touchLastSeen } from '../accounts/db.js';
import { listWatchers } from '../friends/db.js';

/**
 * Records the moment and tells those the policy lets watch the user: friends and the
 * members of conversations the user accepted, never across a block (friends/db.ts).
 */
export async function announcePresence(
  ctx: AppContext,
  userId: number,
  online: boolean,
): Promise<void> {
  const lastSeenAt = await touchLastSeen(ctx.db, userId);
  const watchers = await listWatchers(ctx.db, userId);
  ctx.notify.presence(watchers, { userId, online, lastSeenAt: lastSeenAt.toISOString() });
}

import type { AppContext } from '../../core/context.js';
import type { PresenceDto } from '../../shared/protocol.js';
import { lastSeenOf, touchLastSeen } from '../accounts/db.js';
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

/**
 * Someone just accepted others (a friend request, a message request): whoever may now watch
 * whom hears the other's state at once, not at the next connect or disconnect. Each
 * direction is asked of the policy (listWatchers), so a one-way acceptance stays one-way.
 */
export async function introducePresence(
  ctx: AppContext,
  userId: number,
  otherIds: number[],
): Promise<void> {
  if (!otherIds.length) return;
  const ids = [userId, ...otherIds];
  const [online, seen, myWatchers, theirWatchers] = await Promise.all([
    ctx.notify.onlineAmong(ids),
    lastSeenOf(ctx.db, ids),
    listWatchers(ctx.db, userId),
    Promise.all(otherIds.map((id) => listWatchers(ctx.db, id))),
  ]);
  const stateOf = (id: number): PresenceDto => ({
    userId: id,
    online: online.has(id),
    lastSeenAt: seen.get(id)?.toISOString() ?? null,
  });
  ctx.notify.presence(
    otherIds.filter((id) => myWatchers.includes(id)),
    stateOf(userId),
  );
  otherIds.forEach((id, i) => {
    if (theirWatchers[i]!.includes(userId)) ctx.notify.presence([userId], stateOf(id));
  });
}

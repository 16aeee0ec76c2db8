import type { AppContext } from '../../core/context.js';
import { touchLastSeen } from '../accounts/db.js';
import { listConversationPeers } from '../conversations/db.js';

/** Records the moment and tells everyone who shares a conversation with the user. */
export async function announcePresence(
  ctx: AppContext,
  userId: number,
  online: boolean,
): Promise<void> {
  const lastSeenAt = await touchLastSeen(ctx.db, userId);
  const peers = await listConversationPeers(ctx.db, userId);
  ctx.notify.presence(peers, { userId, online, lastSeenAt: lastSeenAt.toISOString() });
}

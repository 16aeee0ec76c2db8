// Presence: online when the first socket of a user connects, offline when the
// last one has gone (after a grace period). Only the socket layer knows this.
import type { AppContext } from '../../core/context.js';
import { userRoom, type IoServer } from '../../core/realtime/notify.js';
import type { ChatSocket } from '../../core/realtime/handlers.js';
import { announcePresence } from './service.js';

// Users whose last socket on this instance just closed, waiting out the grace period.
const offlineTimers = new Map<number, ReturnType<typeof setTimeout>>();

export function trackPresence(io: IoServer, socket: ChatSocket, ctx: AppContext): void {
  const userId = socket.data.userId;
  const leaving = offlineTimers.get(userId);
  if (leaving) {
    // Back within the grace period (a page load, a network blip): nobody saw them go.
    clearTimeout(leaving);
    offlineTimers.delete(userId);
  } else {
    void announceIfAlone(io, socket, ctx, true);
  }
  socket.on('disconnect', () => {
    clearTimeout(offlineTimers.get(userId));
    const timer = setTimeout(() => {
      offlineTimers.delete(userId);
      void announceIfAlone(io, socket, ctx, false);
    }, ctx.presenceGraceMs);
    timer.unref();
    offlineTimers.set(userId, timer);
  });
}

/** Tells the user's peers, unless another socket of theirs (on any instance) is still open. */
async function announceIfAlone(io: IoServer, socket: ChatSocket, ctx: AppContext, online: boolean) {
  const userId = socket.data.userId;
  try {
    const sockets = await io.in(userRoom(userId)).fetchSockets();
    const others = sockets.filter((s) => s.id !== socket.id).length;
    if (others > 0) return;
    await announcePresence(ctx, userId, online);
  } catch (err) {
    ctx.logger.warn({ err, userId }, 'presence update failed');
  }
}

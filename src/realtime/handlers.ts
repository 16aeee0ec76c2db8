// Thin adapters: parse nothing here beyond the envelope, call a service, ack.
import type { Socket } from 'socket.io';
import { AppError } from '../errors.js';
import { isConnectionError } from '../services/message-writer.js';
import type { Ctx } from '../services/context.js';
import * as messages from '../services/messages.js';
import * as conversations from '../services/conversations.js';
import { touchLastSeen } from '../db/users.js';
import { userRoom, type IoServer } from './notify.js';
import type { SessionGuard } from './session-guard.js';
import type {
  ClientToServerEvents,
  ErrorDto,
  ServerToClientEvents,
  SocketData,
} from './protocol.js';

export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, object, SocketData>;

function toError(err: unknown): ErrorDto {
  if (isConnectionError(err)) {
    return {
      code: 'unavailable',
      message: 'The database is not answering just now. Try again in a moment.',
    };
  }
  if (err instanceof AppError) {
    const field = err.fields && Object.values(err.fields)[0];
    return { code: err.code, message: field ?? err.message };
  }
  return { code: 'internal', message: 'Something went wrong on our side. Please try again.' };
}

const SESSION_ENDED = 'session_ended';

export function registerHandlers(
  io: IoServer,
  socket: ChatSocket,
  ctx: Ctx,
  guard: SessionGuard,
): void {
  const user = () => ({ id: socket.data.userId, displayName: socket.data.displayName });
  /** Each event first asks whether the session still stands (it may have been deleted by hand). */
  const checked = async (handler: (payload: unknown) => Promise<object>, payload: unknown) => {
    if (!(await guard.holds(socket.data.sessionId, socket.data.userId))) {
      throw new AppError(401, 'Your session has ended. Log in again.', SESSION_ENDED);
    }
    return handler(payload);
  };

  /** Every event is acked; a bad payload or a missing ack never throws out of here. */
  const on = (
    event: keyof ClientToServerEvents,
    handler: (payload: unknown) => Promise<object>,
  ) => {
    socket.on(event, (...args: unknown[]) => {
      // The ack is the last argument when there is one, whatever came before it.
      const ack =
        typeof args.at(-1) === 'function' ? (args.pop() as (r: object) => void) : undefined;
      const payload = args[0];
      const reply = ack ?? (() => undefined);
      checked(handler, payload).then(
        (result) => reply({ ok: true, ...result }),
        (err: unknown) => {
          if (isConnectionError(err) || (err instanceof AppError && err.code === 'unavailable')) {
            ctx.logger.warn({ err, event }, 'database unavailable');
          } else if (!(err instanceof AppError) || err.status >= 500) {
            ctx.logger.error({ err, event, userId: socket.data.userId }, 'socket handler failed');
          }
          reply({ ok: false, error: toError(err) });
          if (err instanceof AppError && err.code === SESSION_ENDED) socket.disconnect(true);
        },
      );
    });
  };

  on('message:send', async (p) => ({ message: await messages.sendMessage(ctx, user(), p) }));
  const reading = () => ctx.limits.read.take(socket.data.userId);
  on('sync', async (p) => {
    reading();
    return messages.syncMessages(ctx, socket.data.userId, p);
  });
  on('conversation:read', async (p) => {
    reading();
    await messages.markRead(ctx, socket.data.userId, p);
    return {};
  });
  on('typing', async (p) => {
    await messages.setTyping(ctx, user(), p);
    return {};
  });
  on('inbox:sync', async () => {
    reading();
    const rows = await conversations.inbox(ctx, socket.data.userId);
    return { unread: rows.map((r) => ({ conversationId: r.id, unread: r.unread })) };
  });

  const userId = socket.data.userId;
  const leaving = offlineTimers.get(userId);
  if (leaving) {
    // Back within the grace period (a page load, a network blip): nobody saw them go.
    clearTimeout(leaving);
    offlineTimers.delete(userId);
  } else {
    void announcePresence(io, socket, ctx, true);
  }
  socket.on('disconnect', () => {
    clearTimeout(offlineTimers.get(userId));
    const timer = setTimeout(() => {
      offlineTimers.delete(userId);
      void announcePresence(io, socket, ctx, false);
    }, ctx.presenceGraceMs);
    timer.unref();
    offlineTimers.set(userId, timer);
  });
}

// Users whose last socket on this instance just closed, waiting out the grace period.
const offlineTimers = new Map<number, ReturnType<typeof setTimeout>>();

/** Online when the first socket of a user connects, offline when the last one has gone. */
async function announcePresence(io: IoServer, socket: ChatSocket, ctx: Ctx, connecting: boolean) {
  const userId = socket.data.userId;
  try {
    const sockets = await io.in(userRoom(userId)).fetchSockets();
    const others = sockets.filter((s) => s.id !== socket.id).length;
    if (others > 0) return;
    const lastSeenAt = await touchLastSeen(ctx.db, userId);
    const contacts = await conversations.contactsOf(ctx, userId);
    ctx.notify.presence(contacts, {
      userId,
      online: connecting,
      lastSeenAt: lastSeenAt.toISOString(),
    });
  } catch (err) {
    ctx.logger.warn({ err, userId }, 'presence update failed');
  }
}

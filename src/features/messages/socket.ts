import type { AppContext } from '../../core/context.js';
import { onEvent, type ChatSocket } from '../../core/realtime/handlers.js';
import * as messages from './service.js';

export function registerMessageEvents(socket: ChatSocket, ctx: AppContext): void {
  const user = () => ({ id: socket.data.userId, displayName: socket.data.displayName });
  const reading = () => ctx.limits.read.take(socket.data.userId);

  onEvent(socket, ctx, 'message:send', async (p) => ({
    message: await messages.sendMessage(ctx, user(), p),
  }));
  onEvent(socket, ctx, 'sync', async (p) => {
    reading();
    return messages.syncMessages(ctx, socket.data.userId, p);
  });
  onEvent(socket, ctx, 'conversation:read', async (p) => {
    reading();
    await messages.markRead(ctx, socket.data.userId, p);
    return {};
  });
  onEvent(socket, ctx, 'typing', async (p) => {
    await messages.setTyping(ctx, user(), p);
    return {};
  });
}

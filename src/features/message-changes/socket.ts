import type { AppContext } from '../../core/context.js';
import { onEvent, type ChatSocket } from '../../core/realtime/handlers.js';
import * as changes from './service.js';

export function registerMessageChangeEvents(socket: ChatSocket, ctx: AppContext): void {
  const user = () => ({ id: socket.data.userId });
  onEvent(socket, ctx, 'message:edit', async (p) => ({
    message: await changes.editMessage(ctx, user(), p),
  }));
  onEvent(socket, ctx, 'message:delete', async (p) => ({
    message: await changes.deleteMessage(ctx, user(), p),
  }));
  onEvent(socket, ctx, 'reaction:toggle', async (p) => ({
    message: await changes.toggleReaction(ctx, user(), p),
  }));
}

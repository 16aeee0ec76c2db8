import type { AppContext } from '../../core/context.js';
import { onEvent, type ChatSocket } from '../../core/realtime/handlers.js';
import * as conversations from './service.js';

export function registerConversationEvents(socket: ChatSocket, ctx: AppContext): void {
  onEvent(socket, ctx, 'inbox:sync', async () => {
    ctx.limits.read.take(socket.data.userId);
    const { inbox: rows } = await conversations.inbox(ctx, socket.data.userId);
    return { unread: rows.map((r) => ({ conversationId: r.id, unread: r.unread })) };
  });
}

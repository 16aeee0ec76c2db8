// Every feature's socket events, registered on each new socket: the socket
// side's counterpart of the routes list in app.ts.
import type { AppContext } from './core/context.js';
import type { IoServer } from './core/realtime/notify.js';
import type { ChatSocket } from './core/realtime/handlers.js';
import { registerMessageEvents } from './features/messages/socket.js';
import { registerConversationEvents } from './features/conversations/socket.js';
import { trackPresence } from './features/presence/socket.js';
import { registerMessageChangeEvents } from './features/message-changes/socket.js';

export function registerHandlers(io: IoServer, socket: ChatSocket, ctx: AppContext): void {
  registerMessageEvents(socket, ctx);
  registerConversationEvents(socket, ctx);
  registerMessageChangeEvents(socket, ctx);
  trackPresence(io, socket, ctx);
}

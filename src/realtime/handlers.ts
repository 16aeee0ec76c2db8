import type { Socket } from 'socket.io';
import type { Ctx } from '../services/context.js';
import type { IoServer } from './notify.js';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from './protocol.js';

export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, object, SocketData>;

export function registerHandlers(_io: IoServer, _socket: ChatSocket, _ctx: Ctx): void {
  // Filled in with the live-messages work.
}

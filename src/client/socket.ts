// The page's one socket, typed by the shared protocol.
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/protocol.js';

export type ChatClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function connectSocket(): ChatClientSocket {
  return io({ withCredentials: true });
}

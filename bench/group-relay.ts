// The group baseline: a bare Socket.IO room broadcast (no app, no session, no database).
// Every socket joins one room; message:send emits message:new to the room, then acks.
// Prints {"port": n} once listening; exits on SIGTERM or when stdin closes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type {
  ClientToServerEvents,
  MessageDto,
  ServerToClientEvents,
} from '../src/shared/protocol.js';

const httpServer = http.createServer((_req, res) => res.writeHead(200).end('{"ok":true}'));
const io = new Server<ClientToServerEvents, ServerToClientEvents, object, { userId: number }>(
  httpServer,
  { serveClient: false, maxHttpBufferSize: 64 * 1024, pingInterval: 20_000, pingTimeout: 20_000 },
);

let nextId = 1;
io.on('connection', (socket) => {
  const userId = Number((socket.handshake.auth as { userId?: unknown }).userId) || 0;
  void socket.join('group');
  socket.on('message:send', (p, ack) => {
    if (typeof ack !== 'function' || !p || typeof p.body !== 'string') return;
    const message: MessageDto = {
      id: nextId++,
      conversationId: p.conversationId,
      senderId: userId,
      senderName: `Bench user ${userId}`,
      clientId: p.clientId,
      body: p.body,
      createdAt: new Date().toISOString(),
      // The app's payload carries the rendered body too: the same bytes on the wire.
      html: `<p>${p.body}</p>`,
      editedAt: null,
      deleted: false,
      replyTo: null,
      reactions: [],
      changeSeq: 0,
    };
    io.to('group').emit('message:new', message);
    ack({ ok: true, message });
  });
});

httpServer.listen(0, '127.0.0.1', () => {
  const { port } = httpServer.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
const stop = () => {
  void io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
};
process.on('SIGTERM', stop);
process.stdin.on('close', stop);
process.stdin.resume();

// The baseline: a bare Socket.IO relay with no app, no session and no database, run as
// `node --import tsx bench/relay-server.ts`. Same server options and the same pattern as the
// app: a socket joins its user's room; on message:send it emits message:new to the rooms of
// both members (so every tab of both people gets it, the sender's too) and then acks.
// Prints {"port": n} on stdout once listening; exits on SIGTERM. The benchmark preloads
// bench/server-probe.mjs into it too (memory, event-loop delay, exit when stdin closes).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type {
  ClientToServerEvents,
  MessageDto,
  ServerToClientEvents,
} from '../src/shared/protocol.js';

interface RelayData {
  userId: number;
  peerId: number;
  conversationId: number;
}

const httpServer = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
});
const io = new Server<ClientToServerEvents, ServerToClientEvents, object, RelayData>(httpServer, {
  serveClient: false,
  maxHttpBufferSize: 64 * 1024,
  pingInterval: 20_000,
  pingTimeout: 20_000,
});

io.use((socket, next) => {
  const a = socket.handshake.auth as Partial<Record<keyof RelayData, unknown>>;
  const ok = [a.userId, a.peerId, a.conversationId].every((v) => Number.isInteger(v));
  if (!ok) return next(new Error('unauthorized'));
  socket.data = {
    userId: a.userId as number,
    peerId: a.peerId as number,
    conversationId: a.conversationId as number,
  };
  next();
});

let nextId = 1;
io.on('connection', (socket) => {
  void socket.join(`user:${socket.data.userId}`);
  socket.on('message:send', (p, ack) => {
    if (typeof ack !== 'function') return;
    if (
      !p ||
      p.conversationId !== socket.data.conversationId ||
      typeof p.body !== 'string' ||
      typeof p.clientId !== 'string'
    ) {
      ack({ ok: false, error: { code: 'invalid', message: 'bad message' } });
      return;
    }
    const message: MessageDto = {
      id: nextId++,
      conversationId: p.conversationId,
      senderId: socket.data.userId,
      senderName: `Bench user ${socket.data.userId}`,
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
    io.to([`user:${socket.data.userId}`, `user:${socket.data.peerId}`]).emit(
      'message:new',
      message,
    );
    ack({ ok: true, message });
  });
});

httpServer.listen(0, '127.0.0.1', () => {
  const { port } = httpServer.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

const stop = () => {
  void io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// The baseline: a bare Socket.IO relay with no app, no session and no database, run as
// `node --import tsx bench/relay-server.ts`. Same server options and the same pattern as the
// app: a socket joins its user's room; on message:send it emits message:new to the rooms of
// both members (so every tab of both people gets it, the sender's too) and then acks.
// Prints {"port": n} on stdout once listening; exits on SIGTERM. The benchmark preloads
// bench/server-probe.mjs into it too (memory, event-loop delay, exit when stdin closes).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
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

// RELAY_STORE_URL makes this the floor of any server that keeps the app's promise (a message
// is committed before its ack and its delivery): each message is also inserted into one bare
// table, with group commit (messages that arrive while a batch is being committed go together
// in the next, one INSERT … SELECT unnest(…) in autocommit), and emitted and acked after that
// commit. No session, no checks, no indexes but the key: what is left of the app's path is the
// round trip to PostgreSQL and its WAL flush.
// RELAY_STORE_BATCHES (default 1) lets that many batches be in flight at once, each on a
// connection of its own, so their commits may share a WAL flush.
interface Pending {
  message: MessageDto;
  send: (m: MessageDto) => void;
}
const storeUrl = process.env.RELAY_STORE_URL;
const inFlightMax = Number(process.env.RELAY_STORE_BATCHES ?? 1);
const pool = storeUrl ? new pg.Pool({ connectionString: storeUrl, max: inFlightMax }) : undefined;
let queue: Pending[] = [];
let inFlight = 0;

async function storeBatch(db: pg.Pool, batch: Pending[]): Promise<void> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO relay_floor (sender_id, conversation_id, client_id, body)
     SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[]) RETURNING id`,
    [
      batch.map((p) => p.message.senderId),
      batch.map((p) => p.message.conversationId),
      batch.map((p) => p.message.clientId),
      batch.map((p) => p.message.body),
    ],
  );
  batch.forEach((p, i) => p.send({ ...p.message, id: Number(rows[i]!.id) }));
}

function startBatches(db: pg.Pool): void {
  while (inFlight < inFlightMax && queue.length > 0) {
    const batch = queue;
    queue = [];
    inFlight++;
    storeBatch(db, batch).then(
      () => {
        inFlight--;
        startBatches(db);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
}

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
    const send = (m: MessageDto) => {
      io.to([`user:${socket.data.userId}`, `user:${socket.data.peerId}`]).emit('message:new', m);
      ack({ ok: true, message: m });
    };
    if (!pool) {
      send(message);
      return;
    }
    queue.push({ message, send });
    startBatches(pool);
  });
});

if (pool) {
  await pool.query(`DROP TABLE IF EXISTS relay_floor`);
  await pool.query(`CREATE TABLE relay_floor (id bigserial PRIMARY KEY, sender_id int NOT NULL,
    conversation_id int NOT NULL, client_id text NOT NULL, body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`);
}

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

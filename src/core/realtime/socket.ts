// Socket.IO on the same HTTP server, sharing the Express session: a socket
// without a logged-in session is refused at the handshake, and so is one over
// the cap of sockets per user or per address.
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { Server } from 'socket.io';
import type { RequestHandler } from 'express';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { socketError } from '../answers.js';
import * as accounts from '../../features/accounts/service.js';
import { sessionRoom, userRoom, type IoServer } from './notify.js';
import { registerHandlers } from '../../sockets.js';
import { SessionGuard } from './session-guard.js';
import {
  SocketCounter,
  SocketRefusal,
  addressKey,
  addressRoom,
  clientAddress,
} from './socket-limits.js';

type SessionRequest = IncomingMessage & {
  session?: { userId?: number };
  sessionID?: string;
};

export type SocketConfig = Pick<
  Config,
  'trustProxy' | 'socketsPerUser' | 'socketsPerAddress' | 'sessionSweepMs'
>;

export function createSocketServer(
  httpServer: HttpServer,
  opts: {
    ctx: AppContext;
    sessionMiddleware: RequestHandler;
    config: SocketConfig;
    /** How long a session check is reused by the session's events (default 2 s). */
    sessionCacheMs?: number;
  },
): { io: IoServer; guard: SessionGuard } {
  const { ctx, config } = opts;
  const io: IoServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: 64 * 1024, // a message is at most 4,000 characters
    pingInterval: 20_000,
    pingTimeout: 20_000,
    // Only pages of this site may open a socket with its cookie (no cross-site hijacking).
    allowRequest: (req, callback) => callback(null, sameOrigin(req)),
    connectionStateRecovery: undefined,
  });
  const guard = new SessionGuard(ctx.db, ctx.logger, {
    sweepMs: config.sessionSweepMs,
    cacheMs: opts.sessionCacheMs ?? 2_000,
  });
  const counter = new SocketCounter({
    perUser: config.socketsPerUser,
    perAddress: config.socketsPerAddress,
  });

  io.engine.use((req: SessionRequest, res: ServerResponse, next: (err?: unknown) => void) => {
    // Only the handshake needs the session; later polling requests carry the sid.
    const isHandshake = (req as { _query?: { sid?: string } })._query?.sid === undefined;
    if (!isHandshake) return next();
    (opts.sessionMiddleware as unknown as (a: unknown, b: unknown, c: unknown) => void)(
      req,
      res,
      next,
    );
  });

  io.use(async (socket, next) => {
    const req = socket.request as SessionRequest;
    const id = req.session?.userId;
    const user =
      id === undefined ? undefined : await accounts.findUser(ctx, id).catch(() => undefined);
    if (!user || !req.sessionID) return next(new Error('unauthorized'));
    // The socket keeps its handshake request for life; the session object is not needed again.
    delete req.session;
    const address = addressKey(clientAddress(req, config.trustProxy));
    try {
      const release = await counter.reserve(io, user.id, address);
      // A client gone before the connection completes never gets 'disconnect'; its connection closes.
      socket.once('disconnect', release);
      socket.conn.once('close', release);
    } catch (err) {
      if (err instanceof SocketRefusal) return next(err);
      ctx.logger.warn({ err }, 'counting sockets failed');
      return next(new Error('unavailable'));
    }
    socket.data.userId = user.id;
    socket.data.displayName = user.displayName;
    socket.data.sessionId = req.sessionID;
    socket.data.address = address;
    next();
  });

  io.on('connection', (socket) => {
    void socket.join([
      userRoom(socket.data.userId),
      sessionRoom(socket.data.sessionId),
      addressRoom(socket.data.address),
    ]);
    // Before any handler: each event first asks whether the session still stands (it may
    // have been pruned or deleted by hand); if not, the event is refused and the socket dropped.
    socket.use((packet, next) => {
      const last: unknown = packet.at(-1);
      const ack = typeof last === 'function' ? (last as (answer: object) => void) : undefined;
      guard.holds(socket.data.sessionId, socket.data.userId).then(
        (holds) => {
          if (holds) return next();
          const ended = new AppError(401, 'Your session has ended. Log in again.', 'session_ended');
          ack?.({ ok: false, error: socketError(ended) });
          socket.disconnect(true);
        },
        (err: unknown) => {
          ctx.logger.warn({ err }, 'session check failed');
          ack?.({ ok: false, error: socketError(err) });
        },
      );
    });
    registerHandlers(io, socket, ctx);
  });

  ctx.notify.attach(io);
  guard.start(io); // server.ts and the tests stop it before closing io
  return { io, guard };
}

function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true; // not a browser (tests, tools); they carry no ambient cookie
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

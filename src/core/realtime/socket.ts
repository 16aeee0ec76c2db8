// Socket.IO on the same HTTP server, sharing the Express session: a socket
// without a logged-in session is refused at the handshake.
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { Server } from 'socket.io';
import type { RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import * as accounts from '../../features/accounts/service.js';
import { sessionRoom, userRoom, type IoServer } from './notify.js';
import { registerHandlers } from '../../sockets.js';

type SessionRequest = IncomingMessage & {
  session?: { userId?: number };
  sessionID?: string;
};

export function createSocketServer(
  httpServer: HttpServer,
  opts: { ctx: AppContext; sessionMiddleware: RequestHandler },
): IoServer {
  const io: IoServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: 64 * 1024, // a message is at most 4,000 characters
    pingInterval: 20_000,
    pingTimeout: 20_000,
    // Only pages of this site may open a socket with its cookie (no cross-site hijacking).
    allowRequest: (req, callback) => callback(null, sameOrigin(req)),
    connectionStateRecovery: undefined,
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
      id === undefined ? undefined : await accounts.findUser(opts.ctx, id).catch(() => undefined);
    if (!user || !req.sessionID) return next(new Error('unauthorized'));
    socket.data.userId = user.id;
    socket.data.displayName = user.displayName;
    socket.data.sessionId = req.sessionID;
    // The socket keeps its handshake request for life; the session object is not needed again.
    delete req.session;
    next();
  });

  io.on('connection', (socket) => {
    void socket.join([userRoom(socket.data.userId), sessionRoom(socket.data.sessionId)]);
    registerHandlers(io, socket, opts.ctx);
  });

  opts.ctx.notify.attach(io);
  return io;
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

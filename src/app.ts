// Builds the Express app; does not listen (server.ts does, tests use supertest).
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Pool } from './db/pool.js';
import { AppError } from './errors.js';
import { Notify } from './realtime/notify.js';
import type { Ctx } from './services/context.js';
import * as accounts from './services/accounts.js';
import { MessageWriter, isConnectionError } from './services/message-writer.js';
import { MemberCache } from './services/member-cache.js';
import { EmailLookupBudget, RateLimiter } from './services/rate-limit.js';
import { conversationRoutes } from './http/conversations.js';
import { createSession, refreshSession, type SessionSetup } from './http/session.js';
import { accountRoutes } from './http/accounts.js';
import { createCsrf } from './http/csrf.js';
import { pageRoutes } from './http/pages.js';
import { makeLimits } from './http/limits.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface AppOptions {
  config: Pick<Config, 'isProduction' | 'trustProxy' | 'bcryptCost' | 'rateLimit'>;
  db: Pool;
  logger: Logger;
  sessionSecret: string;
  notify?: Notify;
  /** Default 5 s; tests shorten it. */
  presenceGraceMs?: number;
  /** Tests pass false so the store sets no timer. */
  pruneSessions?: boolean;
  /** The per-user limiters' clock (ms); tests pass one they move by hand. */
  clock?: () => number;
}

export interface App {
  app: express.Express;
  ctx: Ctx;
  session: SessionSetup;
}

export function createApp(opts: AppOptions): App {
  const { config, logger } = opts;
  const ctx: Ctx = {
    db: opts.db,
    logger,
    notify: opts.notify ?? new Notify(),
    bcryptCost: config.bcryptCost,
    presenceGraceMs: opts.presenceGraceMs ?? 5_000,
    writer: new MessageWriter(opts.db, logger),
    members: new MemberCache(),
    limits: {
      // A person types far slower; a script that floods gets rate_limited.
      send: new RateLimiter(30, 5, config.rateLimit, opts.clock),
      typing: new RateLimiter(10, 2, config.rateLimit, opts.clock),
      // sync, inbox:sync, conversation:read and searches: cheap for a person, costly in a flood.
      read: new RateLimiter(60, 20, config.rateLimit, opts.clock),
      lookups: new EmailLookupBudget(config.rateLimit, opts.clock),
    },
  };
  const session = createSession({
    pool: opts.db,
    secret: opts.sessionSecret,
    secure: config.isProduction,
    prune: opts.pruneSessions,
  });

  const app = express();
  app.set('trust proxy', config.trustProxy);
  app.set('view engine', 'ejs');
  app.set('views', path.join(ROOT, 'views'));
  // Compiled templates are kept (Express only does so in production by default);
  // `npm run dev` restarts on a view change instead.
  app.set('view cache', true);
  app.disable('x-powered-by');
  app.locals.formatTime = formatTime;
  app.locals.firstLine = firstLine;

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          ...(config.isProduction ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      strictTransportSecurity: config.isProduction,
    }),
  );
  // Every view reads these; set before anything can fail so the error page renders too.
  app.use((_req, res, next) => {
    res.locals.user = undefined;
    res.locals.flash = undefined;
    res.locals.csrfToken = () => '';
    next();
  });
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const id = randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: {
        ignore: (req) => req.url === '/healthz' || req.url?.startsWith('/static/') === true,
      },
      serializers: {
        // The path alone: a query may hold what a person typed (`/search?email=…`).
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url.split('?', 1)[0],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.get('/healthz', async (_req, res) => {
    try {
      await opts.db.query('SELECT 1');
      res.json({ ok: true, database: 'up' });
    } catch {
      res.status(503).json({ ok: false, database: 'down' });
    }
  });

  const files = express.static(path.join(ROOT, 'public'), {
    maxAge: config.isProduction ? '1h' : 0,
  });
  // Source maps show the original code with its comments: for a developer, not for the world.
  app.use('/static', (req, res, next) =>
    config.isProduction && req.path.endsWith('.map') ? next() : files(req, res, next),
  );
  // Every page from here on may show someone's data: never kept by a browser or a proxy,
  // so Back after logging out shows nothing private.
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  app.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 50 }));
  app.use(session.middleware);
  app.use(refreshSession);

  // The logged-in user, loaded fresh each request: a deleted account is logged out at once.
  app.use(async (req, res, next) => {
    const id = req.session?.userId;
    if (id !== undefined) {
      const user = await accounts.findUser(ctx, id);
      if (user) res.locals.user = user;
      else delete req.session.userId;
    }
    if (req.session?.flash) {
      res.locals.flash = req.session.flash;
      delete req.session.flash;
    }
    next();
  });

  const csrf = createCsrf({ secure: config.isProduction });
  app.use(csrf.locals);
  app.use(csrf.protect);

  const limits = makeLimits(ctx, config.rateLimit);
  app.use(accountRoutes(ctx, limits));
  app.use(pageRoutes(ctx));
  app.use(conversationRoutes(ctx));

  app.use((_req, _res, next) =>
    next(new AppError(404, 'There is no page at this address.', 'not_found')),
  );
  app.use(errorHandler);

  return { app, ctx, session };
}

const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  let status = 500;
  let message = 'Something went wrong on our side. Please try again.';
  const e = err as { status?: unknown; expose?: unknown; code?: unknown; type?: unknown };
  if (err instanceof AppError) {
    status = err.status;
    message = err.message;
  } else if (isConnectionError(err)) {
    status = 503;
    message = 'The database is not answering just now. Please try again in a moment.';
  } else if (e?.code === 'EBADCSRFTOKEN') {
    status = 403;
    message = 'This form has expired. Go back, reload the page and try again.';
  } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    // body-parser and friends: too large, malformed, unsupported.
    status = e.status;
    message =
      e.type === 'entity.too.large'
        ? 'That was too large to send.'
        : 'The request could not be understood.';
  }
  if (status === 503) req.log?.warn({ err }, 'database unavailable');
  else if (status >= 500) req.log?.error({ err }, 'unhandled error');
  if (res.headersSent) return;
  if (err instanceof AppError && err.retryAfter !== undefined) {
    res.set('Retry-After', String(err.retryAfter));
  }
  res.status(status);
  if (req.accepts(['html', 'json']) === 'json') {
    res.json({ ok: false, error: { code: err instanceof AppError ? err.code : 'error', message } });
    return;
  }
  res.render('error', { status, message }, (renderErr, html) => {
    if (renderErr) res.type('text').send(message);
    else res.send(html);
  });
};

/** Shown without JavaScript; the browser script rewrites it in the reader's own time zone. */
function formatTime(value: Date | string): string {
  const d = typeof value === 'string' ? new Date(value) : value;
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

function firstLine(text: string): string {
  const line = text.trim().split(/\r?\n/, 1)[0] ?? '';
  return [...line].length > 80 ? `${[...line].slice(0, 80).join('')}…` : line;
}

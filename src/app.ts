// Builds the Express app; does not listen (server.ts does, tests use supertest).
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import compression from 'compression';
import express, { type ErrorRequestHandler } from 'express';
import helmet from 'helmet';
import * as timeline from './shared/timeline.js';
import { isMentioned } from './shared/mentions.js';
import { REACTION_EMOJI } from './shared/protocol.js';
import { plainText } from './features/messages/render.js';
import * as fileViews from './shared/files.js';
import { pinoHttp } from 'pino-http';
import type { Config } from './core/config.js';
import { AppError } from './core/errors.js';
import type { AppContext } from './core/context.js';
import * as accounts from './features/accounts/service.js';
import { answerFor } from './core/answers.js';
import { friendRoutes } from './features/friends/routes.js';
import { conversationRoutes } from './features/conversations/routes.js';
import { groupRoutes } from './features/groups/routes.js';
import { messageChangeRoutes } from './features/message-changes/routes.js';
import { refreshSession, type SessionSetup } from './core/http/session.js';
import { accountRoutes } from './features/accounts/routes.js';
import { pageRoutes } from './features/conversations/pages.js';
import { createCsrf } from './core/http/csrf.js';
import { partialRenderer } from './core/http/partials.js';
import { makeLimits } from './core/http/limits.js';
import {
  attachLimits,
  attachmentRoutes,
  attachmentUploadRoutes,
} from './features/attachments/routes.js';
import { searchRoutes } from './features/search/routes.js';
import { exportRoutes } from './features/export/routes.js';
import { notificationRoutes } from './features/notifications/routes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface AppOptions {
  config: Pick<Config, 'isProduction' | 'trustProxy' | 'rateLimit'> & Partial<Pick<Config, 'env'>>;
  /** Built once by server.ts, shared with the socket server. */
  session: SessionSetup;
}

/** Only builds Express: the context and the session come from the caller. */
export function createApp(ctx: AppContext, opts: AppOptions): express.Express {
  const { config, session } = opts;
  const { logger } = ctx;

  const app = express();
  app.set('trust proxy', config.trustProxy);
  app.set('view engine', 'ejs');
  app.set('views', path.join(ROOT, 'views'));
  // Compiled templates are kept (Express only does so in production by default);
  // `npm run dev` restarts on a view change instead.
  app.set('view cache', true);
  app.disable('x-powered-by');
  app.locals.formatTime = formatTime;
  // The inbox's last line reads as the message does, without its formatting marks.
  app.locals.firstLine = (text: string) => firstLine(plainText(text));
  app.locals.reactionEmoji = REACTION_EMOJI;
  // The message list's rules, shared with the browser script (src/shared/timeline.ts).
  Object.assign(app.locals, timeline);
  app.locals.isMentioned = isMentioned;
  Object.assign(app.locals, fileViews); // isPicture, typeLabel, formatSize (src/shared/files.ts)
  app.locals.attachLimits = attachLimits(ctx);
  // The one message partial, fifty times a page: called compiled, not through include().
  app.locals.partial = partialRenderer(path.join(ROOT, 'views'), app.locals, () =>
    app.enabled('view cache'),
  );

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
  app.use((_req, res, next) => {
    res.locals.startedAt = performance.now();
    next();
  });
  app.use(
    pinoHttp({
      logger,
      // A person watching `npm start` sees what went wrong or slow, not every inbox refresh.
      customLogLevel: (_req, res, err) => {
        if (err || res.statusCode >= 500) return 'error';
        if (res.statusCode >= 400) return 'warn';
        const started = (res as unknown as { locals?: { startedAt?: number } }).locals?.startedAt;
        const slow = started !== undefined && performance.now() - started > SLOW_REQUEST_MS;
        return slow || config.env !== 'development' ? 'info' : 'debug';
      },
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
          // An invite link's token opens a group: never in the logs.
          url: req.url.split('?', 1)[0]?.replace(/^\/join\/[^/]+/, '/join/…'),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.get('/healthz', async (_req, res) => {
    try {
      await ctx.db.query('SELECT 1');
      res.json({ ok: true, database: 'up' });
    } catch {
      res.status(503).json({ ok: false, database: 'down' });
    }
  });

  const files = express.static(path.join(ROOT, 'public'), {
    maxAge: config.isProduction ? '1h' : 0,
  });
  // The script and the style sheet gzipped (the script 77 KB → 26 KB; Lighthouse counted the
  // missing compression as the largest saving). Only /static: a page that carries the form
  // token and echoes what was typed (a search) stays uncompressed, so its size cannot leak the
  // token (BREACH).
  app.use('/static', compression());
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
  // Uploads stream their multipart bodies and check the form token as they read (before any file).
  app.use(attachmentUploadRoutes(ctx, csrf));
  app.use(csrf.protect);

  const limits = makeLimits(ctx, config.rateLimit);
  app.use(friendRoutes(ctx));
  app.use(notificationRoutes(ctx)); // before the account page: it adds what that page shows
  app.use(exportRoutes(ctx, config.rateLimit));
  app.use(accountRoutes(ctx, limits));
  app.use(pageRoutes(ctx));
  app.use(groupRoutes(ctx));
  app.use(conversationRoutes(ctx));
  app.use(messageChangeRoutes(ctx));
  app.use(attachmentRoutes(ctx));
  app.use(searchRoutes(ctx));

  app.use((_req, _res, next) =>
    next(new AppError(404, 'There is no page at this address.', 'not_found')),
  );
  app.use(errorHandler);

  return app;
}

const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  const { status, code, message, log } = answerFor(err);
  if (log === 'warn') req.log?.warn({ err }, 'database unavailable');
  else if (log === 'error') req.log?.error({ err }, 'unhandled error');
  if (res.headersSent) return;
  if (err instanceof AppError && err.retryAfter !== undefined) {
    res.set('Retry-After', String(err.retryAfter));
  }
  res.status(status);
  if (req.accepts(['html', 'json']) === 'json') {
    res.json({ ok: false, error: { code, message } });
    return;
  }
  res.render('error', { status, message }, (renderErr, html) => {
    if (renderErr) res.type('text').send(message);
    else res.send(html);
  });
};

/** A request slower than this is logged even in development. */
const SLOW_REQUEST_MS = 500;

/** Shown without JavaScript; the browser script rewrites it in the reader's own time zone. */
function formatTime(value: Date | string): string {
  const d = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(d.getTime())) return ''; // the empty message <template> the script fills
  const iso = d.toISOString(); // twice a message: made once
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function firstLine(text: string): string {
  const line = text.trim().split(/\r?\n/, 1)[0] ?? '';
  return [...line].length > 80 ? `${[...line].slice(0, 80).join('')}…` : line;
}

import { Router, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { AppContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { requireUser, userId } from '../../core/http/helpers.js';
import { writeExport, type Write } from './service.js';

export const EXPORTS_PER_DAY = 3;

/** A few a day per user: each one reads every message the user can see. */
function limitExports(enabled: boolean): RequestHandler {
  if (!enabled) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 24 * 60 * 60 * 1000,
    limit: EXPORTS_PER_DAY,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (_req, res) => `user:${userId(res)}`,
    handler: (_req, _res, next) =>
      next(
        new AppError(
          429,
          `You can download your data ${EXPORTS_PER_DAY} times a day. Try again tomorrow.`,
          'rate_limited',
        ),
      ),
  });
}

/** Writes to the response, waiting while the socket's buffer is full; stops if it closed. */
function writerFor(res: Response): Write {
  return async (chunk) => {
    if (res.destroyed) throw new Error('export: the download was closed');
    if (res.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };
}

export function exportRoutes(ctx: AppContext, rateLimitOn: boolean): Router {
  const r = Router();

  // A POST with the form token: another site cannot make the browser download it (and a GET
  // would be prefetched, cached and logged).
  r.post('/account/export', requireUser, limitExports(rateLimitOn), async (req, res) => {
    const id = userId(res);
    const day = new Date().toISOString().slice(0, 10);
    res.set({
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': `attachment; filename="leos-chat-room-${day}.json"`,
      'X-Content-Type-Options': 'nosniff',
    });
    try {
      await writeExport(ctx, id, writerFor(res));
      res.end();
    } catch (err) {
      if (!res.headersSent) throw err;
      // Half a file must not look whole: the download fails instead.
      if (!res.destroyed) req.log?.error({ err }, 'export failed midway');
      res.destroy();
    }
  });

  return r;
}

import { Router, type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { AppContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { requireUser, userId } from '../../core/http/helpers.js';
import { writeExportZip } from './zip.js';

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

export function exportRoutes(ctx: AppContext, rateLimitOn: boolean): Router {
  const r = Router();

  // A POST with the form token: another site cannot make the browser download it (and a GET
  // would be prefetched, cached and logged).
  r.post('/account/export', requireUser, limitExports(rateLimitOn), async (req, res) => {
    const id = userId(res);
    const day = new Date().toISOString().slice(0, 10);
    res.set({
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename="leos-chat-room-${day}.zip"`,
      'X-Content-Type-Options': 'nosniff',
    });
    try {
      await writeExportZip(ctx, id, res);
    } catch (err) {
      if (!res.headersSent) throw err;
      // Half a file must not look whole: the download fails instead.
      if (!res.destroyed) req.log?.error({ err }, 'export failed midway');
      res.destroy();
    }
  });

  return r;
}

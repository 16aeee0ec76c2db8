import { Router } from 'express';
import type { AppContext } from '../../core/context.js';
import { AppError } from '../../core/errors.js';
import { requireUser, userId } from '../../core/http/helpers.js';
import { searchMessages } from './service.js';

export function searchRoutes(ctx: AppContext): Router {
  const r = Router();

  // A GET form: works without the script, and a result page can be bookmarked or shared.
  r.get('/messages/search', requireUser, async (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q : '';
    const before = req.query.before;
    try {
      const page = await searchMessages(ctx, userId(res), { q, before });
      res.render('search-messages', { ...page, paged: before !== undefined, error: undefined });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500 || err.status === 429) throw err;
      const error = err.fields?.q ?? err.fields?.before ?? err.message;
      res.status(err.status).render('search-messages', {
        q,
        hits: [],
        nextBefore: undefined,
        paged: false,
        error,
      });
    }
  });

  return r;
}

import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../core/context.js';
import * as conversations from './service.js';
import { requireUser, userId } from '../../core/http/helpers.js';
import { AppError } from '../../core/errors.js';
import { limitEmailLookups } from '../../core/http/limits.js';

/** `?show=N`: how many conversations the list shows ("Show more conversations" adds 50). */
function showParam(raw: unknown): number {
  if (raw === undefined) return conversations.INBOX_PAGE;
  const parsed = showSchema.safeParse(raw);
  if (!parsed.success)
    throw new AppError(
      400,
      `That "show" value is not a number of conversations from 1 to ${conversations.INBOX_MAX}.`,
      'invalid',
    );
  return parsed.data;
}
const showSchema = z
  .string()
  .regex(/^\d{1,4}$/)
  .transform(Number)
  .pipe(z.number().int().min(1).max(conversations.INBOX_MAX));

export function pageRoutes(ctx: AppContext): Router {
  const r = Router();
  const limitLookups = limitEmailLookups(ctx);

  r.get('/', async (req, res) => {
    if (!res.locals.user) {
      return res.render('welcome', { deleted: req.query.deleted === '1' });
    }
    const show = showParam(req.query.show);
    const { inbox, more, requests } = await conversations.inboxAndRequests(ctx, userId(res), show);
    // A new account is greeted once as new; every later visit is a return.
    const isNew = req.session.newAccount === true;
    if (isNew) delete req.session.newAccount;
    res.render('home', {
      inbox,
      more,
      show,
      requests,
      greeting: isNew ? 'Welcome' : 'Welcome back',
    });
  });

  // The inbox list alone: the browser script swaps it in when something changes.
  // `active` marks the conversation open beside it (desktop's two panes); only a display hint.
  r.get('/inbox', requireUser, async (req, res) => {
    const active = Number(req.query.active);
    const show = showParam(req.query.show);
    const { inbox, more, requests } = await conversations.inboxAndRequests(ctx, userId(res), show);
    res.render('partials/inbox', {
      inbox,
      more,
      show,
      requests,
      activeId: Number.isSafeInteger(active) && active > 0 ? active : undefined,
    });
  });

  r.get('/search', requireUser, (req, res, next) => {
    if (req.query.email === undefined)
      return res.render('search', { values: {}, errors: {}, result: undefined });
    next();
  });
  r.get('/search', limitLookups, async (req, res) => {
    const raw = req.query.email;
    const email = typeof raw === 'string' ? raw : '';
    try {
      const result = await conversations.searchByEmail(ctx, userId(res), { email });
      res.render('search', { values: { email }, errors: {}, result });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      res
        .status(err.status)
        .render('search', { values: { email }, errors: err.fields ?? {}, result: undefined });
    }
  });

  return r;
}

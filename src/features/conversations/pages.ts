import { Router } from 'express';
import type { AppContext } from '../../core/context.js';
import * as conversations from './service.js';
import { requireUser, userId } from '../../core/http/helpers.js';
import { AppError } from '../../core/errors.js';
import { limitEmailLookups } from '../../core/http/limits.js';

export function pageRoutes(ctx: AppContext): Router {
  const r = Router();
  const limitLookups = limitEmailLookups(ctx);

  r.get('/', async (req, res) => {
    if (!res.locals.user) {
      return res.render('welcome', { deleted: req.query.deleted === '1' });
    }
    const { inbox, requests } = await conversations.inboxAndRequests(ctx, userId(res));
    // A new account is greeted once as new; every later visit is a return.
    const isNew = req.session.newAccount === true;
    if (isNew) delete req.session.newAccount;
    res.render('home', { inbox, requests, greeting: isNew ? 'Welcome' : 'Welcome back' });
  });

  // The inbox list alone: the browser script swaps it in when something changes.
  // `active` marks the conversation open beside it (desktop's two panes); only a display hint.
  r.get('/inbox', requireUser, async (req, res) => {
    const active = Number(req.query.active);
    const { inbox, requests } = await conversations.inboxAndRequests(ctx, userId(res));
    res.render('partials/inbox', {
      inbox,
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

import { Router } from 'express';
import type { Ctx } from '../services/context.js';

export function pageRoutes(_ctx: Ctx): Router {
  const r = Router();

  r.get('/', (req, res) => {
    if (!res.locals.user) {
      return res.render('welcome', { deleted: req.query.deleted === '1' });
    }
    res.render('home', {});
  });

  return r;
}

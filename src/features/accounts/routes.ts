import { Router, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../core/errors.js';
import * as accounts from './service.js';
import type { AppContext } from '../../core/context.js';
import {
  destroySession,
  flash,
  regenerateSession,
  renderForm,
  requireUser,
  safeNext,
  saveSession,
  userId,
} from '../../core/http/helpers.js';
import { SESSION_COOKIE, SESSION_LIFETIME } from '../../core/http/session.js';
import { clearVisitorToken } from '../../core/http/csrf.js';

/**
 * Starts a fresh session for the user: a new id at every login (and password
 * change), so none can be fixed in advance and a copied cookie stops working.
 * The replaced session's sockets are disconnected on every instance; this
 * browser's tabs reconnect with the new cookie.
 */
async function logIn(
  ctx: AppContext,
  req: Request,
  res: Response,
  user: { id: number },
  opts: { keepFormToken?: boolean } = {},
) {
  const replaced = req.session.userId !== undefined ? req.sessionID : undefined;
  // Same person, same browser (a password change): forms open in other tabs keep working.
  const formToken = opts.keepFormToken ? req.session.csrfToken : undefined;
  await regenerateSession(req);
  if (formToken) req.session.csrfToken = formToken;
  req.session.userId = user.id;
  req.session.refreshedAt = Date.now();
  req.session.cookie.maxAge = SESSION_LIFETIME;
  await saveSession(req);
  if (replaced) ctx.notify.sessionsEnded([replaced]);
  clearVisitorToken(res);
}

export function accountRoutes(
  ctx: AppContext,
  limits: { login: RequestHandler[]; signup: RequestHandler },
): Router {
  const r = Router();

  r.get('/signup', (req, res) => {
    if (res.locals.user) return res.redirect(303, '/');
    res.render('signup', { values: { next: safeNext(req.query.next, '') }, errors: {} });
  });

  r.post('/signup', limits.signup, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      const user = await accounts.register(ctx, body);
      await logIn(ctx, req, res, user);
      req.session.newAccount = true;
      await saveSession(req);
      // Back where they came from (an invite link's page, say), or home.
      res.redirect(303, safeNext(body.next));
    } catch (err) {
      renderForm(res, 'signup', err, { ...body, next: safeNext(body.next, '') });
    }
  });

  r.get('/login', (req, res) => {
    if (res.locals.user) return res.redirect(303, safeNext(req.query.next));
    res.render('login', { values: { next: safeNext(req.query.next, '') }, errors: {} });
  });

  r.post('/login', ...limits.login, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      const user = await accounts.authenticate(ctx, body);
      await logIn(ctx, req, res, user);
      res.redirect(303, safeNext(body.next));
    } catch (err) {
      renderForm(res, 'login', err, { email: body.email, next: safeNext(body.next, '') });
    }
  });

  r.post('/logout', async (req, res) => {
    const sid = req.sessionID;
    if (req.session) await destroySession(req);
    ctx.notify.sessionsEnded([sid]);
    res.clearCookie(SESSION_COOKIE);
    res.redirect(303, '/login');
  });

  r.get('/account', requireUser, (_req, res) => {
    res.render('account', { values: {}, errors: {} });
  });

  r.post('/account/name', requireUser, async (req, res) => {
    try {
      await accounts.changeDisplayName(ctx, userId(res), req.body);
      flash(req, 'Your display name was changed.');
      await saveSession(req);
      res.redirect(303, '/account');
    } catch (err) {
      const body = (req.body ?? {}) as Record<string, unknown>;
      renderForm(res, 'account', err, { displayName: body.displayName });
    }
  });

  r.post('/account/password', requireUser, async (req, res) => {
    try {
      const id = userId(res);
      await accounts.changePassword(ctx, id, req.sessionID, req.body);
      await logIn(ctx, req, res, { id }, { keepFormToken: true });
      flash(req, 'Your password was changed. Your other sessions were logged out.');
      await saveSession(req);
      res.redirect(303, '/account');
    } catch (err) {
      renderForm(res, 'account', err, {});
    }
  });

  r.post('/account/delete', requireUser, async (req, res) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      await accounts.deleteAccount(ctx, userId(res), { password: body.deletePassword });
    } catch (err) {
      if (err instanceof AppError && err.fields?.password) {
        err.fields.deletePassword = err.fields.password;
        delete err.fields.password;
      }
      return renderForm(res, 'account', err, {});
    }
    await destroySession(req).catch(() => undefined); // already deleted with the account
    res.clearCookie(SESSION_COOKIE);
    res.redirect(303, '/?deleted=1');
  });

  return r;
}

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import type { AppContext } from '../../core/context.js';
import { notFound } from '../../core/errors.js';
import { flash, requireUser, saveSession, userId } from '../../core/http/helpers.js';
import { idSchema } from '../../shared/schemas.js';
import * as notifications from './service.js';

const WORKER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../public/sw.js');

function conversationId(raw: unknown): number {
  const parsed = idSchema.safeParse(raw);
  if (!parsed.success) throw notFound('That conversation');
  return parsed.data;
}

export function notificationRoutes(ctx: AppContext): Router {
  const r = Router();

  // The service worker, at the root so its scope is the whole site.
  r.get('/sw.js', (_req, res) => {
    res.set('Cache-Control', 'no-cache');
    res.sendFile(WORKER);
  });

  // What the Account page shows: the setting, and the key a browser subscribes with.
  r.use('/account', async (_req, res, next) => {
    if (res.locals.user) {
      res.locals.notifyText = await notifications.getNotifyText(ctx, userId(res));
      res.locals.vapidPublicKey = ctx.push.publicKey ?? '';
    }
    next();
  });

  r.post('/account/notifications', requireUser, async (req, res) => {
    await notifications.setNotifyText(ctx, userId(res), req.body);
    flash(req, 'Your notification settings were saved.');
    await saveSession(req);
    res.redirect(303, '/account');
  });

  // For the service worker, which has no page to read the form token from: after the push
  // service replaced a subscription (pushsubscriptionchange), it asks for the token here and
  // posts the new subscription with it. Only this site can read the answer (no CORS), and
  // it is never cached.
  r.get('/push/token', (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (!res.locals.user) return void res.status(401).json({ error: 'unauthenticated' });
    const token = (res.locals.csrfToken as () => string)();
    res.json({ token, vapidPublicKey: ctx.push.publicKey ?? '' });
  });

  // The browser script posts a subscription after "Turn on notifications" (form-encoded, token).
  r.post('/push/subscriptions', requireUser, async (req, res) => {
    await notifications.subscribe(ctx, userId(res), req.sessionID, req.body);
    res.status(204).end();
  });
  r.post('/push/subscriptions/delete', requireUser, async (req, res) => {
    await notifications.unsubscribe(ctx, userId(res), req.body);
    res.status(204).end();
  });

  // A hidden tab asks before showing a notification: muted, request, blocked, read → none.
  r.get('/notifications/:messageId', requireUser, async (req, res) => {
    const text = await notifications.tabNotification(ctx, userId(res), req.params.messageId);
    res.json(text ? { notify: true, ...text } : { notify: false });
  });

  for (const [action, muted] of [
    ['mute', true],
    ['unmute', false],
  ] as const) {
    r.post(`/conversations/:id/${action}`, requireUser, async (req, res) => {
      const id = conversationId(req.params.id);
      await notifications.setMuted(ctx, userId(res), id, muted);
      res.redirect(303, `/conversations/${id}`);
    });
  }

  // A group's level: "All messages", "Only @mentions" or "Nothing" (a form; works without script).
  r.post('/conversations/:id/notify-level', requireUser, async (req, res) => {
    const id = conversationId(req.params.id);
    await notifications.setLevel(ctx, userId(res), id, req.body);
    flash(req, 'Your notification level for this group was saved.');
    await saveSession(req);
    res.redirect(303, `/conversations/${id}`);
  });

  return r;
}

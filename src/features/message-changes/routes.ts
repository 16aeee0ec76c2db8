// The no-JavaScript way to edit, delete and react: forms that post to the same services
// as the socket events, then back to the message in the conversation.
import { Router, type Response } from 'express';
import { AppError, notFound } from '../../core/errors.js';
import type { AppContext } from '../../core/context.js';
import { requireUser, userId } from '../../core/http/helpers.js';
import { idSchema } from '../../shared/schemas.js';
import { renderBody } from '../messages/render.js';
import * as changes from './service.js';

function id(raw: unknown, what: string): number {
  const parsed = idSchema.safeParse(raw);
  if (!parsed.success) throw notFound(what);
  return parsed.data;
}

const back = (res: Response, conversationId: number, messageId: number) =>
  res.redirect(303, `/conversations/${conversationId}#m${messageId}`);

export function messageChangeRoutes(ctx: AppContext): Router {
  const r = Router();
  const base = '/conversations/:id/messages/:messageId';
  r.use('/conversations/:id/messages/:messageId', requireUser);
  const ids = (params: Record<string, string>) => ({
    conversationId: id(params.id, 'That conversation'),
    messageId: id(params.messageId, 'That message'),
  });
  const user = (res: Response) => ({ id: userId(res) });

  r.get(`${base}/edit`, async (req, res) => {
    const { conversationId, messageId } = ids(req.params);
    const message = await changes.findMessage(ctx, userId(res), conversationId, messageId);
    if (message.senderId !== userId(res) || message.deleted) throw notFound('That message');
    res.render('edit-message', { conversationId, message, draft: message.body, error: undefined });
  });

  r.post(`${base}/edit`, async (req, res) => {
    const { conversationId, messageId } = ids(req.params);
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      await changes.editMessage(ctx, user(res), { conversationId, messageId, body: body.body });
      back(res, conversationId, messageId);
    } catch (err) {
      if (!(err instanceof AppError) || err.status === 404 || err.status >= 500) throw err;
      const message = await changes.findMessage(ctx, userId(res), conversationId, messageId);
      res.status(err.status).render('edit-message', {
        conversationId,
        message,
        draft: typeof body.body === 'string' ? body.body : message.body,
        error: err.fields?.body ?? err.message,
      });
    }
  });

  // The pages behind the "React" and "Delete" links when the script is not there.
  for (const action of ['react', 'delete'] as const) {
    r.get(`${base}/${action}`, async (req, res) => {
      const { conversationId, messageId } = ids(req.params);
      const me = userId(res);
      const message = await changes.findMessage(ctx, me, conversationId, messageId);
      if (message.deleted || (action === 'delete' && message.senderId !== me))
        throw notFound('That message');
      res.render('message-action', { action, conversationId, message, me });
    });
  }

  r.post(`${base}/delete`, async (req, res) => {
    const { conversationId, messageId } = ids(req.params);
    await changes.deleteMessage(ctx, user(res), { conversationId, messageId });
    back(res, conversationId, messageId);
  });

  r.post(`${base}/reactions`, async (req, res) => {
    const { conversationId, messageId } = ids(req.params);
    const body = (req.body ?? {}) as Record<string, unknown>;
    await changes.toggleReaction(ctx, user(res), { conversationId, messageId, emoji: body.emoji });
    back(res, conversationId, messageId);
  });

  r.get(`${base}/versions`, async (req, res) => {
    const { conversationId, messageId } = ids(req.params);
    const { message, versions } = await changes.messageVersions(
      ctx,
      userId(res),
      conversationId,
      messageId,
    );
    res.render('message-versions', {
      conversationId,
      message,
      versions: versions.map((v) => ({ ...v, html: renderBody(v.body) })),
    });
  });

  return r;
}

import { Router, type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import { AppError, notFound } from '../../core/errors.js';
import type { AppContext } from '../../core/context.js';
import * as conversations from './service.js';
import * as messages from '../messages/service.js';
import { requireUser, userId } from '../../core/http/helpers.js';
import { idSchema, MAX_BODY } from '../../shared/schemas.js';
import { limitEmailLookups } from '../../core/http/limits.js';
import { findMessage } from '../message-changes/service.js';
import { firstLineOf } from '../messages/render.js';
import { discardUploads } from '../attachments/service.js';

function conversationId(raw: unknown): number {
  const parsed = idSchema.safeParse(raw);
  if (!parsed.success) throw notFound('That conversation');
  return parsed.data;
}

function beforeParam(raw: unknown, name = 'before'): number | undefined {
  if (raw === undefined) return undefined;
  const parsed = idSchema.safeParse(raw);
  if (!parsed.success)
    throw new AppError(400, `That "${name}" value is not a message id.`, 'invalid');
  return parsed.data;
}

async function renderConversation(
  ctx: AppContext,
  res: Response,
  id: number,
  opts: {
    before?: number;
    around?: number;
    draft?: string;
    error?: string;
    status?: number;
    fromElsewhere?: boolean;
    /** The message the composer answers (no-JS "Reply"). */
    replyTo?: number;
  } = {},
) {
  const me = userId(res);
  // The desktop's left pane and the quote being answered do not wait for the conversation:
  // each is the user's own (the inbox) or decides its own access (the quote).
  const [view, replying, { inbox, more: inboxMore }] = await Promise.all([
    conversations.conversationView(ctx, me, id, opts.before, opts.around),
    opts.replyTo ? replyingTo(ctx, me, id, opts.replyTo) : undefined,
    conversations.inbox(ctx, me),
  ]);
  const online = await ctx.notify.onlineAmong(view.others.map((o) => o.id));
  // Loading the page never moves the read mark: another site can make the browser load it.
  // The script marks what is on screen; without it, the "Mark as read" button or a reply does.
  const unread = view.messages.some(
    (m) => m.id > view.conversation.myLastRead && m.senderId !== me,
  );
  res.status(opts.status ?? 200).render('conversation', {
    ...view,
    foundId: opts.around,
    draft: opts.draft ?? '',
    error: opts.error,
    clientId: randomUUID(),
    maxBody: MAX_BODY,
    online,
    inbox,
    inboxMore,
    me,
    unread,
    fromElsewhere: opts.fromElsewhere ?? false,
    replying,
  });
}

/**
 * A navigation another site started (a link, a redirect, a script). Browsers say so in
 * Sec-Fetch-Site; "none" is the person's own doing (address bar, bookmark).
 */
function arrivedFromElsewhere(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  return site !== undefined && site !== 'same-origin' && site !== 'none';
}

/** An id, or undefined for anything else (a stale or hand-made link is just ignored). */
function optionalId(raw: unknown): number | undefined {
  const parsed = idSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** The quote above the composer, if that message may be answered. */
async function replyingTo(ctx: AppContext, me: number, conversationId: number, messageId: number) {
  const m = await findMessage(ctx, me, conversationId, messageId).catch(() => undefined);
  if (!m || m.deleted) return undefined;
  return { id: m.id, senderId: m.senderId, senderName: m.senderName, excerpt: firstLineOf(m.body) };
}

export function conversationRoutes(ctx: AppContext): Router {
  const r = Router();
  r.use('/conversations', requireUser);

  r.post('/conversations', limitEmailLookups(ctx), async (req, res) => {
    const id = await conversations.openDirect(ctx, userId(res), req.body);
    res.redirect(303, `/conversations/${id}`);
  });

  r.get('/conversations/:id', async (req, res) => {
    await renderConversation(ctx, res, conversationId(req.params.id), {
      before: beforeParam(req.query.before),
      around: beforeParam(req.query.around, 'around'),
      fromElsewhere: arrivedFromElsewhere(req),
      replyTo: optionalId(req.query.reply),
    });
  });

  // Older messages as an HTML fragment, for the script's "Load older".
  r.get('/conversations/:id/older', async (req, res) => {
    const id = conversationId(req.params.id);
    const before = beforeParam(req.query.before);
    const page = await messages.listHistory(ctx, userId(res), id, before);
    res.render('partials/messages', {
      messages: page.messages,
      hasMore: page.hasMore,
      conversationId: id,
      me: userId(res),
      blockedIds: new Set(page.blockedIds),
      layout: false,
    });
  });

  // The no-JavaScript way to send: same service, same rules, then back to the conversation.
  r.post('/conversations/:id/messages', async (req, res) => {
    const id = conversationId(req.params.id);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const user = res.locals.user as { id: number; displayName: string };
    // Files of a multipart post (features/attachments/routes.ts), stored as pending uploads.
    const attachmentIds = Array.isArray(body.attachmentIds) ? body.attachmentIds : undefined;
    try {
      if (res.locals.uploadError) throw res.locals.uploadError;
      const message = await messages.sendMessage(ctx, user, {
        conversationId: id,
        body: body.body,
        clientId: typeof body.clientId === 'string' && body.clientId ? body.clientId : randomUUID(),
        replyTo: body.replyTo === '' ? undefined : body.replyTo,
        ...(attachmentIds?.length ? { attachmentIds } : {}),
      });
      // Replying is reading: what came before one's own reply is no longer unread.
      await messages.markRead(ctx, user.id, { conversationId: id, messageId: message.id });
      res.redirect(303, `/conversations/${id}#m${message.id}`);
    } catch (err) {
      // Not sent: its files are not kept half-way either.
      if (attachmentIds) await discardUploads(ctx, user.id, attachmentIds);
      if (!(err instanceof AppError) || err.status === 404 || err.status >= 500) throw err;
      const draft = typeof body.body === 'string' ? body.body : '';
      await renderConversation(ctx, res, id, {
        draft,
        error:
          err.fields?.body ??
          err.fields?.clientId ??
          err.fields?.replyTo ??
          err.fields?.attachmentIds ??
          err.message,
        status: err.status,
        replyTo: optionalId(body.replyTo),
      });
    }
  });

  // The no-JavaScript way to mark read; the form names the newest message the page showed.
  r.post('/conversations/:id/read', async (req, res) => {
    const id = conversationId(req.params.id);
    const body = (req.body ?? {}) as Record<string, unknown>;
    await messages.markRead(ctx, userId(res), { conversationId: id, messageId: body.messageId });
    res.redirect(303, `/conversations/${id}`);
  });

  return r;
}

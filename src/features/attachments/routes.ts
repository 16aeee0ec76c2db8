import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { answerFor } from '../../core/answers.js';
import { requireUser, userId } from '../../core/http/helpers.js';
import { idSchema, MAX_ATTACHMENTS } from '../../shared/schemas.js';
import { isPicture } from '../../shared/files.js';
import { accessConversation } from '../conversations/access.js';
import * as attachments from './service.js';
import { parseMultipart, requestCap, type MultipartLimits } from './multipart.js';
import { contentDisposition } from './names.js';
import type { Variant } from './storage.js';

const uuid = z.uuid();

function conversationId(raw: unknown): number {
  const parsed = idSchema.safeParse(raw);
  if (!parsed.success) throw notFound('That conversation');
  return parsed.data;
}

/** What the composer tells the script (and the person): read live, so a test may lower it. */
export function attachLimits(ctx: AppContext) {
  return {
    maxFiles: MAX_ATTACHMENTS,
    get maxBytes() {
      return ctx.attachments.maxBytes;
    },
  };
}

/** Refuses at once a request that says it is bigger than all it may carry. */
function checkLength(req: Request, limits: MultipartLimits): void {
  const length = Number(req.get('content-length'));
  if (Number.isFinite(length) && length > requestCap(limits)) {
    throw attachments.tooBig(limits.maxBytes);
  }
}

/** Files and their pieces are read as they arrive, so a form token must be checked in-stream. */
export interface FormTokenCheck {
  isValid(req: Request): boolean;
}

function csrfError(): AppError {
  return new AppError(
    403,
    'This form has expired. Go back, reload the page and try again.',
    'csrf',
  );
}

/**
 * The two ways in for files, mounted before the app-wide form-token check (which reads a
 * parsed body): the script's upload, one file a request, with the token in a header; and the
 * composer's multipart post without JavaScript, whose token field comes before its files.
 */
export function attachmentUploadRoutes(ctx: AppContext, csrf: FormTokenCheck): Router {
  const r = Router();

  // The script's upload: one file, stored as a pending attachment; answered in JSON.
  r.post('/conversations/:id/attachments', requireUser, async (req, res) => {
    const uploads: string[] = [];
    // The uploader went away before hearing that it was stored (Cancel, a closed tab): nobody
    // can send it, so it is not kept until the sweep.
    let gone = false;
    const forget = () => {
      for (const a of uploads.splice(0))
        void attachments.removePending(ctx, userId(res), a).catch(() => undefined);
    };
    res.on('close', () => {
      if (res.writableFinished) return;
      gone = true;
      forget();
    });
    try {
      if (!csrf.isValid(req)) throw csrfError();
      const id = conversationId(req.params.id);
      const me = userId(res);
      await accessConversation(ctx, { id: me }, id, 'send');
      ctx.limits.send.take(me); // uploads draw on the sending budget: a flood is slowed
      const limits = { fileField: 'file', maxFiles: 1, maxBytes: ctx.attachments.maxBytes };
      checkLength(req, limits);
      if (!req.is('multipart/form-data'))
        throw new AppError(415, 'Send the file as multipart/form-data.', 'bad_request');
      const budget = await attachments.uploadBudget(ctx, me);
      const stored: Awaited<ReturnType<typeof attachments.storeUpload>>[] = [];
      await parseMultipart(req, limits, {
        onFile: async (file) => {
          const a = await attachments.storeUpload(ctx, me, id, file, budget);
          uploads.push(a.id);
          stored.push(a);
          if (gone) forget();
        },
      });
      if (!stored[0]) throw new AppError(400, 'Choose a file to attach.', 'invalid');
      res.status(201).json({ ok: true, attachment: stored[0] });
    } catch (err) {
      for (const a of uploads) await attachments.removePending(ctx, userId(res), a);
      answerJson(req, res, err);
    }
  });

  // Without JavaScript the composer posts multipart/form-data: its files are stored first
  // (pending, the sender's), then the same message route sends them with the caption.
  r.post('/conversations/:id/messages', async (req, res, next) => {
    if (!req.is('multipart/form-data') || !res.locals.user) return next();
    const me = userId(res);
    const id = conversationId(req.params.id);
    const ids: string[] = [];
    const fields = Object.create(null) as Record<string, string>;
    try {
      const limits = {
        fileField: 'files',
        maxFiles: MAX_ATTACHMENTS,
        maxBytes: ctx.attachments.maxBytes,
      };
      checkLength(req, limits);
      // Asked once, when the first file comes: a post of text alone is the message route's.
      let ready: Promise<attachments.UploadBudget> | undefined;
      const prepare = async () => {
        await accessConversation(ctx, { id: me }, id, 'send');
        return attachments.uploadBudget(ctx, me);
      };
      const slots: (string | undefined)[] = [];
      await parseMultipart(
        req,
        limits,
        {
          beforeFile: (seen) => {
            req.body = seen;
            if (!csrf.isValid(req)) throw csrfError();
          },
          onFile: async (file, index) => {
            ready ??= prepare();
            const budget = await ready.catch((err: unknown) => {
              file.stream.resume();
              throw err;
            });
            const a = await attachments.storeUpload(ctx, me, id, file, budget);
            ids.push(a.id);
            slots[index] = a.id;
          },
        },
        fields,
      );
      req.body = { ...fields, attachmentIds: slots.filter(Boolean) };
      next();
    } catch (err) {
      for (const a of ids) await attachments.removePending(ctx, me, a);
      const { status, code } = answerFor(err);
      // A refused file is shown on the page with what was typed kept (the message route
      // renders it once the form's token checks out); anything else is an error page.
      const onPage = err instanceof AppError && status !== 404 && status < 500 && code !== 'csrf';
      if (!onPage || typeof fields._csrf !== 'string') return next(err);
      req.body = { ...fields };
      res.locals.uploadError = err;
      next();
    }
  });

  return r;
}

/** Serving: after the form-token check (these are GETs, and one DELETE with the header). */
export function attachmentRoutes(ctx: AppContext): Router {
  const r = Router();
  r.use('/attachments', requireUser);

  const serve =
    (variant: Variant): RequestHandler =>
    async (req, res) => {
      const parsed = uuid.safeParse(req.params.id);
      if (!parsed.success) throw notFound('That file');
      const file = await attachments.findReadable(ctx, userId(res), parsed.data);
      // Not a member, a former member's later file, or no such id: one answer.
      if (!file || (variant === 'thumb' && !file.hasThumb)) throw notFound('That file');
      const inline = isPicture(file.type);
      res.set({
        'Content-Type': inline ? file.type : 'application/octet-stream',
        'Content-Disposition': contentDisposition(inline ? 'inline' : 'attachment', file.name),
        'X-Content-Type-Options': 'nosniff',
        // Even if a browser were talked into rendering it, it would run nothing, load
        // nothing and be of no origin.
        'Content-Security-Policy': "sandbox; default-src 'none'",
        // Kept by this browser only, and asked again each time, so a deleted message's or
        // a left conversation's file stops being shown; the ETag makes asking cheap.
        'Cache-Control': 'private, no-cache',
        ETag: `"${file.id}-${variant}"`,
        'Cross-Origin-Resource-Policy': 'same-origin',
      });
      if (req.fresh) return void res.status(304).end();
      if (variant === 'original') res.set('Content-Length', String(file.size));
      await streamOut(res, ctx.files.read(file.id, variant));
    };

  r.get('/attachments/:id', serve('original'));
  r.get('/attachments/:id/thumb', serve('thumb'));

  // The script takes a file back out of the composer before sending it.
  r.delete('/attachments/:id', async (req, res) => {
    const parsed = uuid.safeParse(req.params.id);
    if (parsed.success) await attachments.removePending(ctx, userId(res), parsed.data);
    res.json({ ok: true });
  });

  return r;
}

async function streamOut(res: Response, source: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of source) {
    if (res.destroyed) return; // the reader went away: stop reading the database
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
}

function answerJson(req: Request, res: Response, err: unknown): void {
  const { status, code, message, log } = answerFor(err);
  if (log === 'error') req.log?.error({ err }, 'upload failed');
  if (res.headersSent) return;
  // A refusal before the body was read: the connection closes rather than drain it.
  if (!req.complete) res.set('Connection', 'close');
  res.status(status).json({ ok: false, error: { code, message } });
}

// Pictures and files: an upload is stored whole and checked (or not at all), then waits as
// the uploader's pending attachment until a message names it; the message and its links
// commit together. Readers get a file only by the member history rule.
import type { Readable } from 'node:stream';
import { withTransaction } from '../../core/db/pool.js';
import { AppError } from '../../core/errors.js';
import type { AppContext } from '../../core/context.js';
import type { AttachmentDto, MessageDto } from '../../shared/protocol.js';
import { formatSize } from '../../shared/files.js';
import { insertMessages, type NewMessage, type WriteResult } from '../messages/db.js';
import * as files from './db.js';
import { processPicture } from './images.js';
import { cleanFileName } from './names.js';
import { isAttachmentId } from './storage.js';
import { claimsPicture, isProgram, sniff, SNIFF_BYTES, type Sniffed } from './sniff.js';

/** One file as the multipart parser hands it over (busboy's file stream). */
export interface IncomingFile {
  name: string;
  claimedType: string;
  stream: Readable & { truncated?: boolean };
}

/** What one request may still store: the per-file limit, and what is left of the quota. */
export interface UploadBudget {
  maxBytes: number;
  remaining: number;
}

export async function uploadBudget(ctx: AppContext, userId: number): Promise<UploadBudget> {
  const used = await files.storedBytes(ctx.db, userId);
  return { maxBytes: ctx.attachments.maxBytes, remaining: ctx.attachments.quotaBytes - used };
}

export function tooBig(maxBytes: number): AppError {
  return new AppError(
    413,
    `That file is too big: files can be at most ${formatSize(maxBytes)}.`,
    'too_large',
  );
}

function overQuota(): AppError {
  return new AppError(
    413,
    'You have used all your storage for files. Delete some messages with files to make room.',
    'too_large',
  );
}

function decide(head: Buffer, file: IncomingFile): Sniffed {
  if (isProgram(head))
    throw new AppError(415, 'Programs (such as .exe files) cannot be sent.', 'refused_type');
  const kind = sniff(head);
  if (!kind.picture && claimsPicture(file.name, file.claimedType)) {
    throw new AppError(
      415,
      'That file is named or labelled as a picture but is not a JPEG, PNG, GIF or WebP picture.',
      'refused_type',
    );
  }
  return kind;
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of source) parts.push(p);
  return Buffer.concat(parts);
}

/**
 * Stores one uploaded file as the uploader's pending attachment of this conversation (the
 * caller decided they may send there). Its bytes go to the store as they arrive; its type
 * is read from its first bytes; a picture is re-encoded and gets a thumbnail. Anything
 * wrong (too big, over the quota, a refused type, a damaged picture, the connection cut)
 * removes all of it: nothing is left half-stored.
 */
export async function storeUpload(
  ctx: AppContext,
  uploaderId: number,
  conversationId: number,
  file: IncomingFile,
  budget: UploadBudget,
): Promise<AttachmentDto> {
  const name = cleanFileName(file.name);
  const id = await files.createUpload(ctx.db, { conversationId, uploaderId, name });
  try {
    let kind: Sniffed | undefined;
    let total = 0;
    async function* checked(): AsyncGenerator<Buffer> {
      const early: Buffer[] = [];
      // Not destroyed when we stop early (too big, refused): the rest is read and dropped
      // (resume() below), or busboy would wait forever for the file to be read.
      const pieces = file.stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
      for await (const piece of pieces) {
        total += piece.length;
        if (total > budget.maxBytes) throw tooBig(budget.maxBytes);
        if (total > budget.remaining) throw overQuota();
        if (kind) {
          yield piece;
          continue;
        }
        early.push(piece);
        if (total < SNIFF_BYTES) continue;
        kind = decide(Buffer.concat(early), file);
        yield* early;
      }
      if (file.stream.truncated) throw tooBig(budget.maxBytes);
      if (total === 0) throw new AppError(400, `“${name}” is empty: there is nothing to send.`);
      if (!kind) {
        kind = decide(Buffer.concat(early), file);
        yield* early;
      }
    }
    let size = await ctx.files.write(id, 'original', checked());
    const type = kind!.type;
    let dims = {};
    if (kind!.picture) {
      const done = await processPicture(() => collect(ctx.files.read(id, 'original')), type);
      await ctx.files.remove(ctx.db, id, 'original');
      size = await ctx.files.write(id, 'original', [done.original]);
      await ctx.files.write(id, 'thumb', [done.thumb]);
      dims = {
        width: done.width,
        height: done.height,
        thumbWidth: done.thumbWidth,
        thumbHeight: done.thumbHeight,
      };
    }
    if (size > budget.remaining) throw overQuota();
    // budget.remaining was read when the request began; the reservation that counts is this
    // one, taken under the uploader's lock against what is stored now.
    const quotaBytes = ctx.attachments.quotaBytes;
    if (!(await files.finishUpload(ctx.db, id, { uploaderId, quotaBytes, type, size, ...dims })))
      throw overQuota();
    budget.remaining -= size;
    return files.toAttachmentDto({ id, name, type, size, ...nulls(), ...dims });
  } catch (err) {
    file.stream.resume(); // the rest of this file is read and dropped, so the request can end
    await files.deleteAttachment(ctx.db, id).catch((e: unknown) => {
      ctx.logger.warn({ err: e }, 'could not remove a failed upload; the sweep will');
    });
    throw err;
  }
}

const nulls = () => ({ width: null, height: null, thumbWidth: null, thumbHeight: null });

/** The uploader takes a file back out of the composer before sending. */
export async function removePending(ctx: AppContext, userId: number, id: string): Promise<void> {
  await files.deletePending(ctx.db, id, userId);
}

/** Uploads of a send that failed: removed, if still pending and the user's. */
export async function discardUploads(ctx: AppContext, userId: number, ids: unknown[]) {
  for (const id of ids)
    if (typeof id === 'string' && isAttachmentId(id)) await files.deletePending(ctx.db, id, userId);
}

/**
 * A message with files: stored in one transaction with its links, by the same
 * insert_messages_v3 as every message (it locks the conversation row, so id order stays
 * commit order), but not through the writer's batches: a link that fails must roll back
 * its message alone, not a batch of other people's. A retry (same clientId) gets the
 * stored message with its files.
 */
export async function sendWithAttachments(
  ctx: AppContext,
  msg: NewMessage,
  ids: string[],
): Promise<WriteResult & { attachments: AttachmentDto[] }> {
  return withTransaction(ctx.db, async (tx) => {
    const [stored] = await insertMessages(tx, [msg]);
    // The sender was removed meanwhile: nothing stored, nothing linked (their files stay pending).
    if (stored!.refused) return { ...stored!, attachments: [] };
    if (stored!.row.conversationId !== msg.conversationId) return { ...stored!, attachments: [] };
    if (stored!.created) {
      const linked = await files.linkToMessage(tx, {
        messageId: stored!.row.id,
        conversationId: msg.conversationId,
        senderId: msg.senderId,
        ids,
      });
      if (linked !== ids.length) {
        throw new AppError(
          400,
          'A file of this message is no longer there (sent already, taken out, or kept too long). Attach it again.',
          'invalid',
          { attachmentIds: 'A file of this message is no longer there. Attach it again.' },
        );
      }
    }
    const listed = await files.listForMessages(tx, [stored!.row.id]);
    return { ...stored!, attachments: listed.get(stored!.row.id) ?? [] };
  });
}

/**
 * The files of these messages, read now (beside the messages' other reads); the function it
 * returns puts them on the messages' DTOs.
 */
export async function loadAttachments(ctx: AppContext, messages: ReadonlyArray<{ id: number }>) {
  const byMessage = await files.listForMessages(
    ctx.db,
    messages.map((m) => m.id),
  );
  return <T extends MessageDto>(dtos: T[]): T[] => {
    for (const m of dtos) {
      const list = byMessage.get(m.id);
      if (list) m.attachments = list;
    }
    return dtos;
  };
}

/** Adds each message's files to it (one query for the lot). */
export async function withAttachments<T extends MessageDto>(
  ctx: AppContext,
  messages: T[],
): Promise<T[]> {
  return (await loadAttachments(ctx, messages))(messages);
}

export async function findReadable(ctx: AppContext, userId: number, id: string) {
  return files.findReadable(ctx.db, id, userId);
}

/** Removes what was never sent; every instance runs it now and then (deletes are idempotent). */
export function startSweeping(ctx: AppContext, everyMs = 10 * 60_000): () => void {
  const run = () =>
    files.sweep(ctx.db).then(
      (n) => n && ctx.logger.info({ removed: n }, 'removed uploads never sent'),
      (err: unknown) => ctx.logger.warn({ err }, 'sweeping uploads failed'),
    );
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

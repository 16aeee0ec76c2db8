import { AppError, notFound } from '../../core/errors.js';
import { accessConversation, sendRefusal } from '../conversations/access.js';
import * as conversations from '../conversations/db.js';
import * as messages from './db.js';
import type { MessageDto } from '../../shared/protocol.js';
import type { AppContext } from '../../core/context.js';
import { parseFields } from '../../core/validation.js';
import { eventSchemas } from '../../shared/schemas.js';
import * as trace from './trace.js';
import { deliverTo, foldingFor, readerBlocked, watchersIn } from '../friends/policy.js';
import { acceptConversation } from '../friends/service.js';
import { DELETED_USER as DELETED_USER_NAME, hiddenQuote, toDto, toDtos } from './dto.js';
import { findReadable, listChanges, loadQuotes } from '../message-changes/db.js';
import { firstLineOf } from './render.js';
import { sendWithAttachments, withAttachments } from '../attachments/service.js';

export { DELETED_USER, toDto } from './dto.js';
export const PAGE_SIZE = 50;
const SYNC_LIMIT = 500;

const sendSchema = eventSchemas['message:send'];

export interface Sender {
  id: number;
  displayName: string;
}

/**
 * Stores a message (once per clientId, however often it is retried) and, after
 * the commit, sends it to every socket of every member, the sender's other tabs too.
 */
export async function sendMessage(
  ctx: AppContext,
  sender: Sender,
  input: unknown,
): Promise<MessageDto> {
  const marks: trace.Marks | undefined = trace.tracing ? { checks: trace.now() } : undefined;
  ctx.limits.send.take(sender.id);
  const data = parseFields(sendSchema, input);
  const access = await accessConversation(ctx, sender, data.conversationId, 'send');
  // A reply answers a message of this conversation the sender may read; anything else is
  // "not found" (insert_messages_v5 checks again under the conversation's lock).
  if (
    data.replyTo !== undefined &&
    !(await findReadable(ctx.db, data.conversationId, data.replyTo, sender.id))
  )
    throw notFound('The message you are replying to');
  // Answering a message request accepts it.
  if (access.state === 'request') await acceptConversation(ctx, sender.id, data.conversationId);
  const ids = data.attachmentIds ?? [];
  const message = {
    conversationId: data.conversationId,
    clientId: data.clientId,
    // A caption of nothing but spaces is no caption.
    body: ids.length && !data.body.trim() ? '' : data.body,
    senderId: sender.id,
    replyTo: data.replyTo,
  };
  // With files: its own transaction that links them (features/attachments/service.ts).
  const written = ids.length
    ? await sendWithAttachments(ctx, message, ids)
    : { ...(await ctx.writer.write(message, marks)), attachments: [] };
  // Removed (or hidden) between the check above and the insert: refused under the lock.
  if (written.refused) throw sendRefusal(written.refused);
  const { row, created, memberIds, attachments } = written;
  if (row.conversationId !== data.conversationId) {
    throw new AppError(
      409,
      'That message id was already used for another conversation.',
      'conflict',
    );
  }
  const dto = toDto(row, sender.displayName);
  if (row.replyToId) await addQuote(ctx, sender.id, dto, row.replyToId);
  if (attachments.length) dto.attachments = attachments;
  // To the members at the commit, not the cached list: one removed since hears nothing.
  if (created) {
    const to = deliverTo(access.members, sender.id, memberIds);
    // A member whose history starts after the quoted message gets the quote without its text.
    const quoted = dto.replyTo?.state === 'shown' || dto.replyTo?.state === 'deleted';
    const notReading = quoted
      ? await membersNotReading(ctx, data.conversationId, row.replyToId!)
      : new Set<number>();
    const tell = (ids: number[], d: MessageDto) => {
      const seeing = ids.filter((id) => !notReading.has(id));
      const hiders = ids.filter((id) => notReading.has(id));
      // (An empty room list would be everyone: Socket.IO's to([]) broadcasts.)
      if (seeing.length) ctx.notify.messageNew(seeing, d);
      if (hiders.length)
        ctx.notify.messageNew(hiders, { ...d, replyTo: hiddenQuote(d.replyTo!.id) });
    };
    tell(to, dto);
    // One who blocked the sender in a group sees it folded, live as after a reload; no push.
    tell(foldingFor(access.members, sender.id, memberIds), { ...dto, blocked: true });
    ctx.push.messageSent(to, dto); // Web Push to those with no tab open
  }
  if (marks) {
    marks.done = trace.now();
    trace.finish(marks);
  }
  return dto;
}

export async function listHistory(
  ctx: AppContext,
  userId: number,
  conversationId: number,
  before?: number,
): Promise<{ messages: MessageDto[]; hasMore: boolean; blockedIds: number[] }> {
  const access = await accessConversation(ctx, { id: userId }, conversationId, 'read');
  const page = await messages.listHistory(
    ctx.db,
    conversationId,
    before ?? Number.MAX_SAFE_INTEGER,
    PAGE_SIZE,
    access.history,
  );
  // In a group, the people this reader blocked: their messages are folded (partials/message.ejs).
  const blockedIds = access.memberIds.filter((id) => access.members.blocks.has(`${userId}:${id}`));
  return {
    messages: await withAttachments(
      ctx,
      await toDtos(ctx.db, userId, conversationId, page.messages),
    ),
    hasMore: page.hasMore,
    blockedIds,
  };
}

const syncSchema = eventSchemas.sync;

/**
 * What a tab missed: messages after the last id it has and, with `changesAfter`, the messages
 * edited, deleted or reacted to after that change number (message-changes/service.ts), each
 * once as it is now.
 */
export async function syncMessages(
  ctx: AppContext,
  userId: number,
  input: unknown,
): Promise<{
  messages: MessageDto[];
  hasMore: boolean;
  changes?: MessageDto[];
  changesHaveMore?: boolean;
}> {
  const data = parseFields(syncSchema, input);
  const conversationId = data.conversationId;
  const { history, members } = await accessConversation(
    ctx,
    { id: userId },
    conversationId,
    'read',
  );
  const [page, changed] = await Promise.all([
    messages.listAfter(ctx.db, conversationId, data.after, SYNC_LIMIT, history),
    data.changesAfter === undefined
      ? undefined
      : listChanges(ctx.db, conversationId, userId, data.changesAfter, SYNC_LIMIT),
  ]);
  const [list, changes] = await Promise.all([
    toDtos(ctx.db, userId, conversationId, page.messages).then((l) => withAttachments(ctx, l)),
    changed &&
      toDtos(ctx.db, userId, conversationId, changed.messages).then((l) => withAttachments(ctx, l)),
  ]);
  // What the reader blocked comes folded, as on their page (blocked since it loaded, too).
  for (const m of [...list, ...(changes ?? [])])
    if (readerBlocked(members, userId, m.senderId)) m.blocked = true;
  if (!changed) return { messages: list, hasMore: page.hasMore };
  return { messages: list, hasMore: page.hasMore, changes, changesHaveMore: changed.hasMore };
}

/** The quote of a reply its sender just sent (they may read it: checked before the write). */
async function addQuote(ctx: AppContext, senderId: number, dto: MessageDto, replyToId: number) {
  const [q] = await loadQuotes(ctx.db, dto.conversationId, senderId, [replyToId]);
  if (q?.readable)
    dto.replyTo = {
      id: q.id,
      state: q.deleted ? 'deleted' : 'shown',
      senderId: q.senderId,
      senderName: q.senderName ?? DELETED_USER_NAME,
      excerpt: q.deleted ? '' : firstLineOf(q.body),
    };
}

async function membersNotReading(
  ctx: AppContext,
  conversationId: number,
  messageId: number,
): Promise<Set<number>> {
  const { rows } = await ctx.db.query<{ id: number }>(
    `SELECT user_id AS id FROM conversation_members
     WHERE conversation_id = $1 AND history_from >= $2`,
    [conversationId, messageId],
  );
  return new Set(rows.map((r) => Number(r.id)));
}

const readSchema = eventSchemas['conversation:read'];

/** Moves the user's read mark; every tab of every member hears of it. */
export async function markRead(ctx: AppContext, userId: number, input: unknown): Promise<void> {
  const data = parseFields(readSchema, input);
  const { members } = await accessConversation(ctx, { id: userId }, data.conversationId, 'read');
  const mark = await conversations.advanceReadMark(
    ctx.db,
    data.conversationId,
    userId,
    data.messageId,
  );
  if (mark !== undefined) {
    ctx.push.read(userId, data.conversationId, mark); // withdraws what was pushed
    // "Seen" only for those who may watch the reader; the reader's own tabs always.
    ctx.notify.conversationRead(watchersIn(members, userId), {
      conversationId: data.conversationId,
      userId,
      messageId: mark,
    });
  }
}

const typingSchema = eventSchemas.typing;

export async function setTyping(ctx: AppContext, user: Sender, input: unknown): Promise<void> {
  ctx.limits.typing.take(user.id);
  const data = parseFields(typingSchema, input);
  const { members } = await accessConversation(ctx, user, data.conversationId, 'send');
  ctx.notify.typing(
    watchersIn(members, user.id).filter((id) => id !== user.id),
    {
      conversationId: data.conversationId,
      userId: user.id,
      name: user.displayName,
      typing: data.typing,
    },
  );
}

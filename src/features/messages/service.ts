import { AppError } from '../../core/errors.js';
import { accessConversation } from '../conversations/access.js';
import * as conversations from '../conversations/db.js';
import * as messages from './db.js';
import type { MessageDto } from '../../shared/protocol.js';
import type { AppContext } from '../../core/context.js';
import { parseFields } from '../../core/validation.js';
import { eventSchemas } from '../../shared/schemas.js';
import * as trace from './trace.js';
import { deliverTo, watchersIn } from '../friends/policy.js';
import { acceptConversation } from '../friends/service.js';

export const PAGE_SIZE = 50;
const SYNC_LIMIT = 500;
export const DELETED_USER = 'Deleted user';

const sendSchema = eventSchemas['message:send'];

export interface Sender {
  id: number;
  displayName: string;
}

export function toDto(row: messages.MessageRow, senderName?: string): MessageDto {
  return {
    id: row.id,
    conversationId: row.conversationId,
    senderId: row.senderId,
    senderName:
      row.senderId === null ? DELETED_USER : (row.senderName ?? senderName ?? DELETED_USER),
    clientId: row.clientId,
    body: row.body,
    createdAt: row.createdAt.toISOString(),
    ...(row.kind === 'system' ? { kind: 'system' as const } : {}),
  };
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
  // Answering a message request accepts it.
  if (access.state === 'request') await acceptConversation(ctx, sender.id, data.conversationId);
  const { row, created, memberIds } = await ctx.writer.write(
    { ...data, senderId: sender.id },
    marks,
  );
  if (row.conversationId !== data.conversationId) {
    throw new AppError(
      409,
      'That message id was already used for another conversation.',
      'conflict',
    );
  }
  const dto = toDto(row, sender.displayName);
  // To the members at the commit, not the cached list: one removed since hears nothing.
  if (created) ctx.notify.messageNew(deliverTo(access.members, sender.id, memberIds), dto);
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
  return { messages: page.messages.map((m) => toDto(m)), hasMore: page.hasMore, blockedIds };
}

const syncSchema = eventSchemas.sync;

export async function syncMessages(
  ctx: AppContext,
  userId: number,
  input: unknown,
): Promise<{ messages: MessageDto[]; hasMore: boolean }> {
  const data = parseFields(syncSchema, input);
  const { history } = await accessConversation(ctx, { id: userId }, data.conversationId, 'read');
  const page = await messages.listAfter(
    ctx.db,
    data.conversationId,
    data.after,
    SYNC_LIMIT,
    history,
  );
  return { messages: page.messages.map((m) => toDto(m)), hasMore: page.hasMore };
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

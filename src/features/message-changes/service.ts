// Edit, delete and react: check, then do, then tell on commit (Zulip's
// check_add_reaction → do_add_reaction → send_event_on_commit). Each change runs in one
// transaction that first locks the conversation row, takes the next change number under that
// lock and stores it on the message, so "changes after N" (sync) never skips one.
import { AppError, notFound } from '../../core/errors.js';
import { withTransaction, type Db } from '../../core/db/pool.js';
import type { AppContext } from '../../core/context.js';
import { parseFields } from '../../core/validation.js';
import { eventSchemas } from '../../shared/schemas.js';
import type { MessageDto } from '../../shared/protocol.js';
import { accessConversation } from '../conversations/access.js';
import { deliverTo } from '../friends/policy.js';
import { hiddenQuote, toDtos } from '../messages/dto.js';
import * as changes from './db.js';

/** How long one's own message may be edited (Zulip: 10 minutes by default, a setting). */
export const EDIT_WINDOW_MS = 24 * 60 * 60 * 1000;

interface User {
  id: number;
}

interface Done {
  /** Current members who may read the message, with where their history starts. */
  readers: changes.Reader[];
  changed: boolean;
  /** Who wrote the message (null: their account is gone). */
  senderId: number | null;
}

/**
 * The frame every change shares: the conversation's lock, the message as the user may read it
 * (else "not found": another conversation's, one from before they joined, none at all), the
 * change itself, then the change number and who hears of it — all in one transaction.
 */
async function change(
  ctx: AppContext,
  user: User,
  conversationId: number,
  messageId: number,
  apply: (tx: Db, target: changes.Target) => Promise<((seq: number) => Promise<void>) | undefined>,
): Promise<MessageDto> {
  ctx.limits.change.take(user.id);
  const access = await accessConversation(ctx, user, conversationId, 'read');
  const done = await withTransaction<Done>(ctx.db, async (tx) => {
    if (!(await changes.lockConversation(tx, conversationId))) throw notFound('That message');
    const target = await changes.lockReadableMessage(tx, conversationId, messageId, user.id);
    // A former member keeps what they saw, read-only.
    if (!target || !target.current) throw notFound('That message');
    const write = await apply(tx, target);
    if (!write) return { readers: [], changed: false, senderId: target.senderId };
    const seq = await changes.nextChangeSeq(tx, conversationId);
    await write(seq);
    const readers = await changes.readersOf(tx, conversationId, messageId);
    return { readers, changed: true, senderId: target.senderId };
  });
  const [dto] = await loadForReader(ctx, user.id, conversationId, messageId);
  if (!dto) throw notFound('That message'); // removed from the conversation meanwhile
  // Live, as with new messages: not to a member who blocked the one who changed it, nor to one
  // who blocked the message's sender (who never heard of the message live either; a third
  // person's reaction must not bring it to them). Sync gives both the message and its changes.
  let ids = deliverTo(
    access.members,
    user.id,
    done.readers.map((r) => r.id),
  );
  if (done.senderId !== null && done.senderId !== user.id)
    ids = deliverTo(access.members, done.senderId, ids);
  const allowed = new Set(ids);
  if (done.changed)
    tellReaders(
      ctx,
      done.readers.filter((r) => allowed.has(r.id)),
      dto,
    );
  return dto;
}

async function loadForReader(
  ctx: AppContext,
  userId: number,
  conversationId: number,
  messageId: number,
): Promise<MessageDto[]> {
  const row = await changes.findReadable(ctx.db, conversationId, messageId, userId);
  return row ? toDtos(ctx.db, userId, conversationId, [row]) : [];
}

/**
 * `message:updated` to every current member who may read the message; one whose history
 * starts after the message it quotes gets the quote without its text.
 */
function tellReaders(ctx: AppContext, readers: changes.Reader[], dto: MessageDto): void {
  const quoted = dto.replyTo && dto.replyTo.state !== 'hidden' ? dto.replyTo.id : undefined;
  const blind = quoted === undefined ? [] : readers.filter((r) => r.historyFrom >= quoted);
  const blindIds = new Set(blind.map((r) => r.id));
  ctx.notify.messageUpdated(
    readers.filter((r) => !blindIds.has(r.id)).map((r) => r.id),
    dto,
  );
  if (blind.length && quoted !== undefined)
    ctx.notify.messageUpdated([...blindIds], { ...dto, replyTo: hiddenQuote(quoted) });
}

function mustBeOwn(user: User, target: changes.Target): void {
  if (target.senderId !== user.id) throw notFound('That message'); // not yours: not found
}

function mustNotBeDeleted(target: changes.Target): void {
  if (target.deletedAt) throw new AppError(409, 'That message was deleted.', 'conflict');
}

const editSchema = eventSchemas['message:edit'];

/** One's own message, within 24 hours of sending; the text it replaces is kept as a version. */
export async function editMessage(
  ctx: AppContext,
  user: User,
  input: unknown,
): Promise<MessageDto> {
  const data = parseFields(editSchema, input);
  return change(ctx, user, data.conversationId, data.messageId, (tx, target) => {
    mustBeOwn(user, target);
    mustNotBeDeleted(target);
    if (Date.now() - target.createdAt.getTime() > EDIT_WINDOW_MS)
      throw new AppError(
        409,
        'Messages can be edited for 24 hours after sending; this one is older. You can still delete it.',
        'conflict',
      );
    // Nothing changed: no version, no event.
    if (target.body === data.body) return Promise.resolve(undefined);
    return Promise.resolve((seq: number) => changes.replaceBody(tx, target, data.body, seq));
  });
}

const deleteSchema = eventSchemas['message:delete'];

/** One's own message, at any time, for everyone: its text and earlier versions are removed. */
export async function deleteMessage(
  ctx: AppContext,
  user: User,
  input: unknown,
): Promise<MessageDto> {
  const data = parseFields(deleteSchema, input);
  return change(ctx, user, data.conversationId, data.messageId, (tx, target) => {
    mustBeOwn(user, target);
    if (target.deletedAt) return Promise.resolve(undefined); // already gone: the same answer
    return Promise.resolve((seq: number) => changes.tombstone(tx, target.id, seq));
  });
}

const reactSchema = eventSchemas['reaction:toggle'];

/** Adds one's reaction to a message, or takes it back on a second press. */
export async function toggleReaction(
  ctx: AppContext,
  user: User,
  input: unknown,
): Promise<MessageDto> {
  const data = parseFields(reactSchema, input);
  return change(ctx, user, data.conversationId, data.messageId, (tx, target) => {
    mustNotBeDeleted(target);
    return Promise.resolve(async (seq: number) => {
      await changes.toggleReaction(tx, target.id, user.id, data.emoji);
      await changes.markChanged(tx, target.id, seq);
    });
  });
}

/** A message with its earlier versions, for a member who may read it. */
export async function messageVersions(
  ctx: AppContext,
  userId: number,
  conversationId: number,
  messageId: number,
) {
  const message = await findMessage(ctx, userId, conversationId, messageId);
  const versions = message.deleted
    ? []
    : await changes.listVersions(ctx.db, conversationId, messageId, userId);
  return { message, versions };
}

/** One message as the reader sees it (the edit page, a reply's quote). */
export async function findMessage(
  ctx: AppContext,
  userId: number,
  conversationId: number,
  messageId: number,
): Promise<MessageDto> {
  await accessConversation(ctx, { id: userId }, conversationId, 'read');
  const [message] = await loadForReader(ctx, userId, conversationId, messageId);
  if (!message) throw notFound('That message');
  return message;
}

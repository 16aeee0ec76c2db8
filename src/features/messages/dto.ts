// A stored message as the protocol carries it: rendered by the one renderer, with its reply
// quote and reactions as the reader may see them.
import type { Db } from '../../core/db/pool.js';
import type { MessageDto, ReactionDto, ReplyDto } from '../../shared/protocol.js';
import type { MessageRow } from './db.js';
import { firstLineOf, renderBody } from './render.js';
import { loadReactionsAndQuotes, type SeenVersion } from '../message-changes/db.js';

export const DELETED_USER = 'Deleted user';
export const DELETED_TEXT = 'This message was deleted';

export interface Decorations {
  reactions: ReadonlyMap<number, ReactionDto[]>;
  quotes: ReadonlyMap<number, ReplyDto>;
  /** For a former member: the version they last saw of a message edited after they left. */
  seen?: ReadonlyMap<number, SeenVersion>;
}

/** A quote the reader may not see (their history starts after it): its id only. */
export const hiddenQuote = (id: number): ReplyDto => ({
  id,
  state: 'hidden',
  senderId: null,
  senderName: '',
  excerpt: '',
});

export function toDto(shown: MessageRow, senderName?: string, deco?: Decorations): MessageDto {
  const seen = deco?.seen?.get(shown.id);
  const row = seen ? { ...shown, body: seen.body, editedAt: seen.editedAt } : shown;
  const deleted = row.deletedAt != null;
  const replyToId = row.replyToId ?? null;
  return {
    id: row.id,
    conversationId: row.conversationId,
    senderId: row.senderId,
    senderName:
      row.senderId === null ? DELETED_USER : (row.senderName ?? senderName ?? DELETED_USER),
    clientId: row.clientId,
    body: deleted ? '' : row.body,
    createdAt: row.createdAt.toISOString(),
    // A group's line in words is shown as plain text (views/partials/message.ejs), never formatted.
    html: deleted || row.kind === 'system' ? '' : renderBody(row.body),
    editedAt: row.editedAt ? row.editedAt.toISOString() : null,
    deleted,
    replyTo: replyToId === null ? null : (deco?.quotes.get(replyToId) ?? hiddenQuote(replyToId)),
    reactions: (!deleted && deco?.reactions.get(row.id)) || [],
    changeSeq: row.changeSeq ?? 0,
    ...(row.kind === 'system' ? { kind: 'system' as const } : {}),
  };
}

/**
 * Reactions and reply quotes of these messages for one reader (two queries at most, run
 * together): a quote of a message the reader may not read under the member history rule
 * shows no text.
 */
export async function loadDecorations(
  db: Db,
  readerId: number,
  conversationId: number,
  rows: readonly MessageRow[],
): Promise<Decorations> {
  const replyIds = [...new Set(rows.flatMap((r) => (r.replyToId ? [r.replyToId] : [])))];
  const {
    reactions,
    quotes: quoted,
    seen,
  } = await loadReactionsAndQuotes(
    db,
    conversationId,
    readerId,
    rows.map((r) => r.id),
    replyIds,
  );
  const quotes = new Map<number, ReplyDto>();
  for (const q of quoted) {
    quotes.set(
      q.id,
      !q.readable
        ? hiddenQuote(q.id)
        : {
            id: q.id,
            state: q.deleted ? 'deleted' : 'shown',
            senderId: q.senderId,
            senderName: q.senderId === null ? DELETED_USER : (q.senderName ?? DELETED_USER),
            excerpt: q.deleted ? '' : firstLineOf(q.body),
          },
    );
  }
  return { reactions, quotes, seen };
}

/** Rows to DTOs for one reader, decorated. */
export async function toDtos(
  db: Db,
  readerId: number,
  conversationId: number,
  rows: readonly MessageRow[],
): Promise<MessageDto[]> {
  if (!rows.length) return [];
  const deco = await loadDecorations(db, readerId, conversationId, rows);
  return rows.map((r) => toDto(r, undefined, deco));
}

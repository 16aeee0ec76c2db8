import { z } from 'zod';
import type { AppContext } from '../../core/context.js';
import { parseFields } from '../../core/validation.js';
import { idSchema, isStorableText } from '../../shared/schemas.js';
import { DELETED_USER } from '../messages/service.js';
import * as db from './db.js';
import { highlight, MAX_QUERY, parseQuery, type Segment } from './query.js';

export const RESULTS_PER_PAGE = 20;

const searchSchema = z.object({
  q: z
    .string()
    .max(MAX_QUERY, `Search for at most ${MAX_QUERY} characters.`)
    .refine(isStorableText, 'That search contains a character that cannot be searched for.'),
  before: idSchema.optional(),
});

export interface SearchHit {
  id: number;
  conversationId: number;
  conversationName: string;
  senderName: string;
  mine: boolean;
  /** In a group the sender is named; in a direct chat the conversation's name says who. */
  isGroup: boolean;
  createdAt: Date;
  segments: Segment[];
}

export interface SearchPage {
  q: string;
  hits: SearchHit[];
  /** For "Older results": the keyset to continue from. */
  nextBefore: number | undefined;
}

/** The user's readable messages that match, newest first, a page at a time. */
export async function searchMessages(
  ctx: AppContext,
  userId: number,
  input: unknown,
): Promise<SearchPage> {
  const { q, before } = parseFields(searchSchema, input);
  const parsed = parseQuery(q);
  if (!parsed.terms.length) return { q, hits: [], nextBefore: undefined };
  ctx.limits.search.take(userId);
  const rows = await db.searchMessages(
    ctx.db,
    userId,
    parsed,
    before ?? Number.MAX_SAFE_INTEGER,
    RESULTS_PER_PAGE + 1,
  );
  const page = rows.slice(0, RESULTS_PER_PAGE);
  return {
    q,
    hits: page.map((r) => ({
      id: r.id,
      conversationId: r.conversationId,
      conversationName: r.title ?? r.others ?? DELETED_USER,
      senderName: r.senderId === null ? DELETED_USER : (r.senderName ?? DELETED_USER),
      mine: r.senderId === userId,
      isGroup: r.kind === 'group',
      createdAt: r.createdAt,
      segments: highlight(r.body, parsed.terms),
    })),
    nextBefore: rows.length > RESULTS_PER_PAGE ? page[page.length - 1]!.id : undefined,
  };
}

/**
 * Says in the log, once at start, when the database's collation keeps full-text search off
 * the trigram index (search/db.ts, PREFILTER_AGREES): the matches stay right, a big
 * account's searches get slower, and the remedy is a libc or builtin default collation.
 */
export async function checkSearchCollation(ctx: AppContext): Promise<void> {
  try {
    const { rows } = await ctx.db.query<{ agrees: boolean }>(
      `SELECT ${db.PREFILTER_AGREES} AS agrees`,
    );
    if (rows[0]?.agrees === false) {
      ctx.logger.warn(
        'search: this database lowers text for ILIKE unlike to_tsvector (an ICU default ' +
          'collation?), so full-text search reads messages without the trigram index; a libc or ' +
          'builtin default collation keeps it on the index (docs/ARCHITECTURE.md, "Search")',
      );
    }
  } catch (err) {
    ctx.logger.warn({ err }, 'search: could not check the database collation');
  }
}

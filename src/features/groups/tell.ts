// After the commit: a group's system lines to the members who may hear them.
import type { AppContext } from '../../core/context.js';
import { loadMembers } from '../conversations/db.js';
import { deliverTo } from '../friends/policy.js';
import type { MessageRow } from '../messages/db.js';
import { toDto } from '../messages/dto.js';

/** Who acts on a group: their id and the name the lines say. */
export interface Actor {
  id: number;
  displayName: string;
}

/**
 * Sends the lines to every current member who may hear them (not one who declined, nor one
 * who blocked the actor); `also`: the one who just left or was removed, who reads (and
 * hears) the line that says so, and nothing after it.
 */
export function notifyLines(
  ctx: AppContext,
  conversationId: number,
  lines: MessageRow[],
  also: number[] = [],
): void {
  if (!lines.length) return;
  ctx.members.invalidate(conversationId);
  void ctx.members
    .load(conversationId, () => loadMembers(ctx.db, conversationId))
    .then((members) => {
      const current = members.ids.filter((id) => !members.former?.has(id));
      for (const line of lines) {
        const to = deliverTo(members, line.senderId ?? 0, current);
        ctx.notify.messageNew([...new Set([...to, ...also])], toDto(line));
      }
    })
    .catch((err: unknown) => ctx.logger.warn({ err, conversationId }, 'group notice failed'));
}

import type { Logger } from '../logger.js';
import type { Pool } from '../db/pool.js';
import type { Notify } from '../realtime/notify.js';
import type { MessageWriter } from './message-writer.js';
import type { MemberCache } from './member-cache.js';
import type { EmailLookupBudget, RateLimiter } from './rate-limit.js';

/** What every service needs; built once in createApp and shared with the socket layer. */
export interface Ctx {
  db: Pool;
  logger: Logger;
  notify: Notify;
  bcryptCost: number;
  /** How long a user with no socket left still counts as online (a page load reconnects). */
  presenceGraceMs: number;
  writer: MessageWriter;
  members: MemberCache;
  limits: {
    send: RateLimiter;
    typing: RateLimiter;
    read: RateLimiter;
    lookups: EmailLookupBudget;
  };
}

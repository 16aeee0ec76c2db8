// The service context: built once by createContext() (server.ts, tests) and
// handed to both the Express app and the socket server.
import {
  DEFAULT_ATTACHMENT_LIMITS,
  DEFAULT_UPLOAD_MB_PER_SECOND,
  type AttachmentLimits,
  type Config,
} from './config.js';
import type { Logger } from './logger.js';
import type { Pool } from './db/pool.js';
import { Notify } from './realtime/notify.js';
import { EmailLookupBudget, RateLimiter } from './rate-limit.js';
import { MessageWriter } from '../features/messages/writer.js';
import { MemberCache } from '../features/conversations/member-cache.js';
import { PgBlobStore, type BlobStore } from '../features/attachments/storage.js';
import { Pusher, type VapidKeys } from '../features/notifications/pusher.js';

/** What every service needs. */
export interface AppContext {
  db: Pool;
  logger: Logger;
  notify: Notify;
  bcryptCost: number;
  /** How long a user with no socket left still counts as online (a page load reconnects). */
  presenceGraceMs: number;
  writer: MessageWriter;
  members: MemberCache;
  /** The most members a group may have (config GROUP_MAX_MEMBERS). */
  groupMaxMembers: number;
  /** Where pictures' and files' bytes live (PostgreSQL by default). */
  files: BlobStore;
  /** Size limit per file and storage quota per person; tests may lower them. */
  attachments: AttachmentLimits;
  /** Web Push to browsers with no tab open (off without VAPID keys). */
  push: Pusher;
  limits: {
    send: RateLimiter;
    typing: RateLimiter;
    read: RateLimiter;
    /** Edits, deletes and reactions. */
    change: RateLimiter;
    /** Message search: each one may read much of a busy person's history. */
    search: RateLimiter;
    /** Every path that answers whether an account uses an email draws on this one budget. */
    lookups: EmailLookupBudget;
  };
}

export interface ContextOptions {
  config: Pick<Config, 'bcryptCost' | 'rateLimit' | 'writerLanes' | 'writerInFlight'> &
    Partial<Pick<Config, 'groupMaxMembers' | 'attachments' | 'uploadMbPerSecond'>>;
  db: Pool;
  logger: Logger;
  notify?: Notify;
  /** Default 5 s; tests shorten it. */
  presenceGraceMs?: number;
  /** The limiters' clock (ms); tests pass one they move by hand. */
  clock?: () => number;
  /** Web Push's key pair (server.ts: features/notifications/vapid.ts); none: push is off. */
  vapid?: VapidKeys;
}

export function createContext(opts: ContextOptions): AppContext {
  const { config, logger } = opts;
  const notify = opts.notify ?? new Notify();
  return {
    db: opts.db,
    logger,
    notify,
    bcryptCost: config.bcryptCost,
    presenceGraceMs: opts.presenceGraceMs ?? 5_000,
    writer: new MessageWriter(opts.db, logger, {
      lanes: config.writerLanes,
      maxInFlight: config.writerInFlight,
    }),
    members: new MemberCache(),
    groupMaxMembers: config.groupMaxMembers ?? 256,
    files: new PgBlobStore(opts.db, {
      mbPerSecond: config.uploadMbPerSecond ?? DEFAULT_UPLOAD_MB_PER_SECOND,
    }),
    attachments: { ...(config.attachments ?? DEFAULT_ATTACHMENT_LIMITS) },
    push: new Pusher(opts.db, notify, logger, { vapid: opts.vapid }),
    limits: {
      // A person types far slower; a script that floods gets rate_limited.
      send: new RateLimiter(30, 5, config.rateLimit, opts.clock),
      typing: new RateLimiter(10, 2, config.rateLimit, opts.clock),
      // sync, inbox:sync and conversation:read: cheap for a person, costly in a flood.
      read: new RateLimiter(60, 20, config.rateLimit, opts.clock),
      // A person searches now and then; a script that searches in a loop keeps the cores busy.
      search: new RateLimiter(
        10,
        0.5,
        config.rateLimit,
        opts.clock,
        'You are searching too fast. Wait a moment, then try again.',
      ),
      change: new RateLimiter(30, 5, config.rateLimit, opts.clock),
      lookups: new EmailLookupBudget(config.rateLimit, opts.clock),
    },
  };
}

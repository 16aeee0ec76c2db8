// The only reader of process.env. Parsed once at start; a bad value stops the
// start with a message that names the variable.
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * 40 MB/s: ten 10 MB uploads at once take 2.5 s. Unpaced, binary COPY stores them in ~1 s
 * and chat's p99 during them was worse than before COPY (bench:files, docs/ARCHITECTURE.md).
 */
export const DEFAULT_UPLOAD_MB_PER_SECOND = 40;

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).optional(),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\/[^\s]+$/, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    DATA_DIR: z.string().min(1).default('./data'),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    TRUST_PROXY: z
      .string()
      // Not "true": that trusts any X-Forwarded-For a client sends, and rate limits by address break.
      .regex(/^(false|\d+)$/, 'must be false or the number of proxy hops in front (Render: 1)')
      .default('false'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
    PG_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    SOCKET_ADAPTER: z.enum(['none', 'redis', 'postgres']).optional(),
    SOCKET_CHANNEL: z
      .string()
      .regex(/^[a-z0-9_-]{1,40}$/, 'must be 1-40 of a-z, 0-9, _ and -')
      .default('leos-chat'),
    RATE_LIMIT: bool.default(true),
    SOCKETS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(20),
    // Higher: a household, an office or a phone carrier shares one address.
    SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(200),
    SESSION_CHECK_SECONDS: z.coerce.number().int().min(1).max(600).default(120),
    // Connections that store messages side by side (messages/writer.ts). One measured best on
    // two cores: bigger batches, fewer commits. More keeps other conversations' messages
    // moving while one conversation's row is locked for long.
    WRITER_LANES: z.coerce.number().int().min(1).max(8).default(1),
    // Batches a lane may have in flight, queued on its connection (messages/writer.ts). One
    // measured best with senders waiting for their acks, the same flat-out.
    WRITER_IN_FLIGHT: z.coerce.number().int().min(1).max(4).default(1),
    // How often the search indexes' pending entries are merged while messages are written
    // (search/pending.ts); 0 leaves it to the inserts and autovacuum.
    SEARCH_INDEX_MERGE_MS: z.coerce.number().int().min(0).max(60_000).default(250),
    // A group's members at most (issue 14); every message fans out to each of them.
    GROUP_MAX_MEMBERS: z.coerce.number().int().min(2).max(10_000).default(256),
    // Pictures and files (issue 15): the most one file may weigh, and all of one person's files.
    ATTACHMENT_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 ** 3)
      .default(10 * 1024 * 1024),
    ATTACHMENT_QUOTA_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(2 ** 50)
      .default(1024 ** 3),
    // How fast all uploads together may store their bytes, in MB/s (0: as fast as they come).
    // Chat goes first: an upload that is over its share waits and stops reading its request.
    // Below 1 MB/s a typo ("0.04") would make each megabyte wait 25 s: 0 or at least 1.
    UPLOAD_MB_PER_SECOND: z.coerce
      .number()
      .max(100_000)
      .refine((n) => n === 0 || n >= 1, 'must be 0 (no pace) or at least 1 (MB a second)')
      .default(DEFAULT_UPLOAD_MB_PER_SECOND),
    // Web Push (issue 16): the server's VAPID pair, base64url; made and kept in DATA_DIR if unset.
    VAPID_PUBLIC_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{80,100}$/, 'must be a base64url P-256 public key')
      .optional(),
    VAPID_PRIVATE_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{40,50}$/, 'must be a base64url P-256 private key')
      .optional(),
    VAPID_SUBJECT: z
      .string()
      .regex(/^(mailto:|https:\/\/)\S+$/, 'must be a mailto: or https:// address')
      .default('mailto:webmaster@localhost'),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production') {
      if (!env.SESSION_SECRET)
        ctx.addIssue({
          code: 'custom',
          path: ['SESSION_SECRET'],
          message: 'is required in production',
        });
      if (!env.DATABASE_URL)
        ctx.addIssue({
          code: 'custom',
          path: ['DATABASE_URL'],
          message: 'is required in production',
        });
    }
    if (!env.VAPID_PUBLIC_KEY !== !env.VAPID_PRIVATE_KEY)
      ctx.addIssue({
        code: 'custom',
        path: [env.VAPID_PUBLIC_KEY ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY'],
        message: 'is required with the other VAPID key',
      });
    if (env.SOCKET_ADAPTER === 'redis' && !env.REDIS_URL)
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_URL'],
        message: 'is required when SOCKET_ADAPTER=redis',
      });
  });

export type Env = z.infer<typeof schema>;

export interface Config {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  sessionSecret: string | undefined;
  trustProxy: false | number;
  logLevel: Env['LOG_LEVEL'];
  bcryptCost: number;
  poolMax: number;
  redisUrl: string | undefined;
  socketAdapter: 'none' | 'redis' | 'postgres';
  socketChannel: string;
  rateLimit: boolean;
  socketsPerUser: number;
  socketsPerAddress: number;
  /** How often every open socket's session is checked against the table. */
  sessionSweepMs: number;
  writerLanes: number;
  writerInFlight: number;
  searchIndexMergeMs: number;
  /** The most members a group may have. */
  groupMaxMembers: number;
  attachments: AttachmentLimits;
  /** MB/s that all uploads together may store (0: unpaced); see storage.ts, Pace. */
  uploadMbPerSecond: number;
  vapid: { publicKey: string | undefined; privateKey: string | undefined; subject: string };
}

export interface AttachmentLimits {
  /** The most one file may weigh, in bytes (10 MB). */
  maxBytes: number;
  /** The most all of one person's stored files may weigh together (1 GB). */
  quotaBytes: number;
}

/** The defaults, for an app built without a full Config (tests). */
export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  maxBytes: 10 * 1024 * 1024,
  quotaBytes: 1024 ** 3,
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, v]) => v !== undefined && v.trim() !== ''),
  );
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`),
    );
  }
  const env = parsed.data;
  const trust = env.TRUST_PROXY;
  return {
    env: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    port: env.PORT,
    host: env.HOST ?? (env.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    sessionSecret: env.SESSION_SECRET,
    trustProxy: trust === 'false' ? false : Number(trust),
    logLevel: env.LOG_LEVEL,
    bcryptCost: env.BCRYPT_COST,
    poolMax: env.PG_POOL_MAX,
    redisUrl: env.REDIS_URL,
    socketAdapter: env.SOCKET_ADAPTER ?? (env.REDIS_URL ? 'redis' : 'none'),
    socketChannel: env.SOCKET_CHANNEL,
    rateLimit: env.RATE_LIMIT,
    socketsPerUser: env.SOCKETS_PER_USER,
    socketsPerAddress: env.SOCKETS_PER_ADDRESS,
    writerLanes: env.WRITER_LANES,
    writerInFlight: env.WRITER_IN_FLIGHT,
    searchIndexMergeMs: env.SEARCH_INDEX_MERGE_MS,
    sessionSweepMs: env.SESSION_CHECK_SECONDS * 1000,
    groupMaxMembers: env.GROUP_MAX_MEMBERS,
    attachments: { maxBytes: env.ATTACHMENT_MAX_BYTES, quotaBytes: env.ATTACHMENT_QUOTA_BYTES },
    uploadMbPerSecond: env.UPLOAD_MB_PER_SECOND,
    vapid: {
      publicKey: env.VAPID_PUBLIC_KEY,
      privateKey: env.VAPID_PRIVATE_KEY,
      subject: env.VAPID_SUBJECT,
    },
  };
}

/** For the command-line entry points: a bad environment prints its problems and exits 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}

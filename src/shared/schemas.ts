// The zod schema of every client event's payload, checked against its type in
// protocol.ts (a schema that drifts from its type fails the type check). Kept
// apart from protocol.ts only so the browser bundle, which imports the protocol's
// types and codes, does not carry zod.
import { z } from 'zod';
import { REACTION_EMOJI, type ClientToServerEvents } from './protocol.js';

export const MAX_BODY = 4000;
/** The most pictures and files one message may carry. */
export const MAX_ATTACHMENTS = 10;

// PostgreSQL text cannot hold NUL, and half a surrogate pair (not valid Unicode)
// would be stored as U+FFFD, unlike what was shown live: both are refused.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** False for text PostgreSQL would not store as given: a NUL or a lone surrogate. */
export const isStorableText = (s: string) => !s.includes('\0') && !LONE_SURROGATE.test(s);

// A number from a socket, or digits from a form or URL; never an array or a boolean.
export const idSchema = z
  .union(
    [
      z.number(),
      z
        .string()
        .regex(/^\d{1,16}$/)
        .transform(Number),
    ],
    { error: 'Not a valid id.' },
  )
  .pipe(
    z
      .number()
      .int('Not a valid id.')
      .positive('Not a valid id.')
      .max(Number.MAX_SAFE_INTEGER, 'Not a valid id.'),
  );

export const bodySchema = z
  .string({ error: 'Write a message first.' })
  .refine((s) => s.trim().length > 0, 'Write a message first: empty messages are not sent.')
  .superRefine((s, check) => {
    const length = [...s].length;
    if (length > MAX_BODY) {
      check.addIssue({
        code: 'custom',
        message: `Messages are at most ${MAX_BODY.toLocaleString('en')} characters; this one has ${length.toLocaleString('en')}.`,
      });
    }
  })
  .refine(
    isStorableText,
    'The message contains a character that cannot be stored (NUL or half an emoji).',
  );

type Payload<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];

/** One schema per client event; a new event without one fails the type check. */
export const eventSchemas = {
  'message:send': z
    .object({
      conversationId: idSchema,
      // With pictures or files the body is their caption, and may be empty.
      body: z.string({ error: 'Write a message first.' }),
      clientId: z.uuid({ error: 'clientId must be a UUID.' }),
      replyTo: idSchema.optional(),
      attachmentIds: z
        .array(z.uuid({ error: 'Not a valid attachment id.' }), {
          error: 'attachmentIds must be a list of ids.',
        })
        .max(MAX_ATTACHMENTS, `At most ${MAX_ATTACHMENTS} files go with one message.`)
        .refine((ids) => new Set(ids).size === ids.length, 'The same file is attached twice.')
        .optional(),
    })
    .superRefine((m, check) => {
      // Without attachments the body follows the old rule; a caption may be empty.
      if (m.attachmentIds?.length && !m.body.trim()) return;
      const parsed = bodySchema.safeParse(m.body);
      if (!parsed.success)
        check.addIssue({
          code: 'custom',
          path: ['body'],
          message: parsed.error.issues[0]!.message,
        });
    }),
  sync: z.object({
    conversationId: idSchema,
    after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    changesAfter: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  }),
  'message:edit': z.object({ conversationId: idSchema, messageId: idSchema, body: bodySchema }),
  'message:delete': z.object({ conversationId: idSchema, messageId: idSchema }),
  'reaction:toggle': z.object({
    conversationId: idSchema,
    messageId: idSchema,
    emoji: z.enum(REACTION_EMOJI, { error: 'That reaction is not one of the six offered.' }),
  }),
  'conversation:read': z.object({ conversationId: idSchema, messageId: idSchema }),
  typing: z.object({ conversationId: idSchema, typing: z.boolean() }),
  'inbox:sync': z.object({}).strip(),
} satisfies { [E in keyof ClientToServerEvents]: z.ZodType<Payload<E>, unknown> };

export type ClientEvent = keyof ClientToServerEvents;

/**
 * Every client event the protocol declares, at run time (the fuzz tests walk it).
 * Taken from eventSchemas, whose `satisfies` above already demands a schema for
 * each key of ClientToServerEvents, so the list cannot miss one.
 */
export const CLIENT_EVENTS = Object.keys(eventSchemas) as ClientEvent[];

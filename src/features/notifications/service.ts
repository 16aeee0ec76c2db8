import { z } from 'zod';
import type { AppContext } from '../../core/context.js';
import { invalid } from '../../core/errors.js';
import { parseFields } from '../../core/validation.js';
import { idSchema, isStorableText } from '../../shared/schemas.js';
import { accessConversation } from '../conversations/access.js';
import * as db from './db.js';
import { notificationText, type NotificationText } from './text.js';

const key = (min: number, max: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/)
    .min(min)
    .max(max);
// An address PostgreSQL can compare: a NUL (or half a surrogate pair) in a text parameter is
// a database error, which the form fuzz found as a 500.
const endpointSchema = z
  .string()
  .min(1)
  .max(1000)
  .refine(isStorableText, 'That is not a browser push service.');
const subscriptionSchema = z.object({
  endpoint: endpointSchema,
  p256dh: key(80, 100),
  auth: key(16, 32),
  /** The subscription this one replaces (the service worker's pushsubscriptionchange). */
  oldEndpoint: endpointSchema.optional(),
});

/**
 * Stores a browser's push subscription for the user, if its endpoint is a push service; the
 * one it replaces goes, if it was the user's (another's is never touched).
 */
export async function subscribe(
  ctx: AppContext,
  userId: number,
  sessionId: string,
  input: unknown,
): Promise<void> {
  const data = parseFields(subscriptionSchema, input);
  if (!ctx.push.publicKey) throw invalid({}, 'Notifications by Web Push are off on this server.');
  if (!ctx.push.allows(data.endpoint))
    throw invalid({ endpoint: 'That is not a browser push service.' });
  const { oldEndpoint, ...subscription } = data;
  await db.saveSubscription(ctx.db, userId, subscription, sessionId);
  if (oldEndpoint && oldEndpoint !== subscription.endpoint)
    await db.deleteSubscription(ctx.db, oldEndpoint, userId);
}

export async function unsubscribe(ctx: AppContext, userId: number, input: unknown): Promise<void> {
  const { endpoint } = parseFields(z.object({ endpoint: endpointSchema }), input);
  await db.deleteSubscription(ctx.db, endpoint, userId);
}

/**
 * For a tab that got a message while hidden: what to show, or nothing (muted, a request,
 * a blocked sender, already read, not readable). The same rule as Web Push (db.ts).
 */
export async function tabNotification(
  ctx: AppContext,
  userId: number,
  rawMessageId: unknown,
): Promise<NotificationText | undefined> {
  const parsed = idSchema.safeParse(rawMessageId);
  if (!parsed.success) return undefined;
  ctx.limits.read.take(userId);
  const [n] = await db.listNotifiable(ctx.db, [{ userId, messageId: parsed.data }], false);
  return n ? notificationText(n) : undefined;
}

export async function setMuted(
  ctx: AppContext,
  userId: number,
  conversationId: number,
  muted: boolean,
): Promise<void> {
  await accessConversation(ctx, { id: userId }, conversationId, 'read');
  await db.setMuted(ctx.db, conversationId, userId, muted);
}

const levelSchema = z.object({
  level: z.enum(db.NOTIFY_LEVELS, { message: 'Choose All messages, Only @mentions or Nothing.' }),
});

/** "All messages", "Only @mentions" or "Nothing" in a group the user is in. */
export async function setLevel(
  ctx: AppContext,
  userId: number,
  conversationId: number,
  input: unknown,
): Promise<void> {
  await accessConversation(ctx, { id: userId }, conversationId, 'read');
  const { level } = parseFields(levelSchema, input);
  if (!(await db.setLevel(ctx.db, conversationId, userId, level)))
    throw invalid({}, 'Notification levels are for groups: use Mute in a conversation of two.');
}

// A ticked checkbox sends "on", an unticked one nothing; anything else is not this form.
const notifyTextSchema = z.object({
  notifyText: z.literal('on', { message: 'Tick the box or leave it empty.' }).optional(),
});

export async function setNotifyText(ctx: AppContext, userId: number, input: unknown) {
  const { notifyText } = parseFields(notifyTextSchema, input ?? {});
  await db.setNotifyText(ctx.db, userId, notifyText === 'on');
}

export const getNotifyText = (ctx: AppContext, userId: number) => db.getNotifyText(ctx.db, userId);

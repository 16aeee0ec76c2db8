// Web Push to browsers with no tab open (campfire's Push::Subscription, thelounge's push).
// A new message is queued and sent in batches: one query finds who of the recipients has a
// subscription and may be told (db.ts listNotifiable), then the adapter answers who has a
// socket on any instance (those hear it live and get nothing), then each subscription gets
// the payload, encrypted to the browser's keys (RFC 8291, aes128gcm by web-push): the push
// service carries ciphertext only. A read mark that covers a pushed message sends a "read"
// push that closes the notification. A 404/410 from the push service drops the subscription.
import webpush from 'web-push';
import type { Logger } from '../../core/logger.js';
import type { Db } from '../../core/db/pool.js';
import type { Notify } from '../../core/realtime/notify.js';
import * as db from './db.js';
import { notificationText } from './text.js';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  /** mailto: or https: — who the push services may contact about this sender. */
  subject: string;
}

export interface PusherOptions {
  vapid: VapidKeys | undefined;
  /** Tests only: also accept http://127.0.0.1 endpoints (a local push service). */
  allowLoopback?: boolean;
  /** How long messages gather before a batch goes (default 200 ms). */
  delayMs?: number;
  /** The HTTP client; tests look at what goes on the wire. */
  fetch?: typeof fetch;
}

// The browsers' push services. Endpoints are given by the browser, so by anyone who can post
// a form: only these hosts, over https on 443, or sending becomes a way to make this server
// call any address (once-campfire keeps the same list for the same reason).
const PUSH_HOSTS = [
  'fcm.googleapis.com',
  'jmt17.google.com',
  'updates.push.services.mozilla.com',
  'web.push.apple.com',
  'notify.windows.com',
];

export class Pusher {
  private messages: Array<{ userId: number; messageId: number }> = [];
  private reads: Array<{ userId: number; conversationId: number; messageId: number }> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly send: typeof fetch;

  constructor(
    private readonly pool: Db,
    private readonly notify: Notify,
    private readonly logger: Logger,
    private readonly opts: PusherOptions,
  ) {
    this.send = opts.fetch ?? fetch;
  }

  get publicKey(): string | undefined {
    return this.opts.vapid?.publicKey;
  }

  /** Whether a browser's endpoint is one we will send to. */
  allows(endpoint: string): boolean {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return false;
    }
    if (this.opts.allowLoopback && url.protocol === 'http:' && url.hostname === '127.0.0.1')
      return true;
    const host = url.hostname.toLowerCase();
    return (
      url.protocol === 'https:' &&
      url.port === '' &&
      !url.username &&
      PUSH_HOSTS.some((h) => host === h || host.endsWith(`.${h}`))
    );
  }

  /** After a message's commit: its recipients (never the sender) may get a push. */
  messageSent(recipientIds: number[], message: { id: number; senderId: number | null }): void {
    if (!this.opts.vapid) return;
    for (const userId of recipientIds)
      if (userId !== message.senderId) this.messages.push({ userId, messageId: message.id });
    this.schedule();
  }

  /** After a read mark moved: withdraw what was pushed up to it. */
  read(userId: number, conversationId: number, messageId: number): void {
    if (!this.opts.vapid) return;
    this.reads.push({ userId, conversationId, messageId });
    this.schedule();
  }

  private schedule() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running.then(() => this.flush());
    }, this.opts.delayMs ?? 200);
    this.timer.unref();
  }

  /** Sends what is queued; resolves when done (tests and shutdown wait on it). */
  async flush(): Promise<void> {
    const messages = this.messages.splice(0);
    const reads = this.reads.splice(0);
    try {
      await this.pushMessages(messages);
      await this.withdraw(reads);
    } catch (err) {
      this.logger.warn({ err }, 'web push batch failed');
    }
  }

  /** Waits for what is queued and under way. */
  async idle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.running = this.running.then(() => this.flush());
    }
    await this.running;
  }

  private async pushMessages(queued: Array<{ userId: number; messageId: number }>) {
    if (!queued.length) return;
    // Most recipients have no subscription: the full check (db.ts listNotifiable) is only for
    // those who do. At flat-out a batch holds thousands of messages, nearly all to people with
    // none (in the benchmark, all of them); the full check on all of them once ran into the
    // 15 s statement timeout in a two-app benchmark (2026-11-29, not reproduced alone).
    const subscribed = await db.usersWithSubscriptions(this.pool, [
      ...new Set(queued.map((q) => q.userId)),
    ]);
    const candidates = queued.filter((q) => subscribed.has(q.userId));
    if (!candidates.length) return;
    const found = await db.listNotifiable(this.pool, candidates, true);
    if (!found.length) return;
    // A tab open anywhere (any instance) hears it live and notifies itself: no push.
    const online = await this.notify.onlineAmong([...new Set(found.map((n) => n.userId))]);
    const offline = found.filter((n) => !online.has(n.userId));
    if (!offline.length) return;
    const subs = await db.listSubscriptions(this.pool, [...new Set(offline.map((n) => n.userId))]);
    await Promise.all(
      offline.flatMap((n) => {
        const text = notificationText(n);
        return subs
          .filter((s) => s.userId === n.userId)
          .map((s) => this.deliver(s, { type: 'message', ...text }, text.tag));
      }),
    );
    await db.recordPushed(this.pool, offline);
  }

  private async withdraw(
    reads: Array<{ userId: number; conversationId: number; messageId: number }>,
  ) {
    const taken = await db.takeWithdrawn(this.pool, reads);
    if (!taken.length) return;
    const subs = await db.listSubscriptions(this.pool, [...new Set(taken.map((t) => t.userId))]);
    await Promise.all(
      taken.flatMap((t) => {
        const tag = `conversation-${t.conversationId}`;
        return subs
          .filter((s) => s.userId === t.userId)
          .map((s) =>
            this.deliver(s, { type: 'read', tag, conversationId: t.conversationId }, tag),
          );
      }),
    );
  }

  private async deliver(sub: db.Subscription, payload: object, topic: string): Promise<void> {
    const vapid = this.opts.vapid!;
    if (!this.allows(sub.endpoint)) return; // stored before the rules changed
    try {
      const req = webpush.generateRequestDetails(
        { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
        JSON.stringify(payload),
        {
          vapidDetails: vapid,
          contentEncoding: 'aes128gcm',
          TTL: 24 * 60 * 60,
          // A "read" replaces an undelivered message push of the same conversation.
          topic: topic.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32),
        },
      );
      const res = await this.send(req.endpoint, {
        method: req.method,
        headers: req.headers,
        body: new Blob([new Uint8Array(req.body)]),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 404 || res.status === 410) {
        // The browser unsubscribed or the service forgot it: never again.
        await db.deleteSubscription(this.pool, sub.endpoint);
      } else if (!res.ok) {
        this.logger.warn({ status: res.status }, 'push service refused a notification');
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'web push failed');
    }
  }
}

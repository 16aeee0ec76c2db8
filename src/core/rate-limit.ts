// A token bucket per key, in memory (per instance): `burst` events at once,
// then `perSecond` on average. Enough to stop one socket flooding the server;
// a user spread over several instances gets each instance's budget.
import { AppError } from './errors.js';

export class RateLimiter {
  private readonly buckets = new Map<number | string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly enabled = true,
    /** Milliseconds; tests pass a clock they move by hand, so a budget never refills mid-test. */
    private readonly clock: () => number = Date.now,
    private readonly message = 'You are sending too fast. Wait a moment, then try again.',
  ) {}

  /** Takes one token for `key` or throws a 429 `rate_limited` error saying when to retry. */
  take(key: number | string): void {
    if (!this.enabled) return;
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(
      this.burst,
      bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond,
    );
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      const retryAfter = Math.ceil((1 - bucket.tokens) / this.perSecond);
      throw new AppError(429, this.message, 'rate_limited', undefined, retryAfter);
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 10_000) this.prune(now);
  }

  private prune(now: number) {
    const full = this.burst / this.perSecond;
    for (const [key, b] of this.buckets) if ((now - b.at) / 1000 >= full) this.buckets.delete(key);
  }
}

const LOOKUP_MESSAGE =
  'You have looked up many email addresses in a short time. Wait a minute, then try again.';

/**
 * The one budget for every way of asking "does an account use this email?" (search,
 * opening a chat, and whatever else takes an email): per user, and per network
 * address so that many accounts from one place share it. Take it before looking.
 */
export class EmailLookupBudget {
  // A person looks up a handful of friends; a script walking a list of emails stops here.
  private readonly perUser: RateLimiter;
  // Generous enough for an office or a family behind one address.
  private readonly perAddress: RateLimiter;

  constructor(enabled = true, clock: () => number = Date.now) {
    this.perUser = new RateLimiter(20, 0.1, enabled, clock, LOOKUP_MESSAGE);
    this.perAddress = new RateLimiter(60, 0.5, enabled, clock, LOOKUP_MESSAGE);
  }

  /** Without a user (a logged-out visitor opening an invite link): the address alone. */
  take(who: { userId?: number; address: string }): void {
    this.perAddress.take(who.address);
    if (who.userId !== undefined) this.perUser.take(who.userId);
  }
}

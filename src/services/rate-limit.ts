// A token bucket per user, in memory (per instance): `burst` events at once,
// then `perSecond` on average. Enough to stop one socket flooding the server;
// a user spread over several instances gets each instance's budget.
import { AppError } from '../errors.js';

export class RateLimiter {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly enabled = true,
    /** Milliseconds; tests pass a clock they move by hand, so a budget never refills mid-test. */
    private readonly clock: () => number = Date.now,
  ) {}

  /** Takes one token for `key` or throws a 429 `rate_limited` error. */
  take(key: number): void {
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
      throw new AppError(
        429,
        'You are sending too fast. Wait a moment, then try again.',
        'rate_limited',
      );
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

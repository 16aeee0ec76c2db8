// The token bucket behind every socket and form budget, on a clock the test
// moves by hand: a burst at once, then a steady refill, and a refusal that
// says when trying again will work.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { RateLimiter } from '../../src/core/rate-limit.js';
import { manualClock } from '../support/app.js';

/** The refusal take() throws, or undefined if it let the event through. */
function refusal(limiter: RateLimiter, key: number | string): AppError | undefined {
  try {
    limiter.take(key);
    return undefined;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

/** How many takes in a row succeed before the first refusal (at most `max`). */
function allowed(limiter: RateLimiter, key: number | string, max = 1000): number {
  let n = 0;
  while (n < max && !refusal(limiter, key)) n++;
  return n;
}

describe('a rate limiter', () => {
  it('lets a burst through at once and refuses the next with a 429 rate_limited in words', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(5, 1, true, clock.now);
    expect(allowed(limiter, 'ann')).toBe(5);
    const err = refusal(limiter, 'ann');
    expect(err).toMatchObject({
      status: 429,
      code: 'rate_limited',
      message: 'You are sending too fast. Wait a moment, then try again.',
    });
  });

  it('refills at its rate: half the interval buys nothing, a whole one buys exactly one', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(3, 2, true, clock.now); // one token per 500 ms
    expect(allowed(limiter, 1)).toBe(3);
    clock.advance(250);
    expect(allowed(limiter, 1)).toBe(0);
    clock.advance(250);
    expect(allowed(limiter, 1)).toBe(1);
    clock.advance(1500);
    expect(allowed(limiter, 1)).toBe(3);
  });

  it('never holds more than its burst, however long it was idle', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(4, 1, true, clock.now);
    expect(allowed(limiter, 'idle')).toBe(4);
    clock.advance(3_600_000);
    expect(allowed(limiter, 'idle')).toBe(4);
  });

  it('says in whole seconds, rounded up, when to try again, and trying again then works', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(2, 0.1, true, clock.now); // one token per 10 s
    expect(allowed(limiter, 'bo')).toBe(2);
    expect(refusal(limiter, 'bo')?.retryAfter).toBe(10);
    clock.advance(4_500);
    const err = refusal(limiter, 'bo');
    expect(err?.retryAfter).toBe(6); // 5.5 s left
    clock.advance(err!.retryAfter! * 1000 - 1000);
    expect(refusal(limiter, 'bo')?.retryAfter).toBe(1);
    clock.advance(1000);
    expect(refusal(limiter, 'bo')).toBeUndefined();
  });

  it('keeps one budget per key: one flooder does not use up anyone else’s', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(3, 1, true, clock.now);
    expect(allowed(limiter, 'flooder')).toBe(3);
    expect(allowed(limiter, 'other')).toBe(3);
    expect(allowed(limiter, 7)).toBe(3);
  });

  it('lets everything through when rate limiting is off', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(1, 0.001, false, clock.now);
    expect(allowed(limiter, 'any', 500)).toBe(500);
  });

  it('forgets keys whose budget has refilled once it holds over 10,000, and keeps those still spending', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(2, 1, true, clock.now); // full again 2 s after the last take
    const buckets = () => limiter['buckets'];
    for (let i = 0; i < 10_000; i++) limiter.take(`address ${i}`);
    expect(buckets().size).toBe(10_000);
    clock.advance(1_000);
    limiter.take('still spending');
    limiter.take('still spending');
    expect(buckets().size).toBe(10_001); // not yet refilled: nothing to forget
    clock.advance(1_000);
    limiter.take('newcomer');
    expect([...buckets().keys()].sort()).toEqual(['newcomer', 'still spending']);
    // Forgetting changed no answer: the one still spending has refilled only one token.
    expect(allowed(limiter, 'still spending')).toBe(1);
  });
});

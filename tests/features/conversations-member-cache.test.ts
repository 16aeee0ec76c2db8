// The member cache every send, sync, read and typing event asks: one database
// load shared by everyone who misses at once, forgotten on invalidate (a member
// added or removed, on any instance), and never refilled by a load that was
// already under way when the members changed.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemberCache, type Members } from '../../src/features/conversations/member-cache.js';

/** A cache entry holding just these members (all accepted, no blocks between them). */
const members = (ids: number[]): Members => ({ ids, state: new Map(), blocks: new Set() });

/** A database load the test answers by hand, counting how often it was asked. */
function loads() {
  const pending: Array<{ resolve(ids: number[]): void; reject(err: Error): void }> = [];
  const fetch = vi.fn(
    () =>
      new Promise<Members>((resolve, reject) =>
        pending.push({ resolve: (ids) => resolve(members(ids)), reject }),
      ),
  );
  return { fetch, pending };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the member cache', () => {
  it('answers from memory after one load, and asks the database again after invalidate', async () => {
    const cache = new MemberCache();
    const db = loads();
    const first = cache.load(7, db.fetch);
    db.pending[0]!.resolve([1, 2]);
    expect((await first).ids).toEqual([1, 2]);
    expect(cache.get(7)?.ids).toEqual([1, 2]);

    cache.invalidate(7);
    expect(cache.get(7)).toBeUndefined();
    const second = cache.load(7, db.fetch);
    expect(db.fetch).toHaveBeenCalledTimes(2);
    db.pending[1]!.resolve([1]);
    expect((await second).ids).toEqual([1]);
    expect(cache.get(7)?.ids).toEqual([1]);
  });

  it('shares one database load among every miss that arrives while it runs', async () => {
    const cache = new MemberCache();
    const db = loads();
    const answers = Promise.all([
      cache.load(7, db.fetch),
      cache.load(7, db.fetch),
      cache.load(7, db.fetch),
    ]);
    expect(db.fetch).toHaveBeenCalledTimes(1);
    db.pending[0]!.resolve([1, 2]);
    expect((await answers).map((a) => a.ids)).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    // Another conversation has a load of its own.
    void cache.load(8, db.fetch);
    expect(db.fetch).toHaveBeenCalledTimes(2);
  });

  it('does not keep a load that was under way when the members changed', async () => {
    const cache = new MemberCache();
    const db = loads();
    const stale = cache.load(7, db.fetch); // reads the members before Bo is removed…
    cache.invalidate(7); // …Bo is removed meanwhile
    db.pending[0]!.resolve([1, 2]);
    expect((await stale).ids).toEqual([1, 2]); // its own caller gets what it read
    expect(cache.get(7)).toBeUndefined(); // but nobody after it
  });

  it('after an invalidate, a new miss starts its own load, and the older one landing late does not overwrite it', async () => {
    const cache = new MemberCache();
    const db = loads();
    const stale = cache.load(7, db.fetch);
    cache.invalidate(7);
    const fresh = cache.load(7, db.fetch);
    expect(db.fetch).toHaveBeenCalledTimes(2);
    db.pending[1]!.resolve([1]);
    expect((await fresh).ids).toEqual([1]);
    db.pending[0]!.resolve([1, 2]);
    await stale;
    expect(cache.get(7)?.ids).toEqual([1]);
  });

  it('keeps no failed load: the next miss asks the database again', async () => {
    const cache = new MemberCache();
    const db = loads();
    const failed = cache.load(7, db.fetch);
    db.pending[0]!.reject(new Error('database unavailable'));
    await expect(failed).rejects.toThrow('database unavailable');
    const again = cache.load(7, db.fetch);
    expect(db.fetch).toHaveBeenCalledTimes(2);
    db.pending[1]!.resolve([3]);
    expect((await again).ids).toEqual([3]);
  });

  it('does not cache a conversation with no members (or none that exists)', async () => {
    const cache = new MemberCache();
    const db = loads();
    const none = cache.load(404, db.fetch);
    db.pending[0]!.resolve([]);
    expect((await none).ids).toEqual([]);
    expect(cache.get(404)).toBeUndefined();
  });

  it('forgets an entry after its time to live (within its jitter) and keeps it before', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const cache = new MemberCache(30_000);
    cache.set(7, members([1, 2]));
    vi.setSystemTime(1_000_000 + 22_000); // under 0.75 × TTL: always kept
    expect(cache.get(7)?.ids).toEqual([1, 2]);
    vi.setSystemTime(1_000_000 + 38_000); // over 1.25 × TTL: always gone
    expect(cache.get(7)).toBeUndefined();
  });

  it('holds at most its number of entries, dropping the oldest first', () => {
    const cache = new MemberCache(30_000, 2);
    cache.set(1, members([1]));
    cache.set(2, members([2]));
    cache.set(3, members([3]));
    expect([cache.get(1)?.ids, cache.get(2)?.ids, cache.get(3)?.ids]).toEqual([
      undefined,
      [2],
      [3],
    ]);
  });
});

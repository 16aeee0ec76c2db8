// Conversation member lists, kept in memory for a short while: every send,
// sync, read and typing event checks membership, and at thousands of events a
// second a query for each would be most of the database's work. A change of
// members reaches every instance's cache through invalidate() (member-events.ts
// listens for the database's notification); the TTL only bounds what a lost
// notification could leave behind.
export class MemberCache {
  private readonly entries = new Map<number, { ids: number[]; expires: number }>();
  private readonly loading = new Map<number, Promise<number[]>>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 50_000,
  ) {}

  get(conversationId: number): number[] | undefined {
    const entry = this.entries.get(conversationId);
    if (!entry) return undefined;
    if (entry.expires < Date.now()) {
      this.entries.delete(conversationId);
      return undefined;
    }
    return entry.ids;
  }

  set(conversationId: number, ids: number[]): void {
    if (this.entries.size >= this.maxEntries) {
      // Drop the oldest insertion (Map keeps insertion order): cheap and good enough.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    // A little jitter, so entries filled together do not all expire together.
    const expires = Date.now() + this.ttlMs * (0.75 + Math.random() * 0.5);
    this.entries.set(conversationId, { ids, expires });
  }

  /** Loads and caches, sharing one load among everyone who asks while it runs. */
  load(conversationId: number, fetch: () => Promise<number[]>): Promise<number[]> {
    let pending = this.loading.get(conversationId);
    if (!pending) {
      // Invalidated meanwhile: the answer may predate the change, so it is not kept.
      const current = () => this.loading.get(conversationId) === pending;
      pending = fetch().then(
        (ids) => {
          if (!current()) return ids;
          this.loading.delete(conversationId);
          if (ids.length) this.set(conversationId, ids);
          return ids;
        },
        (err: unknown) => {
          if (current()) this.loading.delete(conversationId);
          throw err;
        },
      );
      this.loading.set(conversationId, pending);
    }
    return pending;
  }

  /** Forgets one conversation; a load under way is not cached when it lands. */
  invalidate(conversationId: number): void {
    this.entries.delete(conversationId);
    this.loading.delete(conversationId);
  }

  clear(): void {
    this.entries.clear();
  }
}

// Conversation member lists, kept in memory for a short while: every send,
// sync, read and typing event checks membership, and at thousands of events a
// second a query for each would be most of the database's work. Members of a
// direct conversation never change (an account deletion only removes one, and
// that user's sockets are gone), so a short TTL is about groups, later.
export class MemberCache {
  private readonly entries = new Map<number, { ids: number[]; expires: number }>();

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
    this.entries.set(conversationId, { ids, expires: Date.now() + this.ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }
}

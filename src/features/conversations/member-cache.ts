// Conversation member lists, kept in memory for a short while: every send,
// sync, read and typing event checks membership, and at thousands of events a
// second a query for each would be most of the database's work. A change of
// members reaches every instance's cache through invalidate() (member-events.ts
// listens for the database's notification); the TTL only bounds what a lost
// notification could leave behind. Each entry also holds what the access policy needs
// (each member's answer to the conversation, the blocks among members), so deciding a
// send between friends costs no query.

/** A member's answer: in the inbox, a request not answered yet, or hidden. */
export type MemberState = 'accepted' | 'request' | 'declined';

export interface Members {
  ids: number[];
  state: ReadonlyMap<number, MemberState>;
  /** `${blocker}:${blocked}` for every member who blocked another member. */
  blocks: ReadonlySet<string>;
  /**
   * Group members who left or were removed (history_to set): they may read what they saw,
   * and hear nothing more. Absent: nobody left (entries made by hand in tests).
   */
  former?: ReadonlySet<number>;
  /** What each member may read (migrations/…_member_history.sql); absent: everything. */
  history?: ReadonlyMap<number, { from: number; to: number | null }>;
}

export class MemberCache {
  private readonly entries = new Map<number, { members: Members; expires: number }>();
  private readonly loading = new Map<number, Promise<Members>>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 50_000,
  ) {}

  get(conversationId: number): Members | undefined {
    const entry = this.entries.get(conversationId);
    if (!entry) return undefined;
    if (entry.expires < Date.now()) {
      this.entries.delete(conversationId);
      return undefined;
    }
    return entry.members;
  }

  set(conversationId: number, members: Members): void {
    if (this.entries.size >= this.maxEntries) {
      // Drop the oldest insertion (Map keeps insertion order): cheap and good enough.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    // A little jitter, so entries filled together do not all expire together.
    const expires = Date.now() + this.ttlMs * (0.75 + Math.random() * 0.5);
    this.entries.set(conversationId, { members, expires });
  }

  /** Loads and caches, sharing one load among everyone who asks while it runs. */
  load(conversationId: number, fetch: () => Promise<Members>): Promise<Members> {
    let pending = this.loading.get(conversationId);
    if (!pending) {
      // Invalidated meanwhile: the answer may predate the change, so it is not kept.
      const current = () => this.loading.get(conversationId) === pending;
      pending = fetch().then(
        (members) => {
          if (!current()) return members;
          this.loading.delete(conversationId);
          if (members.ids.length) this.set(conversationId, members);
          return members;
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

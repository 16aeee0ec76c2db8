// A socket lives no longer than its session. The paths that end a session
// (logout, login, password change, deletion) disconnect its sockets at once
// through the adapter; this guard catches the rest — a row pruned on expiry or
// deleted by hand — on each client event and in a periodic sweep.
import type { Db } from '../db/pool.js';
import { liveSessions } from '../../features/accounts/sessions-db.js';
import type { Logger } from '../logger.js';
import type { IoServer } from './notify.js';

export interface SessionGuardOptions {
  /** How often every socket of this instance is checked against the session table. */
  sweepMs: number;
  /**
   * How long one answer for a session is reused by its sockets' events. A few
   * seconds keeps a query off each message (a flood of sends is one query per
   * session per window); the paths that end sessions disconnect without waiting.
   */
  cacheMs: number;
}

interface Entry {
  until: number;
  user: Promise<string | undefined>;
}

export class SessionGuard {
  private readonly cache = new Map<string, Entry>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly opts: SessionGuardOptions,
  ) {}

  /** True while the session is stored, unexpired, and still holds this user. */
  async holds(sid: string, userId: number): Promise<boolean> {
    const now = Date.now();
    let entry = this.cache.get(sid);
    if (!entry || entry.until <= now) {
      // Concurrent events of one session share one query.
      const user = liveSessions(this.db, [sid]).then((m) => m.get(sid));
      entry = { until: now + this.opts.cacheMs, user };
      this.cache.set(sid, entry);
      user.catch(() => this.cache.delete(sid)); // a failed check is not remembered
      if (this.cache.size > 10_000) this.forgetExpired(now);
    }
    return (await entry.user) === String(userId);
  }

  /** Checks every socket on this instance at once; disconnects those whose session has gone. */
  async sweep(io: IoServer): Promise<number> {
    const sockets = [...io.of('/').sockets.values()];
    if (!sockets.length) return 0;
    const sids = [...new Set(sockets.map((s) => s.data.sessionId))];
    const live = new Map<string, string | undefined>();
    for (let i = 0; i < sids.length; i += 5_000) {
      for (const [k, v] of await liveSessions(this.db, sids.slice(i, i + 5_000))) live.set(k, v);
    }
    let dropped = 0;
    for (const s of sockets) {
      if (live.get(s.data.sessionId) === String(s.data.userId)) continue;
      s.disconnect(true);
      dropped++;
    }
    this.forgetExpired(Date.now());
    return dropped;
  }

  start(io: IoServer): void {
    this.timer = setInterval(() => {
      this.sweep(io).catch((err: unknown) => this.logger.warn({ err }, 'session sweep failed'));
    }, this.opts.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private forgetExpired(now: number) {
    for (const [sid, e] of this.cache) if (e.until <= now) this.cache.delete(sid);
  }
}

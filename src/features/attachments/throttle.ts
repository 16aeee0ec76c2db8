// How uploads make way for chat: they store their bytes a few statements at a time (Slots)
// and, if set, no faster than so many bytes a second all together (Pace). An upload that
// waits here stops reading its request, so its sender waits, not the server's memory.

/** At most `size` jobs at once; the rest wait their turn, first come first served. */
export class Slots {
  private busy = 0;
  private waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.busy++;
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}

/**
 * A token bucket of bytes, shared by everyone who takes from it: `bytesPerSecond` on
 * average, at most `burst` at once after a quiet spell. Turns are first come first served
 * (each take books the time its bytes are due; later ones queue behind). 0 B/s: no pace.
 */
export class Pace {
  /** When the bytes booked so far are due (ms, performance.now()). */
  private due = 0;
  constructor(
    private readonly bytesPerSecond: number,
    private readonly burst: number,
  ) {}

  /** Waits until `bytes` may go. */
  async take(bytes: number): Promise<void> {
    if (!(this.bytesPerSecond > 0)) return;
    const now = performance.now();
    this.due = Math.max(this.due, now) + (bytes / this.bytesPerSecond) * 1000;
    const wait = this.due - now - (this.burst / this.bytesPerSecond) * 1000;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

// Group commit. Messages that arrive while a batch is being stored wait and go
// together in the next: one statement (one round trip, one commit) for the lot.
// A lane is a held connection with one batch in flight: what arrives meanwhile waits
// and goes in the next, which starts the moment the last is committed. (Two in flight,
// the second queued on the same connection, was the rule until 2026-11-29: the second
// batch left with the one or two messages that had come in, paid a whole call for them
// and then waited behind the first anyway. One in flight measured, in turns on the same
// machine: each sender waiting for its ack +10 % msg/s with p50 8.2-10.9 ms against
// 9.6-15.2, flat-out and 1,000/s the same.) A conversation always takes the same lane,
// and a lane's batches run one after another, so within a conversation arrival order is
// id order. One lane by default (WRITER_LANES): on a quiet two-core machine it
// beat four in every shape (bigger batches, a fraction of the commits; docs/ARCHITECTURE.md,
// "Group commit"); more lanes commit side by side, so one conversation whose row is locked
// for long does not hold up the others. Each sender's promise settles only after the
// commit that holds its row.
import { isConnectionError, type Pool, type PoolClient } from '../../core/db/pool.js';
import { insertMessages, type NewMessage, type WriteResult } from './db.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import * as trace from './trace.js';

interface Pending {
  msg: NewMessage;
  resolve: (r: WriteResult) => void;
  reject: (err: unknown) => void;
  marks: trace.Marks | undefined;
}

export class MessageWriter {
  private readonly lanes: Lane[];
  private closed = false;
  /** Rows stored since start (search/pending.ts merges the index lists only after writes). */
  stored = 0;

  constructor(pool: Pool, logger: Logger, { maxBatch = 500, maxInFlight = 1, lanes = 1 } = {}) {
    // A busy lane holds a pool connection: at most half the pool, the rest serve queries.
    const count = Math.min(lanes, Math.max(1, Math.floor((pool.options.max ?? 10) / 2)));
    const counted = (n: number) => void (this.stored += n);
    this.lanes = Array.from(
      { length: count },
      () => new Lane(pool, logger, maxBatch, maxInFlight, counted),
    );
  }

  write(msg: NewMessage, marks?: trace.Marks): Promise<WriteResult> {
    if (this.closed) return Promise.reject(unavailable());
    if (marks) marks.queued = trace.now();
    // A conversation always takes the same lane: its messages stay in arrival order.
    const lane = this.lanes[msg.conversationId % this.lanes.length]!;
    return new Promise((resolve, reject) => lane.add({ msg, resolve, reject, marks }));
  }

  /** Stores what is queued, then refuses new writes and gives the connections back. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.drain()));
  }
}

/** One connection with its queue: up to maxInFlight batches queued on it, run in order. */
class Lane {
  private queue: Pending[] = [];
  private inFlight = 0;
  private client: Promise<PoolClient> | undefined;
  private held: PoolClient | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
    private readonly counted: (rows: number) => void,
  ) {}

  add(p: Pending): void {
    this.queue.push(p);
    this.pump();
  }

  async drain(): Promise<void> {
    while (this.inFlight || this.queue.length) await new Promise((r) => setTimeout(r, 5));
    this.releaseIdle();
  }

  private pump(): void {
    while (this.queue.length && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.store(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (!this.inFlight) this.releaseIdle();
      });
    }
  }

  /** Gives the connection back when nothing waits: under load it is kept, idle it is the pool's. */
  private releaseIdle(): void {
    if (this.held) this.giveBack(this.held);
  }

  private connection(): Promise<PoolClient> {
    this.client ??= this.pool.connect().then(
      (client) => {
        client.on('error', this.onClientError);
        this.held = client;
        return client;
      },
      (err: unknown) => {
        this.client = undefined;
        throw err;
      },
    );
    return this.client;
  }

  // The held connection broke: give it back as broken; the next batch opens another.
  private readonly onClientError = (err: Error) => {
    if (this.held) this.giveBack(this.held, err);
  };

  private giveBack(client: PoolClient, err?: Error): void {
    if (client !== this.held) return; // already given back
    this.held = undefined;
    this.client = undefined;
    client.off('error', this.onClientError);
    client.release(err ?? false);
  }

  private async store(batch: Pending[]): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.connection();
      if (trace.tracing) mark(batch, 'stored');
      const results = await insertMessages(
        client,
        batch.map((p) => p.msg),
      );
      if (trace.tracing) mark(batch, 'fanout');
      this.counted(batch.length);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      if (isConnectionError(err) || !client) {
        if (client) this.giveBack(client, err instanceof Error ? err : new Error(String(err)));
        this.logger.warn({ err }, 'message batch failed: database unavailable');
        for (const p of batch) p.reject(unavailable());
      } else if (batch.length > 1 && isDataError(err)) {
        // One bad row (say, its sender was deleted meanwhile) must not fail the others.
        for (const p of batch) await this.store([p]);
      } else {
        if (batch.length > 1) this.logger.error({ err }, 'message batch failed');
        for (const p of batch) p.reject(err);
      }
    }
  }
}

function mark(batch: Pending[], span: trace.Span): void {
  const t = trace.now();
  for (const p of batch) if (p.marks) p.marks[span] = t;
  if (span === 'stored') trace.batch(batch.length);
}

function unavailable(): AppError {
  return new AppError(
    503,
    'The message could not be saved just now. It will be retried.',
    'unavailable',
  );
}

/** A row the database refused (SQLSTATE classes 22 and 23): others in its batch may be fine. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

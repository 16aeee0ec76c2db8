// Group commit: messages that arrive while a transaction is being written wait
// and go together in the next one, one multi-row insert and one commit for the
// lot. Each sender's promise settles only after the commit that holds its row.
// One batch is in flight at a time, so arrival order is id order.
import { withTransaction, type Pool } from '../db/pool.js';
import { insertMessages, type MessageRow, type NewMessage } from '../db/messages.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

interface Pending {
  msg: NewMessage;
  resolve: (r: { row: MessageRow; created: boolean }) => void;
  reject: (err: unknown) => void;
}

export class MessageWriter {
  private queue: Pending[] = [];
  private flushing = false;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly maxBatch = 500,
  ) {}

  write(msg: NewMessage): Promise<{ row: MessageRow; created: boolean }> {
    if (this.closed) return Promise.reject(unavailable());
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Waits for what is queued, then refuses new writes. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing || this.queue.length) await new Promise((r) => setTimeout(r, 5));
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await withTransaction(this.pool, (tx) =>
            insertMessages(
              tx,
              batch.map((p) => p.msg),
            ),
          );
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch (err) {
          if (batch.length > 1 && !isConnectionError(err)) {
            // One bad row (say, its sender was deleted meanwhile) must not fail the others.
            await this.writeOneByOne(batch);
          } else {
            this.logger.warn({ err }, 'message batch failed');
            for (const p of batch) p.reject(isConnectionError(err) ? unavailable() : err);
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async writeOneByOne(batch: Pending[]): Promise<void> {
    for (const p of batch) {
      try {
        const [result] = await withTransaction(this.pool, (tx) => insertMessages(tx, [p.msg]));
        p.resolve(result!);
      } catch (err) {
        p.reject(isConnectionError(err) ? unavailable() : err);
      }
    }
  }
}

function unavailable(): AppError {
  return new AppError(
    503,
    'The message could not be saved just now. It will be retried.',
    'unavailable',
  );
}

/** The database went away (restart, network): worth a retry, not a bug. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (!e) return false;
  if (typeof e.code === 'string' && /^(08|57P0|53300)/.test(e.code)) return true;
  if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'ETIMEDOUT') return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    e.message ?? '',
  );
}

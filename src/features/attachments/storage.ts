// Where a file's bytes live, behind one small interface: PostgreSQL (attachment_chunks) by
// default, so the embedded start, Render and several instances work with no other service
// and one backup holds everything. An S3-compatible store would implement the same three
// methods (README, "Pictures and files": when to switch).
import { copyInRows, type BinaryField } from '../../core/db/copy-in.js';
import { copyOutColumn } from '../../core/db/copy-out.js';
import type { Db, Pool } from '../../core/db/pool.js';
import { Pace, Slots } from './throttle.js';

export type Variant = 'original' | 'thumb';

export interface BlobStore {
  /**
   * Stores the bytes in order; resolves with how many there were. Nothing is read twice into
   * memory: the source's buffers are handed on as they are, so it must not reuse them (a
   * stream's chunks are the reader's).
   */
  write(
    attachmentId: string,
    variant: Variant,
    source: AsyncIterable<Buffer> | Iterable<Buffer>,
  ): Promise<number>;
  /** The bytes in order, a piece at a time. */
  read(attachmentId: string, variant: Variant): AsyncIterable<Buffer>;
  /** Forgets a variant's bytes (deleting the attachments row forgets them all). */
  remove(db: Db, attachmentId: string, variant: Variant): Promise<void>;
}

/** 256 KB: big enough that a 10 MB file is 40 rows, small enough that memory stays flat. */
export const CHUNK_BYTES = 256 * 1024;
/** Chunks stored per statement (1 MB): one COPY and one commit, not four. */
const CHUNKS_PER_STATEMENT = 4;
/** Chunks fetched per round trip when reading (1 MB). */
const READ_AHEAD = 4;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An attachment id's shape (a uuid): what may go into a statement as it is (read()). */
export const isAttachmentId = (id: string): boolean => UUID.test(id);

export class PgBlobStore implements BlobStore {
  /** MB/s for all uploads together (UPLOAD_MB_PER_SECOND), so chat keeps its CPU. */
  private readonly pace: Pace;
  /**
   * Chunk inserts at once, for all uploads together: a quarter of the pool. Ten uploads each
   * holding a connection for their inserts left chat's writer waiting for one (queued p99
   * 15 -> 83-176 ms at 1,000 messages/s, bench/files.ts); an upload that waits here stops
   * reading its request, so its sender waits, not the server's memory.
   */
  private readonly writing: Slots;

  constructor(
    private readonly db: Pool,
    opts: { mbPerSecond?: number } = {},
  ) {
    // A statement's worth at once: a lone small upload never waits.
    this.pace = new Pace((opts.mbPerSecond ?? 0) * 1024 * 1024, CHUNKS_PER_STATEMENT * CHUNK_BYTES);
    this.writing = new Slots(Math.max(1, Math.floor((db.options.max ?? 10) / 4)));
  }

  async write(
    attachmentId: string,
    variant: Variant,
    source: AsyncIterable<Buffer> | Iterable<Buffer>,
  ) {
    const id = Buffer.from(attachmentId.replace(/-/g, ''), 'hex');
    if (!isAttachmentId(attachmentId) || id.length !== 16)
      throw new Error(`not an attachment id: ${attachmentId}`);
    const which = Buffer.from(variant === 'thumb' ? 'thumb' : 'original');
    let n = 0;
    let total = 0;
    let rows: BinaryField[][] = [];
    let parts: Buffer[] = [];
    let held = 0;
    let batched = 0;
    const endChunk = () => {
      const k = Buffer.allocUnsafe(4);
      k.writeInt32BE(n++, 0);
      rows.push([id, which, k, parts]);
      batched += held;
      parts = [];
      held = 0;
    };
    const flush = async () => {
      const [batch, bytes] = [rows, batched];
      rows = [];
      batched = 0;
      await this.pace.take(bytes);
      await this.writing.run(() =>
        copyInRows(
          this.db,
          'COPY attachment_chunks (attachment_id, variant, n, data) FROM STDIN (FORMAT binary)',
          batch,
        ),
      );
    };
    for await (const piece of source) {
      let rest = piece;
      total += rest.length;
      while (held + rest.length >= CHUNK_BYTES) {
        const take = CHUNK_BYTES - held;
        parts.push(rest.subarray(0, take));
        held += take;
        rest = rest.subarray(take);
        endChunk();
        if (rows.length === CHUNKS_PER_STATEMENT) await flush();
      }
      if (rest.length) {
        parts.push(rest);
        held += rest.length;
      }
    }
    if (held) endChunk();
    if (rows.length) await flush();
    return total;
  }

  async *read(attachmentId: string, variant: Variant): AsyncIterable<Buffer> {
    // By COPY, as stored, not SELECT's hex text (src/core/db/copy-out.ts). COPY takes no
    // parameters, so only checked values go into the statement: a uuid, a variant, numbers.
    if (!isAttachmentId(attachmentId)) throw new Error(`not an attachment id: ${attachmentId}`);
    const which = `attachment_id = '${attachmentId}' AND variant = '${variant === 'thumb' ? 'thumb' : 'original'}'`;
    for (let from = 0; ; from += READ_AHEAD) {
      const rows = await copyOutColumn(
        this.db,
        `COPY (SELECT data FROM attachment_chunks WHERE ${which}
           AND n >= ${from} AND n < ${from + READ_AHEAD} ORDER BY n) TO STDOUT (FORMAT binary)`,
      );
      yield* rows;
      if (rows.length < READ_AHEAD) return;
    }
  }

  async remove(db: Db, attachmentId: string, variant: Variant) {
    await db.query('DELETE FROM attachment_chunks WHERE attachment_id = $1 AND variant = $2', [
      attachmentId,
      variant,
    ]);
  }
}

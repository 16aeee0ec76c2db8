// `COPY (SELECT one bytea column) TO STDOUT (FORMAT binary)`: rows of bytes as they are stored.
// A SELECT of bytea comes back as hex text (pg-protocol decodes every field as a string), twice
// the bytes on the wire, hex-encoded by PostgreSQL and decoded again here: a 10 MB file cost
// ~12 ms of CPU per MB between the two (embedded PostgreSQL 17), the download's ceiling. COPY's
// binary rows arrive as raw CopyData messages: ~1.8 ms per MB (bench/files.ts).
import { connectionGone, type Pool } from './pool.js';

/**
 * Runs a COPY … TO STDOUT (FORMAT binary) whose rows have one non-null bytea column and
 * resolves with each row's bytes. Everything is held until the statement ends, so the caller
 * bounds it (a few rows at a time). COPY takes no bind parameters: the caller puts only
 * values it has checked into `sql` (see quoteLiteral).
 */
export async function copyOutColumn(pool: Pool, sql: string): Promise<Buffer[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      const parts: Buffer[] = [];
      let settled = false;
      const settle = (err: Error | undefined) => {
        if (settled) return;
        settled = true;
        if (err) return reject(err);
        try {
          resolve(readColumn(parts));
        } catch (e) {
          broken = e as Error;
          reject(broken);
        }
      };
      // A Submittable: the client hands it the protocol messages of its statement.
      void client.query({
        submit(connection: { query(text: string): void }) {
          connection.query(sql);
        },
        // A view into the parser's buffer, which it reuses for later messages: copied now.
        handleCopyData(msg: { chunk: Buffer }) {
          parts.push(Buffer.from(msg.chunk));
        },
        handleCommandComplete() {},
        // The last call either way (the client forgets the statement on an error). An error
        // from the server leaves the connection usable, unless FATAL; any other means it is gone.
        handleError(err: Error) {
          if (connectionGone(err)) broken = err;
          settle(err);
        },
        handleReadyForQuery() {
          settle(undefined);
        },
      } as unknown as Parameters<typeof client.query>[0]);
    });
  } finally {
    client.release(broken);
  }
}

/** PGCOPY\n\377\r\n\0, then flags and header-extension length (int32 each). */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** The rows of a binary COPY with one non-null column, as views into `parts` where possible. */
function readColumn(parts: Buffer[]): Buffer[] {
  const r = new Reader(parts);
  if (!r.take(SIGNATURE.length).equals(SIGNATURE)) throw new Error('not a binary COPY');
  r.take(4); // flags
  r.take(r.take(4).readUInt32BE(0)); // header extension
  const rows: Buffer[] = [];
  for (;;) {
    const fields = r.take(2).readInt16BE(0);
    if (fields === -1) return rows;
    if (fields !== 1) throw new Error(`a binary COPY row has ${fields} columns, not 1`);
    const len = r.take(4).readInt32BE(0);
    if (len < 0) throw new Error('a binary COPY row is null');
    rows.push(r.take(len));
  }
}

/** Reads across message boundaries; a piece that lies in one message is not copied again. */
class Reader {
  private i = 0;
  private at = 0;
  constructor(private readonly parts: Buffer[]) {}

  take(n: number): Buffer {
    const part = this.parts[this.i];
    if (part && this.at + n <= part.length) {
      const out = part.subarray(this.at, this.at + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    for (let got = 0; got < n;) {
      const p = this.parts[this.i];
      if (!p) throw new Error('a binary COPY ended early');
      const k = Math.min(n - got, p.length - this.at);
      p.copy(out, got, this.at, this.at + k);
      got += k;
      this.advance(k);
    }
    return out;
  }

  private advance(n: number) {
    this.at += n;
    if (this.at === this.parts[this.i]!.length) {
      this.i++;
      this.at = 0;
    }
  }
}

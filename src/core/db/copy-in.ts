// `COPY … FROM STDIN (FORMAT binary)`: rows sent as bytes, the way copy-out.ts reads them back.
// An INSERT's bytea parameter was copied twice on its way out (gathered into a chunk, then
// into pg's message writer, which grows to the chunk's size) and each chunk was a statement
// and a commit of its own. Here a row's pieces go to the socket as they are (one writev) and
// several rows make one statement. CPU per MB stored, ten 10 MB files (bench/store-cpu.ts,
// embedded PostgreSQL 17, 3 rounds alternated at a load of 5.3): app 1.7-2.2 -> 0.5-0.9 ms,
// PostgreSQL 4.6-5.5 -> 3.6-5.5 ms (at a load of 2.5-3: 4.0-7.0 -> 3.2-3.8 ms).
import { connectionGone, type Pool } from './pool.js';

/** One field of a row, already in PostgreSQL's binary form: one Buffer, or pieces in order. */
export type BinaryField = Buffer | readonly Buffer[];

const HEADER = Buffer.concat([
  Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
  Buffer.alloc(8), // flags, header-extension length
]);
const TRAILER = Buffer.from([0xff, 0xff]); // a row of -1 fields: the end
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

const lengthOf = (f: BinaryField) =>
  Buffer.isBuffer(f) ? f.length : f.reduce((sum, b) => sum + b.length, 0);

interface Stream {
  cork(): void;
  uncork(): void;
  write(b: Buffer): boolean;
}

/** One CopyData message: its 5-byte head, then the parts as they are. */
function send(s: Stream, parts: Buffer[]): void {
  const head = Buffer.allocUnsafe(5);
  head[0] = 0x64; // 'd'
  head.writeInt32BE(4 + parts.reduce((sum, b) => sum + b.length, 0), 1);
  s.write(head);
  for (const p of parts) if (p.length) s.write(p);
}

/**
 * Runs `sql` (a COPY … FROM STDIN (FORMAT binary) naming the rows' columns in order) with
 * these rows, in one statement (its own transaction unless the pool's client is in one).
 * Resolves once the rows are stored; rejects with the server's error, and then nothing
 * of this statement was stored. COPY takes no bind parameters: every value is a row's field.
 * The fields' buffers are handed to the socket: the caller must not change them afterwards.
 */
export async function copyInRows(
  pool: Pool,
  sql: string,
  rows: ReadonlyArray<readonly BinaryField[]>,
): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      // A Submittable: the client hands it the protocol messages of its statement.
      void client.query({
        submit(connection: { query(text: string): void }) {
          connection.query(sql);
        },
        handleCopyInResponse(connection: { stream: Stream }) {
          const s = connection.stream;
          s.cork();
          send(s, [HEADER]);
          for (const fields of rows) {
            const head = Buffer.allocUnsafe(2);
            head.writeInt16BE(fields.length, 0);
            const parts: Buffer[] = [head];
            for (const f of fields) {
              const len = Buffer.allocUnsafe(4);
              len.writeInt32BE(lengthOf(f), 0);
              parts.push(len, ...(Buffer.isBuffer(f) ? [f] : f));
            }
            send(s, parts);
          }
          send(s, [TRAILER]);
          s.write(COPY_DONE);
          s.uncork();
        },
        handleCommandComplete() {},
        // The last call either way (the client forgets the statement on an error; the server
        // drops the rest of the COPY's data). An error from the server leaves the connection
        // usable, unless FATAL; any other means it is gone.
        handleError(err: Error) {
          if (connectionGone(err)) broken = err;
          reject(err);
        },
        handleReadyForQuery() {
          resolve();
        },
      } as unknown as Parameters<typeof client.query>[0]);
    });
  } finally {
    client.release(broken);
  }
}

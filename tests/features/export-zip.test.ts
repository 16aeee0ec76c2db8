// The promise "Download my data" rests on (features/export/zip.ts): yazl takes each entry's
// bytes only as fast as the download reads the zip, opens an entry's source only when its
// turn comes, and what it writes opens as the same bytes. An experiment kept as a test, with
// counted bytes instead of timings: a paused download must stop the sources within a few
// buffers, whatever the sizes.
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { unzip } from '../support/zip.js';

const PIECE = 64 * 1024;
const ENTRY_BYTES = 8 * 1024 * 1024; // 128 pieces per entry: 4 times the bound below
const settle = () => new Promise((r) => setTimeout(r, 100));

describe('yazl, as the export uses it', () => {
  it('reads a source no further than the download has read, and opens the next one only at its turn', async () => {
    // Incompressible, so bytes in and bytes out can be compared for the deflated entry too.
    const noise = randomBytes(PIECE);
    const other = randomBytes(PIECE);
    let produced = 0;
    let opened = 0;
    const source = (piece: Buffer) => {
      opened++;
      return Readable.from(
        (function* () {
          for (let sent = 0; sent < ENTRY_BYTES; sent += PIECE) {
            produced += PIECE;
            yield piece;
          }
        })(),
        { objectMode: false, highWaterMark: PIECE },
      );
    };
    const zip = new yazl.ZipFile();
    zip.addReadStreamLazy('messages.json', { compress: true }, (give) => give(null, source(other)));
    zip.addReadStreamLazy('files/a.bin', { compress: false }, (give) => give(null, source(noise)));
    zip.addReadStreamLazy('files/b.bin', { compress: false }, (give) => give(null, source(noise)));
    zip.end();

    // The download is paused: nothing reads the zip.
    const download = new PassThrough({ highWaterMark: PIECE });
    zip.outputStream.pipe(download);
    await settle();
    const paused = produced;
    expect(opened).toBe(1);
    expect(paused).toBeLessThan(2 * 1024 * 1024);

    // It reads slowly, a piece at a time: the sources stay a few buffers ahead of it.
    const parts: Buffer[] = [];
    let read = 0;
    let maxAhead = 0;
    for (;;) {
      const chunk = download.read() as Buffer | null;
      if (chunk) {
        parts.push(chunk);
        read += chunk.length;
        maxAhead = Math.max(maxAhead, produced - read);
        if (parts.length % 64 === 0) await settle(); // a slow reader now and then
        continue;
      }
      if (download.readableEnded) break;
      await new Promise((r) => {
        download.once('readable', r);
        download.once('end', r);
      });
      if (download.readableEnded && !download.readableLength) break;
    }
    console.info(
      `yazl experiment: ${paused} bytes read while paused, at most ${maxAhead} ahead of the reader`,
    );
    expect(opened).toBe(3);
    expect(produced).toBe(3 * ENTRY_BYTES);
    // Ahead of the reader: the pipes' buffers, never a whole entry.
    expect(maxAhead).toBeLessThan(2 * 1024 * 1024);

    const entries = await unzip(Buffer.concat(parts));
    expect(entries.map((e) => [e.name, e.data.length, e.compressed])).toEqual([
      ['messages.json', ENTRY_BYTES, true],
      ['files/a.bin', ENTRY_BYTES, false],
      ['files/b.bin', ENTRY_BYTES, false],
    ]);
    expect(entries[1]!.data.subarray(0, PIECE).equals(noise)).toBe(true);
    expect(entries[0]!.data.subarray(ENTRY_BYTES - PIECE).equals(other)).toBe(true);
  }, 60_000);
});

// The small pure parts of pictures and files: names, headers, types by their first bytes.
import { describe, expect, it } from 'vitest';
import { cleanFileName, contentDisposition } from '../../src/features/attachments/names.js';
import { claimsPicture, isProgram, sniff } from '../../src/features/attachments/sniff.js';
import { formatSize, typeLabel } from '../../src/shared/files.js';
import { CHUNK_BYTES, PgBlobStore } from '../../src/features/attachments/storage.js';
import { Pace } from '../../src/features/attachments/throttle.js';
import type { Pool } from '../../src/core/db/pool.js';
import { HTML_PAGE, pdf, png, SVG_WITH_SCRIPT } from '../support/files.js';

describe('file names', () => {
  it.each([
    ['holiday.jpg', 'holiday.jpg'],
    ['C:\\Users\\ann\\Desktop\\plan.pdf', 'plan.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['a\r\nb.txt', 'ab.txt'],
    ['\u202Egpj.exe', 'gpj.exe'],
    ['zero\u200Bwidth.txt', 'zerowidth.txt'],
    ['.hidden', 'hidden'],
    ['', 'file'],
    ['/', 'file'],
    ['\u0000', 'file'],
    ['half\uD800.txt', 'half.txt'],
    ['Ünïcødé 📎.txt', 'Ünïcødé 📎.txt'],
  ])('%j is stored as %j', (raw, clean) => {
    expect(cleanFileName(raw)).toBe(clean);
  });

  it('keeps the extension of a very long name', () => {
    const name = cleanFileName(`${'a'.repeat(500)}.pdf`);
    expect([...name].length).toBe(180);
    expect(name.endsWith('.pdf')).toBe(true);
  });

  it('writes Content-Disposition with an ASCII fallback and the RFC 5987 name', () => {
    expect(contentDisposition('attachment', 'plan.pdf')).toBe(
      `attachment; filename="plan.pdf"; filename*=UTF-8''plan.pdf`,
    );
    expect(contentDisposition('inline', 'é "x";\\%.png')).toBe(
      `inline; filename="_ _x____.png"; filename*=UTF-8''%C3%A9%20%22x%22%3B%5C%25.png`,
    );
    expect(contentDisposition('attachment', "it's (1)*.txt")).toBe(
      `attachment; filename="it's (1)*.txt"; filename*=UTF-8''it%27s%20%281%29%2A.txt`,
    );
  });
});

describe('types from the first bytes', () => {
  it('knows the four picture types, whatever the name says', async () => {
    expect(sniff(await png())).toEqual({ type: 'image/png', picture: true });
    expect(sniff(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toMatchObject({ type: 'image/jpeg' });
    expect(sniff(Buffer.from('GIF89a......'))).toMatchObject({ type: 'image/gif' });
    expect(sniff(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toMatchObject({ type: 'image/webp' });
  });

  it('never takes HTML or SVG for a picture', () => {
    expect(sniff(HTML_PAGE)).toEqual({ type: 'application/octet-stream', picture: false });
    expect(sniff(SVG_WITH_SCRIPT)).toEqual({ type: 'application/octet-stream', picture: false });
    expect(sniff(pdf())).toEqual({ type: 'application/pdf', picture: false });
  });

  it('knows programs', () => {
    expect(isProgram(Buffer.from('MZ\x90\0'))).toBe(true);
    expect(isProgram(Buffer.from('\x7fELF\x02'))).toBe(true);
    expect(isProgram(Buffer.from([0xcf, 0xfa, 0xed, 0xfe]))).toBe(true);
    expect(isProgram(pdf())).toBe(false);
  });

  it('says which names and labels claim a picture (SVG is not one)', () => {
    expect(claimsPicture('a.PNG', '')).toBe(true);
    expect(claimsPicture('a', 'image/jpeg')).toBe(true);
    expect(claimsPicture('a.svg', 'image/svg+xml')).toBe(false);
    expect(claimsPicture('a.txt', 'text/plain')).toBe(false);
  });

  it('labels and sizes files for people', () => {
    expect(typeLabel('application/pdf', 'x.pdf')).toBe('PDF document');
    expect(typeLabel('application/octet-stream', 'notes.txt')).toBe('TXT file');
    expect(typeLabel('application/octet-stream', 'README')).toBe('File');
    expect(formatSize(1)).toBe('1 byte');
    expect(formatSize(1023)).toBe('1023 bytes');
    expect(formatSize(48_000)).toBe('47 KB');
    expect(formatSize(10 * 1024 * 1024)).toBe('10 MB');
    expect(formatSize(1.5 * 1024 * 1024)).toBe('1.5 MB');
  });
});

/** The rows of a binary COPY sent to a fake connection: each row's fields, as bytes. */
function copiedRows(sent: Buffer[]): Buffer[][] {
  const wire = Buffer.concat(sent);
  const data: Buffer[] = [];
  for (let at = 0; wire[at] === 0x64; at += 1 + wire.readInt32BE(at + 1))
    data.push(wire.subarray(at + 5, at + 1 + wire.readInt32BE(at + 1)));
  const copy = Buffer.concat(data);
  const rows: Buffer[][] = [];
  let at = 19; // signature, flags, header extension
  for (;;) {
    const fields = copy.readInt16BE(at);
    at += 2;
    if (fields === -1) return rows;
    const row: Buffer[] = [];
    for (let f = 0; f < fields; f++) {
      const len = copy.readInt32BE(at);
      row.push(copy.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    rows.push(row);
  }
}

describe('the byte store', () => {
  it('lets ten uploads at once hold a quarter of the pool for their chunks, so chat still gets a connection', async () => {
    let inFlight = 0;
    let most = 0;
    const stored: { id: string; n: number; bytes: number }[] = [];
    let statements = 0;
    const client = {
      query(statement: {
        submit(c: { query(sql: string): void }): void;
        handleCopyInResponse(c: { stream: unknown }): void;
        handleReadyForQuery(): void;
      }) {
        most = Math.max(most, ++inFlight);
        statements++;
        statement.submit({ query: () => undefined });
        const sent: Buffer[] = [];
        const stream = { cork() {}, uncork() {}, write: (b: Buffer) => sent.push(b) > 0 };
        statement.handleCopyInResponse({ stream });
        for (const [id, , n, data] of copiedRows(sent))
          stored.push({ id: id!.toString('hex'), n: n!.readInt32BE(0), bytes: data!.length });
        setTimeout(() => {
          inFlight--;
          statement.handleReadyForQuery();
        }, 2);
      },
      release() {},
    };
    const pool = {
      options: { max: 10 },
      connect: () => Promise.resolve(client),
    } as unknown as Pool;
    const store = new PgBlobStore(pool);
    const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    // In pieces as a request brings them, one chunk and a bit more per statement's worth.
    const file = () => Array.from({ length: 13 }, (_, k) => Buffer.alloc(k < 12 ? 65536 : 5, k));
    const sizes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.write(id(i), 'original', file())),
    );
    expect(sizes).toEqual(Array(10).fill(CHUNK_BYTES * 3 + 5));
    expect(stored).toHaveLength(40);
    expect(statements).toBe(10); // 1 MB a statement: this file's four chunks in one
    expect(stored.filter((r) => r.id === id(3).replace(/-/g, '')).map((r) => r.bytes)).toEqual([
      CHUNK_BYTES,
      CHUNK_BYTES,
      CHUNK_BYTES,
      5,
    ]);
    expect(most).toBe(2);
  });
});

describe('the uploads’ pace', () => {
  const MB = 1024 * 1024;

  it('lets a burst go at once, then no more bytes a second than it is set to, in turn', async () => {
    const pace = new Pace(20 * MB, MB); // 1 MB at once, then 1 MB every 50 ms
    const t0 = performance.now();
    const at: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map((i) => pace.take(MB).then(() => (at[i] = performance.now() - t0))),
    );
    expect(at[0]).toBeLessThan(20);
    expect(at[1]).toBeGreaterThanOrEqual(45);
    expect(at[3]).toBeGreaterThanOrEqual(145);
    expect([...at].sort((a, b) => a - b)).toEqual(at); // first come, first served
  });

  it('does not pace at 0 B/s', async () => {
    const none = new Pace(0, 0);
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) await none.take(100 * MB);
    expect(performance.now() - t0).toBeLessThan(50);
  });
});

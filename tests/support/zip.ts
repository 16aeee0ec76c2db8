// Opening a zip in tests (yauzl: the reader by yazl's author, strict about entry names).
import yauzl from 'yauzl';
import { tokenFor, type TestUser } from './app.js';
import { asBytes } from './files.js';

export interface ZipEntry {
  name: string;
  data: Buffer;
  compressed: boolean;
}

/** Every entry of the zip in `buf`, in the order they are stored; rejects a damaged zip. */
export function unzip(buf: Buffer): Promise<ZipEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err) return reject(err);
      const entries: ZipEntry[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const parts: Buffer[] = [];
          stream.on('data', (p: Buffer) => parts.push(p));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({
              name: entry.fileName,
              data: Buffer.concat(parts),
              compressed: entry.compressionMethod !== 0,
            });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/**
 * The entries a zip's central directory lists (name, uncompressed size), read from the zip's
 * last bytes alone: for a download too big to keep. Zip64 sizes are read from their extra field.
 */
export function zipDirectory(tail: Buffer): Array<{ name: string; size: number }> {
  const out: Array<{ name: string; size: number }> = [];
  let at = tail.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  while (at !== -1 && at + 46 <= tail.length && tail.readUInt32LE(at) === 0x02014b50) {
    const nameLength = tail.readUInt16LE(at + 28);
    const extraLength = tail.readUInt16LE(at + 30);
    const commentLength = tail.readUInt16LE(at + 32);
    const name = tail.toString('utf8', at + 46, at + 46 + nameLength);
    let size = tail.readUInt32LE(at + 24);
    if (size === 0xffffffff) {
      // Zip64 extra field (id 1): the uncompressed size comes first.
      for (let x = at + 46 + nameLength; x < at + 46 + nameLength + extraLength;) {
        const id = tail.readUInt16LE(x);
        const len = tail.readUInt16LE(x + 2);
        if (id === 1) size = Number(tail.readBigUInt64LE(x + 4));
        x += 4 + len;
      }
    }
    out.push({ name, size });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

/** "Download my data" as the Account page's form posts it: the zip, whole, as bytes. */
export async function downloadExport(u: TestUser) {
  const token = await tokenFor(u.agent, '/account');
  return u.agent
    .post('/account/export')
    .type('form')
    .send({ _csrf: token })
    .buffer(true)
    .parse(asBytes);
}

// Pictures and files for the attachment tests: real ones made with sharp, and hostile ones
// made by hand (a PNG header claiming 30,000 × 30,000 pixels, a polyglot, an SVG with script).
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { AttachmentDto } from '../../src/shared/protocol.js';
import { tokenFor, type Agent } from './app.js';

export async function png(width = 64, height = 48, colour = '#6495ed'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

/** A JPEG as a phone writes it: sideways with EXIF orientation 6, the camera and GPS recorded. */
export async function phoneJpeg(width = 80, height = 40): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#ff8fb8' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExifMerge({
      IFD0: { Make: 'SecretPhone', Model: 'X1', Orientation: '6' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1' },
    })
    .toBuffer();
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A few hundred bytes whose header says 30,000 × 30,000 pixels: decoded, 2.7 GB. */
export function pngBomb(side = 30_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = deflateSync(Buffer.alloc((side * 3 + 1) * 4)); // four rows of zeros, the rest missing
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', rows),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * An animated GIF of a `side` × `side` screen and `frames` frames of one pixel each: a few
 * hundred bytes, but decoding gives every frame the whole screen (side² × frames pixels).
 */
export function gifBomb(side: number, frames: number): Buffer {
  const le16 = (n: number) => Buffer.from([n & 0xff, n >> 8]);
  // Black and white in turn, so no two frames in a row are the same (an encoder merges those).
  const frame = (n: number) =>
    Buffer.from([
      ...[0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00], // 1/10 s a frame
      ...[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0], // at 0,0, 1 × 1, no local colours
      ...[0x02, 0x02, n % 2 ? 0x4c : 0x44, 0x01, 0x00], // LZW: clear, colour 0 or 1, end
    ]);
  return Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    le16(side),
    le16(side),
    Buffer.from([0xf0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]), // two global colours
    Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0'), 3, 1, 0, 0, 0]), // loop
    ...Array.from({ length: frames }, (_, n) => frame(n)),
    Buffer.from([0x3b]),
  ]);
}

/** A real PNG whose header (acTL, before its pixels) declares `frames` animation frames. */
export async function apngClaiming(side: number, frames: number): Promise<Buffer> {
  const still = await png(side, side);
  const ihdrEnd = 8 + 12 + 13;
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(frames, 0);
  actl.writeUInt32BE(0, 4); // loop for ever
  return Buffer.concat([still.subarray(0, ihdrEnd), chunk('acTL', actl), still.subarray(ihdrEnd)]);
}

export const SCRIPT = '<script>alert(document.cookie)</script>';

/** A real PNG that also carries an HTML page: in a text chunk and after its end. */
export async function polyglotPng(): Promise<Buffer> {
  const real = await png(16, 16);
  const iend = real.length - 12;
  const text = chunk('tEXt', Buffer.from(`Comment\0<html><body>${SCRIPT}</body></html>`, 'latin1'));
  return Buffer.concat([
    real.subarray(0, iend),
    text,
    real.subarray(iend),
    Buffer.from(`<html>${SCRIPT}</html>`),
  ]);
}

export const SVG_WITH_SCRIPT = Buffer.from(
  `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">${SCRIPT}<rect width="10" height="10"/></svg>`,
);

export const HTML_PAGE = Buffer.from(`<!doctype html><html><body>${SCRIPT}</body></html>`);

/** A PDF-looking file of `size` bytes. */
export function pdf(size = 3000): Buffer {
  const b = Buffer.alloc(size, 0x20);
  b.write('%PDF-1.7\n', 0, 'latin1');
  return b;
}

/** Uploads one file as the composer's script does (multipart, token in a header). */
export async function upload(
  agent: Agent,
  conversationId: number,
  file: { data: Buffer; name: string; type?: string },
) {
  const token = await tokenFor(agent, `/conversations/${conversationId}`);
  return agent
    .post(`/conversations/${conversationId}/attachments`)
    .set('x-csrf-token', token)
    .set('accept', 'application/json')
    .attach('file', file.data, {
      filename: file.name,
      contentType: file.type ?? 'application/octet-stream',
    });
}

/** Uploads and returns the stored attachment; fails the test if it was refused. */
export async function uploaded(
  agent: Agent,
  conversationId: number,
  file: { data: Buffer; name: string; type?: string },
): Promise<AttachmentDto> {
  const res = await upload(agent, conversationId, file);
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${res.text.slice(0, 200)}`);
  return (res.body as { attachment: AttachmentDto }).attachment;
}

/** A superagent parser for a body wanted whole, as bytes. */
export function asBytes(
  res: { on(event: string, listener: (chunk: Buffer) => void): unknown },
  cb: (err: Error | null, body: Buffer) => void,
): void {
  const parts: Buffer[] = [];
  res.on('data', (c) => parts.push(c));
  res.on('end', () => cb(null, Buffer.concat(parts)));
}

/** The whole body of a download, as bytes. */
export async function download(agent: Agent, path: string) {
  return agent.get(path).buffer(true).parse(asBytes);
}

/**
 * A multipart body written by hand, for what a library would not send: a file name given
 * as `filename*=UTF-8''…` (RFC 5987), which can carry CR, LF and slashes.
 */
export async function uploadNamed(
  agent: Agent,
  conversationId: number,
  encodedName: string,
  data: Buffer,
) {
  const token = await tokenFor(agent, `/conversations/${conversationId}`);
  const b = 'hostile-boundary';
  const body = Buffer.concat([
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''${encodedName}\r\nContent-Type: text/plain\r\n\r\n`,
    ),
    data,
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  return agent
    .post(`/conversations/${conversationId}/attachments`)
    .set('x-csrf-token', token)
    .set('accept', 'application/json')
    .set('content-type', `multipart/form-data; boundary=${b}`)
    .send(body);
}

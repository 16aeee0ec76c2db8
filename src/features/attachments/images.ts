// Pictures are re-encoded before anyone sees them (sharp): turned upright per their EXIF
// orientation, then written again without any metadata block (GPS, camera, comments), so
// the stored original carries none; whatever else was hidden in the file (an HTML page
// appended to a PNG, a script in a comment) does not survive a decode and re-encode either.
// Each gets a thumbnail, at most THUMB_BOX wide and high, whose size the page knows before it
// loads. One picture at a time: decoding is the memory-hungry part, and ten large uploads
// at once must not hold ten decoded images.
import sharp, { type Metadata } from 'sharp';
import { AppError } from '../../core/errors.js';

/**
 * A 30,000 × 30,000 "picture" (a decompression bomb) is refused before it is decoded; so is
 * an animation whose frames together pass it: a tiny GIF can declare a 2,000 × 2,000 screen
 * and a hundred 1-pixel frames, and decoding gives every frame the whole screen.
 */
export const MAX_PIXELS = 50_000_000;
/** A thumbnail is shown at most this wide and high (CSS px); its file has twice the pixels, for sharp screens. */
export const THUMB_BOX = 320;

sharp.cache(false); // nothing of one person's picture stays in a cache for the next request

export interface Processed {
  original: Buffer;
  thumb: Buffer;
  width: number;
  height: number;
  thumbWidth: number;
  thumbHeight: number;
}

let running: Promise<unknown> = Promise.resolve();

/** Runs one picture at a time, in arrival order. */
function inTurn<T>(job: () => Promise<T>): Promise<T> {
  const result = running.then(job, job);
  running = result.catch(() => undefined);
  return result;
}

/** Loads the picture's bytes only when its turn comes, so waiting pictures hold no memory. */
export function processPicture(load: () => Promise<Buffer>, type: string): Promise<Processed> {
  return inTurn(async () => encode(await load(), type));
}

function notAPicture(): AppError {
  return new AppError(
    415,
    'That picture could not be read: it is damaged or not really a picture.',
    'refused_type',
  );
}

async function encode(input: Buffer, type: string): Promise<Processed> {
  const animated = type === 'image/gif' || type === 'image/webp';
  const options = { failOn: 'error', limitInputPixels: false, animated } as const;
  let meta: Metadata;
  try {
    meta = await sharp(input, options).metadata(); // the header only: nothing decoded yet
  } catch {
    throw notAPicture();
  }
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  // An APNG's frames are not decoded (libvips reads its first), but its header says how many
  // there are, and the budget is the same for every kind of animation.
  const frames = Math.max(1, meta.pages ?? 1, type === 'image/png' ? apngFrames(input) : 1);
  if (!width || !height) throw notAPicture();
  const most = `the most is ${(MAX_PIXELS / 1e6).toFixed(0)} million pixels`;
  const size = `${width.toLocaleString('en')} × ${height.toLocaleString('en')} pixels`;
  if (width * height > MAX_PIXELS)
    throw new AppError(413, `That picture is too large to show (${size}); ${most}.`, 'too_large');
  if (width * height * frames > MAX_PIXELS) {
    const total = ((width * height * frames) / 1e6).toFixed(0);
    throw new AppError(
      413,
      `That animated picture is too large to show (${size} in each of ${frames.toLocaleString('en')} frames, ${total} million pixels in all); ${most} in all frames together.`,
      'too_large',
    );
  }
  try {
    // The decoder's own limit counts every frame too (an animation decodes as one tall strip).
    const source = sharp(input, { ...options, limitInputPixels: MAX_PIXELS });
    // rotate() without an angle: upright per EXIF. No keepMetadata(): every block is dropped.
    const upright = animated ? source : source.rotate();
    const encoder =
      type === 'image/jpeg'
        ? upright.jpeg({ quality: 88 })
        : type === 'image/png'
          ? upright.png({ compressionLevel: 6 })
          : type === 'image/gif'
            ? upright.gif()
            : upright.webp({ quality: 88 });
    const original = await encoder.toBuffer({ resolveWithObject: true });
    const thumb = await sharp(input, { failOn: 'error', limitInputPixels: MAX_PIXELS })
      .rotate()
      .resize(THUMB_BOX * 2, THUMB_BOX * 2, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer({ resolveWithObject: true });
    const w = original.info.width;
    const h = original.info.pageHeight ?? original.info.height;
    // The size it is shown at, known before it loads: no larger than the picture itself.
    const scale = Math.min(1, THUMB_BOX / w, THUMB_BOX / h);
    return {
      original: original.data,
      thumb: thumb.data,
      width: w,
      height: h,
      thumbWidth: Math.max(1, Math.round(w * scale)),
      thumbHeight: Math.max(1, Math.round(h * scale)),
    };
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw notAPicture();
  }
}

/**
 * The number of frames an animated PNG's header (acTL, before the first IDAT) declares;
 * 1 for a still PNG or one that cannot be read that far.
 */
export function apngFrames(png: Buffer): number {
  let at = 8; // after the signature
  while (at + 12 <= png.length) {
    const length = png.readUInt32BE(at);
    const kind = png.toString('latin1', at + 4, at + 8);
    if (kind === 'IDAT' || kind === 'IEND') return 1;
    if (kind === 'acTL' && length >= 8 && at + 12 <= png.length) return png.readUInt32BE(at + 8);
    at += 12 + length;
  }
  return 1;
}

// What a file really is, read from its first bytes: never from its name or the browser's
// Content-Type, which the sender chooses. Only the four picture types below are ever
// shown inline; everything else is served as a download (routes.ts).

/** Bytes enough for every signature below. */
export const SNIFF_BYTES = 16;

export interface Sniffed {
  /** The type stored and served. */
  type: string;
  /** One of the picture types re-encoded by sharp and shown inline. */
  picture: boolean;
}

const starts = (b: Buffer, bytes: number[], at = 0) =>
  b.length >= at + bytes.length && bytes.every((x, i) => b[at + i] === x);
const ascii = (b: Buffer, text: string, at = 0) =>
  b.length >= at + text.length && b.toString('latin1', at, at + text.length) === text;

function pictureType(b: Buffer): string | undefined {
  if (starts(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts(b, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (ascii(b, 'GIF87a') || ascii(b, 'GIF89a')) return 'image/gif';
  if (ascii(b, 'RIFF') && ascii(b, 'WEBP', 8)) return 'image/webp';
  return undefined;
}

/** Programs are refused: a chat is no way to hand someone an executable. */
export function isProgram(b: Buffer): boolean {
  return (
    ascii(b, 'MZ') || // Windows .exe, .dll, .scr
    starts(b, [0x7f, 0x45, 0x4c, 0x46]) || // ELF (Linux)
    starts(b, [0xfe, 0xed, 0xfa, 0xce]) ||
    starts(b, [0xfe, 0xed, 0xfa, 0xcf]) ||
    starts(b, [0xce, 0xfa, 0xed, 0xfe]) ||
    starts(b, [0xcf, 0xfa, 0xed, 0xfe]) // Mach-O (macOS)
  );
}

const OTHERS: [test: (b: Buffer) => boolean, type: string][] = [
  [(b) => ascii(b, '%PDF-'), 'application/pdf'],
  [(b) => starts(b, [0x50, 0x4b, 0x03, 0x04]), 'application/zip'],
  [(b) => starts(b, [0x1f, 0x8b]), 'application/gzip'],
  [(b) => ascii(b, 'ID3') || starts(b, [0xff, 0xfb]), 'audio/mpeg'],
  [(b) => ascii(b, 'ftyp', 4), 'video/mp4'],
  [(b) => ascii(b, 'OggS'), 'audio/ogg'],
];

/** The file's type from its first bytes (at least SNIFF_BYTES of them, or the whole file). */
export function sniff(head: Buffer): Sniffed {
  const picture = pictureType(head);
  if (picture) return { type: picture, picture: true };
  for (const [test, type] of OTHERS) if (test(head)) return { type, picture: false };
  // Text, SVG, HTML, documents: served as bytes to download, never interpreted.
  return { type: 'application/octet-stream', picture: false };
}

/**
 * Whether the sender says this is a picture (by its name or its Content-Type). A file that
 * says so but whose bytes are not one of the four picture types is refused: it is lying,
 * like an HTML page named photo.png. SVG is not one of them: it is a document with scripts.
 */
export function claimsPicture(name: string, claimedType: string): boolean {
  return (
    /\.(png|jpe?g|jfif|gif|webp)$/i.test(name) ||
    /^image\/(png|jpe?g|pjpeg|gif|webp)\b/i.test(claimedType.trim())
  );
}

// Pictures and files, as both the pages (EJS) and the browser script show them.

const LABELS: Record<string, string> = {
  'image/jpeg': 'JPEG picture',
  'image/png': 'PNG picture',
  'image/gif': 'GIF picture',
  'image/webp': 'WebP picture',
  'application/pdf': 'PDF document',
  'application/zip': 'ZIP archive',
  'application/gzip': 'GZIP archive',
  'audio/mpeg': 'MP3 audio',
  'video/mp4': 'MP4 video',
  'audio/ogg': 'Ogg audio',
};

/** The only types shown inline, as pictures: each stored one was re-encoded by the server. */
export const PICTURE_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
];

export const isPicture = (type: string) => PICTURE_TYPES.includes(type);

/** What a person reads beside a file's name: "PDF document", "TXT file". */
export function typeLabel(type: string, name: string): string {
  const known = LABELS[type];
  if (known) return known;
  const ext = /\.([a-z0-9]{1,8})$/i.exec(name)?.[1];
  return ext ? `${ext.toUpperCase()} file` : 'File';
}

/** "1.4 MB", "312 KB", "18 bytes". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  const mb = bytes / (1024 * 1024);
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

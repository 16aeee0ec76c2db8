// File names: what a sender typed is kept for people to read, but never becomes a path,
// a header's structure or a trick of direction.

const MAX_NAME = 180;

/**
 * A file name safe to store and show: the last path segment only (no "../", no folders),
 * without control characters (CR, LF, NUL), invisible formatting characters (bidi
 * overrides that turn "gpj.exe" into "exe.jpg") or lone surrogates; at most 180 characters,
 * the extension kept. Never empty.
 */
export function cleanFileName(raw: string): string {
  const last = raw.split(/[/\\]/).pop() ?? '';
  const cleaned = last
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .replace(/\p{Cf}/gu, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .trim()
    .replace(/^\.+/, '');
  const chars = [...cleaned];
  if (chars.length > MAX_NAME) {
    const ext = /\.[^.]{1,10}$/.exec(cleaned)?.[0] ?? '';
    return chars.slice(0, MAX_NAME - [...ext].length).join('') + ext;
  }
  return cleaned || 'file';
}

/**
 * A Content-Disposition header (RFC 6266) with the name twice: an ASCII fallback in
 * `filename="…"` (anything outside printable ASCII, quotes and backslashes become "_") and
 * the real name in `filename*=UTF-8''…` (RFC 5987 percent-encoding). Nothing in a name can
 * end the header or add a parameter.
 */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

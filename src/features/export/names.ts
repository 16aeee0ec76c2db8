// Where each file goes inside the export's zip. A name comes from whoever sent the file, so
// it is made safe for every system the zip may be opened on: the last path segment only
// (cleanFileName), none of the characters Windows refuses (<>:"/\|?*), no trailing dot or
// space, and a prefix of the message's id and the file's place among its files (or, not
// sent yet, the upload's id), so two files never share a path, not even on a disk that
// ignores case.
import { cleanFileName } from '../attachments/names.js';

const WINDOWS_REFUSED = /[<>:"/\\|?*]/g;

/** A file name that is one safe path segment on Windows, macOS and Linux. */
export function safeSegment(raw: string): string {
  const name = cleanFileName(raw)
    .replace(WINDOWS_REFUSED, '_')
    .replace(/[. ]+$/, '');
  return name || 'file';
}

/** The path of a message's file in the zip: "files/<message id>-<1, 2, …>-<name>". */
export function sentFilePath(messageId: number, n: number, name: string): string {
  return `files/${messageId}-${n + 1}-${safeSegment(name)}`;
}

/** An upload not sent yet: "files/unsent-<its id>-<name>". */
export function unsentFilePath(attachmentId: string, name: string): string {
  return `files/unsent-${attachmentId}-${safeSegment(name)}`;
}

/** A conversation's readable page: "conversations/<id>.html". */
export const conversationPage = (conversationId: number) => `conversations/${conversationId}.html`;

/** A path as an href, each segment percent-encoded ("#" or "?" in a name stay part of it). */
export const hrefOf = (path: string) => path.split('/').map(encodeURIComponent).join('/');

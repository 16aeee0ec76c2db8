// Mentions in a group: "@Name" (a member's display name, any case) and "@everyone", which
// counts only from an admin or the owner once a group has more than 20 members (so one
// member cannot ping a crowd). The server's EJS and the browser script read them the same.

export const EVERYONE = 'everyone';
/** Above this many members, only admins and the owner may mention everyone. */
export const EVERYONE_OPEN_UP_TO = 20;

const boundary = /[\p{L}\p{N}_]/u;

/** Does the text mention this name ("@Ann", not "@Annie")? */
export function mentionsName(body: string, name: string): boolean {
  if (!name) return false;
  const text = body.toLocaleLowerCase();
  const needle = `@${name.toLocaleLowerCase()}`;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
    const next = text.slice(at + needle.length, at + needle.length + 2);
    const before = at === 0 ? '' : text[at - 1]!;
    if (!boundary.test([...next][0] ?? '') && !boundary.test(before)) return true;
  }
  return false;
}

/** Is the reader mentioned: by name, or by @everyone when the sender may use it? */
export function isMentioned(body: string, readerName: string, everyoneCounts: boolean): boolean {
  return mentionsName(body, readerName) || (everyoneCounts && mentionsName(body, EVERYONE));
}

// How the message list reads, decided once for the server's EJS and the browser script:
// which messages start a group, where a day starts, which message carries "Seen",
// an account's avatar colour. No DOM, no Node: both sides import it.

/** Messages of one sender closer than this share a group (Campfire threads at 5 minutes too). */
export const GROUP_GAP_MS = 5 * 60 * 1000;

export interface TimelineItem {
  senderId: number | null;
  createdAt: string | Date;
}

const ms = (d: string | Date) => (typeof d === 'string' ? Date.parse(d) : d.getTime());

/** A day key in a time zone given as minutes east of UTC (the server knows only UTC: 0). */
export function dayKey(at: string | Date, offsetMinutes = 0): number {
  return Math.floor((ms(at) + offsetMinutes * 60_000) / 86_400_000);
}

export function startsDay(prev: TimelineItem | undefined, cur: TimelineItem, offset = 0): boolean {
  return !prev || dayKey(prev.createdAt, offset) !== dayKey(cur.createdAt, offset);
}

export function startsGroup(
  prev: TimelineItem | undefined,
  cur: TimelineItem,
  offset = 0,
): boolean {
  return (
    !prev ||
    startsDay(prev, cur, offset) ||
    prev.senderId !== cur.senderId ||
    ms(cur.createdAt) - ms(prev.createdAt) > GROUP_GAP_MS
  );
}

const MONTHS =
  'January February March April May June July August September October November December'.split(
    ' ',
  );
const WEEKDAYS = 'Sunday Monday Tuesday Wednesday Thursday Friday Saturday'.split(' ');

/** "Today", "Yesterday", a weekday within the last week, else "12 March 2026". */
export function dayLabel(at: string | Date, now: Date = new Date(), offset = 0): string {
  const diff = dayKey(now, offset) - dayKey(at, offset);
  if (diff === 0) return 'Today';
  if (diff === 1) return 'Yesterday';
  const shifted = new Date(ms(at) + offset * 60_000);
  if (diff > 1 && diff < 7) return WEEKDAYS[shifted.getUTCDay()]!;
  return `${shifted.getUTCDate()} ${MONTHS[shifted.getUTCMonth()]} ${shifted.getUTCFullYear()}`;
}

/** The last of my messages the others have all read: the one that shows "Seen". */
export function seenMessageId(
  mine: readonly { id: number; senderId: number | null }[],
  me: number,
  otherRead: number,
): number | undefined {
  let seen: number | undefined;
  for (const m of mine) if (m.senderId === me && m.id <= otherRead) seen = m.id;
  return seen;
}

/** One to three emoji and nothing else: shown larger, as chat apps do. */
export function isEmojiOnly(body: string): boolean {
  const text = body.trim();
  if (!text || text.length > 40) return false;
  if (
    !/^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Component}|\u200d|\ufe0f|\s)+$/u.test(
      text,
    )
  )
    return false;
  if (/^[\d#*\s]+$/.test(text)) return false; // digits are emoji components, not emoji
  const pictures = text.match(/\p{Extended_Pictographic}|\p{Regional_Indicator}{2}/gu) ?? [];
  const joined = text.match(/\u200d/g)?.length ?? 0;
  const count = pictures.length - joined;
  return count >= 1 && count <= 3;
}

/**
 * Which of the stylesheet's avatar colours (av-0 … av-7, each 4.5:1 or better under white
 * text) an account gets: stable per account. A class, not a style attribute: the CSP
 * allows no inline styles.
 */
export function avatarClass(accountId: number | null): string {
  if (accountId === null) return 'av-none';
  return `av-${(Math.imul(accountId, 2654435761) >>> 0) % 8}`;
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/u).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words.at(-1)!] : words;
  return letters.map((w) => [...w][0]!.toLocaleUpperCase()).join('') || '?';
}

// The message list's rules, shared by the server's EJS and the browser script.
import { describe, expect, it } from 'vitest';
import {
  avatarClass,
  dayLabel,
  initials,
  isEmojiOnly,
  seenMessageId,
  startsDay,
  startsGroup,
} from '../src/shared/timeline.js';

const NOW = new Date('2026-03-19T15:00:00Z'); // a Thursday
const at = (iso: string) => ({ senderId: 1, createdAt: iso });

describe('the message timeline', () => {
  it('names days as a chat app does: Today, Yesterday, a weekday this week, else the date', () => {
    expect(dayLabel('2026-03-19T01:00:00Z', NOW)).toBe('Today');
    expect(dayLabel('2026-03-18T23:59:00Z', NOW)).toBe('Yesterday');
    expect(dayLabel('2026-03-16T10:00:00Z', NOW)).toBe('Monday');
    expect(dayLabel('2026-03-12T10:00:00Z', NOW)).toBe('12 March 2026');
    // In the reader's zone (UTC+2) 23:30 UTC on the 18th is already the 19th.
    expect(dayLabel('2026-03-18T23:30:00Z', NOW, 120)).toBe('Today');
  });

  it('keeps one sender within five minutes in one group, and starts a new one otherwise', () => {
    expect(startsGroup(undefined, at('2026-03-19T10:00:00Z'))).toBe(true);
    expect(startsGroup(at('2026-03-19T10:00:00Z'), at('2026-03-19T10:04:59Z'))).toBe(false);
    expect(startsGroup(at('2026-03-19T10:00:00Z'), at('2026-03-19T10:05:01Z'))).toBe(true);
    expect(
      startsGroup(at('2026-03-19T10:00:00Z'), { senderId: 2, createdAt: '2026-03-19T10:00:01Z' }),
    ).toBe(true);
    // Across midnight is a new day, so a new group, even a minute apart.
    expect(startsDay(at('2026-03-18T23:59:30Z'), at('2026-03-19T00:00:10Z'))).toBe(true);
    expect(startsGroup(at('2026-03-18T23:59:30Z'), at('2026-03-19T00:00:10Z'))).toBe(true);
  });

  it('puts "Seen" under my last message the others have read, not under theirs', () => {
    const list = [
      { id: 1, senderId: 7 },
      { id: 2, senderId: 8 },
      { id: 3, senderId: 7 },
      { id: 4, senderId: 7 },
    ];
    expect(seenMessageId(list, 7, 3)).toBe(3);
    expect(seenMessageId(list, 7, 2)).toBe(1);
    expect(seenMessageId(list, 7, 0)).toBeUndefined();
  });

  it('shows one to three emoji alone larger, and nothing else', () => {
    for (const yes of ['🎉', '🎉🎉', ' 👍🏽 ❤️ 😂 ', '👨‍👩‍👧', '🇫🇷'])
      expect(isEmojiOnly(yes), yes).toBe(true);
    for (const no of ['🎉🎉🎉🎉', 'ok 👍', '123', '#', '', '   '])
      expect(isEmojiOnly(no), no).toBe(false);
  });

  it('gives an account the same avatar colour and sensible initials every time', () => {
    expect(avatarClass(42)).toBe(avatarClass(42));
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map(avatarClass)).size).toBeGreaterThan(3);
    expect(initials('Ann Marie Lee')).toBe('AL');
    expect(initials('bo')).toBe('B');
    expect(initials('  ')).toBe('?');
  });
});

// The one mention rule (shared/mentions.ts), read by the page, the script and the inbox.
import { describe, expect, it } from 'vitest';
import { isMentioned, mentionsName } from '../../src/shared/mentions.js';
import { listNames, splitEmails } from '../../src/features/groups/service.js';

describe('mentions', () => {
  it('a name after @ is a mention in any case, but not inside a longer name or an email', () => {
    expect(mentionsName('hi @Ann!', 'Ann')).toBe(true);
    expect(mentionsName('@ann, look', 'Ann')).toBe(true);
    expect(mentionsName('ping @Ann Lee about it', 'Ann Lee')).toBe(true);
    expect(mentionsName('hi @Annie', 'Ann')).toBe(false);
    expect(mentionsName('mail bob@ann.com', 'ann')).toBe(false);
    expect(mentionsName('no at sign Ann', 'Ann')).toBe(false);
    expect(mentionsName('@Zoë!', 'zoë')).toBe(true);
  });

  it('@everyone mentions the reader only when the sender may use it', () => {
    expect(isMentioned('@everyone lunch?', 'Bo', true)).toBe(true);
    expect(isMentioned('@everyone lunch?', 'Bo', false)).toBe(false);
    expect(isMentioned('@Bo lunch?', 'Bo', false)).toBe(true);
  });
});

describe('group lines in words', () => {
  it('names one, two or many people as a person would', () => {
    expect(listNames(['Bo'])).toBe('Bo');
    expect(listNames(['Bo', 'Cy'])).toBe('Bo and Cy');
    expect(listNames(['Bo', 'Cy', 'Di'])).toBe('Bo, Cy and Di');
    expect(listNames(['A', 'B', 'C', 'D', 'E', 'F', 'G'])).toBe('A, B, C and 4 others');
  });

  it('reads the Members box one per line, or separated by commas, once each', () => {
    expect(splitEmails('a@x.com\nb@x.com, c@x.com;A@X.com  d@x.com')).toEqual([
      'a@x.com',
      'b@x.com',
      'c@x.com',
      'd@x.com',
    ]);
    expect(splitEmails(undefined)).toEqual([]);
  });
});

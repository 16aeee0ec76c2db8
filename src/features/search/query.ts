// What a person typed into "Search messages", read the way websearch_to_tsquery reads it
// ("quoted phrases", -excluded, or), for the parts the database's full-text search does not
// cover (partial words, addresses, URLs: pg_trgm) and for highlighting. Highlights are made
// here from the terms and the stored text, never from HTML built by the database.

export const MAX_QUERY = 200;
const MAX_TERMS = 8;
/** pg_trgm needs three characters to use its index; a shorter part would read every message. */
export const MIN_SUBSTRING = 3;

export interface ParsedQuery {
  /** What goes to websearch_to_tsquery: the query as typed (it never raises a syntax error). */
  text: string;
  /** Words and phrases to find and highlight. */
  terms: string[];
  /** Terms long enough to match as parts of words (ILIKE through the trigram index). */
  substrings: string[];
  /** -excluded terms: a substring match must not contain them either. */
  excluded: string[];
  /**
   * Only words of 3+ characters (no "phrase", no or): every full-text match then also contains
   * each term, so the substring match alone finds the same and more, without parsing each
   * message's words (to_tsvector) on the way.
   */
  substringsSuffice: boolean;
}

export function parseQuery(raw: string): ParsedQuery {
  const text = raw.trim().slice(0, MAX_QUERY);
  const terms: string[] = [];
  const excluded: string[] = [];
  let phraseOrOr = false;
  // A "phrase", or a run of characters without spaces; a leading - excludes it.
  for (const match of text.matchAll(/(-?)"([^"]*)"?|(-?)(\S+)/gu)) {
    const negated = (match[1] ?? match[3]) === '-';
    const term = (match[2] ?? match[4] ?? '').trim();
    if (!term) continue;
    if (!negated && /^or$/i.test(term)) {
      phraseOrOr = true;
      continue;
    }
    if (match[2] !== undefined && /\s/.test(term)) phraseOrOr = true;
    (negated ? excluded : terms).push(term);
  }
  const long = (t: string) => [...t].length >= MIN_SUBSTRING;
  const kept = terms.slice(0, MAX_TERMS);
  return {
    text,
    terms: kept,
    substrings: kept.filter(long),
    excluded: excluded.slice(0, MAX_TERMS).filter(long),
    substringsSuffice:
      !phraseOrOr &&
      kept.length > 0 &&
      kept.every(long) &&
      terms.length <= MAX_TERMS &&
      excluded.every(long),
  };
}

/** A LIKE pattern that finds `term` anywhere, its own % _ and \ taken literally. */
export function containsPattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export interface Segment {
  text: string;
  hit: boolean;
}

const SNIPPET = 240;

/**
 * The body cut to a snippet around the first match, in segments the view prints escaped,
 * `hit` ones inside <mark>. Case-insensitive, on the original text (no offset drift from
 * lower-casing characters whose lower case is longer).
 */
export function highlight(body: string, terms: string[]): Segment[] {
  const ranges: Array<[number, number]> = [];
  for (const term of terms) {
    if (!term) continue;
    const re = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'giu');
    for (const m of body.matchAll(re)) {
      if (m[0].length) ranges.push([m.index, m.index + m[0].length]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  // A long message shows the part around its first match.
  let from = 0;
  let to = body.length;
  if (body.length > SNIPPET) {
    const first = merged[0]?.[0] ?? 0;
    from = Math.max(0, first - SNIPPET / 3);
    to = Math.min(body.length, from + SNIPPET);
    from = safeCut(body, from);
    to = safeCut(body, to);
  }
  const out: Segment[] = [];
  const push = (a: number, b: number, hit: boolean) => {
    if (b > a) out.push({ text: body.slice(a, b), hit });
  };
  if (from > 0) out.push({ text: '…', hit: false });
  let at = from;
  for (const [a, b] of merged) {
    if (b <= from || a >= to) continue;
    push(at, Math.max(at, a), false);
    push(Math.max(at, a), Math.min(b, to), true);
    at = Math.min(b, to);
  }
  push(at, to, false);
  if (to < body.length) out.push({ text: '…', hit: false });
  return out;
}

/** Never cut between the two halves of a surrogate pair. */
function safeCut(s: string, i: number): number {
  const code = s.charCodeAt(i);
  return code >= 0xdc00 && code <= 0xdfff ? i - 1 : i;
}

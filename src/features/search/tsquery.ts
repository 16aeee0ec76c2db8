// Full-text search through the trigram index (issue 16: one GIN index instead of two, which
// keeps message inserts within budget). websearch_to_tsquery's answer, read back as text, says
// which words a matching message must hold; each such word is something the trigram index can
// find: a word of 3+ characters is in the text as typed (ILIKE '%word%'), a shorter one is a
// whole word of the text (`word <<% body`, pg_trgm's strict word similarity, at 1: exactly
// the word's trigrams with the blanks around it). That is a necessary condition only: the
// match itself is still `to_tsvector('simple', body) @@ websearch_to_tsquery(...)`.

/** A tsquery as tsqueryout prints it: 'lexeme', !, &, |, <->, <N>, parentheses. */
export type TsNode =
  | { op: 'word'; word: string }
  | { op: 'not'; arg: TsNode }
  | { op: 'and' | 'or'; left: TsNode; right: TsNode };

/** Undefined for the empty query (no lexeme: nothing can match). */
export function parseTsquery(text: string): TsNode | undefined {
  let at = 0;
  const space = () => {
    while (text[at] === ' ') at++;
  };
  const take = (s: string) => {
    space();
    if (!text.startsWith(s, at)) return false;
    at += s.length;
    return true;
  };
  const fail = (): never => {
    throw new Error(`unexpected tsquery at ${at}: ${text}`);
  };
  // or := and ('|' and)*; and := phrase ('&' phrase)*; phrase := unary ('<N>' unary)*
  const or = (): TsNode => {
    let left = and();
    while (take('|')) left = { op: 'or', left, right: and() };
    return left;
  };
  const and = (): TsNode => {
    let left = phrase();
    while (take('&')) left = { op: 'and', left, right: phrase() };
    return left;
  };
  const phrase = (): TsNode => {
    let left = unary();
    for (;;) {
      space();
      const m = /^<(-|\d+)>/.exec(text.slice(at));
      if (!m) return left;
      at += m[0].length;
      // "a <-> b" holds both words: for what a message must contain, an and.
      left = { op: 'and', left, right: unary() };
    }
  };
  const unary = (): TsNode => {
    if (take('!')) return { op: 'not', arg: unary() };
    if (take('(')) {
      const inner = or();
      if (!take(')')) fail();
      return inner;
    }
    if (!take("'")) fail();
    let word = '';
    for (;;) {
      const c = text[at++];
      if (c === undefined) fail();
      // tsqueryout doubles a quote and a backslash inside a lexeme.
      if ((c === "'" || c === '\\') && text[at] === c) {
        word += c;
        at++;
      } else if (c === "'") break;
      else word += c;
    }
    const suffix = /^:[*A-D]+/.exec(text.slice(at)); // prefix and weights; websearch makes none
    if (suffix) at += suffix[0].length;
    return { op: 'word', word };
  };
  space();
  if (at === text.length) return undefined;
  const node = or();
  space();
  if (at !== text.length) fail();
  return node;
}

/** What a match must contain: the word, every part of an `all`, one part of an `any`. */
export type Needed = { word: string } | { all: Needed[] } | { any: Needed[] };

/** The words a message must hold to match `node`; 'anything' when nothing can be said. */
export function neededWords(node: TsNode): Needed | 'anything' {
  switch (node.op) {
    case 'word':
      return { word: node.word };
    case 'not':
      return 'anything'; // a message without the word matches: it asks for nothing
    case 'and': {
      const parts = [neededWords(node.left), neededWords(node.right)].filter(
        (n): n is Needed => n !== 'anything',
      );
      return parts.length === 0 ? 'anything' : parts.length === 1 ? parts[0]! : { all: parts };
    }
    case 'or': {
      const [left, right] = [neededWords(node.left), neededWords(node.right)];
      return left === 'anything' || right === 'anything' ? 'anything' : { any: [left, right] };
    }
  }
}

// The one renderer of message text: the stored plain text (kept exactly as typed) in, safe
// HTML out. The server renders the log with it and puts its output in every message payload
// (`html`), so the browser never parses markdown and never turns text into markup itself:
// "no raw HTML" is proven here once, by tests/features/messages-render.test.ts against
// tests/fixtures/hostile.ts, not again in a second copy in the bundle.
//
// markdown-it with html off (any tag the person typed comes out as text), linkify on, only
// http, https and mailto links, no images, no headings or tables (a chat line that starts with
// "#" or a row of dashes means what it says).
import MarkdownIt from 'markdown-it';

const LINK_REL = 'noopener noreferrer nofollow ugc';
const ALLOWED_LINK = /^(?:https?:\/\/|mailto:)/i;

const md = new MarkdownIt('default', {
  html: false,
  linkify: true,
  breaks: true, // a new line in the box is a new line in the log
  typographer: false, // the text stays as typed: no smart quotes
  maxNesting: 20, // deep lists or quotes stop nesting instead of costing time
});
// Entities stay as typed too: "&amp;" shows as "&amp;", not "&".
md.disable(['image', 'heading', 'lheading', 'hr', 'table', 'code', 'reference', 'entity']);
// markdown-it already refuses javascript:, vbscript:, file: and most data:; we allow only three.
const validateLink = (url: string) => ALLOWED_LINK.test(url.trim());
md.validateLink = validateLink;
// "www.example.com" and "mail@example.com" are linked as http:// and mailto:, both allowed.
md.linkify.set({ fuzzyIP: false });

// Thousands of brackets or emphasis marks cost markdown-it tens of milliseconds (its link
// and emphasis scanning grows faster than the text): such text is rendered without those
// two rules. Real messages stay far below the limit; a flood of crafted ones stays cheap.
const MARKS_LIMIT = 256;
const MARKS = /[[\]*_~]/g;
const md2 = new MarkdownIt('default', {
  html: false,
  linkify: true,
  breaks: true,
  typographer: false,
  maxNesting: 20,
});
md2.disable(['image', 'heading', 'lheading', 'hr', 'table', 'code', 'reference', 'entity']);
md2.disable(['link', 'emphasis', 'strikethrough']);
md2.validateLink = validateLink;
md2.linkify.set({ fuzzyIP: false });

const defaultLinkOpen = md.renderer.rules.link_open;
md.renderer.rules.link_open = md2.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!;
  // The link and nothing else from the text (a title is dropped): then the two we add.
  token.attrs = (token.attrs ?? []).filter(([name]) => name === 'href');
  token.attrSet('target', '_blank');
  token.attrSet('rel', LINK_REL);
  return defaultLinkOpen
    ? defaultLinkOpen(tokens, idx, options, env, self)
    : self.renderToken(tokens, idx, options);
};

// A conversation page renders the same bodies again and again: keep the latest few thousand.
const CACHE_MAX = 5000;
const cache = new Map<string, string>();

/** The message text as safe HTML (block elements: paragraphs, lists, code blocks, quotes). */
export function renderBody(text: string): string {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const parser = (text.match(MARKS)?.length ?? 0) > MARKS_LIMIT ? md2 : md;
  const html = parser.render(text).trimEnd();
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(text, html);
  return html;
}

const plainCache = new Map<string, string>();

/**
 * What the formatted text reads as, without its marks: "**Plan:** bring `snacks`" is
 * "Plan: bring snacks", a fenced block its lines. For previews and quotes, shown as text.
 */
export function plainText(text: string): string {
  const hit = plainCache.get(text);
  if (hit !== undefined) return hit;
  let out = '';
  const parser = (text.match(MARKS)?.length ?? 0) > MARKS_LIMIT ? md2 : md;
  for (const token of parser.parse(text, {})) {
    if (token.type === 'inline') {
      for (const t of token.children ?? []) {
        if (t.type === 'text' || t.type === 'code_inline') out += t.content;
        else if (t.type === 'softbreak' || t.type === 'hardbreak') out += '\n';
      }
    } else if (token.type === 'fence' || token.type === 'code_block') out += token.content;
    else if (token.block && token.nesting === -1) out += '\n';
  }
  if (plainCache.size >= CACHE_MAX) plainCache.delete(plainCache.keys().next().value!);
  plainCache.set(text, out);
  return out;
}

/** The first line of a message as plain text, shortened: for reply quotes and the inbox. */
export function firstLineOf(text: string, max = 120): string {
  const line = plainText(text).trim().split('\n', 1)[0]!.trim();
  const chars = [...line];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : line;
}

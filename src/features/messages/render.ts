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
md.validateLink = (url) => ALLOWED_LINK.test(url.trim());
// "www.example.com" and "mail@example.com" are linked as http:// and mailto:, both allowed.
md.linkify.set({ fuzzyIP: false });

const defaultLinkOpen = md.renderer.rules.link_open;
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
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
  const html = md.render(text).trimEnd();
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(text, html);
  return html;
}

/** The first line of a message as plain text, shortened: for reply quotes and the inbox. */
export function firstLineOf(text: string, max = 120): string {
  const line = text.trim().split('\n', 1)[0]!.trim();
  const chars = [...line];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : line;
}

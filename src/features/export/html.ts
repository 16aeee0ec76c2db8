// The export's pages for reading offline: index.html lists the conversations, and each has
// a page that reads like the log (who, when, the formatted text, the files beside it). No
// script and nothing from the network: the zip's files are linked by relative path and a
// picture is shown inline. Every text is escaped; a message's HTML is the one renderer's
// (messages/render.ts: markdown-it with html off), the same as the pages of the app.
import type { AppContext } from '../../core/context.js';
import { formatSize, isPicture } from '../../shared/files.js';
import { renderBody } from '../messages/render.js';
import type { ExportConversation } from './db.js';
import { conversationPage, hrefOf } from './names.js';
import { readablePages, type FileEntry } from './service.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

// Light or dark as the reader's system prefers, readable on a phone.
const STYLE = `:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.45}
body{max-width:46rem;margin:0 auto;padding:1rem}
a{color:LinkText}
ol{list-style:none;padding:0}
li.message{padding:.5rem 0;border-bottom:1px solid color-mix(in srgb,currentColor 15%,transparent)}
.meta{font-size:.85rem;opacity:.75}
.from{font-weight:600}
.body p{margin:.25rem 0}
img{max-width:100%;height:auto;display:block;margin:.25rem 0}
pre{white-space:pre-wrap;overflow-wrap:anywhere}`;

function page(title: string, home: string, rest: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${home}<h1>${escapeHtml(title)}</h1>${rest}`;
}

export const conversationName = (c: ExportConversation) =>
  c.title ?? (c.others.length ? c.others.join(', ') : 'Deleted user');

/** index.html: the conversations, each linked to its page. */
export function indexHtml(name: string, conversations: ExportConversation[]): string {
  const items = conversations.map(
    (c) =>
      `<li><a href="${hrefOf(conversationPage(c.id))}">${escapeHtml(conversationName(c))}</a>` +
      `${c.kind === 'group' ? ' (group)' : ''}${c.formerMember ? ' — you left' : ''}</li>`,
  );
  return (
    page(
      `${name}’s conversations`,
      '',
      `<p>Exported ${escapeHtml(new Date().toUTCString())}. The same data, for programs, is in ` +
        `<a href="messages.json">messages.json</a>; the files are in the folder “files”.</p>` +
        (items.length ? `<ul>${items.join('')}</ul>` : '<p>No conversations.</p>'),
    ) + '</body></html>\n'
  );
}

function fileHtml(f: FileEntry): string {
  const href = `../${hrefOf(f.path)}`;
  const label = `${escapeHtml(f.name)} (${escapeHtml(formatSize(f.size))})`;
  return isPicture(f.type)
    ? `<a href="${href}"><img src="${href}" alt="${escapeHtml(f.name)}"></a>`
    : `<p><a href="${href}">${label}</a></p>`;
}

/** A conversation's page, a page of messages at a time. */
export async function* conversationHtml(
  ctx: AppContext,
  userId: number,
  c: ExportConversation,
): AsyncGenerator<string> {
  yield page(conversationName(c), '<p><a href="../index.html">← All conversations</a></p>', '<ol>');
  let any = false;
  for await (const messages of readablePages(ctx, userId, c.id)) {
    any = true;
    yield messages
      .map((m) => {
        const at = new Date(m.createdAt);
        return (
          `<li class="message" id="m${m.id}"><p class="meta"><span class="from">` +
          `${escapeHtml(m.from === 'me' ? 'Me' : m.from)}</span> · <time datetime="${at.toISOString()}">` +
          `${escapeHtml(at.toUTCString())}</time>${m.editedAt ? ' (edited)' : ''}</p>` +
          `<div class="body">${renderBody(m.body)}</div>${m.files.map(fileHtml).join('')}</li>`
        );
      })
      .join('\n');
  }
  yield `${any ? '' : '<li>No messages you can read.</li>'}</ol></body></html>\n`;
}

// The message list's shape in the browser: the same rules as the server's EJS
// (shared/timeline.ts), run again over the whole list in the reader's own time zone
// after anything arrives, like Campfire's message formatter.
import {
  dayKey,
  dayLabel,
  isEmojiOnly,
  seenMessageId,
  startsDay,
  startsGroup,
} from '../shared/timeline.js';
import { el } from './util.js';
import type { ReactionDto, ReplyDto } from '../shared/protocol.js';
import { showAttachments } from './attachment-view.js';
import type { AttachmentDto } from '../shared/protocol.js';

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

export interface MessageFields {
  id?: number;
  clientId: string;
  senderId: number | null;
  senderName: string;
  body: string;
  createdAt: string;
  kind?: 'system';
  /** A stored message's server-rendered body, edits, quote and reactions (MessageDto). */
  html?: string;
  editedAt?: string | null;
  deleted?: boolean;
  replyTo?: ReplyDto | null;
  reactions?: ReactionDto[];
  changeSeq?: number;
  attachments?: AttachmentDto[];
  blocked?: true;
}

/** A message built from the page's server-rendered <template>: one definition of its markup. */
export function renderMessage(m: MessageFields, me: number): HTMLLIElement {
  if (m.kind === 'system') return renderSystemLine(m);
  const tpl = document.getElementById('message-template') as HTMLTemplateElement;
  const li = tpl.content.firstElementChild!.cloneNode(true) as HTMLLIElement;
  const mine = m.senderId === me;
  const deleted = m.deleted === true;
  li.className = `msg ${mine ? 'mine' : 'theirs'}${m.senderId === null ? ' deleted-sender' : ''}`;
  li.classList.toggle('emoji', !deleted && isEmojiOnly(m.body));
  li.classList.toggle('deleted', deleted);
  if (m.id !== undefined) {
    li.id = `m${m.id}`;
    li.dataset.id = String(m.id);
  } else {
    li.removeAttribute('id');
    delete li.dataset.id;
  }
  li.dataset.clientId = m.clientId;
  li.dataset.senderId = m.senderId === null ? '' : String(m.senderId);
  li.dataset.at = m.createdAt;
  li.dataset.changeSeq = String(m.changeSeq ?? 0);
  li.querySelector('.sender bdi')!.textContent = mine ? 'You' : m.senderName; // text, never HTML
  const body = li.querySelector<HTMLElement>('.body')!;
  if (deleted) {
    body.replaceChildren(el('em', { className: 'deleted-text', text: DELETED_TEXT }));
  } else if (m.html !== undefined) {
    // The only HTML a message puts on the page: the server's renderer made it from the text
    // (features/messages/render.ts, html off, links checked), never the browser.
    body.innerHTML = m.html;
  } else {
    body.textContent = m.body; // a message still being sent: plain text until the server's copy
  }
  showAttachments(li, m.attachments);
  li.querySelector('time')!.dateTime = m.createdAt;
  // The template's URLs name MSGID and CONVID; a message still being sent has no actions yet.
  const actions = li.querySelector<HTMLElement>('.actions');
  if (deleted || m.id === undefined) actions?.remove();
  else {
    const conversation = (document.getElementById('log') as HTMLElement).dataset.conversationId!;
    for (const a of li.querySelectorAll<HTMLElement>('[href], [action]')) {
      for (const attr of ['href', 'action']) {
        const v = a.getAttribute(attr);
        if (v)
          a.setAttribute(
            attr,
            v.replaceAll('MSGID', String(m.id)).replaceAll('CONVID', conversation),
          );
      }
    }
    const more = li.querySelector<HTMLElement>('.more-menu');
    if (more) {
      if (!mine) more.remove();
      else {
        more.hidden = false;
        if (Date.now() - Date.parse(m.createdAt) > EDIT_WINDOW_MS)
          more.querySelector('[data-act="edit"]')?.remove();
      }
    }
  }
  const edited = li.querySelector<HTMLAnchorElement>('.edited')!;
  edited.hidden = !m.editedAt || deleted;
  fillQuote(li, m.replyTo ?? null, me);
  fillReactions(li, deleted ? [] : (m.reactions ?? []), me);
  return li;
}

/** A group's line in words ("Ann added Bo"), as partials/message.ejs draws it. */
function renderSystemLine(m: MessageFields): HTMLLIElement {
  const li = el('li', { className: 'msg system' }, el('p', { className: 'body', text: m.body }));
  if (m.id !== undefined) {
    li.id = `m${m.id}`;
    li.dataset.id = String(m.id);
  }
  li.dataset.clientId = m.clientId;
  li.dataset.senderId = '';
  li.dataset.kind = 'system';
  li.dataset.at = m.createdAt;
  return li;
}

const DELETED_TEXT = 'This message was deleted';
const EDIT_WINDOW_MS = 24 * 60 * 60 * 1000;

function fillQuote(li: HTMLElement, q: ReplyDto | null, me: number): void {
  const a = li.querySelector<HTMLAnchorElement>('.quote')!;
  a.hidden = !q;
  if (!q) return;
  a.className = `quote${q.state === 'shown' ? '' : ` ${q.state}`}`;
  a.dataset.replyTo = String(q.id);
  const conversation = (document.getElementById('log') as HTMLElement).dataset.conversationId!;
  a.href = `/conversations/${conversation}?before=${q.id + 1}#m${q.id}`;
  a.querySelector('.quote-who bdi')!.textContent =
    q.state === 'hidden' ? 'An earlier message' : q.senderId === me ? 'You' : q.senderName;
  a.querySelector('.quote-text')!.textContent = q.state === 'deleted' ? DELETED_TEXT : q.excerpt;
}

function fillReactions(li: HTMLElement, reactions: ReactionDto[], me: number): void {
  const ul = li.querySelector<HTMLElement>('.reactions')!;
  ul.hidden = !reactions.length;
  ul.replaceChildren(
    ...reactions.map((r) => {
      const names = r.userIds.map((id, i) => (id === me ? 'You' : r.names[i])).join(', ');
      const chip = el(
        'li',
        { className: `reaction${r.userIds.includes(me) ? ' mine' : ''}` },
        el('span', { text: `${r.emoji} ${r.userIds.length}` }),
        el('span', { className: 'who', text: names }),
      );
      chip.tabIndex = 0;
      chip.setAttribute('aria-label', `${r.emoji} ${r.userIds.length}: ${names}`);
      chip.firstElementChild!.setAttribute('aria-hidden', 'true');
      chip.lastElementChild!.setAttribute('aria-hidden', 'true');
      return chip;
    }),
  );
}

const item = (li: HTMLElement) => ({
  senderId: li.dataset.senderId ? Number(li.dataset.senderId) : null,
  createdAt: li.dataset.at ?? '',
});

/** Day separators, groups, names and "Seen", recomputed for the list as it now is. */
export function layOut(list: HTMLElement, me: number, isGroup: boolean, otherRead: number): void {
  const offset = -new Date().getTimezoneOffset();
  list.querySelectorAll('li.day').forEach((d) => d.remove());
  let prev: ReturnType<typeof item> | undefined;
  for (const li of list.querySelectorAll<HTMLElement>('li.msg')) {
    const cur = item(li);
    if (startsDay(prev, cur, offset)) {
      const day = el(
        'li',
        { className: 'day' },
        el('span', { text: dayLabel(cur.createdAt, new Date(), offset) }),
      );
      day.dataset.day = String(dayKey(cur.createdAt, offset));
      li.before(day);
    }
    const afterDivider = li.previousElementSibling?.classList.contains('unread-divider') ?? false;
    const first = afterDivider || startsGroup(prev, cur, offset);
    li.classList.toggle('first', first);
    const named = first && isGroup && cur.senderId !== me;
    li.classList.toggle('named', named);
    const time = li.querySelector<HTMLTimeElement>('.bubble time');
    if (time && time.dateTime) {
      const d = new Date(time.dateTime);
      time.textContent = timeFmt.format(d);
      time.title = fullFmt.format(d);
    }
    prev = cur;
  }
  showSeen(list, me, otherRead);
}

/** The one "Seen" rule, as on the server: under my last message the others have read. */
export function showSeen(list: HTMLElement, me: number, otherRead: number): void {
  list.querySelectorAll('.receipt').forEach((r) => r.remove());
  const mine = [...list.querySelectorAll<HTMLElement>('li.msg.mine[data-id]')].map((li) => ({
    id: Number(li.dataset.id),
    senderId: me,
  }));
  const seen = seenMessageId(mine, me, otherRead);
  if (seen !== undefined)
    document.getElementById(`m${seen}`)?.append(el('p', { className: 'receipt', text: 'Seen' }));
}

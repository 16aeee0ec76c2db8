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
  attachments?: AttachmentDto[];
}

/** A message built from the page's server-rendered <template>: one definition of its markup. */
export function renderMessage(m: MessageFields, me: number): HTMLLIElement {
  const tpl = document.getElementById('message-template') as HTMLTemplateElement;
  const li = tpl.content.firstElementChild!.cloneNode(true) as HTMLLIElement;
  const mine = m.senderId === me;
  li.className = `msg ${mine ? 'mine' : 'theirs'}${m.senderId === null ? ' deleted-sender' : ''}`;
  li.classList.toggle('emoji', isEmojiOnly(m.body));
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
  li.querySelector('.sender bdi')!.textContent = mine ? 'You' : m.senderName; // text, never HTML
  li.querySelector('.body')!.textContent = m.body;
  showAttachments(li, m.attachments);
  li.querySelector('time')!.dateTime = m.createdAt;
  return li;
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

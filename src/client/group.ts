// Groups in the browser: the page's live answer to leaving or being removed, and the
// folding of a blocked member's messages (the same markup as partials/message.ejs).
import type { ChatClientSocket } from './socket.js';
import type { MessageFields } from './timeline.js';
import { el } from './util.js';

/** "You were removed from this group" at once; the composer goes, what was read stays. */
export function watchMembership(
  socket: ChatClientSocket,
  conversationId: number,
  onLeft: () => void,
): void {
  socket.on('group:left', (p) => {
    if (p.conversationId !== conversationId) return;
    onLeft();
    const notice = document.getElementById('group-left');
    if (notice) {
      notice.textContent = p.removed ? 'You were removed from this group.' : 'You left this group.';
      notice.hidden = false;
    }
    const composer = document.getElementById('composer');
    if (composer) composer.hidden = true;
    const sub = document.querySelector('.chat-sub');
    if (sub) sub.textContent = 'You are no longer in this group';
  });
}

/** A new name shows at once in the heading and the tab's title. */
export function watchRename(socket: ChatClientSocket, conversationId: number): void {
  socket.on('group:renamed', (p) => {
    if (p.conversationId !== conversationId) return;
    const heading = document.querySelector('.chat-title h1 bdi');
    const old = heading?.textContent ?? '';
    if (heading) heading.textContent = p.title;
    if (old) document.title = document.title.replace(old, p.title);
  });
}

export function foldIfBlocked(li: HTMLLIElement, m: MessageFields): HTMLLIElement {
  if (m.senderId === null || !m.blocked) return li;
  const body = li.querySelector('.bubble > .body');
  if (!body) return li;
  const details = el(
    'details',
    { className: 'blocked-message' },
    el(
      'summary',
      { text: 'Message from a blocked person ' },
      el('span', { className: 'show', text: 'Show' }),
    ),
  );
  body.replaceWith(details);
  details.append(body);
  return li;
}

export interface Reader {
  id: number;
  name: string;
  read: number;
}

/** The group's readers from the page (data-readers); updated by conversation:read. */
export function readersOf(log: HTMLElement): Map<number, Reader> {
  try {
    const list = JSON.parse(log.dataset.readers ?? '[]') as Reader[];
    return new Map(list.map((r) => [r.id, r]));
  } catch {
    return new Map();
  }
}

/** "Seen by N" under my last message, the names inside (focus or tap opens them). */
export function showSeenBy(list: HTMLElement, readers: ReadonlyMap<number, Reader>): void {
  list.querySelectorAll('.receipt').forEach((r) => r.remove());
  const mine = list.querySelectorAll<HTMLElement>('li.msg.mine[data-id]');
  const last = mine[mine.length - 1];
  if (!last) return;
  const id = Number(last.dataset.id);
  const names = [...readers.values()].filter((r) => r.read >= id).map((r) => r.name);
  if (!names.length) return;
  const p = el('p');
  names.forEach((n, i) => p.append(...(i ? [', '] : []), el('bdi', { text: n })));
  last.append(
    el(
      'details',
      { className: 'receipt seen-by' },
      el('summary', { text: `Seen by ${names.length}` }),
      p,
    ),
  );
}

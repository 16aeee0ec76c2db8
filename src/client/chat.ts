// The conversation page: send over the socket without a reload, show what
// arrives live, catch up after a reconnect, and the small live signs.
import { RETRYABLE_CODES, type MessageDto, type ReplyDto } from '../shared/protocol.js';
import type { ChatClientSocket } from './socket.js';
import { ACK_TIMEOUT, createSync } from './sync.js';
import { startTyping } from './typing.js';
import { showConnection, showPresence } from './connection.js';
import { startOlderPages } from './older.js';
import { el, uuid } from './util.js';
import { layOut, renderMessage, showSeen, type MessageFields } from './timeline.js';
import { loadOutbox, saveOutbox } from './outbox.js';
import { markMention, mentionRules, startMentionPicker } from './mentions.js';
import { foldIfBlocked, readersOf, showSeenBy, watchMembership, watchRename } from './group.js';
import { startMessageActions } from './message-actions.js';
import { startAttachments } from './attachments.js';
import type { AttachmentDto } from '../shared/protocol.js';

const ENGAGING = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;

export function startChat(
  socket: ChatClientSocket,
  log: HTMLElement,
  me: number,
  onCounts: () => void,
  /** Aborted when the conversation is left without a reload (panes.ts). */
  signal?: AbortSignal,
) {
  const conversationId = Number(log.dataset.conversationId);
  const latest = log.dataset.latest === 'true';
  const list = document.getElementById('messages') as HTMLOListElement;
  const form = document.getElementById('composer') as HTMLFormElement;
  const box = document.getElementById('composer-body') as HTMLTextAreaElement;
  const errorLine = document.getElementById('composer-error') as HTMLElement;
  const counter = document.getElementById('counter') as HTMLElement;
  const newButton = document.getElementById('new-messages') as HTMLButtonElement;
  const typingLine = document.getElementById('typing') as HTMLElement;
  const banner = document.getElementById('connection') as HTMLElement;
  // An empty slot where the other may not be watched (yet): accepting fills it live.
  const presence = document.querySelector<HTMLElement>(
    '.presence[data-user-id], .presence-slot[data-user-id]',
  );
  const max = Number(counter.dataset.max);

  const known = new Set<number>();
  list
    .querySelectorAll<HTMLElement>('li.msg[data-id]')
    .forEach((li) => known.add(Number(li.dataset.id)));
  // Everything up to here is known to be complete: sync asks for what came after it.
  const watermark = Number(log.dataset.lastId);
  // The conversation's change number the page was rendered at: sync asks for edits, deletes
  // and reactions after it, also for messages already on screen.
  const changeMark = Number(log.dataset.changeSeq ?? 0);
  let otherRead = Number(log.dataset.otherRead);
  let readSent = 0;
  const pending = new Map<
    string,
    {
      li: HTMLLIElement;
      body: string;
      createdAt: string;
      retryable: boolean;
      attempts: number;
      replyTo?: ReplyDto;
      attachments?: AttachmentDto[];
    }
  >();
  // Only what may still go is kept: a message the server refused stays on screen, not in storage.
  // Stored or refused here: dropped from the shared outbox even if another tab wrote it there.
  const settled = new Set<string>();
  // Other tabs of this conversation share the outbox: keep their entries, replace only ours.
  const persist = () => {
    const mine = [...pending]
      .filter(([, p]) => p.retryable)
      .map(([clientId, p]) => ({
        clientId,
        body: p.body,
        createdAt: p.createdAt,
        replyTo: p.replyTo,
        attachments: p.attachments,
      }));
    const others = loadOutbox(me, conversationId).filter(
      (i) => !pending.has(i.clientId) && !settled.has(i.clientId),
    );
    saveOutbox(me, conversationId, [...others, ...mine]);
  };

  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  const toBottom = () => {
    log.scrollTop = log.scrollHeight;
    newButton.hidden = true;
  };

  const isGroup = log.dataset.group === 'true';
  const readers = readersOf(log);
  const relayout = () => {
    layOut(list, me, isGroup, isGroup ? 0 : otherRead);
    if (isGroup) showSeenBy(list, readers);
  };
  // In a group, the messages of people this reader blocked arrive folded: the server marks
  // each one it sends live or by sync as things stand at that moment, so a block or an
  // unblock made after the page loaded (here or in another tab) holds for the next message.
  const mentions = mentionRules(log);
  const messageItem = (m: MessageFields) =>
    markMention(foldIfBlocked(renderMessage(m, me), m), m, me, mentions);

  /** Puts a stored message in id order, once, replacing its "sending" copy. */
  function addMessage(m: MessageDto) {
    if (m.conversationId !== conversationId) return;
    if (m.senderId === me) settled.add(m.clientId); // stored: out of every tab's outbox
    if (known.has(m.id)) {
      // Already on the page (say, a restored outbox copy of a message stored before a reload).
      const copy = pending.get(m.clientId);
      if (copy) {
        pending.delete(m.clientId);
        persist();
        copy.li.remove();
      }
      return;
    }
    known.add(m.id);
    const wasAtBottom = atBottom();
    const li = messageItem(m);
    const mine = pending.get(m.clientId);
    if (mine) {
      pending.delete(m.clientId);
      persist();
      mine.li.replaceWith(li);
    } else {
      const after = [...list.querySelectorAll<HTMLElement>('li.msg[data-id]')].find(
        (x) => Number(x.dataset.id) > m.id,
      );
      const firstPending = list.querySelector('li.msg.pending, li.msg.failed');
      list.insertBefore(li, after ?? firstPending ?? null);
    }
    list.querySelector('li.empty')?.remove();
    relayout();
    if (m.senderId !== me) {
      if (m.senderId !== null && m.kind !== 'system') typing.show(m.senderId, m.senderName, false);
      if (wasAtBottom) toBottom();
      else newButton.hidden = false;
      markReadIfSeen();
    } else if (wasAtBottom || mine) {
      toBottom();
    }
  }

  // ——— sending ———
  function setState(
    li: HTMLLIElement,
    kind: 'pending' | 'failed',
    text: string,
    onRetry?: () => void,
  ) {
    li.classList.toggle('pending', kind === 'pending');
    li.classList.toggle('failed', kind === 'failed');
    li.querySelector('.state')?.remove();
    const state = el('p', { className: 'state', text });
    if (onRetry) {
      const retry = el('button', { text: 'Retry' });
      retry.type = 'button';
      retry.addEventListener('click', onRetry);
      state.append(retry);
    }
    li.append(state);
  }

  function send(clientId: string) {
    const item = pending.get(clientId);
    if (!item) return;
    item.retryable = true;
    persist();
    if (!socket.connected) {
      // Kept in the outbox; it goes as soon as the connection is back.
      setState(item.li, 'pending', 'Waiting for the connection…');
      return;
    }
    setState(item.li, 'pending', 'Sending…');
    const attachmentIds = item.attachments?.map((a) => a.id);
    socket.timeout(ACK_TIMEOUT).emit(
      'message:send',
      {
        conversationId,
        body: item.body,
        clientId,
        ...(item.replyTo ? { replyTo: item.replyTo.id } : {}),
        ...(attachmentIds?.length ? { attachmentIds } : {}),
      },
      (err, res) => {
        if (!pending.has(clientId)) return; // already confirmed through message:new
        if (!err && res.ok) return addMessage(res.message);
        const retryable = !!err || (!res.ok && RETRYABLE_CODES.includes(res.error.code));
        item.retryable = retryable;
        if (!retryable) settled.add(clientId);
        persist();
        const why = err || res.ok ? 'no answer from the server' : res.error.message;
        setState(item.li, 'failed', `Not sent — ${why} `, () => send(clientId));
        if (retryable) {
          // Tried again by itself, less and less often; the button is there for the impatient.
          item.attempts += 1;
          const delay = Math.min(30_000, 1000 * 2 ** Math.min(item.attempts, 5));
          setTimeout(() => {
            if (pending.get(clientId) === item && item.li.classList.contains('failed'))
              send(clientId);
          }, delay);
        }
      },
    );
  }

  function validate(body: string, withFiles = false): string | undefined {
    if (!body.trim() && !withFiles) return 'Write a message first: empty messages are not sent.';
    const length = [...body].length;
    if (length > max)
      return `Messages are at most ${max.toLocaleString('en')} characters; this one has ${length.toLocaleString('en')}.`;
    return undefined;
  }

  function showError(text: string | undefined) {
    errorLine.textContent = text ?? '';
    errorLine.hidden = !text;
    if (text) box.setAttribute('aria-invalid', 'true');
    else box.removeAttribute('aria-invalid');
  }

  function queue(
    clientId: string,
    body: string,
    createdAt: string,
    replyTo?: ReplyDto,
    attachments?: AttachmentDto[],
  ) {
    const li = messageItem({
      clientId,
      senderId: me,
      senderName: 'You',
      body,
      createdAt,
      replyTo,
      attachments,
    });
    list.append(li);
    list.querySelector('li.empty')?.remove();
    relayout();
    pending.set(clientId, {
      li,
      body,
      createdAt,
      retryable: true,
      attempts: 0,
      replyTo,
      attachments,
    });
    persist();
  }

  // ——— pictures and files ———
  const tray = startAttachments(form, conversationId, log.parentElement ?? log, box);
  let waitingForFiles = false;

  form.addEventListener('submit', (e) => {
    e.preventDefault(); // the page never reloads to send
    if (waitingForFiles) return;
    const withFiles = tray.count() > 0;
    const problem = validate(box.value, withFiles);
    showError(problem);
    if (problem) return;
    const mode = actions.mode();
    if (mode.kind === 'edit') {
      void actions.saveEdit(mode.messageId, box.value).then((error) => {
        showError(error);
        if (!error) actions.reset();
      });
      return;
    }
    if (!withFiles) return sendNow(box.value, mode.replyTo);
    // The message goes once every file is stored.
    waitingForFiles = true;
    errorLine.hidden = false;
    errorLine.textContent = 'Sending when the files are stored…';
    void tray.settle().then(({ stored, problem }) => {
      waitingForFiles = false;
      showError(problem);
      if (problem || !stored.length) return;
      tray.clear();
      sendNow(box.value, mode.replyTo, stored);
    });
  });

  function sendNow(body: string, replyTo?: ReplyDto, attachments?: AttachmentDto[]) {
    const clientId = uuid();
    queue(clientId, body, new Date().toISOString(), replyTo, attachments);
    actions.reset();
    box.value = '';
    updateCounter();
    typing.stop();
    toBottom();
    send(clientId);
  }

  // "@" offers the group's members; its keys come before the composer's Enter.
  if (isGroup) startMentionPicker(box, log, me);

  // A touch keyboard has no Shift: there Enter makes a new line and the Send button sends.
  const touch = matchMedia('(pointer: coarse)').matches;
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !touch) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  // The count shows only near the limit; the box grows with what is typed, up to a few lines.
  function updateCounter() {
    const n = [...box.value].length;
    counter.textContent = `${n.toLocaleString('en')} / ${max.toLocaleString('en')}`;
    counter.hidden = n < max * 0.9;
    counter.classList.toggle('over', n > max);
    box.style.height = 'auto';
    box.style.height = `${Math.min(box.scrollHeight + 2, 160)}px`;
  }

  // ——— typing ———
  const typing = startTyping(socket, conversationId, me, box, typingLine);
  box.addEventListener('input', () => {
    updateCounter();
    if (errorLine.textContent && !validate(box.value)) showError(undefined);
  });

  // ——— reading ———
  // Arrived through another site's link or script: the person has not chosen to look yet,
  // so nothing counts as read until they touch the page.
  let engaged = log.dataset.fromElsewhere !== 'true';
  if (!engaged) {
    const engage = () => {
      engaged = true;
      for (const type of ENGAGING) document.removeEventListener(type, engage, { capture: true });
      markReadIfSeen();
    };
    for (const type of ENGAGING) document.addEventListener(type, engage, { capture: true, signal });
  }
  // The script marks what is on screen itself: the no-JavaScript button is not needed.
  document.getElementById('mark-read')?.remove();

  function markReadIfSeen() {
    if (!engaged || document.visibilityState !== 'visible' || !atBottom() || !latest) return;
    const last = Math.max(0, ...known);
    if (last <= readSent) return;
    readSent = last;
    socket.emit('conversation:read', { conversationId, messageId: last }, () => onCounts());
  }

  const showReceipt = () => (isGroup ? showSeenBy(list, readers) : showSeen(list, me, otherRead));

  socket.on('conversation:read', (r) => {
    if (r.conversationId !== conversationId) return;
    if (r.userId === me) readSent = Math.max(readSent, r.messageId);
    else if (isGroup) {
      const reader = readers.get(r.userId);
      if (reader && r.messageId > reader.read) {
        reader.read = r.messageId;
        showReceipt();
      }
    } else if (r.messageId > otherRead) {
      otherRead = r.messageId;
      showReceipt();
    }
  });

  // ——— receiving and catching up ———
  socket.on('message:new', (m) => {
    if (latest) addMessage(m);
    else if (m.conversationId === conversationId) newButton.hidden = false;
  });

  const catchUp = createSync(
    socket,
    conversationId,
    watermark,
    {
      onMessage: addMessage,
      onChange: (m) => actions.apply(m),
      onCaughtUp: markReadIfSeen,
    },
    changeMark,
  );
  const sync = () => latest && catchUp();

  showConnection(socket, banner);
  socket.on('connect', () => {
    sync();
    // What waits in the outbox (or failed while we were away) goes, with the same id: stored once.
    for (const [clientId, item] of pending) if (item.retryable) send(clientId);
  });
  showPresence(socket, presence);
  watchMembership(socket, conversationId, () => typing.stop());
  watchRename(socket, conversationId);

  // ——— scrolling and older pages ———
  newButton.addEventListener('click', () => {
    if (!latest) return void (location.href = `/conversations/${conversationId}`);
    toBottom();
    markReadIfSeen();
  });

  // Read at the bottom, it stays at the bottom when the log shrinks (files added to the
  // composer, a longer text, a phone's keyboard).
  let pinned = true;
  new ResizeObserver(() => {
    if (pinned) log.scrollTop = log.scrollHeight;
  }).observe(log);
  log.addEventListener('scroll', () => {
    pinned = atBottom();
    if (atBottom()) {
      newButton.hidden = true;
      markReadIfSeen();
    }
  });
  // Older pages only on the newest page: an older page links to its neighbours instead.
  const older = latest
    ? startOlderPages({ conversationId, log, list, known, onLoaded: relayout })
    : undefined;

  // ——— reply, react, edit, delete ———
  const actions = startMessageActions({
    socket,
    conversationId,
    me,
    list,
    box,
    showError,
    loadOlder: older?.loadOlder,
    signal,
    replace: (m) => {
      const li = document.getElementById(`m${m.id}`);
      if (!li) return;
      const focused = li.contains(document.activeElement);
      const fresh = messageItem(m);
      li.replaceWith(fresh);
      relayout();
      if (focused) fresh.focus({ preventScroll: true });
    },
  });
  socket.on('message:updated', (m) => actions.apply(m));
  document.addEventListener('visibilitychange', markReadIfSeen, { signal });

  // Messages left unsent by an earlier visit (offline, closed tab) are shown and sent again.
  const shown = new Set(
    [...list.querySelectorAll<HTMLElement>('li.msg[data-client-id]')].map(
      (li) => li.dataset.clientId,
    ),
  );
  for (const clientId of shown) if (clientId) settled.add(clientId);
  for (const item of loadOutbox(me, conversationId)) {
    if (!shown.has(item.clientId))
      queue(item.clientId, item.body, item.createdAt, item.replyTo, item.attachments);
  }
  persist(); // drops what the page showed as stored already

  updateCounter();
  relayout();
  log.classList.add('live'); // the script places the scroll itself from here on
  // Opens at the first unread message (the divider stays until the conversation is left).
  const unreadDivider = document.getElementById('unread');
  const linked = location.hash && location.hash !== '#unread' ? location.hash.slice(1) : '';
  const target = linked ? document.getElementById(linked) : null;
  if (target) {
    scrollLogTo(log, target);
    // The browser's own jump to the #fragment may come after this script: place it again.
    window.addEventListener('load', () => scrollLogTo(log, target), { once: true });
  } else if (unreadDivider && latest) unreadDivider.scrollIntoView({ block: 'start' });
  else if (latest) toBottom();
}

/**
 * A linked message (a search result, a sent form's #m…) in the middle of the log. Only the log
 * scrolls: the browser's own jump to the #fragment also scrolled the page's boxes, whose
 * overflow is hidden, and took the header out of view.
 */
function scrollLogTo(log: HTMLElement, target: HTMLElement) {
  for (let box = log.parentElement; box; box = box.parentElement) box.scrollTop = 0;
  document.scrollingElement?.scrollTo(0, 0);
  const offset = target.getBoundingClientRect().top - log.getBoundingClientRect().top;
  log.scrollTop += offset - Math.max(0, (log.clientHeight - target.offsetHeight) / 2);
}

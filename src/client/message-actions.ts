// What one does to a message on the conversation page: reply, react, edit, delete, and follow
// a reply's quote to the message it answers. Without the script the same controls are links
// and forms that post (features/message-changes/routes.ts); with it they go over the socket,
// and every tab applies the answer and the `message:updated` events in change order.
import type { Ack, MessageDto, ReactionEmoji, ReplyDto } from '../shared/protocol.js';
import type { ChatClientSocket } from './socket.js';
import { ACK_TIMEOUT } from './sync.js';

export type ComposerMode =
  { kind: 'send'; replyTo?: ReplyDto } | { kind: 'edit'; messageId: number };

export interface MessageActions {
  /** What the composer's Send does now: send (perhaps a reply) or save an edit. */
  mode(): ComposerMode;
  /** Back to a plain new message (after a send, or Cancel). */
  reset(): void;
  /** Saves the edit in the composer; resolves to an error's words, or undefined when saved. */
  saveEdit(messageId: number, body: string): Promise<string | undefined>;
  /** Applies a message's new state if it is newer than what is shown. */
  apply(m: MessageDto): void;
}

export function startMessageActions(opts: {
  socket: ChatClientSocket;
  conversationId: number;
  me: number;
  list: HTMLElement;
  box: HTMLTextAreaElement;
  showError: (text: string | undefined) => void;
  /** Replaces a shown message with its new state (the caller re-lays out the list). */
  replace: (m: MessageDto) => void;
  /** Loads the previous page of history; false when there is none. */
  loadOlder?: () => Promise<boolean>;
  /** Aborted when the conversation is left without a reload (panes.ts). */
  signal?: AbortSignal;
}): MessageActions {
  const { socket, conversationId, me, list, box, showError, signal } = opts;
  const context = document.getElementById('composer-context') as HTMLElement;
  const replyInput = document.getElementById('reply-to') as HTMLInputElement;
  const label = context.querySelector('.composer-context-label')!;
  const who = context.querySelector('.composer-context-who')!;
  const quote = context.querySelector('.composer-context-quote')!;
  // The composer's button says what it will do: "Send", or "Save" while editing.
  const submit = document.getElementById('composer-send');
  const cancel = document.getElementById('composer-cancel');
  // Without the script Cancel is a link back to the page; with it, it acts in place.
  cancel?.setAttribute('role', 'button');
  let mode: ComposerMode = { kind: 'send' };
  // Opened with ?reply=ID (the no-JS link, or a reload): keep answering that message.
  if (replyInput.value) {
    mode = {
      kind: 'send',
      replyTo: {
        id: Number(replyInput.value),
        state: 'shown',
        senderId: null,
        senderName: who.textContent ?? '',
        excerpt: quote.textContent ?? '',
      },
    };
  }

  function show(labelText: string, whoText: string, quoteText: string) {
    if (submit) submit.textContent = mode.kind === 'edit' ? 'Save' : 'Send';
    label.textContent = labelText;
    who.textContent = whoText;
    quote.textContent = quoteText;
    context.hidden = false;
  }

  function reset() {
    if (mode.kind === 'edit') box.value = '';
    mode = { kind: 'send' };
    if (submit) submit.textContent = 'Send';
    context.hidden = true;
    replyInput.value = '';
    replyInput.disabled = true;
    box.dispatchEvent(new Event('input'));
  }

  const liOf = (id: number) => document.getElementById(`m${id}`);
  const firstLine = (text: string) => text.trim().split('\n', 1)[0]!.slice(0, 120);

  function startReply(li: HTMLElement) {
    const id = Number(li.dataset.id);
    const senderId = li.dataset.senderId ? Number(li.dataset.senderId) : null;
    const senderName = li.querySelector('.sender bdi')?.textContent ?? '';
    const excerpt = firstLine(li.querySelector<HTMLElement>('.body')?.innerText ?? '');
    if (mode.kind === 'edit') box.value = '';
    mode = { kind: 'send', replyTo: { id, state: 'shown', senderId, senderName, excerpt } };
    replyInput.value = String(id);
    replyInput.disabled = false;
    show('Replying to', senderId === me ? 'You' : senderName, excerpt);
    box.focus();
  }

  function startEdit(li: HTMLElement, text: string) {
    mode = { kind: 'edit', messageId: Number(li.dataset.id) };
    replyInput.value = '';
    replyInput.disabled = true;
    show('Editing', 'your message', firstLine(text));
    box.value = text;
    box.dispatchEvent(new Event('input'));
    box.focus();
  }

  /** Every answer and event about a message goes through here: only a newer state is shown. */
  function apply(m: MessageDto) {
    if (m.conversationId !== conversationId) return;
    const li = liOf(m.id);
    if (!li || Number(li.dataset.changeSeq ?? 0) > m.changeSeq) return;
    opts.replace(m);
    if (m.deleted && mode.kind === 'edit' && mode.messageId === m.id) reset();
  }

  type Answer = Ack<{ message: MessageDto }>;
  /** Sends one change; resolves to an error's words, or undefined once applied. */
  function ask(
    emit: (socket: ChatClientSocket, done: (err: Error | null, res: Answer) => void) => void,
  ): Promise<string | undefined> {
    if (!socket.connected) return Promise.resolve('You are offline: try again once connected.');
    return new Promise((resolve) => {
      emit(socket, (err, res) => {
        if (err) return resolve('No answer from the server: try again.');
        if (!res.ok) return resolve(res.error.message);
        apply(res.message);
        resolve(undefined);
      });
    });
  }

  async function followQuote(a: HTMLAnchorElement) {
    const id = Number(a.dataset.replyTo);
    let target = liOf(id);
    // Older history is loaded page by page until the original is there (a few pages at most).
    for (let pages = 0; !target && opts.loadOlder && pages < 20; pages++) {
      if (!(await opts.loadOlder())) break;
      target = liOf(id);
    }
    if (!target) return void (location.href = a.href);
    target.scrollIntoView({ block: 'center' });
    target.classList.add('highlight');
    target.focus({ preventScroll: true });
    setTimeout(() => target.classList.remove('highlight'), 2000);
  }

  /** The six emoji under a message's "React", from the page's one <template>. */
  function togglePicker(li: HTMLElement, act: HTMLElement) {
    const open = li.querySelector('.react-picker');
    closeMenus();
    if (open) return;
    const tpl = document.getElementById('react-picker') as HTMLTemplateElement;
    const picker = tpl.content.firstElementChild!.cloneNode(true) as HTMLElement;
    act.after(picker);
    picker.querySelector('button')?.focus();
  }

  /** The text to edit, as stored: read from the edit page (the log shows it formatted). */
  async function sourceOf(href: string): Promise<string | undefined> {
    try {
      const res = await fetch(href, { credentials: 'same-origin' });
      if (!res.ok || res.redirected) return undefined;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      return doc.querySelector<HTMLTextAreaElement>('#edit-body')?.value;
    } catch {
      return undefined;
    }
  }

  list.addEventListener('click', (e) => {
    const t = e.target as HTMLElement;
    const li = t.closest<HTMLElement>('li.msg[data-id]');
    if (!li) return;
    const messageId = Number(li.dataset.id);
    const quoteLink = t.closest<HTMLAnchorElement>('a.quote');
    if (quoteLink) {
      e.preventDefault();
      if (!quoteLink.classList.contains('hidden')) void followQuote(quoteLink);
      return;
    }
    const emoji = t.closest<HTMLElement>('.react-picker [data-emoji]')?.dataset.emoji;
    if (emoji) {
      closeMenus();
      void ask((s, done) =>
        s
          .timeout(ACK_TIMEOUT)
          .emit(
            'reaction:toggle',
            { conversationId, messageId, emoji: emoji as ReactionEmoji },
            done,
          ),
      ).then(showError);
      return;
    }
    const act = t.closest<HTMLElement>('[data-act]');
    if (!act) return;
    e.preventDefault();
    if (act.dataset.act === 'reply') startReply(li);
    else if (act.dataset.act === 'react') togglePicker(li, act);
    else if (act.dataset.act === 'edit') {
      closeMenus();
      const href = (act as HTMLAnchorElement).href;
      void sourceOf(href).then((text) => {
        if (text === undefined)
          location.href = href; // the edit page says why
        else startEdit(li, text);
      });
    } else if (act.dataset.act === 'delete') {
      closeMenus();
      if (confirm('Delete this message for everyone? This cannot be undone.'))
        void ask((s, done) =>
          s.timeout(ACK_TIMEOUT).emit('message:delete', { conversationId, messageId }, done),
        ).then(showError);
    }
  });

  // One menu open at a time; a click elsewhere or Escape closes it (as menus do).
  function closeMenus(except?: Element | null) {
    for (const d of list.querySelectorAll('details.menu[open]'))
      if (d !== except) d.removeAttribute('open');
    for (const p of list.querySelectorAll('.react-picker'))
      if (!except || !except.contains(p)) p.remove();
  }
  document.addEventListener(
    'click',
    (e) => {
      const t = e.target as HTMLElement;
      closeMenus(t.closest('details.menu') ?? t.closest('.actions'));
    },
    { signal },
  );
  document.addEventListener(
    'keydown',
    (e) => {
      if (e.key !== 'Escape') return;
      const open = list.querySelector<HTMLElement>('details.menu[open], .react-picker');
      if (!open) return;
      const back = open
        .closest('.actions')
        ?.querySelector<HTMLElement>(open.matches('details') ? 'summary' : '[data-act="react"]');
      closeMenus();
      back?.focus();
    },
    { signal },
  );

  cancel?.addEventListener('click', (e) => {
    e.preventDefault();
    reset();
    box.focus();
  });
  cancel?.addEventListener('keydown', (e) => {
    if (e.key !== ' ') return; // a button answers Space as well as Enter
    e.preventDefault();
    reset();
    box.focus();
  });
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !context.hidden) reset();
  });

  return {
    mode: () => mode,
    reset,
    saveEdit: (messageId, body) =>
      ask((s, done) =>
        s.timeout(ACK_TIMEOUT).emit('message:edit', { conversationId, messageId, body }, done),
      ),
    apply,
  };
}

// The browser script: progressive enhancement over server-rendered pages.
// Without it every page still works through plain forms.
import { connectSocket } from './socket.js';
import { debounce, localizeTimes } from './util.js';
import { startChat } from './chat.js';
import { watchRefusals } from './refusal.js';
import { enablePaneSwitching } from './panes.js';
import { scopeSocket } from './scoped.js';
import { claimScreen, notifyInTabs, setupNotifyButton } from './notifications.js';

function main() {
  localizeTimes();
  const me = Number(document.body.dataset.me);
  if (!me) return; // logged out: nothing live to do

  const socket = connectSocket();
  watchRefusals(socket);
  setupNotifyButton();
  let baseTitle = document.title;
  let unread = 0;
  const setUnread = (n: number) => {
    unread = n;
    document.title = n > 0 ? `(${n > 99 ? '99+' : n}) ${baseTitle}` : baseTitle;
  };

  // The tab title counts unread messages across all conversations.
  const refreshCounts = debounce(() => {
    socket.emit('inbox:sync', {}, (res) => {
      if (res.ok) setUnread(res.unread.reduce((n, c) => n + c.unread, 0));
    });
  }, 150);

  const inbox = document.getElementById('inbox');
  // The inbox list is re-rendered by the server and swapped in: one source of truth.
  // The list keeps its length: as many rows as "Show more conversations" asked for. That
  // length lives here, not only on the list, which any answer (an older one too) replaces.
  let wantedShow = inbox?.dataset.show ?? '50';
  let focusRow: number | undefined; // after "Show more", the first new row takes the focus
  const refreshInbox = debounce(() => {
    const list = document.getElementById('inbox');
    const active = list?.dataset.active;
    const query = new URLSearchParams();
    if (active) query.set('active', active);
    if (wantedShow !== '50') query.set('show', wantedShow);
    void fetch(query.size ? `/inbox?${query}` : '/inbox', {
      credentials: 'same-origin',
      headers: { accept: 'text/html' },
    })
      // A redirect (to the login page, say) is not an inbox.
      .then((r) => (r.ok && !r.redirected ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((html) => {
        const current = document.getElementById('inbox');
        if (!current) return;
        // Another conversation was opened meanwhile (two panes): this list marks the old one.
        if (current.dataset.active !== active) return refreshInbox();
        const tpl = document.createElement('template');
        tpl.innerHTML = html.trim();
        const fresh = tpl.content.firstElementChild as HTMLElement | null;
        if (!fresh) return;
        // An answer asked for before "Show more" was pressed: ask again at the new length.
        if (fresh.dataset.show !== wantedShow) return refreshInbox();
        current.replaceWith(fresh);
        // Message requests sit beside the inbox and change with it.
        const requests = tpl.content.getElementById('requests');
        if (requests) document.getElementById('requests')?.replaceWith(requests);
        localizeTimes(fresh);
        setUnread(Number(fresh.dataset.unreadTotal ?? 0));
        // "Show more conversations" was pressed: the keyboard goes on at the first new row.
        if (focusRow !== undefined) fresh.querySelectorAll('a')[focusRow]?.focus();
        focusRow = undefined;
      })
      .catch(() => undefined);
  }, 150);

  // "Show more conversations" lengthens the list in place (without the script it is a page).
  document.addEventListener('click', (e) => {
    const link = (e.target as Element | null)?.closest?.<HTMLAnchorElement>('.inbox-more a');
    const list = document.getElementById('inbox');
    if (!link || !list || e.defaultPrevented || e.button !== 0) return;
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return; // a new tab or window
    // The server says how many the longer list shows (at most 1000, then no link).
    const next = new URL(link.href).searchParams.get('show');
    if (!next) return;
    e.preventDefault();
    focusRow = list.querySelectorAll('li.inbox-item').length;
    wantedShow = list.dataset.show = next;
    refreshInbox();
  });
  // The desktop's panes opened another conversation over a lengthened list (panes.ts).
  document.addEventListener('inbox:stale', () => refreshInbox());

  const refresh = inbox ? refreshInbox : refreshCounts;
  socket.on('connect', refresh);
  socket.on('message:new', refresh);
  socket.on('message:updated', refresh); // the inbox's last line follows edits and deletes
  socket.on('conversation:read', (r) => {
    if (r.userId === me) refresh();
  });
  if (inbox) setUnread(Number(inbox.dataset.unreadTotal ?? 0));

  // The conversation on screen, with what it listens to; the desktop's two panes swap it
  // for another without a reload (panes.ts), so leaving must stop it.
  let current = new AbortController();
  notifyInTabs(socket, me);
  const openChat = () => {
    const log = document.getElementById('log');
    if (!log) return;
    claimScreen(Number(log.dataset.conversationId), current.signal);
    startChat(scopeSocket(socket, current.signal), log, me, refreshCounts, current.signal);
  };
  openChat();
  enablePaneSwitching({
    leave: () => {
      current.abort();
      current = new AbortController();
    },
    enter: (title) => {
      baseTitle = title;
      setUnread(unread);
      localizeTimes();
      openChat();
    },
  });
}

main();

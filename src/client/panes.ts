// Desktop, two panes: a conversation picked in the list on the left opens on the right
// without a reload, so the list (and its scroll) stays. The server renders the whole page
// as always; this swaps in its conversation pane and its list, and the address, title and
// Back button follow. Anything unexpected falls back to an ordinary page load.
const TWO_PANES = '(min-width: 900px)';
const CONVERSATION = /^\/conversations\/\d+$/;

export interface PaneHooks {
  /** The conversation on screen is being left: stop what listens for it. */
  leave: () => void;
  /** A new conversation pane is in the page: start it. `title` is the page's own title. */
  enter: (title: string) => void;
}

export function enablePaneSwitching(hooks: PaneHooks) {
  if (!document.querySelector('.pane-list') || !document.getElementById('log')) return;
  let loading: AbortController | undefined;
  let shown = location.pathname; // the conversation on screen

  async function open(href: string, push: boolean) {
    loading?.abort();
    const request = (loading = new AbortController());
    try {
      const res = await fetch(href, {
        credentials: 'same-origin',
        headers: { accept: 'text/html' },
        signal: request.signal,
      });
      // A redirect (the login page, say) or an error page is not a conversation.
      if (!res.ok || res.redirected) throw new Error(String(res.status));
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const pane = doc.querySelector('.pane-main');
      const list = doc.getElementById('inbox');
      const current = document.querySelector('.pane-main');
      if (!pane || !list || !current || !pane.querySelector('#log')) throw new Error('no pane');
      if (request.signal.aborted) return;
      hooks.leave();
      current.replaceWith(document.adoptNode(pane));
      const shownList = document.getElementById('inbox');
      if (shownList && shownList.dataset.show !== list.dataset.show) {
        // "Show more conversations" made it longer than the page's: it stays, marks the new
        // conversation, and is read again at its own length (app.ts).
        markActive(shownList, pane.querySelector<HTMLElement>('#log')?.dataset.conversationId);
        document.dispatchEvent(new Event('inbox:stale'));
      } else {
        shownList?.replaceWith(document.adoptNode(list));
      }
      if (push) history.pushState({ pane: true }, '', href);
      shown = new URL(href, location.href).pathname;
      hooks.enter(doc.title);
      // Keyboard users keep their place: focus stays on the list, on the conversation opened.
      document.querySelector<HTMLElement>('#inbox [aria-current="page"]')?.focus();
    } catch {
      if (!request.signal.aborted) location.assign(href);
    }
  }

  document.addEventListener('click', (e) => {
    const link = (e.target as Element | null)?.closest?.('a');
    if (!link || !link.closest('.pane-list') || !matchMedia(TWO_PANES).matches) return;
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !CONVERSATION.test(url.pathname) || url.search) return;
    e.preventDefault();
    if (url.pathname === location.pathname && !url.hash) return;
    void open(url.pathname + url.hash, true);
  });

  window.addEventListener('popstate', () => {
    if (location.pathname === shown) return; // a jump within the conversation (#message)
    if (CONVERSATION.test(location.pathname) && !location.search) {
      void open(location.pathname + location.hash, false);
    } else {
      location.reload();
    }
  });
}

function markActive(list: HTMLElement, id: string | undefined) {
  if (!id) return;
  list.dataset.active = id;
  for (const a of list.querySelectorAll('a[aria-current]')) a.removeAttribute('aria-current');
  list
    .querySelector(`[data-conversation-id="${CSS.escape(id)}"] a`)
    ?.setAttribute('aria-current', 'page');
}

// "Load older": the previous page of history as server-rendered HTML, put above
// what is shown, keeping the reader's place. Also when scrolled to the top.
import { localizeTimes } from './util.js';

export function startOlderPages(opts: {
  conversationId: number;
  log: HTMLElement;
  list: HTMLElement;
  /** Ids of the messages on the page: older ones join them. */
  known: Set<number>;
  onLoaded: () => void;
}): { loadOlder: () => Promise<boolean> } {
  const { conversationId, log, list, known } = opts;
  let loading: Promise<boolean> | undefined;
  async function load(link: HTMLAnchorElement): Promise<boolean> {
    const res = await fetch(`/conversations/${conversationId}/older?before=${link.dataset.older}`, {
      credentials: 'same-origin',
    });
    if (!res.ok || res.redirected) return false;
    const tpl = document.createElement('template');
    tpl.innerHTML = await res.text();
    const height = log.scrollHeight;
    link.closest('li')?.remove();
    tpl.content
      .querySelectorAll<HTMLElement>('li.msg[data-id]')
      .forEach((li) => known.add(Number(li.dataset.id)));
    localizeTimes(tpl.content);
    list.prepend(tpl.content);
    log.scrollTop += log.scrollHeight - height; // keep the reader's place
    opts.onLoaded();
    return true;
  }
  /** Loads the page before the oldest shown; false when there is none (or it failed). */
  function loadOlder(): Promise<boolean> {
    const link = list.querySelector<HTMLAnchorElement>('a[data-older]');
    if (!link) return Promise.resolve(false);
    loading ??= load(link)
      .catch(() => false)
      .finally(() => (loading = undefined));
    return loading;
  }
  list.addEventListener('click', (e) => {
    const link = (e.target as HTMLElement).closest<HTMLAnchorElement>('a[data-older]');
    if (link) {
      e.preventDefault();
      void loadOlder();
    }
  });
  log.addEventListener('scroll', () => {
    if (log.scrollTop < 40) void loadOlder();
  });
  return { loadOlder };
}

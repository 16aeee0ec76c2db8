// "@" in a group's composer offers its members by name (and "everyone" where the sender may
// use it); a live message that mentions the reader is highlighted as the server does.
import { EVERYONE, isMentioned } from '../shared/mentions.js';
import { el } from './util.js';

export interface MentionRules {
  myName: string;
  /** 'all', or the ids whose @everyone counts (admins and the owner past 20 members). */
  everyone: 'all' | ReadonlySet<number>;
}

export function mentionRules(log: HTMLElement): MentionRules | undefined {
  const myName = log.dataset.myName;
  if (myName === undefined) return undefined;
  const raw = log.dataset.everyone ?? '';
  const everyone = raw === 'all' ? 'all' : new Set(raw.split(',').filter(Boolean).map(Number));
  return { myName, everyone };
}

/** Marks a message that mentions the reader (the same rule as partials/message.ejs). */
export function markMention(
  li: HTMLLIElement,
  m: { senderId: number | null; body: string; kind?: string },
  me: number,
  rules: MentionRules | undefined,
): HTMLLIElement {
  if (!rules || m.kind === 'system' || m.senderId === null || m.senderId === me) return li;
  const fromAllowed = rules.everyone === 'all' || rules.everyone.has(m.senderId);
  li.classList.toggle('mentioned', isMentioned(m.body, rules.myName, fromAllowed));
  return li;
}

/**
 * The suggestions under the composer while "@…" is being typed: click, or arrows and
 * Enter/Tab, put "@Name " in; Escape closes. Registered before the composer's own Enter.
 */
export function startMentionPicker(box: HTMLTextAreaElement, log: HTMLElement, me: number): void {
  let names: string[];
  try {
    names = JSON.parse(log.dataset.mentionable ?? '[]') as string[];
  } catch {
    return;
  }
  const rules = mentionRules(log);
  if (!rules) return;
  if (rules.everyone === 'all' || rules.everyone.has(me)) names = [...names, EVERYONE];
  const list = el('ul', { className: 'mention-list' });
  list.id = 'mention-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'Members to mention');
  list.hidden = true;
  box.closest('form')?.prepend(list);
  box.setAttribute('aria-controls', list.id);
  let active = 0;
  let shown: string[] = [];

  const query = () => {
    const before = box.value.slice(0, box.selectionStart ?? box.value.length);
    const m = /(^|\s)@([^\s@]{0,40})$/u.exec(before);
    return m ? { text: m[2]!, start: before.length - m[2]!.length - 1 } : undefined;
  };
  const close = () => {
    list.hidden = true;
    shown = [];
  };
  const choose = (name: string) => {
    const q = query();
    if (!q) return close();
    const end = box.selectionStart ?? box.value.length;
    box.value = `${box.value.slice(0, q.start)}@${name} ${box.value.slice(end)}`;
    const caret = q.start + name.length + 2;
    box.setSelectionRange(caret, caret);
    close();
    box.focus();
    box.dispatchEvent(new Event('input'));
  };
  const draw = () => {
    list.replaceChildren(
      ...shown.map((name, i) => {
        const option = el('li', { text: `@${name}` });
        option.setAttribute('role', 'option');
        option.setAttribute('aria-selected', String(i === active));
        option.addEventListener('mousedown', (e) => {
          e.preventDefault(); // keep the focus in the composer
          choose(name);
        });
        return option;
      }),
    );
    list.hidden = shown.length === 0;
  };

  box.addEventListener('input', () => {
    const q = query();
    if (!q) return close();
    const lower = q.text.toLocaleLowerCase();
    shown = names.filter((n) => n.toLocaleLowerCase().startsWith(lower)).slice(0, 8);
    active = 0;
    draw();
  });
  box.addEventListener('keydown', (e) => {
    if (list.hidden || !shown.length) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      active = (active + (e.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
      draw();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      choose(shown[active]!);
    } else if (e.key === 'Escape') {
      close();
    } else return;
    e.preventDefault();
    e.stopImmediatePropagation(); // not a send
  });
  box.addEventListener('blur', close);
}

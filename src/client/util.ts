// Small browser helpers with no page knowledge.

/** A v4 UUID; crypto.randomUUID exists only on secure origins (not http://192.168.x.x). */
export function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

/** Server-rendered times are UTC; show them in the reader's own time zone. */
export function localizeTime(el: HTMLTimeElement): void {
  const d = new Date(el.dateTime);
  if (Number.isNaN(d.getTime())) return;
  const today = new Date().toDateString() === d.toDateString();
  el.textContent = (today ? timeFmt : dayFmt).format(d);
  el.title = fullFmt.format(d);
}

export function localizeTimes(root: ParentNode = document): void {
  root.querySelectorAll<HTMLTimeElement>('time[datetime]').forEach(localizeTime);
}

export function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text; // always text, never HTML
  node.append(...children);
  return node;
}

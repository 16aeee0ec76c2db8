// "… is typing": tells the others while the composer has text, and shows who
// else is typing, each name for a few seconds unless refreshed.
import type { ChatClientSocket } from './socket.js';
import { el } from './util.js';

const TYPING_REFRESH = 3_000;
const TYPING_IDLE = 4_000;
const TYPING_SHOWN = 6_000;

export function startTyping(
  socket: ChatClientSocket,
  conversationId: number,
  me: number,
  box: HTMLTextAreaElement,
  line: HTMLElement,
) {
  let sentAt = 0;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  function stop() {
    clearTimeout(idleTimer);
    if (sentAt) socket.emit('typing', { conversationId, typing: false }, () => undefined);
    sentAt = 0;
  }
  box.addEventListener('input', () => {
    if (!box.value) return stop();
    if (Date.now() - sentAt > TYPING_REFRESH) {
      sentAt = Date.now();
      socket.emit('typing', { conversationId, typing: true }, () => undefined);
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stop, TYPING_IDLE);
  });
  box.addEventListener('blur', stop);

  const typers = new Map<string, ReturnType<typeof setTimeout>>();
  function show(name: string, on: boolean) {
    clearTimeout(typers.get(name));
    typers.delete(name);
    if (on)
      typers.set(
        name,
        setTimeout(() => show(name, false), TYPING_SHOWN),
      );
    const names = [...typers.keys()];
    // Each name isolated: a right-to-left name cannot reorder the words around it.
    line.replaceChildren(
      ...names.flatMap((n, i) => [...(i ? [', '] : []), el('bdi', { text: n })]),
    );
    if (names.length) line.append(` ${names.length > 1 ? 'are' : 'is'} typing…`);
  }
  socket.on('typing', (t) => {
    if (t.conversationId === conversationId && t.userId !== me) show(t.name, t.typing);
  });
  return { stop, show };
}

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

  // Keyed by account: two people with one display name are two typers.
  const typers = new Map<number, { name: string; timer: ReturnType<typeof setTimeout> }>();
  function show(userId: number, name: string, on: boolean) {
    clearTimeout(typers.get(userId)?.timer);
    typers.delete(userId);
    if (on)
      typers.set(userId, {
        name,
        timer: setTimeout(() => show(userId, name, false), TYPING_SHOWN),
      });
    const names = [...typers.values()].map((t) => t.name);
    // Each name isolated: a right-to-left name cannot reorder the words around it.
    line.replaceChildren(
      ...names.flatMap((n, i) => [
        ...(i === 0 ? [] : [i === names.length - 1 ? ' and ' : ', ']),
        el('bdi', { text: n }),
      ]),
    );
    if (names.length) line.append(` ${names.length > 1 ? 'are' : 'is'} typing…`);
  }
  socket.on('typing', (t) => {
    if (t.conversationId === conversationId && t.userId !== me) show(t.userId, t.name, t.typing);
  });
  return { stop, show };
}

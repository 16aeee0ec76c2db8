// The page's socket as one conversation sees it: everything it listens to is dropped when
// the conversation is left (the desktop switches conversations without a reload, so a
// conversation's listeners must not outlive it and hear the next one's events).
import type { ChatClientSocket } from './socket.js';

export function scopeSocket(socket: ChatClientSocket, signal: AbortSignal): ChatClientSocket {
  const scoped: ChatClientSocket = new Proxy(socket, {
    get(target, prop) {
      if (prop === 'on') {
        return (event: string, listener: (...args: unknown[]) => void) => {
          const on = target.on.bind(target) as (e: string, l: typeof listener) => unknown;
          const off = target.off.bind(target) as (e: string, l: typeof listener) => unknown;
          on(event, listener);
          signal.addEventListener('abort', () => off(event, listener), { once: true });
          return scoped;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return scoped;
}

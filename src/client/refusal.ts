// What the page says when the server refuses or ends this tab's socket.
import type { ChatClientSocket } from './socket.js';

/** Words for a handshake the server refused, or undefined for a network failure. */
export function refusalText(err: Error & { data?: unknown }): string | undefined {
  const data = err.data as { message?: unknown } | undefined;
  if (err.message === 'too_many_sockets') {
    return typeof data?.message === 'string'
      ? data.message
      : 'Too many tabs or devices are connected. Close some, then reload this page.';
  }
  if (err.message === 'unauthorized')
    return 'You were logged out here. Reload the page to log in again.';
  return undefined;
}

function banner(): HTMLElement {
  const existing = document.getElementById('connection');
  if (existing) return existing;
  const p = document.createElement('p');
  p.id = 'connection';
  p.className = 'connection';
  p.setAttribute('role', 'status');
  document.getElementById('main')?.prepend(p);
  return p;
}

export function watchRefusals(socket: ChatClientSocket): void {
  socket.on('disconnect', (reason) => {
    // The server ended this socket because its session ended or was replaced. A password
    // change or a login in this browser gave it a new cookie: try once more with it.
    if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 300);
  });
  socket.on('connect_error', (err) => {
    const text = refusalText(err);
    if (!text) return;
    const b = banner();
    b.textContent = text;
    b.hidden = false;
  });
}

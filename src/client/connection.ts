// The connection banner and the other person's presence line.
import type { ChatClientSocket } from './socket.js';
import { el, localizeTime } from './util.js';
import { refusalText } from './refusal.js';

export function showConnection(socket: ChatClientSocket, banner: HTMLElement) {
  let everConnected = false;
  socket.on('connect', () => {
    banner.hidden = true;
    everConnected = true;
  });
  socket.on('disconnect', () => {
    banner.hidden = false;
    // The server ended it (a session ended or replaced): refusal.ts tries once more.
    banner.textContent = 'Connection lost — reconnecting…';
  });
  socket.on('connect_error', (err) => {
    if (refusalText(err)) return; // refusal.ts says why in words
    if (everConnected) {
      banner.hidden = false;
      banner.textContent = 'Connection lost — reconnecting…';
    }
  });
}

export function showPresence(socket: ChatClientSocket, presence: HTMLElement | null) {
  socket.on('presence', (p) => {
    if (!presence || Number(presence.dataset.userId) !== p.userId) return;
    presence.className = p.online ? 'presence online' : 'presence';
    presence.hidden = false;
    presence.textContent = p.online ? 'online' : p.lastSeenAt ? 'last seen ' : 'offline';
    if (!p.online && p.lastSeenAt) {
      const t = el('time');
      t.dateTime = p.lastSeenAt;
      localizeTime(t);
      presence.append(t);
    }
  });
}

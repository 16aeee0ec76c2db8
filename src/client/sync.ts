// The catch-up engine, free of the DOM: asks for everything after the
// watermark, page by page, and hands each message on. The watermark moves only
// on sync answers (a live event may overtake an older commit across instances).
import type { MessageDto } from '../shared/protocol.js';
import type { ChatClientSocket } from './socket.js';

export const ACK_TIMEOUT = 10_000;
const RETRY_MS = 3000;

export function createSync(
  socket: ChatClientSocket,
  conversationId: number,
  watermark: number,
  handlers: {
    onMessage: (m: MessageDto) => void;
    /** A message edited, deleted or reacted to since the change mark (maybe not on screen). */
    onChange?: (m: MessageDto) => void;
    onCaughtUp: () => void;
  },
  /** The conversation's change number the tab's messages are up to date with; none: no changes. */
  changeMark?: number,
): () => void {
  function sync() {
    socket
      .timeout(ACK_TIMEOUT)
      .emit('sync', { conversationId, after: watermark, changesAfter: changeMark }, (err, res) => {
        if (err || !res.ok) {
          // No answer, or the database is away: try again shortly; the marks have not moved.
          setTimeout(() => socket.connected && sync(), RETRY_MS);
          return;
        }
        for (const m of res.messages) {
          handlers.onMessage(m);
          watermark = Math.max(watermark, m.id);
        }
        // Like the watermark, the change mark moves only on sync answers, never on live events.
        for (const m of res.changes ?? []) {
          handlers.onChange?.(m);
          changeMark = Math.max(changeMark ?? 0, m.changeSeq);
        }
        if (res.hasMore || res.changesHaveMore) sync();
        else handlers.onCaughtUp();
      });
  }
  return sync;
}

import type { ReplyDto } from '../shared/protocol.js';

// Messages written but not yet confirmed by the server, kept in localStorage so
// a reload (or a tab closed while offline) does not lose them. Each keeps its
// client id, so however often it is sent, the server stores it once.
import type { AttachmentDto } from '../shared/protocol.js';

export interface OutboxItem {
  clientId: string;
  body: string;
  createdAt: string;
  /** The quote of the message it answers, shown while it waits. */
  replyTo?: ReplyDto;
  /** Stored files the message names (pending attachments of the sender). */
  attachments?: AttachmentDto[];
}

// Per user too: on a shared browser, one person's unsent words never go out as another's.
const key = (userId: number, conversationId: number) => `chat:outbox:${userId}:${conversationId}`;

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined; // private mode or blocked storage: keep working, just without persistence
  }
}

export function loadOutbox(userId: number, conversationId: number): OutboxItem[] {
  try {
    const raw = storage()?.getItem(key(userId, conversationId));
    const items: unknown = raw ? JSON.parse(raw) : [];
    if (!Array.isArray(items)) return [];
    return items.filter(
      (i): i is OutboxItem =>
        typeof i === 'object' &&
        i !== null &&
        typeof (i as OutboxItem).clientId === 'string' &&
        typeof (i as OutboxItem).body === 'string' &&
        typeof (i as OutboxItem).createdAt === 'string',
    );
  } catch {
    return [];
  }
}

export function saveOutbox(userId: number, conversationId: number, items: OutboxItem[]): void {
  try {
    if (items.length) storage()?.setItem(key(userId, conversationId), JSON.stringify(items));
    else storage()?.removeItem(key(userId, conversationId));
  } catch {
    // Quota or blocked storage: the message still goes while the tab stays open.
  }
}

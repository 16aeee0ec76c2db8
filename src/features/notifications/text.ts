// What a notification says, the same in a tab (Notification API) and by Web Push.
import type { Notifiable } from './db.js';

const DELETED_USER = 'Deleted user';

export interface NotificationText {
  title: string;
  body: string;
  /** One notification per conversation: a newer message replaces it, reading it withdraws it. */
  tag: string;
  url: string;
  conversationId: number;
  messageId: number;
}

/** The sender (and the group) as the title; the first line, unless the user hid the text. */
export function notificationText(n: Notifiable): NotificationText {
  const sender = n.senderName ?? DELETED_USER;
  const line = n.body.trim().split(/\r?\n/, 1)[0] ?? '';
  const short = [...line].length > 120 ? `${[...line].slice(0, 120).join('')}…` : line;
  return {
    title: n.kind === 'group' && n.title ? `${sender} in ${n.title}` : sender,
    body: n.notifyText ? short : 'New message',
    tag: `conversation-${n.conversationId}`,
    url: `/conversations/${n.conversationId}#m${n.messageId}`,
    conversationId: n.conversationId,
    messageId: n.messageId,
  };
}

// The socket protocol, typed once and used by the server and the browser script.
// Every client event is acked: {ok: true, ...} or {ok: false, error}.

export interface MessageDto {
  id: number; // database order within a conversation
  conversationId: number;
  senderId: number | null; // null: the sender deleted their account
  senderName: string;
  clientId: string;
  body: string; // exactly as typed; '' once deleted
  createdAt: string; // ISO 8601
  /** Only on a group's lines in words ("Ann added Bo"): shown as a line, not a bubble. */
  kind?: 'system';
  /** The body rendered by the server's one renderer (features/messages/render.ts): safe HTML. */
  html: string;
  editedAt: string | null;
  deleted: boolean;
  replyTo: ReplyDto | null;
  reactions: ReactionDto[];
  /** The conversation's change number of this message's latest edit, delete or reaction; 0: none. */
  changeSeq: number;
  /** Its pictures and files, in the order they were attached; absent when there are none. */
  attachments?: AttachmentDto[];
  /** Only to a reader who blocked its sender (in a group): shown folded, as the page does. */
  blocked?: true;
}

/** The six reactions offered, in the order they are shown. */
export const REACTION_EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;
export type ReactionEmoji = (typeof REACTION_EMOJI)[number];

export interface ReactionDto {
  emoji: ReactionEmoji;
  /** Who reacted, oldest first (names beside ids: "who reacted" on focus or tap). */
  userIds: number[];
  names: string[];
}

/**
 * The message a reply answers, as its quote shows it: 'deleted' once deleted, 'hidden' for a
 * reader whose history starts after it (the member history rule), with no text then.
 */
export interface ReplyDto {
  id: number;
  state: 'shown' | 'deleted' | 'hidden';
  senderId: number | null;
  senderName: string;
  excerpt: string;
}

/** A stored picture or file of a message. Served at /attachments/:id (a picture's thumbnail at /attachments/:id/thumb). */
export interface AttachmentDto {
  id: string; // random (uuid), never sequential
  name: string;
  /** The type read from the file's first bytes: image/jpeg, image/png, image/gif, image/webp for pictures. */
  type: string;
  size: number; // bytes
  /** Pictures only: the full size, and the thumbnail's (the page reserves its place). */
  width?: number;
  height?: number;
  thumbWidth?: number;
  thumbHeight?: number;
}

/** Every code an error answer can carry, over HTTP (JSON) or a socket ack. */
export type ErrorCode =
  | 'bad_request' // the request could not be understood
  | 'invalid' // a field is wrong; the message says which and why
  | 'not_found' // also "not yours"
  | 'conflict'
  | 'unauthenticated'
  | 'wrong_login'
  | 'csrf'
  | 'rate_limited'
  | 'awaiting_acceptance' // a message request's sender wrote the few allowed; not retryable
  | 'forbidden' // a group member without the role for it, or a former member writing
  | 'session_ended' // the socket's session is gone: log in again
  | 'too_many_sockets' // refused at the handshake: too many tabs or devices
  | 'too_large' // a file over the size limit, or over the uploader's storage quota
  | 'refused_type' // a file of a type that is not taken (a program, a picture that is not one)
  | 'unavailable' // the database is not answering
  | 'internal';

/** Worth sending again with the same client id: the server may well take it next time. */
export const RETRYABLE_CODES: readonly ErrorCode[] = ['unavailable', 'internal', 'rate_limited'];

export interface ErrorDto {
  code: ErrorCode;
  message: string;
}

export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorDto };

export interface ReadDto {
  conversationId: number;
  userId: number;
  messageId: number;
}

export interface TypingDto {
  conversationId: number;
  userId: number;
  name: string;
  typing: boolean;
}

export interface PresenceDto {
  userId: number;
  online: boolean;
  lastSeenAt: string | null;
}

/** To a member who left a group or was removed from it: their tabs stop showing it live. */
export interface GroupLeftDto {
  conversationId: number;
  removed: boolean;
}

/** A group's new name, to its members' tabs (the heading changes at once). */
export interface GroupRenamedDto {
  conversationId: number;
  title: string;
}

export interface InboxEntryDto {
  conversationId: number;
  unread: number;
}

export interface ClientToServerEvents {
  'message:send': (
    // replyTo: the message this one answers. attachmentIds: the sender's own uploads (POST
    // /conversations/:id/attachments), linked to the message in its transaction; with them,
    // the body (the caption) may be empty.
    p: {
      conversationId: number;
      body: string;
      clientId: string;
      replyTo?: number;
      attachmentIds?: string[];
    },
    ack: (r: Ack<{ message: MessageDto }>) => void,
  ) => void;
  /** `changesAfter`: also the messages edited, deleted or reacted to since that change number. */
  sync: (
    p: { conversationId: number; after: number; changesAfter?: number },
    ack: (
      r: Ack<{
        messages: MessageDto[];
        hasMore: boolean;
        changes?: MessageDto[];
        changesHaveMore?: boolean;
      }>,
    ) => void,
  ) => void;
  'message:edit': (
    p: { conversationId: number; messageId: number; body: string },
    ack: (r: Ack<{ message: MessageDto }>) => void,
  ) => void;
  'message:delete': (
    p: { conversationId: number; messageId: number },
    ack: (r: Ack<{ message: MessageDto }>) => void,
  ) => void;
  'reaction:toggle': (
    p: { conversationId: number; messageId: number; emoji: ReactionEmoji },
    ack: (r: Ack<{ message: MessageDto }>) => void,
  ) => void;
  'conversation:read': (
    p: { conversationId: number; messageId: number },
    ack: (r: Ack) => void,
  ) => void;
  typing: (p: { conversationId: number; typing: boolean }, ack: (r: Ack) => void) => void;
  'inbox:sync': (
    p: Record<string, never>,
    ack: (r: Ack<{ unread: InboxEntryDto[] }>) => void,
  ) => void;
}

export interface ServerToClientEvents {
  'message:new': (m: MessageDto) => void;
  /** A message was edited, deleted or reacted to: its state now. */
  'message:updated': (m: MessageDto) => void;
  'conversation:read': (r: ReadDto) => void;
  typing: (t: TypingDto) => void;
  presence: (p: PresenceDto) => void;
  'group:left': (p: GroupLeftDto) => void;
  'group:renamed': (p: GroupRenamedDto) => void;
}

export interface SocketData {
  userId: number;
  displayName: string;
  sessionId: string;
  /** The client's address as a limiter key (an IPv6 client as its /56). */
  address: string;
}

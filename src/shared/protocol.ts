// The socket protocol, typed once and used by the server and the browser script.
// Every client event is acked: {ok: true, ...} or {ok: false, error}.

export interface MessageDto {
  id: number; // database order within a conversation
  conversationId: number;
  senderId: number | null; // null: the sender deleted their account
  senderName: string;
  clientId: string;
  body: string;
  createdAt: string; // ISO 8601
  /** Its pictures and files, in the order they were attached; absent when there are none. */
  attachments?: AttachmentDto[];
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

export interface InboxEntryDto {
  conversationId: number;
  unread: number;
}

export interface ClientToServerEvents {
  'message:send': (
    // attachmentIds: the sender's own uploads (POST /conversations/:id/attachments), linked
    // to the message in its transaction; with them, the body (the caption) may be empty.
    p: { conversationId: number; body: string; clientId: string; attachmentIds?: string[] },
    ack: (r: Ack<{ message: MessageDto }>) => void,
  ) => void;
  sync: (
    p: { conversationId: number; after: number },
    ack: (r: Ack<{ messages: MessageDto[]; hasMore: boolean }>) => void,
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
  'conversation:read': (r: ReadDto) => void;
  typing: (t: TypingDto) => void;
  presence: (p: PresenceDto) => void;
}

export interface SocketData {
  userId: number;
  displayName: string;
  sessionId: string;
  /** The client's address as a limiter key (an IPv6 client as its /56). */
  address: string;
}
